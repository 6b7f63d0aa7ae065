// The records of one change about two members (an invitation, a
// connection, a block), each written on its own member's side: every
// two-member record has a kind per side, keyed by that side's member first
// (identity_store.h), so each member's shard holds what its rules read.
//
// A side this shard owns goes into the change's WriteBatch. A side another
// shard owns (DESIGN.md §8) becomes a write for that shard, committed with
// the change as an outbox record (PeerOutbox), which delivers it and the
// other shard applies it (IdentityLogic::ApplyPeerWrites): both sides or,
// until then, the acting side only, never a half lost to a crash.
#ifndef LIAISON_SERVICES_IDENTITY_PAIR_WRITE_H_
#define LIAISON_SERVICES_IDENTITY_PAIR_WRITE_H_

#include <rocksdb/write_batch.h>

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "common/ids.h"
#include "common/shard_outbox.h"
#include "liaison/identity/v1/identity_shard.pb.h"
#include "services/identity/identity_store.h"

namespace liaison::identity {

class PeerOutbox;

class PairWrite final {
 public:
  // `outbox` null: every side is this shard's.
  PairWrite(IdentityStore* store, PeerOutbox* outbox);

  // `side` is the member whose record it is (the key's first id). Records
  // of another shard's side are of the social family.
  void Put(MemberId side, rocksdb::ColumnFamilyHandle* family, const std::string& key,
           const std::string& value);
  void Delete(MemberId side, rocksdb::ColumnFamilyHandle* family, const std::string& key);
  // A record of this shard's own (not a member's), written with the change.
  void PutHere(rocksdb::ColumnFamilyHandle* family, const std::string& key,
               const std::string& value);
  // Adds `other` to `side`'s connections, connected at `since` (Unix seconds).
  absl::Status Link(MemberId side, MemberId other, uint32_t since);
  // Removes `other` from `side`'s connections; whether it was there (for
  // another shard's side: true, that shard decides).
  absl::StatusOr<bool> Unlink(MemberId side, MemberId other);

  // The batch to commit: this shard's side, and an outbox record per other
  // shard. Call once, after the last write.
  absl::StatusOr<rocksdb::WriteBatch*> Seal();
  // Appends `change` to the feed of `home`'s shard: here into `changes`
  // (the caller's, committed with the batch), else with that shard's writes.
  void Change(MemberId home, v1::Change change, std::vector<v1::Change>* changes);

  // The sealed batch was written (or failed to be): its outbox records may
  // be sent (ShardOutbox::Reservation).
  void Written() { reserved_.Release(); }

 private:
  bool Local(MemberId side) const;
  absl::StatusOr<Adjacency*> LocalAdjacency(MemberId side);

  IdentityStore* store_;
  PeerOutbox* outbox_;
  rocksdb::WriteBatch batch_;
  // This shard's adjacency lists the change touches, written at Seal.
  std::map<MemberId, Adjacency> adjacency_;
  std::map<size_t, v1::ApplyPeerWritesRequest> remote_;
  ShardOutbox::Reservation reserved_;
};

}  // namespace liaison::identity

#endif  // LIAISON_SERVICES_IDENTITY_PAIR_WRITE_H_
