// A durable queue of records bound for other shards of the same service
// (DESIGN.md §8: "an outbox and an idempotent apply", no distributed
// transactions): identity's two-member changes, messaging's deliveries to
// the shards of a conversation's participants.
//
// A change commits its records with itself: Enqueue adds each to the
// change's WriteBatch under `kind` + a sequence (8 bytes, big-endian), so
// the queue is in commit order. A background thread sends the records to
// their shards in that order, deleting each once its shard confirmed;
// while a shard is down its records wait, with backoff, and the others' go
// on. The receiver applies each (source, sequence) once and in order: it
// keeps the last sequence it applied from each source with what it applied
// (AppliedMarks), so a record sent again after a lost acknowledgement
// changes nothing. A record no shard will ever take (its destination cannot
// be read, or its shard refuses it as invalid) is set aside under
// `set_aside_kind` and logged, rather than block the queue.
#ifndef LIAISON_COMMON_SHARD_OUTBOX_H_
#define LIAISON_COMMON_SHARD_OUTBOX_H_

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <atomic>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/store.h"

namespace liaison {

struct ShardOutboxOptions {
  // First pause after a shard failed; doubles up to max_backoff.
  absl::Duration retry = absl::Milliseconds(200);
  absl::Duration max_backoff = absl::Seconds(5);
  // Records read per pass.
  int batch = 256;
  // Records of one shard a Send may carry together, and their bytes (a
  // record larger than that goes alone).
  int per_send = 1;
  size_t bytes_per_send = size_t{1} << 20;
};

class ShardOutbox final {
 public:
  // The sequences Enqueue gave records of a batch not written yet. A pass
  // delivers nothing from the lowest one reserved on, so a record whose
  // batch commits late is never overtaken by a later one (its receiver
  // would take it for one it had applied). Keep it until the batch is
  // written, or failed to be; Release (or destruction) lets the queue go on.
  class Reservation final {
   public:
    Reservation() = default;
    ~Reservation() { Release(); }
    Reservation(const Reservation&) = delete;
    Reservation& operator=(const Reservation&) = delete;
    void Release();

   private:
    friend class ShardOutbox;
    ShardOutbox* outbox_ = nullptr;
    std::vector<uint64_t> sequences_;
  };

  // The shard a record goes to. An error sets the record aside.
  using Destination = std::function<absl::StatusOr<size_t>(const std::string& value)>;
  // A record waiting: its sequence in this queue and its value.
  struct Record {
    std::string key;
    uint64_t sequence;
    std::string value;
  };
  // Sends records to `shard`, in queue order (up to
  // ShardOutboxOptions::per_send of them), to be applied in that order. OK:
  // all were applied (now or before); InvalidArgumentError: the shard
  // refuses one for good (a lone record is set aside; several are sent
  // again one by one to find it); any other error: retried later.
  using Send = std::function<absl::Status(size_t shard, const std::vector<Record>& records)>;

  struct Queue {
    Store* store;
    rocksdb::ColumnFamilyHandle* family;
    char kind;            // records waiting
    char set_aside_kind;  // records no shard will take
  };

  // `name` prefixes the metric (liaison_<name>_total{outcome}) and the log
  // events. The thread starts only when `deliver` (there are other shards).
  ShardOutbox(std::string name, std::string help, Queue queue, Destination destination, Send send,
              prometheus::Registry& registry, bool deliver, ShardOutboxOptions options = {});
  ~ShardOutbox() { Stop(); }
  ShardOutbox(const ShardOutbox&) = delete;
  ShardOutbox& operator=(const ShardOutbox&) = delete;

