// Connections, relationships and blocks.
#include "absl/strings/numbers.h"
#include "common/keys.h"
#include "common/pagination.h"
#include "common/status.h"
#include "services/identity/identity_changes.h"
#include "services/identity/identity_logic_internal.h"
#include "services/identity/rules.h"

namespace liaison::identity {
namespace {

// Paging through a sorted id list: the token holds the last id returned.
absl::StatusOr<size_t> StartAfter(const std::vector<MemberId>& ids, absl::string_view list,
                                  const std::string& token) {
  ASSIGN_OR_RETURN(std::string after, DecodePageToken(list, token));
  if (after.empty()) return 0;
  MemberId last;
  if (!absl::SimpleAtoi(after, &last)) {
    return absl::InvalidArgumentError("page_token is not one this list returned");
  }
  return std::upper_bound(ids.begin(), ids.end(), last) - ids.begin();
}

}  // namespace

absl::Status IdentityLogic::Connect(PairWrite* write, MemberId a, MemberId b,
                                    std::vector<v1::Change>* changes) {
  const auto since = static_cast<uint32_t>(absl::ToUnixSeconds(clock_->Now()));
  RETURN_IF_ERROR(write->Link(a, b, since));
  RETURN_IF_ERROR(write->Link(b, a, since));
  changes->push_back(ConnectionChanged(a, b, true));
  return absl::OkStatus();
}

absl::Status IdentityLogic::Disconnect(PairWrite* write, MemberId a, MemberId b, bool* removed,
                                       std::vector<v1::Change>* changes) {
  // a's side decides: the two sides agree once every change reached both.
  ASSIGN_OR_RETURN(*removed, write->Unlink(a, b));
  if (!*removed) return absl::OkStatus();
  RETURN_IF_ERROR(write->Unlink(b, a).status());
  changes->push_back(ConnectionChanged(a, b, false));
  return absl::OkStatus();
}

absl::Status IdentityLogic::ListConnections(const Caller& caller,
                                            const v1::ListConnectionsRequest& request,
                                            v1::ListConnectionsResponse* response) const {
  ASSIGN_OR_RETURN(MemberId member, SelfOrNamed(caller, request.member_id(), "member_id"));
  ASSIGN_OR_RETURN(int page_size, PageSize(request.page_size()));
  ASSIGN_OR_RETURN(Adjacency adjacency, store_->GetAdjacency(member));
  ASSIGN_OR_RETURN(size_t start, StartAfter(adjacency.ids, "connections", request.page_token()));
  const size_t end = std::min(adjacency.ids.size(), start + page_size);
  for (size_t i = start; i < end; ++i) {
    auto* connection = response->add_connections();
    connection->set_member_id(FormatMemberId(adjacency.ids[i]));
    SetTimestamp(connection->mutable_connect_time(), absl::FromUnixSeconds(adjacency.since[i]));
  }
  if (end < adjacency.ids.size()) {
    response->set_next_page_token(
        EncodePageToken("connections", absl::StrCat(adjacency.ids[end - 1])));
  }
  response->set_total_count(static_cast<int64_t>(adjacency.ids.size()));
  return absl::OkStatus();
}

absl::Status IdentityLogic::RemoveConnection(const Caller& caller,
                                             const v1::RemoveConnectionRequest& request) {
  ASSIGN_OR_RETURN(MemberId other, ParseMemberId(request.member_id(), "member_id"));
  if (other == caller.member_id) {
    return absl::InvalidArgumentError(
        "member_id is your own member id; you cannot be connected to yourself");
  }
  Locked lock(this, {caller.member_id, other});
  PairWrite write(store_, outbox_);
  bool removed = false;
  std::vector<v1::Change> changes;
  RETURN_IF_ERROR(Disconnect(&write, caller.member_id, other, &removed, &changes));
  if (!removed) {
    return absl::NotFoundError(absl::StrCat("you are not connected to member ", other));
  }
  RETURN_IF_ERROR(Commit(&write, changes));
  Count("connection_removed");
  return absl::OkStatus();
}

absl::Status IdentityLogic::ListMutualConnections(
    const Caller& caller, const v1::ListMutualConnectionsRequest& request,
    v1::ListMutualConnectionsResponse* response) const {
  ASSIGN_OR_RETURN(MemberId other, ParseMemberId(request.other_member_id(), "other_member_id"));
  if (other == caller.member_id) {
    return absl::InvalidArgumentError(
        "other_member_id is you; ListConnections lists your own connections");
  }
  ASSIGN_OR_RETURN(int page_size, PageSize(request.page_size()));
  RETURN_IF_ERROR(Visible(caller, other, "other_member_id").status());
  ASSIGN_OR_RETURN(auto mine, store_->Neighbors(caller.member_id));
  ASSIGN_OR_RETURN(auto theirs, graph_->Neighbors(other));
  const std::vector<MemberId> mutual = Intersection(mine, theirs);
  ASSIGN_OR_RETURN(size_t start, StartAfter(mutual, "mutual", request.page_token()));
  const size_t end = std::min(mutual.size(), start + page_size);
  for (size_t i = start; i < end; ++i) response->add_member_ids(FormatMemberId(mutual[i]));
  if (end < mutual.size()) {
    response->set_next_page_token(EncodePageToken("mutual", absl::StrCat(mutual[end - 1])));
  }
  response->set_total_count(static_cast<int64_t>(mutual.size()));
  return absl::OkStatus();
}

absl::StatusOr<v1::Relationship> IdentityLogic::Relate(const Caller& caller, MemberId a,
                                                       const v1::Member& am, MemberId b,
                                                       bool count_mutual, const v1::Member* known_b,
                                                       FeedCursors* cursors) const {
  auto bm = known_b != nullptr ? absl::StatusOr<v1::Member>(*known_b) : AnyMember(b, cursors);
  if (absl::IsNotFound(bm.status())) {
    return absl::NotFoundError(absl::StrCat("other_member_id: no member ", b));
  }
  if (!bm.ok()) return bm.status();
  v1::Relationship r;
  r.set_member_id(FormatMemberId(a));
  r.set_other_member_id(FormatMemberId(b));
  // Both on a's side.
  ASSIGN_OR_RETURN(bool by_a, store_->Exists(store_->social(), keys::Block(a, b)));
  ASSIGN_OR_RETURN(bool by_b, store_->Exists(store_->social(), keys::BlockedBy(a, b)));
  if (caller.is_member() && by_b) {
    // Who blocked a member is invisible to them: the other side does not exist.
    return absl::NotFoundError(absl::StrCat("other_member_id: no member ", b));
  }
  r.set_blocked(by_a || by_b);
  r.set_blocked_by_member(by_a);
  if (caller.is_service()) r.set_blocked_by_other(by_b);
  // Neither side sees the other: the blocker learns only of their block.
  if (caller.is_member() && by_a) return r;
  ASSIGN_OR_RETURN(DegreeResult degree,
                   ComputeDegree(*graph_, a, b, kThirdDegreeSearchIds, count_mutual));
  r.set_degree(degree.degree);
  r.set_mutual_connection_count(degree.mutual_connections);
  r.set_member_tier(am.tier());
  r.set_other_tier(bm->tier());
  ASSIGN_OR_RETURN(bool pending, store_->Exists(store_->social(), keys::Invitation(a, b)));
  r.set_invitation_pending(pending);
  return r;
}

absl::Status IdentityLogic::GetRelationship(const Caller& caller,
                                            const v1::GetRelationshipRequest& request,
                                            v1::GetRelationshipResponse* response) const {
  ASSIGN_OR_RETURN(MemberId a, SelfOrNamed(caller, request.member_id(), "member_id"));
  ASSIGN_OR_RETURN(MemberId b, ParseMemberId(request.other_member_id(), "other_member_id"));
  auto am = store_->GetMember(a);
  if (absl::IsNotFound(am.status())) {
    return caller.is_member() ? Self(caller).status()
                              : absl::NotFoundError(absl::StrCat("member_id: no member ", a));
  }
  if (!am.ok()) return am.status();
  FeedCursors cursors;
  ASSIGN_OR_RETURN(*response->mutable_relationship(),
                   Relate(caller, a, *am, b, !request.skip_mutual_count(), nullptr, &cursors));
  if (caller.is_service())
    response->mutable_other_shard_cursors()->insert(cursors.begin(), cursors.end());
  return absl::OkStatus();
}

absl::Status IdentityLogic::BatchGetRelationships(
    const Caller& caller, const v1::BatchGetRelationshipsRequest& request,
    v1::BatchGetRelationshipsResponse* response) const {
  ASSIGN_OR_RETURN(MemberId a, SelfOrNamed(caller, request.member_id(), "member_id"));
  const int n = request.other_member_ids_size();
  if (n == 0 || n > kMaxBatchRelationships) {
    return absl::InvalidArgumentError(
        absl::StrCat("other_member_ids has ", n, " entries; give 1 to ", kMaxBatchRelationships));
  }
  std::vector<MemberId> others;
  for (int i = 0; i < n; ++i) {
    ASSIGN_OR_RETURN(MemberId b, ParseMemberId(request.other_member_ids(i),
                                               absl::StrCat("other_member_ids[", i, "]")));
    others.push_back(b);
  }
  auto am = store_->GetMember(a);
  if (absl::IsNotFound(am.status())) {
    return absl::NotFoundError(absl::StrCat("member_id: no member ", a));
  }
  if (!am.ok()) return am.status();
  // The others' records in one read (one call per other shard).
  FeedCursors cursors;
  auto bs = AnyMembers(others, &cursors);
  if (caller.is_service())
    response->mutable_other_shard_cursors()->insert(cursors.begin(), cursors.end());
  for (int i = 0; i < n; ++i) {
    if (absl::IsNotFound(bs[i].status())) {
      response->add_missing_member_ids(request.other_member_ids(i));
      continue;
    }
    if (!bs[i].ok()) return bs[i].status();
    auto relationship = Relate(caller, a, *am, others[i], !request.skip_mutual_count(), &*bs[i]);
    if (absl::IsNotFound(relationship.status())) {
      response->add_missing_member_ids(request.other_member_ids(i));
      continue;
    }
    if (!relationship.ok()) return relationship.status();
    *response->add_relationships() = *std::move(relationship);
  }
  return absl::OkStatus();
}

absl::Status IdentityLogic::BlockMember(const Caller& caller,
                                        const v1::BlockMemberRequest& request) {
  ASSIGN_OR_RETURN(MemberId other, ParseMemberId(request.member_id(), "member_id"));
  const MemberId me = caller.member_id;
  if (other == me) return absl::InvalidArgumentError("you cannot block yourself");
  Locked lock(this, {me, other});
  RETURN_IF_ERROR(Self(caller).status());
  auto target = AnyMember(other);
  if (absl::IsNotFound(target.status())) {
    return absl::NotFoundError(absl::StrCat("member_id: no member ", other));
  }
  if (!target.ok()) return target.status();
  ASSIGN_OR_RETURN(bool already, store_->Exists(store_->social(), keys::Block(me, other)));
  if (already) return absl::OkStatus();  // Blocking is idempotent.
  const absl::Time now = clock_->Now();
  auto unblocked = store_->GetTime(keys::Unblock(me, other));
  if (!unblocked.ok() && !absl::IsNotFound(unblocked.status())) return unblocked.status();
  if (unblocked.ok() && now < *unblocked + kReblockCooldown) {
    return absl::FailedPreconditionError(
        absl::StrCat("you unblocked this member on ", HumanTime(*unblocked),
                     "; you can block them again from ", HumanTime(*unblocked + kReblockCooldown)));
  }
  ASSIGN_OR_RETURN(auto blocks,
                   store_->Scan(store_->social(), keys::Prefix('b', me), "", kMaxBlocks));
  if (static_cast<int>(blocks.size()) >= kMaxBlocks) {
    return absl::FailedPreconditionError(absl::StrCat(
        "you have blocked ", kMaxBlocks, " members, the most allowed; unblock someone first"));
  }
  PairWrite write(store_, outbox_);
  const std::string when = IdentityStore::EncodeTime(now);
  write.Put(me, store_->social(), keys::Block(me, other), when);
  write.Put(other, store_->social(), keys::BlockedBy(other, me), when);
  bool removed = false;
  std::vector<v1::Change> changes;
  RETURN_IF_ERROR(Disconnect(&write, me, other, &removed, &changes));
  changes.push_back(BlockChanged(me, other, true));
  // Pending invitations either way, as my side knows them.
  for (bool mine : {true, false}) {
    auto invitation =
        mine ? store_->GetInvitation(me, other) : store_->GetReceivedInvitation(me, other);
    if (invitation.ok()) {
      RETURN_IF_ERROR(mine ? DeleteInvitation(&write, *invitation, me, other)
                           : DeleteInvitation(&write, *invitation, other, me));
    } else if (!absl::IsNotFound(invitation.status())) {
      return invitation.status();
    }
  }
  RETURN_IF_ERROR(Commit(&write, changes));
  Count("member_blocked");
  return absl::OkStatus();
}

absl::Status IdentityLogic::UnblockMember(const Caller& caller,
                                          const v1::UnblockMemberRequest& request) {
  ASSIGN_OR_RETURN(MemberId other, ParseMemberId(request.member_id(), "member_id"));
  if (other == caller.member_id) {
    return absl::InvalidArgumentError(
        "member_id is your own member id; you cannot block or unblock yourself");
  }
  Locked lock(this, {caller.member_id, other});
  ASSIGN_OR_RETURN(bool blocked,
                   store_->Exists(store_->social(), keys::Block(caller.member_id, other)));
  if (!blocked) return absl::NotFoundError(absl::StrCat("you have not blocked member ", other));
  PairWrite write(store_, outbox_);
  write.Delete(caller.member_id, store_->social(), keys::Block(caller.member_id, other));
  write.Delete(other, store_->social(), keys::BlockedBy(other, caller.member_id));
  write.Put(caller.member_id, store_->social(), keys::Unblock(caller.member_id, other),
            IdentityStore::EncodeTime(clock_->Now()));
  RETURN_IF_ERROR(Commit(&write, {BlockChanged(caller.member_id, other, false)}));
  Count("member_unblocked");
  return absl::OkStatus();
}

absl::Status IdentityLogic::ListBlockedMembers(const Caller& caller,
                                               const v1::ListBlockedMembersRequest& request,
                                               v1::ListBlockedMembersResponse* response) const {
  ASSIGN_OR_RETURN(MemberId member, SelfOrNamed(caller, request.member_id(), "member_id"));
  ASSIGN_OR_RETURN(int page_size, PageSize(request.page_size()));
  ASSIGN_OR_RETURN(std::string after, DecodePageToken("blocked", request.page_token()));
  const std::string prefix = keys::Prefix('b', member);
  ASSIGN_OR_RETURN(auto entries, store_->Scan(store_->social(), prefix,
                                              after.empty() ? "" : prefix + after, page_size + 1));
  for (size_t i = 0; i < entries.size() && i < static_cast<size_t>(page_size); ++i) {
    KeyReader key = keys::Reader(entries[i].key), value(entries[i].value);
    char kind;
    uint64_t me, other;
    absl::Time t;
    if (!key.Kind(&kind) || !key.U64(&me) || !key.U64(&other) || !value.Time(&t)) {
      return absl::DataLossError("a block record does not parse");
    }
    auto* blocked = response->add_blocked_members();
    blocked->set_member_id(FormatMemberId(other));
    SetTimestamp(blocked->mutable_block_time(), t);
  }
  if (entries.size() > static_cast<size_t>(page_size)) {
    response->set_next_page_token(
        EncodePageToken("blocked", entries[page_size - 1].key.substr(prefix.size())));
  }
  return absl::OkStatus();
}

}  // namespace liaison::identity
