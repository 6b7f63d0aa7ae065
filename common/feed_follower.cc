#include "common/feed_follower.h"

#include <algorithm>

#include "common/logging.h"

namespace liaison {
namespace {

constexpr absl::Duration kTick = absl::Milliseconds(20);

prometheus::Labels LabelsOf(const FeedFollowerOptions& o) {
  return {{"feed", o.feed}, {"consumer", o.consumer}};
}

}  // namespace

FeedFollower::FeedFollower(FeedFollowerOptions options, std::optional<uint64_t> start,
                           Prepare prepare, Run run, Rebuild rebuild,
                           prometheus::Registry& registry)
    : options_(std::move(options)),
      prepare_(std::move(prepare)),
      run_(std::move(run)),
      rebuild_(std::move(rebuild)),
      resume_(start),
      applied_(start.value_or(0)),
      cursor_(prometheus::BuildGauge()
                  .Name("liaison_feed_consumer_cursor")
                  .Help("The feed cursor this consumer has applied changes up to.")
                  .Register(registry)
                  .Add(LabelsOf(options_))),
      lag_cursors_(prometheus::BuildGauge()
                       .Name("liaison_feed_consumer_lag_cursors")
                       .Help("How many cursors this consumer is behind the feed's head, as of "
                             "the last response.")
                       .Register(registry)
                       .Add(LabelsOf(options_))),
      lag_seconds_(prometheus::BuildGauge()
                       .Name("liaison_feed_consumer_lag_seconds")
                       .Help("Seconds since this consumer was last caught up with the feed.")
                       .Register(registry)
                       .Add(LabelsOf(options_))),
      live_(prometheus::BuildGauge()
                .Name("liaison_feed_consumer_live")
                .Help("1 while the consumer is connected and caught up within its max lag; 0 "
                      "while it answers from the source instead.")
                .Register(registry)
                .Add(LabelsOf(options_))),
      reconnects_(prometheus::BuildCounter()
                      .Name("liaison_feed_consumer_reconnects_total")
                      .Help("Times the consumer's stream ended and was opened again.")
                      .Register(registry)
                      .Add(LabelsOf(options_))),
      rebuilds_(prometheus::BuildCounter()
                    .Name("liaison_feed_consumer_rebuilds_total")
                    .Help("Times the consumer's cursor was out of the feed's retention and it "
                          "rebuilt from a snapshot.")
                    .Register(registry)
                    .Add(LabelsOf(options_))) {}

FeedFollower::~FeedFollower() { Stop(); }

void FeedFollower::Start() {
  run_thread_ = std::thread([this] { RunLoop(); });
  tick_thread_ = std::thread([this] { TickLoop(); });
}

void FeedFollower::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (context_ != nullptr) context_->TryCancel();
  }
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (run_thread_.joinable()) run_thread_.join();
  if (tick_thread_.joinable()) tick_thread_.join();
  std::vector<Waiter> waiters;
  {
    absl::MutexLock lock(&mu_);
    waiters.swap(waiters_);
  }
  for (auto& w : waiters) w.done(false);
}

void FeedFollower::RunLoop() {
  absl::Duration backoff = options_.retry_min;
  while (!stop_.HasBeenNotified()) {
    grpc::ClientContext context;
    prepare_(&context);
    std::optional<uint64_t> after;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      context_ = &context;
      after = resume_;
    }
    const grpc::Status status = run_(&context, after);
    {
      absl::MutexLock lock(&mu_);
      context_ = nullptr;
    }
    SetConnected(false);
    if (stop_.HasBeenNotified()) return;
    reconnects_.Increment();
    if (status.error_code() == grpc::StatusCode::OUT_OF_RANGE) {
      LogWarn("feed_consumer_rebuilding", {{"feed", options_.feed},
                                           {"consumer", options_.consumer},
                                           {"reason", status.error_message()}});
      auto resume = rebuild_();
      if (resume.ok()) {
        rebuilds_.Increment();
        absl::MutexLock lock(&mu_);
        resume_ = *resume;
        if (resume->has_value()) applied_ = **resume;
        backoff = options_.retry_min;
        continue;
      }
      LogError("feed_consumer_rebuild_failed", {{"feed", options_.feed},
                                                {"consumer", options_.consumer},
                                                {"error", resume.status().ToString()}});
    } else {
      LogWarn("feed_consumer_disconnected", {{"feed", options_.feed},
                                             {"consumer", options_.consumer},
                                             {"code", static_cast<int>(status.error_code())},
                                             {"reason", status.error_message()}});
    }
    if (stop_.WaitForNotificationWithTimeout(backoff)) return;
    backoff = std::min(backoff * 2, options_.retry_max);
  }
}

