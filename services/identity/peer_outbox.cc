#include "services/identity/peer_outbox.h"

#include "common/keys.h"
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
    : peers_(peers),
      queue_(
          "identity_peer_writes",
          "Outbox records of two-member changes sent to the shard owning the other member "
          "(delivered), and sends that failed and wait for a retry (failed).",
          {store->store(), store->outbox(), 'P', 'D'},
          [peers](const std::string& value) -> absl::StatusOr<size_t> {
            v1::ApplyPeerWritesRequest writes;
            if (!writes.ParseFromString(value) ||
                (writes.writes_size() == 0 && writes.changes_size() == 0)) {
              return absl::DataLossError("an outbox record does not parse");
            }
            ASSIGN_OR_RETURN(MemberId member, writes.writes_size() > 0
                                                  ? MemberOfWrite(writes.writes(0))
                                                  : PairHome(writes.changes(0)));
            return peers->ShardOf(member);
          },
          [peers](size_t shard, const std::vector<ShardOutbox::Record>& records) {
            for (const auto& record : records) {  // one a call (per_send 1)
              v1::ApplyPeerWritesRequest writes;
              writes.ParseFromString(record.value);  // Destination parsed it
              // Its place in this queue, so the receiver applies it once.
              writes.set_source_shard(static_cast<uint32_t>(peers->shard().index()));
              writes.set_sequence(record.sequence);
              RETURN_IF_ERROR(peers->Apply(shard, writes));
            }
            return absl::OkStatus();
          },
          registry, peers->sharded(), options) {}

absl::Status PeerOutbox::Enqueue(rocksdb::WriteBatch* batch,
                                 const v1::ApplyPeerWritesRequest& writes,
                                 ShardOutbox::Reservation* reserved) {
  // Split into records a call may carry (a change goes with the last).
  const int n = std::max(writes.writes_size(), 1);
  for (int begin = 0; begin < n; begin += kMaxPeerWrites) {
    v1::ApplyPeerWritesRequest record;
    for (int i = begin; i < std::min(writes.writes_size(), begin + kMaxPeerWrites); ++i) {
      *record.add_writes() = writes.writes(i);
    }
    if (begin + kMaxPeerWrites >= n) *record.mutable_changes() = writes.changes();
    RETURN_IF_ERROR(queue_.Enqueue(batch, record.SerializeAsString(), reserved));
  }
  return absl::OkStatus();
}

}  // namespace liaison::identity
