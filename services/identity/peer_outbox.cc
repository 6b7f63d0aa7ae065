#include "services/identity/peer_outbox.h"

#include <set>

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
  // Sequences go on after the last record left; with none left any start
  // is fine (a record is only ordered against those still waiting).
  auto last = store_->Scan(store_->outbox(), KeyBuilder('P').key(), "", ~size_t{0} >> 1);
  if (last.ok() && !last->empty()) {
    KeyReader reader(last->back().key);
    char kind;
    uint64_t sequence = 0;
    if (reader.Kind(&kind) && reader.U64(&sequence)) next_sequence_ = sequence + 1;
  }
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

absl::StatusOr<int> PeerOutbox::Pass() {
  absl::MutexLock pass(&pass_mu_);
  ASSIGN_OR_RETURN(auto records, store_->Scan(store_->outbox(), KeyBuilder('P').key(), "",
                                              static_cast<size_t>(options_.batch)));
  std::set<size_t> failed;  // a shard that failed gets nothing more this pass
  absl::Status first_failure;
  int delivered = 0;
  for (const auto& record : records) {
    v1::ApplyPeerWritesRequest writes;
    if (!writes.ParseFromString(record.value) ||
        (writes.writes_size() == 0 && writes.changes_size() == 0)) {
      return absl::DataLossError("an identity outbox record does not parse");
    }
    ASSIGN_OR_RETURN(MemberId member, writes.writes_size() > 0 ? MemberOfWrite(writes.writes(0))
                                                               : PairHome(writes.changes(0)));
    const size_t shard = peers_->ShardOf(member);
    if (failed.count(shard) > 0) continue;
    absl::Status sent = peers_->Apply(shard, writes);
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
