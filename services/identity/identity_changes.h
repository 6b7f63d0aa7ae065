// Identity's change feed records (DESIGN.md §6): what each change appends to
// the feed (common/change_feed.h) in the same WriteBatch as the change, and
// how a stored record becomes a WatchChanges response.
#ifndef LIAISON_SERVICES_IDENTITY_IDENTITY_CHANGES_H_
#define LIAISON_SERVICES_IDENTITY_IDENTITY_CHANGES_H_

#include <vector>

#include "absl/status/statusor.h"
#include "common/change_feed.h"
#include "common/ids.h"
#include "liaison/identity/v1/identity.pb.h"

namespace liaison::identity {

v1::Change MemberChanged(const v1::Member& member, bool created);
v1::Change TierChanged(const v1::Member& member, v1::AccountTier previous);
v1::Change ConnectionChanged(MemberId a, MemberId b, bool connected);
v1::Change BlockChanged(MemberId blocker, MemberId blocked, bool blocked_now);
v1::Change FollowChanged(uint64_t page, MemberId member, bool following);

// The kinds a WatchChanges request asks for (empty: all);
// InvalidArgumentError naming an unknown one.
absl::StatusOr<std::vector<v1::ChangeKind>> WatchedKinds(const v1::WatchChangesRequest& request);

// Adds the entries of the asked-for kinds to `response`, each with its
// cursor and commit time.
void FillChanges(const std::vector<v1::ChangeKind>& kinds, std::vector<FeedEntry> entries,
                 v1::WatchChangesResponse* response);

}  // namespace liaison::identity

#endif  // LIAISON_SERVICES_IDENTITY_IDENTITY_CHANGES_H_
