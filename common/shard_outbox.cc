#include "common/shard_outbox.h"

#include <algorithm>
#include <iterator>
#include <map>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/keys.h"
#include "common/logging.h"
#include "common/status.h"

namespace liaison {

ShardOutbox::ShardOutbox(std::string name, std::string help, Queue queue, Destination destination,
                         Send send, prometheus::Registry& registry, bool deliver,
                         ShardOutboxOptions options)
    : name_(std::move(name)),
      queue_(queue),
      destination_(std::move(destination)),
      send_(std::move(send)),
      options_(options) {
  auto& family = prometheus::BuildCounter()
                     .Name(absl::StrCat("liaison_", name_, "_total"))
                     .Help(help)
                     .Register(registry);
  delivered_ = &family.Add({{"outcome", "delivered"}});
  failed_ = &family.Add({{"outcome", "failed"}});
  // Sequences go on after the last record left (one seek back from the end
  // of the queue), and never below the time in microseconds, so they grow
  // across restarts even when the queue was empty.
  uint64_t next = static_cast<uint64_t>(absl::ToUnixMicros(absl::Now()));
  auto it = queue_.store->NewIterator(queue_.family, /*prefix_scan=*/false);
  it->SeekForPrev(KeyBuilder(queue_.kind).U64(~uint64_t{0}).key());
  if (it->Valid() && it->key().starts_with(std::string(1, queue_.kind))) {
    KeyReader reader(absl::string_view(it->key().data(), it->key().size()));
    char kind;
    uint64_t sequence = 0;
    if (reader.Kind(&kind) && reader.U64(&sequence)) next = std::max(next, sequence + 1);
  }
  {
    absl::MutexLock lock(&reserved_mu_);
    next_sequence_ = next;
  }
  delivering_ = deliver;
  if (deliver) thread_ = std::thread([this] { Loop(); });
}

void ShardOutbox::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
  // Whoever still waits is answered: the records wait in the queue.
  std::vector<Waiter> waiting;
  {
    absl::MutexLock lock(&waiters_mu_);
    stopped_ = true;
    waiting.swap(waiters_);
  }
  for (auto& waiter : waiting) waiter.done();
}

absl::Status ShardOutbox::Enqueue(rocksdb::WriteBatch* batch, const std::string& value,
                                  Reservation* reserved, std::optional<size_t> shard) {
  uint64_t sequence;
  {
    absl::MutexLock lock(&reserved_mu_);
    sequence = next_sequence_++;
    reserved_.insert(sequence);
  }
  if (shard.has_value()) {
    absl::MutexLock lock(&waiters_mu_);
    enqueued_[*shard] = std::max(enqueued_[*shard], sequence);
  }
  reserved->outbox_ = this;
  reserved->sequences_.push_back(sequence);
  return FromRocksStatus(
      batch->Put(queue_.family, KeyBuilder(queue_.kind).U64(sequence).key(), value), "batch put");
}

void ShardOutbox::Reservation::Release() {
  if (outbox_ == nullptr) return;
  {
    absl::MutexLock lock(&outbox_->reserved_mu_);
    for (uint64_t sequence : sequences_) {
      outbox_->reserved_.erase(outbox_->reserved_.find(sequence));
    }
  }
  outbox_->Wake();
  outbox_ = nullptr;
  sequences_.clear();
}

void ShardOutbox::AfterDelivered(size_t shard, absl::Duration patience,
                                 std::function<void()> done) {
  bool now;
  {
    absl::MutexLock lock(&waiters_mu_);
    const uint64_t last = enqueued_[shard];
    now = !delivering_ || stopped_ || settled_[shard] >= last;
    if (!now) waiters_.push_back({shard, last, absl::Now() + patience, std::move(done)});
  }
  if (now) {
    done();
  } else {
    Wake();
  }
}

void ShardOutbox::Settled(std::optional<size_t> shard, uint64_t through) {
  std::vector<Waiter> ready;
  {
    absl::MutexLock lock(&waiters_mu_);
    if (shard.has_value()) settled_[*shard] = std::max(settled_[*shard], through);
    const absl::Time now = absl::Now();
    auto still = std::partition(waiters_.begin(), waiters_.end(), [&](const Waiter& w) {
      return settled_[w.shard] < w.last && now < w.deadline;
    });
    std::move(still, waiters_.end(), std::back_inserter(ready));
    waiters_.erase(still, waiters_.end());
  }
  for (auto& waiter : ready) waiter.done();
}

