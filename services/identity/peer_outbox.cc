#include "services/identity/peer_outbox.h"

#include <set>

#include "absl/strings/escaping.h"
#include "common/keys.h"
#include "common/logging.h"
#include "common/status.h"

namespace liaison::identity {
namespace {

// The shard that owns a write's member under the current map.
absl::StatusOr<MemberId> MemberOfWrite(const v1::PeerWrite& write) {
  switch (write.write_case()) {
    case v1::PeerWrite::kPut:
    case v1::PeerWrite::kDelete: {
      const std::string& key = write.has_put() ? write.put().key() : write.delete_().key();
      KeyReader reader = keys::Reader(key);
      char kind;
      MemberId member;
      if (!reader.Kind(&kind) || !reader.U64(&member)) break;
      return member;
    }
    case v1::PeerWrite::kLink:
      return ParseMemberId(write.link().member_id(), "member_id");
    case v1::PeerWrite::kUnlink:
      return ParseMemberId(write.unlink().member_id(), "member_id");
    default:
      break;
  }
  return absl::DataLossError("an outbox record holds a write without a member");
}

}  // namespace

absl::StatusOr<MemberId> PairHome(const v1::Change& change) {
  const std::string* a = nullptr;
  const std::string* b = nullptr;
  if (change.has_connection()) {
    a = &change.connection().member_id();
    b = &change.connection().other_member_id();
  } else if (change.has_block()) {
    a = &change.block().blocker_member_id();
    b = &change.block().blocked_member_id();
  } else {
    return absl::InvalidArgumentError("only connection and block changes travel between shards");
  }
  ASSIGN_OR_RETURN(MemberId x, ParseMemberId(*a, "member_id"));
  ASSIGN_OR_RETURN(MemberId y, ParseMemberId(*b, "other_member_id"));
  return std::min(x, y);
}

PeerOutbox::PeerOutbox(IdentityStore* store, IdentityPeers* peers, prometheus::Registry& registry,
                       PeerOutboxOptions options)
    : store_(store), peers_(peers), options_(options) {
  auto& family = prometheus::BuildCounter()
                     .Name("liaison_identity_peer_writes_total")
                     .Help(
                         "Outbox records of two-member changes sent to the shard owning the "
                         "other member (delivered), and sends that failed and wait for a "
                         "retry (failed).")
                     .Register(registry);
  delivered_ = &family.Add({{"outcome", "delivered"}});
  failed_ = &family.Add({{"outcome", "failed"}});
  // Sequences go on after the last record left (one seek back from the end
  // of the queue), and never below the time in microseconds, so they grow
  // across restarts even when the queue was empty.
  uint64_t next = static_cast<uint64_t>(absl::ToUnixMicros(absl::Now()));
  auto it = store_->store()->NewIterator(store_->outbox(), /*prefix_scan=*/false);
  it->SeekForPrev(keys::PeerWrites(~uint64_t{0}));
  if (it->Valid() && it->key().starts_with("P")) {
    KeyReader reader(absl::string_view(it->key().data(), it->key().size()));
    char kind;
    uint64_t sequence = 0;
    if (reader.Kind(&kind) && reader.U64(&sequence)) next = std::max(next, sequence + 1);
  }
  next_sequence_ = next;
  if (peers_->sharded()) thread_ = std::thread([this] { Loop(); });
}

void PeerOutbox::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

absl::Status PeerOutbox::Enqueue(rocksdb::WriteBatch* batch,
                                 const v1::ApplyPeerWritesRequest& writes) {
  // Split into records a call may carry (a change goes with the last).
  const int n = std::max(writes.writes_size(), 1);
  for (int begin = 0; begin < n; begin += kMaxPeerWrites) {
    v1::ApplyPeerWritesRequest record;
    for (int i = begin; i < std::min(writes.writes_size(), begin + kMaxPeerWrites); ++i) {
      *record.add_writes() = writes.writes(i);
    }
    if (begin + kMaxPeerWrites >= n) *record.mutable_changes() = writes.changes();
    RETURN_IF_ERROR(FromRocksStatus(batch->Put(store_->outbox(), keys::PeerWrites(next_sequence_++),
                                               record.SerializeAsString()),
                                    "batch put"));
  }
  return absl::OkStatus();
}

void PeerOutbox::Wake() {
  absl::MutexLock lock(&mu_);
  woken_ = true;
}

absl::Status PeerOutbox::SetAside(const IdentityStore::Entry& record, const absl::Status& why) {
  // Sending it again cannot help: keep it for an operator, out of the queue.
  LogError("identity_peer_write_set_aside",
           {{"record", absl::CHexEscape(record.key)}, {"error", why.ToString()}});
  rocksdb::WriteBatch batch;
  RETURN_IF_ERROR(FromRocksStatus(
      batch.Put(store_->outbox(), "D" + record.key.substr(1), record.value), "batch put"));
  RETURN_IF_ERROR(FromRocksStatus(batch.Delete(store_->outbox(), record.key), "batch delete"));
  return store_->store()->Write(&batch, Durability::kSynced);
}

absl::StatusOr<int> PeerOutbox::Pass() {
  absl::MutexLock pass(&pass_mu_);
  std::set<size_t> failed;  // a shard that failed gets nothing more this pass
  absl::Status first_failure;
  int delivered = 0;
  // Page on past the records of a shard that is down, so the others' go on.
  std::string after;
  while (delivered < options_.batch) {
    ASSIGN_OR_RETURN(auto records, store_->Scan(store_->outbox(), KeyBuilder('P').key(), after,
                                                static_cast<size_t>(options_.batch)));
    for (const auto& record : records) {
      after = record.key;
      v1::ApplyPeerWritesRequest writes;
      absl::StatusOr<MemberId> member = absl::DataLossError("an outbox record does not parse");
      if (writes.ParseFromString(record.value) &&
          (writes.writes_size() > 0 || writes.changes_size() > 0)) {
        member = writes.writes_size() > 0 ? MemberOfWrite(writes.writes(0))
                                          : PairHome(writes.changes(0));
      }
      if (!member.ok()) {
        RETURN_IF_ERROR(SetAside(record, member.status()));
        continue;
      }
      const size_t shard = peers_->ShardOf(*member);
      if (failed.count(shard) > 0) continue;
      // Its place in this queue, so the receiver applies it once.
      KeyReader place(record.key);
      char kind;
      uint64_t sequence = 0;
      if (place.Kind(&kind) && place.U64(&sequence)) {
        writes.set_source_shard(static_cast<uint32_t>(peers_->shard().index()));
        writes.set_sequence(sequence);
      }
      absl::Status sent = peers_->Apply(shard, writes);
      if (absl::IsInvalidArgument(sent)) {
        RETURN_IF_ERROR(SetAside(record, sent));
        continue;
      }
      if (!sent.ok()) {
        failed_->Increment();
        failed.insert(shard);
        if (first_failure.ok()) first_failure = sent;
        continue;
      }
      rocksdb::WriteBatch done;
      RETURN_IF_ERROR(FromRocksStatus(done.Delete(store_->outbox(), record.key), "batch delete"));
      // Lost to a crash, a delete only means the record is sent again.
      RETURN_IF_ERROR(store_->store()->Write(&done, Durability::kBuffered));
      delivered_->Increment();
      ++delivered;
    }
    if (records.size() < static_cast<size_t>(options_.batch)) break;
  }
  if (!first_failure.ok() && delivered == 0) return first_failure;
  return delivered;
}

void PeerOutbox::Loop() {
  absl::Duration pause = options_.retry;
  bool failing = false;
  while (true) {
    absl::StatusOr<int> delivered = Pass();
    if (!delivered.ok()) {
      if (!failing) {
        LogWarn("identity_peer_writes_waiting", {{"error", delivered.status().ToString()}});
      }
      failing = true;
    } else if (failing) {
      LogInfo("identity_peer_writes_resumed");
      failing = false;
      pause = options_.retry;
    }
    const bool more = delivered.ok() && *delivered >= options_.batch;
    absl::MutexLock lock(&mu_);
    if (!more) {
      // Woken by a commit, or after the pause (a retry, or records a pass
      // left because their shard failed).
      mu_.AwaitWithTimeout(absl::Condition(
                               +[](PeerOutbox* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
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

}  // namespace liaison::identity
