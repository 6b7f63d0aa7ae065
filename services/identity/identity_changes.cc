#include "services/identity/identity_changes.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/logging.h"

namespace liaison::identity {
namespace {

v1::ChangeKind KindOf(const v1::Change& change) {
  switch (change.change_case()) {
    case v1::Change::kMember:
      return v1::CHANGE_KIND_MEMBER;
    case v1::Change::kTier:
      return v1::CHANGE_KIND_TIER;
    case v1::Change::kConnection:
      return v1::CHANGE_KIND_CONNECTION;
    case v1::Change::kBlock:
      return v1::CHANGE_KIND_BLOCK;
    case v1::Change::kPageFollow:
      return v1::CHANGE_KIND_PAGE_FOLLOW;
    case v1::Change::CHANGE_NOT_SET:
      break;
  }
  return v1::CHANGE_KIND_UNSPECIFIED;
}

}  // namespace

v1::Change MemberChanged(const v1::Member& member, bool created) {
  v1::Change change;
  *change.mutable_member()->mutable_member() = member;
  change.mutable_member()->set_created(created);
  return change;
}

v1::Change TierChanged(const v1::Member& member, v1::AccountTier previous) {
  v1::Change change;
  auto* tier = change.mutable_tier();
  tier->set_member_id(member.member_id());
  tier->set_tier(member.tier());
  tier->set_previous_tier(previous);
  if (member.has_billing_anchor_time()) {
    *tier->mutable_billing_anchor_time() = member.billing_anchor_time();
  }
  return change;
}

v1::Change ConnectionChanged(MemberId a, MemberId b, bool connected) {
  v1::Change change;
  auto* c = change.mutable_connection();
  c->set_member_id(FormatMemberId(a));
  c->set_other_member_id(FormatMemberId(b));
  c->set_connected(connected);
  return change;
}

v1::Change BlockChanged(MemberId blocker, MemberId blocked, bool blocked_now) {
  v1::Change change;
  auto* b = change.mutable_block();
  b->set_blocker_member_id(FormatMemberId(blocker));
  b->set_blocked_member_id(FormatMemberId(blocked));
  b->set_blocked(blocked_now);
  return change;
}

v1::Change FollowChanged(uint64_t page, MemberId member, bool following) {
  v1::Change change;
  auto* f = change.mutable_page_follow();
  f->set_page_id(FormatMemberId(page));
  f->set_member_id(FormatMemberId(member));
  f->set_following(following);
  return change;
}

absl::StatusOr<std::vector<v1::ChangeKind>> WatchedKinds(const v1::WatchChangesRequest& request) {
  std::vector<v1::ChangeKind> kinds;
  for (int k : request.kinds()) {
    if (k == v1::CHANGE_KIND_UNSPECIFIED || !v1::ChangeKind_IsValid(k)) {
      return absl::InvalidArgumentError(
          absl::StrCat("kinds: ", k,
                       " is not a change kind; use CHANGE_KIND_MEMBER, CHANGE_KIND_TIER, "
                       "CHANGE_KIND_CONNECTION, CHANGE_KIND_BLOCK or CHANGE_KIND_PAGE_FOLLOW"));
    }
    kinds.push_back(static_cast<v1::ChangeKind>(k));
  }
  return kinds;
}

void FillChanges(const std::vector<v1::ChangeKind>& kinds, std::vector<FeedEntry> entries,
                 v1::WatchChangesResponse* response) {
  for (FeedEntry& entry : entries) {
    v1::Change change;
    if (!change.ParseFromString(entry.record)) {
      LogError("feed_record_unparsable",
               {{"feed", "identity"}, {"cursor", static_cast<int64_t>(entry.cursor)}});
      continue;
    }
    if (!kinds.empty() && std::find(kinds.begin(), kinds.end(), KindOf(change)) == kinds.end()) {
      continue;
    }
    change.set_cursor(entry.cursor);
    SetTimestamp(change.mutable_commit_time(), entry.commit_time);
    *response->add_changes() = std::move(change);
  }
}

}  // namespace liaison::identity
