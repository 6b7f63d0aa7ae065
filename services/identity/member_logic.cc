// Members and account tiers, and what all identity logic shares.
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "common/logging.h"
#include "common/status.h"
#include "common/text.h"
#include "services/identity/identity_changes.h"
#include "services/identity/identity_logic_internal.h"
#include "services/identity/rules.h"

namespace liaison::identity {
namespace {

absl::Status ValidateHandle(const std::string& handle) {
  bool ok = handle.size() >= kMinHandle && handle.size() <= kMaxHandle;
  for (char c : handle) ok = ok && (absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-');
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("handle \"", absl::CHexEscape(handle.substr(0, 40)), "\" must be ", kMinHandle,
                     " to ", kMaxHandle, " characters of a-z, 0-9 and -"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ValidateEmail(const std::string& email) {
  const size_t at = email.find('@');
  const bool ok = !email.empty() && email.size() <= kMaxEmail && at != std::string::npos &&
                  at > 0 && email.find('@', at + 1) == std::string::npos &&
                  email.find('.', at) != std::string::npos && email.back() != '.' &&
                  std::none_of(email.begin(), email.end(), [](char c) {
                    return static_cast<unsigned char>(c) <= ' ' || c == 0x7F;
                  });
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        "email \"", absl::CHexEscape(email.substr(0, 60)), "\" is not an email address"));
  }
  return absl::AsciiStrToLower(email);
}

}  // namespace

IdentityLogic::IdentityLogic(IdentityStore* store, const Clock* clock,
                             prometheus::Registry& registry, ChangeFeed* feed, PeerOutbox* outbox)
    : store_(store),
      clock_(clock),
      feed_(feed),
      outbox_(outbox),
      peers_(outbox != nullptr && outbox->peers()->sharded() ? outbox->peers() : nullptr),
      graph_(std::make_unique<Graph>(store, peers_)),
      events_(prometheus::BuildCounter()
                  .Name("liaison_identity_events_total")
                  .Help("Identity changes, by event (member_created, invitation_sent, ...).")
                  .Register(registry)),
      peer_applied_(store->store(), store->outbox(), keys::kPeerAppliedKind) {}

IdentityLogic::~IdentityLogic() = default;

void IdentityLogic::Count(const char* event) { events_.Add({{"event", event}}).Increment(); }

absl::Status IdentityLogic::Commit(rocksdb::WriteBatch* batch,
                                   const std::vector<v1::Change>& changes) {
  if (feed_ == nullptr || changes.empty()) {
    return store_->store()->Write(batch, Durability::kSynced);
  }
  std::vector<std::string> records;
  records.reserve(changes.size());
  for (const auto& change : changes) records.push_back(change.SerializeAsString());
  return feed_->Write(batch, records, Durability::kSynced);
}

absl::Status IdentityLogic::Commit(PairWrite* write, const std::vector<v1::Change>& changes) {
  // A pair's changes go to the feed of its lower member's shard.
  std::vector<v1::Change> here;
  for (const v1::Change& change : changes) {
    ASSIGN_OR_RETURN(MemberId home, PairHome(change));
    write->Change(home, change, &here);
  }
  ASSIGN_OR_RETURN(rocksdb::WriteBatch * batch, write->Seal());
  absl::Status written = Commit(batch, here);
  write->Written();  // wakes the outbox when it has records
  return written;
}

absl::StatusOr<uint64_t> IdentityLogic::NewId(std::string (*key)(uint64_t)) {
  // About one random id in every shard count is this shard's: up to 16
  // shards, 4,096 draws miss them all with a chance below 1e-100.
  for (int draw = 0, tried = 0; draw < 4096 && tried < 8; ++draw) {
    uint64_t id;
    {
      absl::MutexLock lock(&random_mu_);
      id = absl::Uniform<uint64_t>(random_, 1, uint64_t{1} << 53);
    }
    if (!Owns(id)) continue;
    ++tried;
    ASSIGN_OR_RETURN(bool used, store_->Exists(store_->members(), key(id)));
    if (!used) return id;
  }
  return absl::InternalError("could not find a free id");
}

absl::StatusOr<v1::Member> IdentityLogic::AnyMember(MemberId id, FeedCursors* cursors) const {
  if (Owns(id)) return store_->GetMember(id);
  ASSIGN_OR_RETURN(auto facts, peers_->Facts({id}, false, cursors));
  if (!facts[0].exists()) return absl::NotFoundError(absl::StrCat("no member ", id));
  return std::move(*facts[0].mutable_member());
}

std::vector<absl::StatusOr<v1::Member>> IdentityLogic::AnyMembers(const std::vector<MemberId>& ids,
                                                                  FeedCursors* cursors) const {
  if (peers_ == nullptr) return store_->GetMembers(ids);
  std::vector<MemberId> here, there;
  for (MemberId id : ids) (Owns(id) ? here : there).push_back(id);
  auto local = store_->GetMembers(here);
  absl::StatusOr<std::vector<v1::MemberFacts>> remote;
  if (!there.empty()) remote = peers_->Facts(there, false, cursors);
  std::vector<absl::StatusOr<v1::Member>> out;
  size_t h = 0, t = 0;
  for (MemberId id : ids) {
    if (Owns(id)) {
      out.push_back(std::move(local[h++]));
    } else if (!remote.ok()) {
      out.push_back(remote.status());
    } else if (auto& facts = (*remote)[t++]; facts.exists()) {
      out.push_back(std::move(*facts.mutable_member()));
    } else {
      out.push_back(absl::NotFoundError(absl::StrCat("no member ", id)));
    }
  }
  return out;
}

absl::StatusOr<uint32_t> IdentityLogic::ConnectionCount(MemberId id) const {
  if (Owns(id)) return store_->ConnectionCount(id);
  ASSIGN_OR_RETURN(auto facts, peers_->Facts({id}, false));
  return static_cast<uint32_t>(facts[0].connection_count());
}

absl::StatusOr<v1::Member> IdentityLogic::Self(const Caller& caller) const {
  auto self = AnyMember(caller.member_id);
  if (absl::IsNotFound(self.status())) {
    return absl::FailedPreconditionError(
        absl::StrCat("member ", caller.member_id, " (the token's subject) does not exist"));
  }
  return self;
}

absl::StatusOr<bool> IdentityLogic::BlockedEitherWay(MemberId a, MemberId b) const {
  // Both sides know both blocks: read the one this shard holds.
  if (!Owns(a)) std::swap(a, b);
  ASSIGN_OR_RETURN(bool ab, store_->Exists(store_->social(), keys::Block(a, b)));
  if (ab) return true;
  return store_->Exists(store_->social(), keys::BlockedBy(a, b));
}

absl::StatusOr<v1::Member> IdentityLogic::Visible(const Caller& caller, MemberId id,
                                                  const char* field) const {
  auto member = AnyMember(id);
  const auto not_found = absl::NotFoundError(absl::StrCat(field, ": no member ", id));
  if (absl::IsNotFound(member.status())) return not_found;
  if (!member.ok()) return member.status();
  if (caller.is_member() && caller.member_id != id) {
    ASSIGN_OR_RETURN(bool blocked, BlockedEitherWay(caller.member_id, id));
    if (blocked) return not_found;
  }
  return member;
}

v1::Member IdentityLogic::Redact(const Caller& caller, v1::Member member) {
  if (caller.is_member() && FormatMemberId(caller.member_id) != member.member_id()) {
    member.clear_email();
    member.clear_billing_anchor_time();
  }
  return member;
}

absl::StatusOr<MemberId> IdentityLogic::SelfOrNamed(const Caller& caller,
                                                    const std::string& member_id,
                                                    const char* field) const {
  if (member_id.empty()) {
    if (caller.is_member()) return caller.member_id;
    return absl::InvalidArgumentError(absl::StrCat(field, " is required when a service calls"));
  }
  ASSIGN_OR_RETURN(MemberId id, ParseMemberId(member_id, field));
  if (caller.is_member() && id != caller.member_id) {
    return absl::PermissionDeniedError(absl::StrCat(field, " must be your own member id"));
  }
  return id;
}

absl::Status IdentityLogic::CreateMember(const v1::CreateMemberRequest& request,
                                         v1::CreateMemberResponse* response) {
  RETURN_IF_ERROR(ValidateHandle(request.handle()));
  ASSIGN_OR_RETURN(std::string display_name,
                   ValidateText(request.display_name(), {"display_name", kMaxDisplayName}));
  ASSIGN_OR_RETURN(std::string headline,
                   ValidateText(request.headline(), {"headline", kMaxHeadline, false}));
  ASSIGN_OR_RETURN(std::string email_key, ValidateEmail(request.email()));

  ASSIGN_OR_RETURN(MemberId id, NewId(&keys::Member));
  const std::vector<Name> names = {{v1::NAME_KIND_HANDLE, request.handle()},
                                   {v1::NAME_KIND_EMAIL, email_key}};
  // Names in other shards' directories first, then this shard's under the
  // directory lock (never held while another shard is asked); a claim
  // whose member is never written lapses (StillHolds), or is given up.
  std::vector<Name> remote;
  absl::Status created = ClaimNames(names, id, /*here=*/false, nullptr, &remote);
  if (created.ok()) {
    Locked lock(this, {0});
    created = CreateMemberHere(request, id, names, display_name, headline, response);
  }
  if (!created.ok()) ReleaseRemote(remote, id);
  return created;
}

absl::Status IdentityLogic::CreateMemberHere(const v1::CreateMemberRequest& request, MemberId id,
                                             const std::vector<Name>& names,
                                             const std::string& display_name,
                                             const std::string& headline,
                                             v1::CreateMemberResponse* response) {
  rocksdb::WriteBatch batch;
  RETURN_IF_ERROR(ClaimNames(names, id, /*here=*/true, &batch, nullptr));
  v1::Member member;
  member.set_member_id(FormatMemberId(id));
  member.set_handle(request.handle());
  member.set_display_name(display_name);
  member.set_headline(headline);
  member.set_email(request.email());
  member.set_tier(v1::ACCOUNT_TIER_BASIC);
  SetTimestamp(member.mutable_create_time(), clock_->Now());
  batch.Put(store_->members(), keys::Member(id), member.SerializeAsString());
  // Privacy must learn the member exists (PrivacyRegistrar): the outbox
  // record commits with the member, so no crash can lose it.
  batch.Put(store_->outbox(), keys::Registration(id), "");
  RETURN_IF_ERROR(Commit(&batch, {MemberChanged(member, true)}));
  Count("member_created");
  *response->mutable_member() = std::move(member);
  return absl::OkStatus();
}

absl::Status IdentityLogic::GetMember(const Caller& caller, const v1::GetMemberRequest& request,
                                      v1::GetMemberResponse* response) const {
  if (request.member_id().empty() == request.handle().empty()) {
    return absl::InvalidArgumentError("give exactly one of member_id and handle");
  }
  if (!request.member_id().empty()) {
    ASSIGN_OR_RETURN(MemberId id, ParseMemberId(request.member_id(), "member_id"));
    ASSIGN_OR_RETURN(v1::Member member, Visible(caller, id, "member_id"));
    *response->mutable_member() = Redact(caller, std::move(member));
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(ValidateHandle(request.handle()));
  // Absent or hidden by a block: the same answer, so a handle lookup reveals
  // neither the member's id nor the block.
  const auto no_such_handle =
      absl::NotFoundError(absl::StrCat("no member with handle \"", request.handle(), "\""));
  auto found = LookupAnywhere(v1::NAME_KIND_HANDLE, request.handle());
  if (absl::IsNotFound(found.status())) return no_such_handle;
  if (!found.ok()) return found.status();
  auto member = Visible(caller, *found, "member_id");
  if (absl::IsNotFound(member.status())) return no_such_handle;
  if (!member.ok()) return member.status();
  // A claim that lapsed, or a handle given up on another shard's member.
  if (member->handle() != request.handle()) return no_such_handle;
  *response->mutable_member() = Redact(caller, *std::move(member));
  return absl::OkStatus();
}

absl::Status IdentityLogic::BatchGetMembers(const Caller& caller,
                                            const v1::BatchGetMembersRequest& request,
                                            v1::BatchGetMembersResponse* response) const {
  const int n = request.member_ids_size();
  if (n == 0 || n > kMaxBatchMembers) {
    return absl::InvalidArgumentError(
        absl::StrCat("member_ids has ", n, " entries; give 1 to ", kMaxBatchMembers));
  }
  std::vector<MemberId> ids;
  for (int i = 0; i < n; ++i) {
    ASSIGN_OR_RETURN(MemberId id,
                     ParseMemberId(request.member_ids(i), absl::StrCat("member_ids[", i, "]")));
    ids.push_back(id);
  }
  auto members = AnyMembers(ids);
  for (int i = 0; i < n; ++i) {
    bool hidden = absl::IsNotFound(members[i].status());
    if (!hidden && !members[i].ok()) return members[i].status();
    if (!hidden && caller.is_member() && ids[i] != caller.member_id) {
      ASSIGN_OR_RETURN(hidden, BlockedEitherWay(caller.member_id, ids[i]));
    }
    if (hidden) {
      response->add_missing_member_ids(request.member_ids(i));
    } else {
      *response->add_members() = Redact(caller, *std::move(members[i]));
    }
  }
  return absl::OkStatus();
}

absl::Status IdentityLogic::UpdateMember(const Caller& caller,
                                         const v1::UpdateMemberRequest& request,
                                         v1::UpdateMemberResponse* response) {
  const v1::Member& values = request.member();
  if (!values.member_id().empty()) {
    ASSIGN_OR_RETURN(MemberId named, ParseMemberId(values.member_id(), "member.member_id"));
    if (named != caller.member_id) {
      return absl::PermissionDeniedError("members can change only their own profile");
    }
  }
  if (request.update_mask().paths().empty()) {
    return absl::InvalidArgumentError(
        "update_mask is empty; name the fields to change (handle, display_name, headline, email)");
  }
  std::string display_name, headline, email_key;
  for (const std::string& path : request.update_mask().paths()) {
    if (path == "handle") {
      RETURN_IF_ERROR(ValidateHandle(values.handle()));
    } else if (path == "display_name") {
      ASSIGN_OR_RETURN(display_name,
                       ValidateText(values.display_name(), {"display_name", kMaxDisplayName}));
    } else if (path == "headline") {
      ASSIGN_OR_RETURN(headline,
                       ValidateText(values.headline(), {"headline", kMaxHeadline, false}));
    } else if (path == "email") {
      ASSIGN_OR_RETURN(email_key, ValidateEmail(values.email()));
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("update_mask path \"", path,
                       "\" cannot be changed; use handle, display_name, headline "
                       "or email"));
    }
  }
  const MemberId id = caller.member_id;
  // New names in other shards' directories are claimed before the
  // directory lock is taken, old ones given up after it is released.
  std::vector<Name> wanted, remote, release_later;
  {
    ASSIGN_OR_RETURN(v1::Member before, Self(caller));
    for (const std::string& path : request.update_mask().paths()) {
      if (path == "handle" && values.handle() != before.handle()) {
        wanted.push_back({v1::NAME_KIND_HANDLE, values.handle()});
      } else if (path == "email" && email_key != absl::AsciiStrToLower(before.email())) {
        wanted.push_back({v1::NAME_KIND_EMAIL, email_key});
      }
    }
  }
  absl::Status updated = ClaimNames(wanted, id, /*here=*/false, nullptr, &remote);
  if (updated.ok()) {
    Locked lock(this, {0, caller.member_id});
    updated = UpdateMemberHere(caller, request, display_name, headline, email_key, &release_later,
                               response);
  }
  if (!updated.ok()) {
    ReleaseRemote(remote, id);
    return updated;
  }
  // A failure leaves a claim StillHolds no longer honours once it is a
  // minute old (the member's record names another): it only costs a lookup.
  ReleaseRemote(release_later, id);
  return absl::OkStatus();
}

absl::Status IdentityLogic::UpdateMemberHere(
    const Caller& caller, const v1::UpdateMemberRequest& request, const std::string& display_name,
    const std::string& headline, const std::string& email_key, std::vector<Name>* release_later,
    v1::UpdateMemberResponse* response) {
  const v1::Member& values = request.member();
  ASSIGN_OR_RETURN(v1::Member member, Self(caller));
  rocksdb::WriteBatch batch;
  const MemberId id = caller.member_id;
  // Old names on another shard's directory are given up once the change
  // is committed (until then a failure must leave the member holding them).
  auto release = [&](v1::NameKind kind, const std::string& name) {
    if (peers_ != nullptr && !peers_->OwnsName(name)) {
      release_later->push_back({kind, name});
    } else {
      batch.Delete(store_->members(), NameKey(kind, name));
    }
  };
  for (const std::string& path : request.update_mask().paths()) {
    if (path == "handle" && values.handle() != member.handle()) {
      RETURN_IF_ERROR(ClaimNames({{v1::NAME_KIND_HANDLE, values.handle()}}, id, /*here=*/true,
                                 &batch, nullptr));
      release(v1::NAME_KIND_HANDLE, member.handle());
      member.set_handle(values.handle());
    } else if (path == "display_name") {
      member.set_display_name(display_name);
    } else if (path == "headline") {
      member.set_headline(headline);
    } else if (path == "email" && email_key != absl::AsciiStrToLower(member.email())) {
      RETURN_IF_ERROR(
          ClaimNames({{v1::NAME_KIND_EMAIL, email_key}}, id, /*here=*/true, &batch, nullptr));
      release(v1::NAME_KIND_EMAIL, absl::AsciiStrToLower(member.email()));
      member.set_email(values.email());
    } else if (path == "email") {
      member.set_email(values.email());
    }
  }
  batch.Put(store_->members(), keys::Member(id), member.SerializeAsString());
  RETURN_IF_ERROR(Commit(&batch, {MemberChanged(member, false)}));
  *response->mutable_member() = std::move(member);
  return absl::OkStatus();
}

absl::Status IdentityLogic::SetAccountTier(const v1::SetAccountTierRequest& request,
                                           v1::SetAccountTierResponse* response) {
  ASSIGN_OR_RETURN(MemberId id, ParseMemberId(request.member_id(), "member_id"));
  if (request.tier() == v1::ACCOUNT_TIER_UNSPECIFIED || !v1::AccountTier_IsValid(request.tier())) {
    return absl::InvalidArgumentError(absl::StrCat("tier ", request.tier(),
                                                   " is not a tier; use ACCOUNT_TIER_BASIC to "
                                                   "ACCOUNT_TIER_RECRUITER_CORPORATE"));
  }
  Locked lock(this, {id});
  auto member = store_->GetMember(id);
  if (absl::IsNotFound(member.status())) {
    return absl::NotFoundError(absl::StrCat("member_id: no member ", id));
  }
  if (!member.ok()) return member.status();
  if (member->tier() != request.tier()) {
    const v1::AccountTier previous = member->tier();
    member->set_tier(request.tier());
    if (IsPremium(request.tier())) {
      // A new premium tier starts a billing cycle now.
      SetTimestamp(member->mutable_billing_anchor_time(), clock_->Now());
    } else {
      member->clear_billing_anchor_time();
    }
    rocksdb::WriteBatch batch;
    batch.Put(store_->members(), keys::Member(id), member->SerializeAsString());
    RETURN_IF_ERROR(Commit(&batch, {TierChanged(*member, previous)}));
    Count("tier_changed");
  }
  *response->mutable_member() = *std::move(member);
  return absl::OkStatus();
}

}  // namespace liaison::identity
