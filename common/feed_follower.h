// The consuming side of a change feed (common/change_feed.h): one stream
// kept open on a thread of its own, resumed from the consumer's cursor
// after any break (with backoff), rebuilt from a snapshot when the feed no
// longer holds that cursor (OUT_OF_RANGE), and watched for lag. A consumer
// stores the cursor with what it derived from the changes (exactly once);
// this class only knows where the stream is.
//
// Live: the stream is open and was caught up with the feed's head within
// max_lag (heartbeats keep an idle stream caught up). A consumer that is not
// live answers from the source instead (correct, slower); the change is
// logged and shown in liaison_feed_consumer_live.
#ifndef LIAISON_COMMON_FEED_FOLLOWER_H_
#define LIAISON_COMMON_FEED_FOLLOWER_H_

#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>
#include <grpcpp/support/sync_stream.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace liaison {

struct FeedFollowerOptions {
  std::string feed;      // whose feed: "identity"
  std::string consumer;  // who follows it: "messaging"
  // Caught up with the head within this, or not live.
  absl::Duration max_lag = absl::Seconds(2);
  absl::Duration retry_min = absl::Milliseconds(100);
  absl::Duration retry_max = absl::Seconds(5);
};

class FeedFollower final {
 public:
  // One stream's life: opens WatchChanges after `after` (nullopt: from the
  // head) on `context`, and for every response applies its changes, then
  // calls Progress(response.cursor(), response.head_cursor()). Returns the
  // stream's final status when it ends.
  using Run =
      std::function<grpc::Status(grpc::ClientContext* context, std::optional<uint64_t> after)>;
  // The feed refused the cursor (OUT_OF_RANGE): rebuild what was derived
  // from it, and return where to resume (nullopt: from the head).
  using Rebuild = std::function<absl::StatusOr<std::optional<uint64_t>>()>;
  // Sets a stream's credentials (no deadline: the stream stays open).
  using Prepare = std::function<void(grpc::ClientContext*)>;

  // `start`: the cursor the consumer stored (nullopt: from the head).
  FeedFollower(FeedFollowerOptions options, std::optional<uint64_t> start, Prepare prepare, Run run,
               Rebuild rebuild, prometheus::Registry& registry);
  ~FeedFollower();

  FeedFollower(const FeedFollower&) = delete;
  FeedFollower& operator=(const FeedFollower&) = delete;

  void Start();
  // Ends the stream and joins the threads. Idempotent.
  void Stop();

  // From Run: the changes up to `cursor` are applied; the feed's head is `head`.
  void Progress(uint64_t cursor, uint64_t head);

  // The usual body of a Run: reads `stream` to its end, giving each response
  // to `apply` and then calling Progress with its cursors. An error from
  // `apply` ends the stream (the follower resumes from the last cursor
  // applied, after its backoff) as UNAVAILABLE with the error's message.
  template <typename Response>
  grpc::Status Follow(grpc::ClientContext* context, grpc::ClientReaderInterface<Response>* stream,
                      const std::function<absl::Status(const Response&)>& apply) {
    Response response;
    while (stream->Read(&response)) {
      const absl::Status applied = apply(response);
      if (!applied.ok()) {
        context->TryCancel();
        stream->Finish();
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, std::string(applied.message()));
      }
      Progress(response.cursor(), response.head_cursor());
    }
    return stream->Finish();
  }

  bool Live() const;
  // The cursor applied so far (0 before the first response).
  uint64_t Applied() const;

  // Calls `done(true)` once the changes up to `cursor` are applied, or
  // `done(false)` when `timeout` passes first or the follower is not live.
  // `done` runs inline or on one of the follower's threads: it must not block.
  void WhenApplied(uint64_t cursor, absl::Duration timeout, std::function<void(bool)> done);

 private:
  struct Waiter {
    uint64_t cursor;
    absl::Time deadline;
    std::function<void(bool)> done;
  };

  void RunLoop();
  void TickLoop();
  // Runs the waiters that are due: those reached (true) and, unless live,
  // those expired or all (false).
  void SettleWaiters();
  void SetConnected(bool connected);
  bool LiveLocked(absl::Time now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const FeedFollowerOptions options_;
  const Prepare prepare_;
  const Run run_;
  const Rebuild rebuild_;

  mutable absl::Mutex mu_;
  std::optional<uint64_t> resume_ ABSL_GUARDED_BY(mu_);
  uint64_t applied_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t head_ ABSL_GUARDED_BY(mu_) = 0;
  bool connected_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time caught_up_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool was_live_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<Waiter> waiters_ ABSL_GUARDED_BY(mu_);
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  prometheus::Gauge& cursor_;
  prometheus::Gauge& lag_cursors_;
  prometheus::Gauge& lag_seconds_;
  prometheus::Gauge& live_;
  prometheus::Counter& reconnects_;
  prometheus::Counter& rebuilds_;

  absl::Notification stop_;
  std::thread run_thread_;
  std::thread tick_thread_;
};

}  // namespace liaison

#endif  // LIAISON_COMMON_FEED_FOLLOWER_H_
