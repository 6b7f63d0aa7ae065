// Delivers the other side of two-member changes to the shards that own it
// (DESIGN.md §8, "written on both shards through the same outbox pattern").
//
// A change whose other member lives on another shard commits, in its own
// WriteBatch, one outbox record per such shard (keys::PeerWrites, in
// sequence order) holding the writes that shard must apply. A background
// thread sends the records to their shards in order (ApplyPeerWrites),
// deleting each once its shard confirmed; while a shard is down, its
// records wait, with backoff, and the others' go on. The writes are
// idempotent (puts, deletes, adding or removing a connection), so a record
// delivered again after a crash changes nothing more. A record no shard will
// take (it does not parse, or its shard refuses it as invalid) is set aside
// under a 'D' key and logged, rather than block the queue. Two changes about the
// same pair of members hold both members' locks while they commit, so their
// records are in the order of the changes.
#ifndef LIAISON_SERVICES_IDENTITY_PEER_OUTBOX_H_
#define LIAISON_SERVICES_IDENTITY_PEER_OUTBOX_H_

#include <prometheus/registry.h>

#include "common/shard_outbox.h"
#include "liaison/identity/v1/identity_shard.pb.h"
#include "services/identity/identity_peers.h"
#include "services/identity/identity_store.h"

namespace liaison::identity {

using PeerOutboxOptions = ShardOutboxOptions;

// The member whose shard's feed holds a connection or block change: the
// pair's lower id. InvalidArgumentError for any other change.
absl::StatusOr<MemberId> PairHome(const v1::Change& change);

class PeerOutbox final {
 public:
  // Starts the delivery thread when there are other shards.
  PeerOutbox(IdentityStore* store, IdentityPeers* peers, prometheus::Registry& registry,
             PeerOutboxOptions options = {});
  PeerOutbox(const PeerOutbox&) = delete;
  PeerOutbox& operator=(const PeerOutbox&) = delete;

  // Ends the thread (a call in flight ends within its deadline). Idempotent.
  void Stop() { queue_.Stop(); }

  IdentityPeers* peers() const { return peers_; }
  // Adds a record of `writes` (all for one shard) to `batch`, held in
  // `reserved` until the batch is written (ShardOutbox::Reservation).
  absl::Status Enqueue(rocksdb::WriteBatch* batch, const v1::ApplyPeerWritesRequest& writes,
                       ShardOutbox::Reservation* reserved);
  // A change with records committed: deliver now.
  void Wake() { queue_.Wake(); }
  // One pass over the records; how many it delivered (tests call it).
  absl::StatusOr<int> Pass() { return queue_.Pass(); }

 private:
  IdentityPeers* peers_;
  ShardOutbox queue_;
};

}  // namespace liaison::identity

#endif  // LIAISON_SERVICES_IDENTITY_PEER_OUTBOX_H_
