// A service's change feed (DESIGN.md §6, LinkedIn's Databus pattern): every
// change the service makes is appended, in the same WriteBatch as the change
// itself, to an ordered log in a column family of its own, numbered by an
// increasing cursor; the log is served to other services as a server stream
// resumable from a cursor (WatchChanges), and kept for a bounded retention.
//
// Cursors are handed out when a write is staged, and writes commit
// concurrently (RocksDB groups their fsyncs), so they may commit out of
// cursor order. Readers therefore see the feed only up to its head: the
// highest cursor below which every staged write has finished. A write that
// failed leaves a gap; cursors are increasing, not dense.
//
//   family "feed": cursor (8 bytes big-endian) -> commit time (8 bytes,
//                  microseconds, big-endian) + the service's change record
#ifndef LIAISON_COMMON_CHANGE_FEED_H_
#define LIAISON_COMMON_CHANGE_FEED_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/status.h"
#include "common/store.h"
#include "common/worker_pool.h"

namespace liaison {

struct ChangeFeedOptions {
  // Labels metrics and logs: "identity", "privacy".
  std::string name;
  // How long a change is kept. The newest change is always kept, so the
  // head survives a restart.
  absl::Duration retention = absl::Hours(24 * 7);
  // An idle stream sends a response without changes this often.
  absl::Duration heartbeat = absl::Milliseconds(500);
  // Open streams at most; more are refused (RESOURCE_EXHAUSTED).
  size_t max_watchers = 256;
};

// One stored change.
struct FeedEntry {
  uint64_t cursor = 0;
  absl::Time commit_time;
  std::string record;  // the service's serialized change
};

class ChangeFeed final {
 public:
  static constexpr char kFamily[] = "feed";
  static ColumnFamilySpec Family() { return ColumnFamilySpec{kFamily, 0}; }

  // Reads the head and the oldest retained cursor from the store, and starts
  // the thread that prunes past the retention and sends heartbeats. The
  // store (with Family()) and `clock` must outlive the feed.
  static absl::StatusOr<std::unique_ptr<ChangeFeed>> Open(Store* store, const Clock* clock,
                                                          ChangeFeedOptions options,
                                                          prometheus::Registry& registry);
  ~ChangeFeed();

  ChangeFeed(const ChangeFeed&) = delete;
  ChangeFeed& operator=(const ChangeFeed&) = delete;

  // Cursors reserved for one write. Destroy it (or call Done) once the
  // batch's Write returned, committed or not: the head waits for it.
  class Staged final {
   public:
    Staged() = default;
    Staged(Staged&& other) noexcept { *this = std::move(other); }
    Staged& operator=(Staged&& other) noexcept;
    ~Staged() { Done(); }
    void Done();
    // The cursors given to the records, in order (empty if none).
    const std::vector<uint64_t>& cursors() const { return cursors_; }

   private:
    friend class ChangeFeed;
    ChangeFeed* feed_ = nullptr;
    std::vector<uint64_t> cursors_;
  };

  // Gives each record the next cursor and puts it into `batch`.
  Staged Stage(rocksdb::WriteBatch* batch, const std::vector<std::string>& records);

  // Stage, Store::Write, Done: the usual way to commit a change with its
  // records.
  absl::Status Write(rocksdb::WriteBatch* batch, const std::vector<std::string>& records,
                     Durability durability = Durability::kSynced);

  // Every change with a cursor up to Head() has committed (or failed).
  uint64_t Head() const;

  // OK if a consumer may resume after `after`; OutOfRangeError (saying to
  // rebuild from a snapshot) if changes after it were pruned, or if it is
  // ahead of the head (this feed was reset, e.g. a new store).
  absl::Status CheckResume(uint64_t after) const;

  // Changes after `after` up to the head, at most `limit`, in order. `*through`
  // is set to the cursor the read covered: the last entry's cursor when
  // `limit` entries came back, the head otherwise. CheckResume's errors.
  absl::StatusOr<std::vector<FeedEntry>> Read(uint64_t after, size_t limit,
                                              uint64_t* through) const;

  // Deletes up to `limit` changes older than the retention (never the
  // newest); returns how many.
  absl::StatusOr<size_t> Prune(size_t limit);

  // Something woken when the head moves, and on every heartbeat tick.
  class Watcher {
   public:
    virtual ~Watcher() = default;
    // Must not block: called from writers' threads and the feed's own.
    virtual void Wake(bool heartbeat) = 0;
    // The feed is closing (shutdown): end the stream.
    virtual void Close() = 0;
  };
  // False when max_watchers are open.
  bool AddWatcher(Watcher* watcher);
  void RemoveWatcher(Watcher* watcher);
  // Ends every open stream (UNAVAILABLE: consumers reconnect with their cursor).
  void CloseAll();

  const ChangeFeedOptions& options() const { return options_; }
  const Clock* clock() const { return clock_; }

 private:
  ChangeFeed(Store* store, const Clock* clock, ChangeFeedOptions options,
             prometheus::Registry& registry);
  absl::Status Load();
  void Finished(const std::vector<uint64_t>& cursors);
  void WakeAll(bool heartbeat);
  void Loop();

  Store* store_;
  rocksdb::ColumnFamilyHandle* family_;
  const Clock* clock_;
  const ChangeFeedOptions options_;

  mutable absl::Mutex mu_;
  uint64_t next_ ABSL_GUARDED_BY(mu_) = 1;    // the next cursor to hand out
  uint64_t head_ ABSL_GUARDED_BY(mu_) = 0;    // see Head()
  uint64_t pruned_ ABSL_GUARDED_BY(mu_) = 0;  // every cursor up to it is gone
  std::set<uint64_t> in_flight_ ABSL_GUARDED_BY(mu_);