void FeedFollower::Progress(uint64_t cursor, uint64_t head) {
  {
    absl::MutexLock lock(&mu_);
    connected_ = true;  // a response came: the stream is open
    applied_ = std::max(applied_, cursor);
    resume_ = applied_;
    head_ = std::max(head, applied_);
    if (applied_ >= head_) caught_up_ = absl::Now();
    cursor_.Set(static_cast<double>(applied_));
    lag_cursors_.Set(static_cast<double>(head_ - applied_));
  }
  SettleWaiters();
}

void FeedFollower::SetConnected(bool connected) {
  absl::MutexLock lock(&mu_);
  connected_ = connected;
}

bool FeedFollower::LiveLocked(absl::Time now) const {
  return connected_ && now - caught_up_ <= options_.max_lag;
}

bool FeedFollower::Live() const {
  absl::MutexLock lock(&mu_);
  return LiveLocked(absl::Now());
}

uint64_t FeedFollower::Applied() const {
  absl::MutexLock lock(&mu_);
  return applied_;
}

void FeedFollower::WhenApplied(uint64_t cursor, absl::Duration timeout,
                               std::function<void(bool)> done) {
  const absl::Time now = absl::Now();
  {
    absl::MutexLock lock(&mu_);
    if (applied_ < cursor && LiveLocked(now)) {
      waiters_.push_back(Waiter{cursor, now + timeout, std::move(done)});
      return;
    }
  }
  done(Applied() >= cursor);
}

void FeedFollower::SettleWaiters() {
  std::vector<std::pair<std::function<void(bool)>, bool>> due;
  {
    absl::MutexLock lock(&mu_);
    if (waiters_.empty()) return;
    const absl::Time now = absl::Now();
    const bool live = LiveLocked(now);
    auto keep = waiters_.begin();
    for (auto& w : waiters_) {
      if (applied_ >= w.cursor) {
        due.emplace_back(std::move(w.done), true);
      } else if (!live || now >= w.deadline) {
        due.emplace_back(std::move(w.done), false);
      } else {
        *keep++ = std::move(w);
      }
    }
    waiters_.erase(keep, waiters_.end());
  }
  for (auto& [done, reached] : due) done(reached);
}

void FeedFollower::TickLoop() {
  while (!stop_.WaitForNotificationWithTimeout(kTick)) {
    SettleWaiters();
    bool live;
    bool changed;
    std::string why;
    {
      absl::MutexLock lock(&mu_);
      const absl::Time now = absl::Now();
      live = LiveLocked(now);
      changed = live != was_live_;
      was_live_ = live;
      lag_seconds_.Set(
          caught_up_ == absl::InfinitePast() ? 0.0 : absl::ToDoubleSeconds(now - caught_up_));
      why = !connected_ ? "disconnected" : "lagging";
    }
    live_.Set(live ? 1 : 0);
    if (!changed) continue;
    if (live) {
      LogInfo("feed_consumer_live", {{"feed", options_.feed}, {"consumer", options_.consumer}});
    } else {
      LogWarn("feed_consumer_not_live", {{"feed", options_.feed},
                                         {"consumer", options_.consumer},
                                         {"reason", why},
                                         {"effect", "answering from the source until caught up"}});
    }
  }
}

}  // namespace liaison
