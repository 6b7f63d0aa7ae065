#include "services/identity/pair_write.h"

#include "common/status.h"

namespace liaison::identity {

void PairWrite::Put(MemberId side, rocksdb::ColumnFamilyHandle* family, const std::string& key,
                    const std::string& value) {
  (void)side;
  batch_.Put(family, key, value);
}

void PairWrite::Delete(MemberId side, rocksdb::ColumnFamilyHandle* family, const std::string& key) {
  (void)side;
  batch_.Delete(family, key);
}

absl::Status PairWrite::Link(MemberId side, MemberId other, uint32_t since) {
  ASSIGN_OR_RETURN(Adjacency adjacency, store_->GetAdjacency(side));
  adjacency.Insert(other, since);
  return FromRocksStatus(
      batch_.Put(store_->graph(), keys::Adjacency(side), EncodeAdjacency(adjacency)), "batch put");
}

absl::StatusOr<bool> PairWrite::Unlink(MemberId side, MemberId other) {
  ASSIGN_OR_RETURN(Adjacency adjacency, store_->GetAdjacency(side));
  if (!adjacency.Erase(other)) return false;
  const std::string key = keys::Adjacency(side);
  RETURN_IF_ERROR(FromRocksStatus(
      adjacency.ids.empty() ? batch_.Delete(store_->graph(), key)
                            : batch_.Put(store_->graph(), key, EncodeAdjacency(adjacency)),
      "batch write"));
  return true;
}

}  // namespace liaison::identity