  // Ends the thread (a call in flight ends within its deadline). Idempotent.
  void Stop();
  // Adds a record to `batch`, after every record enqueued before; its
  // sequence is held in `reserved` until the batch is written. Given the
  // record's `shard`, AfterDelivered waits for it.
  absl::Status Enqueue(rocksdb::WriteBatch* batch, const std::string& value, Reservation* reserved,
                       std::optional<size_t> shard = std::nullopt);
  // Calls `done` once every record this process enqueued for `shard` so far
  // (with its shard) has been delivered or set aside: at once when none
  // waits, else on the delivery thread, which sends them together. After
  // `patience` (the shard down, or a batch holding one of them failed to
  // be written), or when the outbox stops, it is called all the same: the
  // records wait on in the queue. Never blocks.
  void AfterDelivered(size_t shard, absl::Duration patience, std::function<void()> done);
  // A change with records committed: deliver now.
  void Wake();
  // One pass over the records (only those for shard `only`, if given); how
  // many it delivered. Tests call it, and a change that must be seen on one
  // shard before it is acknowledged.
  absl::StatusOr<int> Pass(std::optional<size_t> only = std::nullopt);
  // Records waiting (a walk over them).
  static absl::StatusOr<uint64_t> Waiting(Store* store, rocksdb::ColumnFamilyHandle* family,
                                          char kind);

 private:
  void Loop();
  // Sends `records` (one shard's, in order) and deletes them once applied;
  // how many were. A failure puts `shard` in `failed` (and the first one in
  // `first_failure`).
  absl::StatusOr<int> Deliver(size_t shard, const std::vector<Record>& records,
                              std::set<size_t>* failed, absl::Status* first_failure);
  absl::Status SetAside(const std::string& key, const std::string& value, const absl::Status& why);
  // The records for `shard` up to `through` are out of the queue (a shard's
  // go in sequence order): calls the waiters that had only them left, and
  // (for any shard) those out of patience.
  void Settled(std::optional<size_t> shard, uint64_t through);

  const std::string name_;
  const Queue queue_;
  const Destination destination_;
  const Send send_;
  const ShardOutboxOptions options_;
  prometheus::Counter* delivered_;
  prometheus::Counter* failed_;
  absl::Mutex reserved_mu_;
  uint64_t next_sequence_ ABSL_GUARDED_BY(reserved_mu_) = 0;
  std::multiset<uint64_t> reserved_ ABSL_GUARDED_BY(reserved_mu_);
  absl::Mutex mu_;
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Mutex pass_mu_;  // one pass at a time (the thread, a test)
  // No record below this sequence waits: where a pass starts looking.
  uint64_t start_ ABSL_GUARDED_BY(pass_mu_) = 0;
  std::thread thread_;
  struct Waiter {
    size_t shard;
    uint64_t last;  // the highest of the shard's sequences it waits for
    absl::Time deadline;
    std::function<void()> done;
  };
  absl::Mutex waiters_mu_;
  // By shard: the highest sequence enqueued with its shard, and the highest
  // delivered or set aside (every earlier one of the shard's is too).
  std::map<size_t, uint64_t> enqueued_ ABSL_GUARDED_BY(waiters_mu_);
  std::map<size_t, uint64_t> settled_ ABSL_GUARDED_BY(waiters_mu_);
  std::vector<Waiter> waiters_ ABSL_GUARDED_BY(waiters_mu_);
  bool stopped_ ABSL_GUARDED_BY(waiters_mu_) = false;
  bool delivering_ = false;  // the thread runs
};

// The receiving end: the last sequence applied from each source shard,
// kept under `kind` + source (4 bytes) and written in the batch that
// applies the record, so a record is applied once, and one older than what
// was applied (sent again) is skipped.
class AppliedMarks final {
 public:
  AppliedMarks(Store* store, rocksdb::ColumnFamilyHandle* family, char kind)
      : store_(store), family_(family), kind_(kind) {}

  // Whether the record `sequence` from `source` was applied already.
  // Sequence 0 (a record not from a queue) never was. Hold mu() from this
  // check until the batch that marks it is written.
  absl::StatusOr<bool> Applied(uint32_t source, uint64_t sequence) const;
  // Marks it applied in `batch` (nothing for sequence 0).
  absl::Status Mark(rocksdb::WriteBatch* batch, uint32_t source, uint64_t sequence) const;
  std::string Key(uint32_t source) const;
  static std::string Encode(uint64_t sequence);
  absl::Mutex& mu() const { return mu_; }

 private:
  Store* store_;
  rocksdb::ColumnFamilyHandle* family_;
  char kind_;
  mutable absl::Mutex mu_;
};

}  // namespace liaison

#endif  // LIAISON_COMMON_SHARD_OUTBOX_H_
