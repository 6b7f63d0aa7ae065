#include "services/identity/pair_write.h"

#include "common/status.h"
#include "services/identity/peer_outbox.h"

namespace liaison::identity {

PairWrite::PairWrite(IdentityStore* store, PeerOutbox* outbox) : store_(store), outbox_(outbox) {}

bool PairWrite::Local(MemberId side) const {
  return outbox_ == nullptr || outbox_->peers()->Owns(side);
}

void PairWrite::Put(MemberId side, rocksdb::ColumnFamilyHandle* family, const std::string& key,
                    const std::string& value) {
  if (Local(side)) {
    batch_.Put(family, key, value);
    return;
  }
  auto* put = remote_[outbox_->peers()->ShardOf(side)].add_writes()->mutable_put();
  put->set_key(key);
  put->set_value(value);
}

void PairWrite::PutHere(rocksdb::ColumnFamilyHandle* family, const std::string& key,
                        const std::string& value) {
  batch_.Put(family, key, value);
}

void PairWrite::Delete(MemberId side, rocksdb::ColumnFamilyHandle* family, const std::string& key) {
  if (Local(side)) {
    batch_.Delete(family, key);
    return;
  }
  remote_[outbox_->peers()->ShardOf(side)].add_writes()->mutable_delete_()->set_key(key);
}

absl::StatusOr<Adjacency*> PairWrite::LocalAdjacency(MemberId side) {
  auto it = adjacency_.find(side);
  if (it == adjacency_.end()) {
    ASSIGN_OR_RETURN(Adjacency adjacency, store_->GetAdjacency(side));
    it = adjacency_.emplace(side, std::move(adjacency)).first;
  }
  return &it->second;
}

absl::Status PairWrite::Link(MemberId side, MemberId other, uint32_t since) {
  if (!Local(side)) {
    auto* link = remote_[outbox_->peers()->ShardOf(side)].add_writes()->mutable_link();
    link->set_member_id(FormatMemberId(side));
    link->set_other_member_id(FormatMemberId(other));
    link->set_since_seconds(since);
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(Adjacency * adjacency, LocalAdjacency(side));
  adjacency->Insert(other, since);
  return absl::OkStatus();
}

absl::StatusOr<bool> PairWrite::Unlink(MemberId side, MemberId other) {
  if (!Local(side)) {
    auto* unlink = remote_[outbox_->peers()->ShardOf(side)].add_writes()->mutable_unlink();
    unlink->set_member_id(FormatMemberId(side));
    unlink->set_other_member_id(FormatMemberId(other));
    return true;
  }
  ASSIGN_OR_RETURN(Adjacency * adjacency, LocalAdjacency(side));
  return adjacency->Erase(other);
}

void PairWrite::Change(MemberId home, v1::Change change, std::vector<v1::Change>* changes) {
  if (Local(home)) {
    changes->push_back(std::move(change));
  } else {
    *remote_[outbox_->peers()->ShardOf(home)].add_changes() = std::move(change);
  }
}

absl::StatusOr<rocksdb::WriteBatch*> PairWrite::Seal() {
  for (const auto& [side, adjacency] : adjacency_) {
    const std::string key = keys::Adjacency(side);
    RETURN_IF_ERROR(FromRocksStatus(
        adjacency.ids.empty() ? batch_.Delete(store_->graph(), key)
                              : batch_.Put(store_->graph(), key, EncodeAdjacency(adjacency)),
        "batch write"));
  }
  adjacency_.clear();
  for (const auto& [shard, writes] : remote_) {
    RETURN_IF_ERROR(outbox_->Enqueue(&batch_, writes, &reserved_));
  }
  return &batch_;
}

}  // namespace liaison::identity