void ShardOutbox::Wake() {
  absl::MutexLock lock(&mu_);
  woken_ = true;
}

absl::StatusOr<uint64_t> ShardOutbox::Waiting(Store* store, rocksdb::ColumnFamilyHandle* family,
                                              char kind) {
  return CountKeys(store, family, std::string(1, kind));
}

absl::Status ShardOutbox::SetAside(const std::string& key, const std::string& value,
                                   const absl::Status& why) {
  // Sending it again cannot help: keep it for an operator, out of the queue.
  LogError(absl::StrCat(name_, "_set_aside"),
           {{"record", absl::CHexEscape(key)}, {"error", why.ToString()}});
  rocksdb::WriteBatch batch;
  RETURN_IF_ERROR(FromRocksStatus(
      batch.Put(queue_.family, std::string(1, queue_.set_aside_kind) + key.substr(1), value),
      "batch put"));
  RETURN_IF_ERROR(FromRocksStatus(batch.Delete(queue_.family, key), "batch delete"));
  return queue_.store->Write(&batch, Durability::kSynced);
}

absl::StatusOr<int> ShardOutbox::Pass(std::optional<size_t> only) {
  absl::MutexLock pass(&pass_mu_);
  std::set<size_t> failed;  // a shard that failed gets nothing more this pass
  absl::Status first_failure;
  int delivered = 0;
  const std::string prefix(1, queue_.kind);
  // Nothing from the lowest sequence whose batch is not written yet on.
  uint64_t limit = ~uint64_t{0};
  {
    absl::MutexLock lock(&reserved_mu_);
    if (!reserved_.empty()) limit = *reserved_.begin();
  }
  // Page on past the records of a shard that is down, so the others' go on.
  // The first page starts where the last pass left records (start_), not
  // at the queue's first key: the deletes of what was delivered stay in the
  // store as tombstones for a while, and a seek over them costs each pass
  // their number.
  std::string after;
  bool held_back = false;
  uint64_t left = ~uint64_t{0};  // the lowest sequence this pass leaves in the queue
  uint64_t resume = start_;      // the first sequence this pass has not looked at
  while (delivered < options_.batch && !held_back) {
    // A page of the queue, each shard's records in queue order (the order
    // that matters: between shards there is none to keep).
    std::map<size_t, std::vector<Record>> pages;
    int read = 0;
    {
      auto it = queue_.store->NewIterator(queue_.family, /*prefix_scan=*/false);
      it->Seek(after.empty() ? KeyBuilder(queue_.kind).U64(start_).key() : after);
      if (!after.empty() && it->Valid() && it->key().ToString() == after) it->Next();
      for (; it->Valid() && read < options_.batch; it->Next(), ++read) {
        if (!it->key().starts_with(prefix)) break;
        Record record{it->key().ToString(), 0, it->value().ToString()};
        after = record.key;
        absl::StatusOr<size_t> shard = destination_(record.value);
        KeyReader place(record.key);
        char kind;
        if (shard.ok() && !(place.Kind(&kind) && place.U64(&record.sequence))) {
          shard = absl::DataLossError("an outbox key holds no sequence");
        }
        if (shard.ok() && record.sequence >= limit) {
          held_back = true;  // ends the pass: the writer wakes it once written
          break;
        }
        if (!shard.ok()) {
          RETURN_IF_ERROR(SetAside(record.key, record.value, shard.status()));
          continue;
        }
        resume = record.sequence + 1;
        if (only.has_value() && *shard != *only) {
          left = std::min(left, record.sequence);
          continue;
        }
        pages[*shard].push_back(std::move(record));
      }
      RETURN_IF_ERROR(FromRocksStatus(it->status(), "outbox scan"));
    }
    for (auto& [shard, records] : pages) {
      // In sends of up to per_send records and bytes_per_send bytes.
      std::vector<Record> send;
      size_t bytes = 0;
      for (size_t i = 0; i <= records.size() && failed.count(shard) == 0; ++i) {
        const bool full =
            i == records.size() || static_cast<int>(send.size()) >= options_.per_send ||
            (!send.empty() && bytes + records[i].value.size() > options_.bytes_per_send);
        if (full && !send.empty()) {
          ASSIGN_OR_RETURN(int n, Deliver(shard, send, &failed, &first_failure));
          delivered += n;
          // Some of it is still there: the pass leaves the shard's records
          // from here on.
          if (n < static_cast<int>(send.size())) left = std::min(left, send.front().sequence);
          send.clear();
          bytes = 0;
        }
        if (i == records.size()) break;
        bytes += records[i].value.size();
        send.push_back(std::move(records[i]));
      }
    }
    if (read < options_.batch) break;
  }
  // A record enqueued later has a higher sequence than any looked at, or
  // is reserved now (from `limit` on) and is written later.
  start_ = std::min({left, resume, limit});
  if (!first_failure.ok() && delivered == 0) return first_failure;
  return delivered;
}

