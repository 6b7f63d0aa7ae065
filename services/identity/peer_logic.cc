// What the shards of identity ask each other (IdentityShardService), and
// the directory of handles and emails (DESIGN.md §8).
#include <optional>

#include "absl/strings/ascii.h"
#include "common/keys.h"
#include "common/logging.h"
#include "common/status.h"
#include "services/identity/identity_changes.h"
#include "services/identity/identity_logic_internal.h"
#include "services/identity/rules.h"

namespace liaison::identity {
namespace {

// A claim whose member never came to exist (its creation failed after the
// claim) lapses after this long.
constexpr absl::Duration kClaimLapse = absl::Minutes(1);

// Kinds of the social family another shard may write here: the other
// side's records of two-member changes (identity_store.h).
constexpr absl::string_view kPeerKinds = "vonikX";

// The sender named by the recipient's copy of an invitation ('i' received,
// 'n' incoming), if `key` is one.
std::optional<MemberId> InvitationSender(const std::string& key) {
  KeyReader reader = keys::Reader(key);
  char kind = 0;
  MemberId recipient = 0, sender = 0;
  absl::Time when;
  if (!reader.Kind(&kind) || !reader.U64(&recipient)) return std::nullopt;
  if (kind == 'n' && !reader.TimeDesc(&when)) return std::nullopt;
  if ((kind != 'i' && kind != 'n') || !reader.U64(&sender)) return std::nullopt;
  return sender;
}

absl::Status ValidateName(v1::NameKind kind, const std::string& name) {
  if (kind != v1::NAME_KIND_HANDLE && kind != v1::NAME_KIND_EMAIL) {
    return absl::InvalidArgumentError("kind must be NAME_KIND_HANDLE or NAME_KIND_EMAIL");
  }
  if (name.empty() || name.size() > std::max(kMaxHandle, kMaxEmail)) {
    return absl::InvalidArgumentError(
        absl::StrCat("name must be 1 to ", std::max(kMaxHandle, kMaxEmail), " bytes"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status IdentityLogic::CheckNameHere(const std::string& name) const {
  if (peers_ == nullptr || peers_->OwnsName(name)) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("name: its directory partition (", PartitionOfName(name),
                   ") is another shard's in shard map epoch ", peers_->shard().map().epoch(),
                   "; route by the shard map"));
}

absl::StatusOr<bool> IdentityLogic::StillHolds(v1::NameKind kind, const std::string& name,
                                               const IdentityStore::NameHolder& holder) const {
  // A young claim is held whatever the record says: its member may be being
  // created, or renamed, on another shard right now.
  if (clock_->Now() < holder.claimed + kClaimLapse) return true;
  auto member = AnyMember(holder.member);
  if (absl::IsNotFound(member.status())) return false;
  if (!member.ok()) return member.status();
  return kind == v1::NAME_KIND_HANDLE ? member->handle() == name
                                      : absl::AsciiStrToLower(member->email()) == name;
}

absl::Status IdentityLogic::Claim(v1::NameKind kind, const std::string& name, MemberId member,
                                  rocksdb::WriteBatch* batch) {
  if (peers_ != nullptr && !peers_->OwnsName(name)) return peers_->Claim(kind, name, member);
  const std::string key = NameKey(kind, name);
  auto holder = store_->GetNameHolder(key);
  if (holder.ok() && holder->member != member) {
    ASSIGN_OR_RETURN(bool holds, StillHolds(kind, name, *holder));
    if (holds) return absl::AlreadyExistsError("the name is taken");
  } else if (!holder.ok() && !absl::IsNotFound(holder.status())) {
    return holder.status();
  }
  batch->Put(store_->members(), key, IdentityStore::EncodeNameHolder(member, clock_->Now()));
  return absl::OkStatus();
}

absl::Status IdentityLogic::ClaimNames(const std::vector<Name>& names, MemberId member, bool here,
                                       rocksdb::WriteBatch* batch, std::vector<Name>* remote) {
  for (const Name& n : names) {
    const bool local = peers_ == nullptr || peers_->OwnsName(n.name);
    if (local != here) continue;
    absl::Status claimed =
        local ? Claim(n.kind, n.name, member, batch) : peers_->Claim(n.kind, n.name, member);
    if (absl::IsAlreadyExists(claimed)) {
      return absl::AlreadyExistsError(n.kind == v1::NAME_KIND_HANDLE
                                          ? absl::StrCat("handle \"", n.name, "\" is taken")
                                          : "a member with this email already exists");
    }
    RETURN_IF_ERROR(claimed);
    if (!local) remote->push_back(n);
  }
  return absl::OkStatus();
}

void IdentityLogic::ReleaseRemote(const std::vector<Name>& names, MemberId member) {
  for (const Name& n : names) {
    if (absl::Status released = peers_->Release(n.kind, n.name, member); !released.ok()) {
      LogWarn("identity_name_not_released", {{"error", released.ToString()}});
    }
  }
}

absl::StatusOr<MemberId> IdentityLogic::LookupAnywhere(v1::NameKind kind,
                                                       const std::string& name) const {
  if (peers_ != nullptr && !peers_->OwnsName(name)) return peers_->Lookup(kind, name);
  ASSIGN_OR_RETURN(IdentityStore::NameHolder holder, store_->GetNameHolder(NameKey(kind, name)));
  return holder.member;
}

absl::Status IdentityLogic::ClaimName(const v1::ClaimNameRequest& request) {
  RETURN_IF_ERROR(ValidateName(request.kind(), request.name()));
  ASSIGN_OR_RETURN(MemberId member, ParseMemberId(request.member_id(), "member_id"));
  RETURN_IF_ERROR(CheckNameHere(request.name()));
  Locked lock(this, {0});
  rocksdb::WriteBatch batch;
  RETURN_IF_ERROR(Claim(request.kind(), request.name(), member, &batch));
  return Commit(&batch);
}

absl::Status IdentityLogic::LookupName(const v1::LookupNameRequest& request,
                                       v1::LookupNameResponse* response) const {
  RETURN_IF_ERROR(ValidateName(request.kind(), request.name()));
  RETURN_IF_ERROR(CheckNameHere(request.name()));
  auto holder = store_->GetNameHolder(NameKey(request.kind(), request.name()));
  if (absl::IsNotFound(holder.status())) return absl::NotFoundError("nobody holds this name");
  if (!holder.ok()) return holder.status();
  response->set_member_id(FormatMemberId(holder->member));
  return absl::OkStatus();
}

absl::Status IdentityLogic::ReleaseName(const v1::ReleaseNameRequest& request) {
  RETURN_IF_ERROR(ValidateName(request.kind(), request.name()));
  ASSIGN_OR_RETURN(MemberId member, ParseMemberId(request.member_id(), "member_id"));
  RETURN_IF_ERROR(CheckNameHere(request.name()));
  Locked lock(this, {0});
  const std::string key = NameKey(request.kind(), request.name());
  auto holder = store_->GetNameHolder(key);
  if (absl::IsNotFound(holder.status())) return absl::OkStatus();
  if (!holder.ok()) return holder.status();
  if (holder->member != member) return absl::OkStatus();
  rocksdb::WriteBatch batch;
  batch.Delete(store_->members(), key);
  return Commit(&batch);
}

absl::Status IdentityLogic::GetMemberFacts(const v1::GetMemberFactsRequest& request,
                                           v1::GetMemberFactsResponse* response) const {
  const int n = request.member_ids_size();
  const size_t most = request.include_connections() ? kMaxListsPerCall : kMaxFactsPerCall;
  if (n == 0 || static_cast<size_t>(n) > most) {
    return absl::InvalidArgumentError(
        absl::StrCat("member_ids has ", n, " entries; give 1 to ", most,
                     request.include_connections() ? " with include_connections" : ""));
  }
  std::vector<MemberId> ids;
  for (int i = 0; i < n; ++i) {
    ASSIGN_OR_RETURN(MemberId id,
                     ParseMemberId(request.member_ids(i), absl::StrCat("member_ids[", i, "]")));
    ids.push_back(id);
  }
  // Every field is valid: now whether they are this shard's.
  for (MemberId id : ids) {
    if (peers_ != nullptr) RETURN_IF_ERROR(peers_->shard().CheckOwned(id));
  }
  // Before the reads: the facts reflect at least this.
  if (feed_ != nullptr) response->set_change_cursor(feed_->Head());
  auto members = store_->GetMembers(ids);
  for (int i = 0; i < n; ++i) {
    auto* facts = response->add_facts();
    facts->set_member_id(request.member_ids(i));
    if (absl::IsNotFound(members[i].status())) continue;
    if (!members[i].ok()) return members[i].status();
    facts->set_exists(true);
    *facts->mutable_member() = *std::move(members[i]);
    if (request.include_connections()) {
      ASSIGN_OR_RETURN(auto connections, store_->Neighbors(ids[i]));
      facts->set_connection_count(static_cast<int64_t>(connections.size()));
      facts->mutable_connection_ids()->Add(connections.begin(), connections.end());
    } else {
      ASSIGN_OR_RETURN(uint32_t count, store_->ConnectionCount(ids[i]));
      facts->set_connection_count(count);
    }
  }
  return absl::OkStatus();
}

absl::Status IdentityLogic::ApplyPeerWrites(const v1::ApplyPeerWritesRequest& request) {
  const int n = request.writes_size();
  if ((n == 0 && request.changes_size() == 0) || n > kMaxPeerWrites ||
      request.changes_size() > kMaxPeerWrites) {
    return absl::InvalidArgumentError(absl::StrCat("writes has ", n, " entries and changes ",
                                                   request.changes_size(), "; give 1 to ",
                                                   kMaxPeerWrites, " of either"));
  }
  std::vector<MemberId> homes;
  for (int i = 0; i < request.changes_size(); ++i) {
    auto home = PairHome(request.changes(i));
    if (!home.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("changes[", i, "]: ", home.status().message()));
    }
    homes.push_back(*home);
  }
  // Validate all first: nothing is written unless every write is right.
  struct Link {
    MemberId member, other;
    int64_t since;
    bool add;
  };
  std::vector<Link> links;
  std::vector<MemberId> sides;  // each write's member
  for (int i = 0; i < n; ++i) {
    const auto& write = request.writes(i);
    const std::string field = absl::StrCat("writes[", i, "]");
    MemberId member = 0;
    if (write.has_put() || write.has_delete_()) {
      const std::string& key = write.has_put() ? write.put().key() : write.delete_().key();
      KeyReader reader = keys::Reader(key);
      char kind = 0;
      if (!keys::IsMemberKeyed(key) || !reader.Kind(&kind) || !reader.U64(&member) ||
          kPeerKinds.find(kind) == absl::string_view::npos ||
          key.substr(0, 2) != KeyBuilder::PartitionPrefix(PartitionOf(member))) {
        return absl::InvalidArgumentError(
            absl::StrCat(field, ": the key is not the other side of a two-member record"));
      }
    } else if (write.has_link() || write.has_unlink()) {
      const auto& link = write.has_link() ? write.link() : write.unlink();
      ASSIGN_OR_RETURN(member, ParseMemberId(link.member_id(), field + ".member_id"));
      ASSIGN_OR_RETURN(MemberId other,
                       ParseMemberId(link.other_member_id(), field + ".other_member_id"));
      if (link.since_seconds() < 0 || link.since_seconds() > UINT32_MAX) {
        return absl::InvalidArgumentError(field + ".since_seconds is out of range");
      }
      links.push_back({member, other, link.since_seconds(), write.has_link()});
    } else {
      return absl::InvalidArgumentError(field + " is empty");
    }
    sides.push_back(member);
  }
  // Every field is valid: now whether they are this shard's.
  if (peers_ != nullptr) {
    for (MemberId member : sides) RETURN_IF_ERROR(peers_->shard().CheckOwned(member));
    for (MemberId home : homes) RETURN_IF_ERROR(peers_->shard().CheckOwned(home));
  }
  // Each record from a shard once, in its order: one sent again after a
  // lost acknowledgement may follow changes made since (a declined
  // invitation must stay declined).
  absl::MutexLock in_order(&peer_applied_.mu());
  ASSIGN_OR_RETURN(bool applied, peer_applied_.Applied(request.source_shard(), request.sequence()));
  if (applied) return absl::OkStatus();
  std::vector<uint64_t> locked(sides.begin(), sides.end());
  for (const Link& link : links) locked.push_back(link.other);
  Locked lock(this, locked);
  PairWrite write(store_, outbox_);
  if (request.sequence() > 0) {
    write.PutHere(store_->outbox(), peer_applied_.Key(request.source_shard()),
                  AppliedMarks::Encode(request.sequence()));
  }
  std::vector<v1::Change> changes(request.changes().begin(), request.changes().end());
  size_t next_link = 0;
  for (int i = 0; i < n; ++i) {
    const auto& w = request.writes(i);
    if (w.has_put()) {
      // An invitation that reaches its recipient after a block between the
      // two (made here meanwhile) stays out: the block wins, and its side
      // already removed the sender's copy.
      if (auto sender = InvitationSender(w.put().key())) {
        ASSIGN_OR_RETURN(bool blocked, BlockedEitherWay(sides[i], *sender));
        if (blocked) continue;
      }
      write.Put(sides[i], store_->social(), w.put().key(), w.put().value());
    } else if (w.has_delete_()) {
      write.Delete(sides[i], store_->social(), w.delete_().key());
    } else {
      const Link& link = links[next_link++];
      if (!link.add) {
        RETURN_IF_ERROR(write.Unlink(link.member, link.other).status());
        continue;
      }
      // A block wins over a connection made at the same time on the other
      // shard: undo that side instead.
      ASSIGN_OR_RETURN(bool blocked, BlockedEitherWay(link.member, link.other));
      if (blocked) {
        RETURN_IF_ERROR(write.Unlink(link.other, link.member).status());
        changes.push_back(ConnectionChanged(link.member, link.other, false));
        continue;
      }
      RETURN_IF_ERROR(write.Link(link.member, link.other, static_cast<uint32_t>(link.since)));
    }
  }
  return Commit(&write, changes);
}

}  // namespace liaison::identity