  absl::Mutex watchers_mu_;
  std::set<Watcher*> watchers_ ABSL_GUARDED_BY(watchers_mu_);
  bool closed_ ABSL_GUARDED_BY(watchers_mu_) = false;

  prometheus::Gauge& head_gauge_;
  prometheus::Gauge& oldest_gauge_;
  prometheus::Gauge& watchers_gauge_;

  absl::Notification stop_;
  std::thread loop_;
};

// Serves one WatchChanges call of a service whose response type `Response`
// has `cursor` and `head_cursor` fields: the stored changes after `after`
// (none: from the head), then new ones as they commit, a heartbeat when
// idle. `fill` adds the entries the request asked for to a response (it
// parses each record, sets its cursor and commit time, and may drop some);
// it runs on `pool`, where the store is read.
template <typename Response>
class FeedStream final : public grpc::ServerWriteReactor<Response>, public ChangeFeed::Watcher {
 public:
  using Fill = std::function<void(std::vector<FeedEntry>, Response*)>;
  static constexpr size_t kBatch = 500;  // entries read per response at most

  // Validates the cursor and registers the stream; a stream that cannot
  // start ends at once with the reason.
  static grpc::ServerWriteReactor<Response>* Open(ChangeFeed* feed, WorkerPool* pool,
                                                  std::optional<uint64_t> after, Fill fill) {
    if (after.has_value()) {
      absl::Status resumable = feed->CheckResume(*after);
      if (!resumable.ok()) return Refuse(ToGrpcStatus(resumable));
    }
    auto* stream = new FeedStream(feed, pool, after.value_or(feed->Head()), std::move(fill));
    if (!feed->AddWatcher(stream)) {
      stream->registered_ = false;
      stream->End(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                               "too many change-feed watchers are open; retry later"));
      return stream;
    }
    stream->Wake(true);  // the first response at once: the client knows it is in
    return stream;
  }

  // A stream that ends at once with `status` (refused before it began).
  static grpc::ServerWriteReactor<Response>* Refuse(const grpc::Status& status) {
    class RefusedStream final : public grpc::ServerWriteReactor<Response> {
     public:
      explicit RefusedStream(const grpc::Status& status) { this->Finish(status); }
      void OnDone() override { delete this; }
    };
    return new RefusedStream(status);
  }

  void Wake(bool heartbeat) override {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    if (heartbeat) heartbeat_due_ = true;
    if (busy_) {
      rewake_ = true;
      return;
    }
    Pump();
  }

  void Close() override {
    End(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                     "the service is shutting down; resume from your last cursor"));
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    busy_ = false;
    if (!ok) return FinishOnce(grpc::Status::OK);  // the client went away
    if (rewake_) {
      rewake_ = false;
      Pump();
    }
  }

  void OnCancel() override { End(grpc::Status::CANCELLED); }

  void OnDone() override {
    if (registered_) feed_->RemoveWatcher(this);
    {
      absl::MutexLock lock(&mu_);
      done_ = true;
      if (reading_) return;  // the read on the pool deletes the stream
    }
    delete this;
  }

 private:
  FeedStream(ChangeFeed* feed, WorkerPool* pool, uint64_t sent, Fill fill)
      : feed_(feed), pool_(pool), sent_(sent), fill_(std::move(fill)) {}

  void End(const grpc::Status& status) {
    absl::MutexLock lock(&mu_);
    FinishOnce(status);
  }

  void FinishOnce(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    this->Finish(status);
  }

  // Reads what is new (on the pool) and writes it, or a heartbeat.
  void Pump() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const uint64_t head = feed_->Head();
    if (sent_ >= head && !heartbeat_due_) return;
    heartbeat_due_ = false;
    busy_ = true;
    if (sent_ >= head) return Send(Response(), head);
    reading_ = true;
    pool_->Post([this, after = sent_] {
      uint64_t through = after;
      auto entries = feed_->Read(after, kBatch, &through);
      Response response;
      if (entries.ok()) fill_(*std::move(entries), &response);
      mu_.Lock();
      reading_ = false;
      if (done_) {  // the call ended while this read ran
        mu_.Unlock();
        delete this;
        return;
      }
      if (!finished_) {
        if (entries.ok()) {
          sent_ = through;
          Send(std::move(response), through);
        } else {
          FinishOnce(ToGrpcStatus(entries.status()));
        }
      }
      mu_.Unlock();
    });
  }

  void Send(Response response, uint64_t through) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    response_ = std::move(response);
    response_.set_cursor(through);
    response_.set_head_cursor(std::max(through, feed_->Head()));
    if (sent_ < feed_->Head()) rewake_ = true;  // more to read once written
    this->StartWrite(&response_);
  }

  ChangeFeed* const feed_;
  WorkerPool* const pool_;
  bool registered_ = true;
  absl::Mutex mu_;
  uint64_t sent_ ABSL_GUARDED_BY(mu_);
  const Fill fill_;
  Response response_ ABSL_GUARDED_BY(mu_);
  bool busy_ ABSL_GUARDED_BY(mu_) = false;    // a read or a write is under way
  bool rewake_ ABSL_GUARDED_BY(mu_) = false;  // woken while busy
  bool heartbeat_due_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool reading_ ABSL_GUARDED_BY(mu_) = false;  // a read is on the pool
  bool done_ ABSL_GUARDED_BY(mu_) = false;     // OnDone ran
};

}  // namespace liaison

#endif  // LIAISON_COMMON_CHANGE_FEED_H_