absl::StatusOr<int> ShardOutbox::Deliver(size_t shard, const std::vector<Record>& records,
                                         std::set<size_t>* failed, absl::Status* first_failure) {
  absl::Status sent = send_(shard, records);
  if (absl::IsInvalidArgument(sent)) {
    if (records.size() == 1) {
      RETURN_IF_ERROR(SetAside(records[0].key, records[0].value, sent));
      Settled(shard, records[0].sequence);
      return 0;
    }
    // One of them is refused: each alone, so the others still go.
    int delivered = 0;
    for (const Record& record : records) {
      if (failed->count(shard) > 0) break;
      ASSIGN_OR_RETURN(int n, Deliver(shard, {record}, failed, first_failure));
      delivered += n;
    }
    return delivered;
  }
  if (!sent.ok()) {
    failed_->Increment();
    failed->insert(shard);
    if (first_failure->ok()) *first_failure = sent;
    return 0;
  }
  rocksdb::WriteBatch done;
  for (const Record& record : records) {
    RETURN_IF_ERROR(FromRocksStatus(done.Delete(queue_.family, record.key), "batch delete"));
  }
  // Lost to a crash, a delete only means the records are sent again.
  RETURN_IF_ERROR(queue_.store->Write(&done, Durability::kBuffered));
  delivered_->Increment(static_cast<double>(records.size()));
  Settled(shard, records.back().sequence);
  return static_cast<int>(records.size());
}

void ShardOutbox::Loop() {
  absl::Duration pause = options_.retry;
  bool failing = false;
  while (true) {
    absl::StatusOr<int> delivered = Pass();
    if (!delivered.ok()) {
      if (!failing) {
        LogWarn(absl::StrCat(name_, "_waiting"), {{"error", delivered.status().ToString()}});
      }
      failing = true;
    } else if (failing) {
      LogInfo(absl::StrCat(name_, "_resumed"));
      failing = false;
      pause = options_.retry;
    }
    Settled(std::nullopt, 0);  // the waiters out of patience
    bool waiting;
    {
      absl::MutexLock lock(&waiters_mu_);
      waiting = !waiters_.empty();
    }
    const bool more = delivered.ok() && *delivered >= options_.batch;
    absl::MutexLock lock(&mu_);
    if (!more) {
      // Woken by a commit, or after the pause (a retry, or records a pass
      // left because their shard failed).
      mu_.AwaitWithTimeout(absl::Condition(
                               +[](ShardOutbox* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
                                 return self->woken_ || self->stopping_;
                               },
                               this),
                           std::min(failing ? pause : options_.max_backoff,
                                    waiting ? options_.retry : absl::InfiniteDuration()));
    }
    if (stopping_) return;
    woken_ = false;
    if (failing) pause = std::min(pause * 2, options_.max_backoff);
  }
}

std::string AppliedMarks::Key(uint32_t source) const { return KeyBuilder(kind_).U32(source).key(); }

std::string AppliedMarks::Encode(uint64_t sequence) {
  return KeyBuilder('\0').U64(sequence).key().substr(1);
}

absl::StatusOr<bool> AppliedMarks::Applied(uint32_t source, uint64_t sequence) const {
  if (sequence == 0) return false;
  auto value = store_->Get(family_, Key(source));
  if (absl::IsNotFound(value.status())) return false;
  if (!value.ok()) return value.status();
  KeyReader reader(*value);
  uint64_t applied = 0;
  if (value->size() != 8 || !reader.U64(&applied)) {
    return absl::DataLossError("an applied-sequence mark does not parse");
  }
  return applied >= sequence;
}

absl::Status AppliedMarks::Mark(rocksdb::WriteBatch* batch, uint32_t source,
                                uint64_t sequence) const {
  if (sequence == 0) return absl::OkStatus();
  return FromRocksStatus(batch->Put(family_, Key(source), Encode(sequence)), "batch put");
}

}  // namespace liaison
