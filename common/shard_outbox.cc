#include "common/shard_outbox.h"

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
  if (deliver) thread_ = std::thread([this] { Loop(); });
}

void ShardOutbox::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

absl::Status ShardOutbox::Enqueue(rocksdb::WriteBatch* batch, const std::string& value,
                                  Reservation* reserved) {
  uint64_t sequence;
  {
    absl::MutexLock lock(&reserved_mu_);
    sequence = next_sequence_++;
    reserved_.insert(sequence);
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
  std::string after;
  bool held_back = false;
  while (delivered < options_.batch && !held_back) {
    std::vector<std::pair<std::string, std::string>> records;
    {
      auto it = queue_.store->NewIterator(queue_.family, /*prefix_scan=*/false);
      it->Seek(after.empty() ? prefix : after);
      if (!after.empty() && it->Valid() && it->key().ToString() == after) it->Next();
      for (; it->Valid() && records.size() < static_cast<size_t>(options_.batch); it->Next()) {
        if (!it->key().starts_with(prefix)) break;
        records.emplace_back(it->key().ToString(), it->value().ToString());
      }
      RETURN_IF_ERROR(FromRocksStatus(it->status(), "outbox scan"));
    }
    for (const auto& [key, value] : records) {
      after = key;
      absl::StatusOr<size_t> shard = destination_(value);
      KeyReader place(key);
      char kind;
      uint64_t sequence = 0;
      if (shard.ok() && !(place.Kind(&kind) && place.U64(&sequence))) {
        shard = absl::DataLossError("an outbox key holds no sequence");
      }
      if (sequence >= limit) {
        held_back = true;  // ends the pass: the writer wakes it once written
        break;
      }
      if (!shard.ok()) {
        RETURN_IF_ERROR(SetAside(key, value, shard.status()));
        continue;
      }
      if (failed.count(*shard) > 0 || (only.has_value() && *shard != *only)) continue;
      absl::Status sent = send_(*shard, sequence, value);
      if (absl::IsInvalidArgument(sent)) {
        RETURN_IF_ERROR(SetAside(key, value, sent));
        continue;
      }
      if (!sent.ok()) {
        failed_->Increment();
        failed.insert(*shard);
        if (first_failure.ok()) first_failure = sent;
        continue;
      }
      rocksdb::WriteBatch done;
      RETURN_IF_ERROR(FromRocksStatus(done.Delete(queue_.family, key), "batch delete"));
      // Lost to a crash, a delete only means the record is sent again.
      RETURN_IF_ERROR(queue_.store->Write(&done, Durability::kBuffered));
      delivered_->Increment();
      ++delivered;
    }
    if (records.size() < static_cast<size_t>(options_.batch)) break;
  }
  if (!first_failure.ok() && delivered == 0) return first_failure;
  return delivered;
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
                           failing ? pause : options_.max_backoff);
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
