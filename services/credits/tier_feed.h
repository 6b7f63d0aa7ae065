// Credits' consumer of identity's change feed (DESIGN.md §4 and §6): every
// TierChange becomes the member's FORFEIT / GRANT ledger entries when it
// happens, exactly once, whatever is read in between. The stream runs on a
// FeedFollower's thread (common/feed_follower.h); each change is one synced
// batch with the account's applied_cursor and the stored cursor
// (CreditLogic::ApplyTierChange).
//
// Reads ask identity for the member, then WhenApplied(change_cursor): once
// the feed has applied that cursor the account's own tier is current; if it
// has not within the wait, the read applies identity's tier itself (the
// fallback, counted in liaison_credits_tier_fallback_total).
//
// Rebuild (the stored cursor is out of identity's retention, the feed was
// reset, or accounts exist but no cursor was ever stored): every account is
// set from BatchGetMembers, a batch at a time, and the stream resumes from the
// smallest change_cursor those answers carried; the accounts' applied_cursor
// makes the overlap harmless.
#ifndef LIAISON_SERVICES_CREDITS_TIER_FEED_H_
#define LIAISON_SERVICES_CREDITS_TIER_FEED_H_

#include <prometheus/registry.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/client.h"
#include "common/feed_follower.h"
#include "common/shard_map.h"
#include "liaison/identity/v1/identity.grpc.pb.h"
#include "services/credits/credit_logic.h"
#include "services/credits/credit_store.h"

namespace liaison::credits {

class TierFeed final {
 public:
  // The key of identity's cursor in the credits store.
  static constexpr char kFeed[] = "identity";
  // How long a read waits for the feed before it falls back.
  static constexpr absl::Duration kReadWait = absl::Seconds(1);

  // `shard`: changes of members another shard owns are passed over (that
  // shard applies them); null applies every change.
  TierFeed(CreditLogic* logic, const CreditStore* store,
           identity::v1::IdentityService::Stub* identity, ServiceTokenSource* tokens,
           const ShardIdentity* shard, prometheus::Registry& registry);
  ~TierFeed();

  TierFeed(const TierFeed&) = delete;
  TierFeed& operator=(const TierFeed&) = delete;

  // Reads the stored cursor and starts following, then waits (up to 2 s)
  // until caught up, so reads right after a restart need no fallback. An
  // error reading the store is returned (the service does not start).
  absl::Status Start();
  // Ends the stream and joins its threads; before the store closes.
  void Stop();

  // Completes `facts` for a read: sets feed_applied once the feed has applied
  // facts.cursor, or leaves it false after kReadWait (or at once when the
  // feed is not live), then calls `done` with them. `done` runs on a gRPC or
  // follower thread: it must not block (post the work to a pool).
  void Resolve(MemberFacts facts, std::function<void(const MemberFacts&)> done);

 private:
  grpc::Status Run(grpc::ClientContext* context, std::optional<uint64_t> after);
  absl::StatusOr<std::optional<uint64_t>> Rebuild();
  // Logs when reads switch between the feed and the fallback.
  void NoteRead(bool from_feed);

  CreditLogic* const logic_;
  const CreditStore* const store_;
  identity::v1::IdentityService::Stub* const identity_;
  ServiceTokenSource* const tokens_;
  const ShardIdentity* const shard_;
  prometheus::Registry& registry_;
  std::unique_ptr<FeedFollower> follower_;
  // The stored cursor; only the follower's stream thread touches it.
  std::optional<uint64_t> stored_;
  // No cursor was stored but accounts exist: rebuild before following.
  bool rebuild_first_ = false;
  std::atomic<bool> stopping_{false};
  std::atomic<int> last_read_{0};  // 0 none yet, 1 from the feed, 2 fallback
};

}  // namespace liaison::credits

#endif  // LIAISON_SERVICES_CREDITS_TIER_FEED_H_
