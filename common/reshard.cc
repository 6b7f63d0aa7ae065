#include "common/reshard.h"

#include "absl/strings/str_cat.h"
#include "common/keys.h"
#include "common/status.h"

namespace liaison {
namespace {

constexpr size_t kBatch = 1000;

// Copies into one family of `to`, in synced batches; `moved` counts.
class Copier final {
 public:
  Copier(Store* to, rocksdb::ColumnFamilyHandle* family) : writer_(to, kBatch), family_(family) {}

  absl::Status Put(const rocksdb::Slice& key, const rocksdb::Slice& value) {
    return writer_.Put(family_, key, value);
  }
  absl::Status Flush() { return writer_.Flush(); }
  uint64_t moved() const { return writer_.records(); }

 private:
  ChunkedWriter writer_;
  rocksdb::ColumnFamilyHandle* family_;
};

// One partition of a partitioned family: copy, check, delete.
absl::StatusOr<uint64_t> MovePartition(uint32_t partition, Store* from, Store* to,
                                       const std::string& family_name) {
  rocksdb::ColumnFamilyHandle* source = from->Family(family_name);
  rocksdb::ColumnFamilyHandle* target = to->Family(family_name);
  const std::string prefix = KeyBuilder::PartitionPrefix(partition);
  Copier copier(to, target);
  auto it = from->NewIterator(source, /*prefix_scan=*/false);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    RETURN_IF_ERROR(copier.Put(it->key(), it->value()));
  }
  RETURN_IF_ERROR(FromRocksStatus(it->status(), "partition scan"));
  RETURN_IF_ERROR(copier.Flush());
  ASSIGN_OR_RETURN(uint64_t copied, CountKeys(to, target, prefix));
  if (copied < copier.moved()) {
    return absl::DataLossError(absl::StrCat("partition ", partition, " of ", family_name, ": ",
                                            copier.moved(), " records read, ", copied,
                                            " found after the copy"));
  }
  rocksdb::WriteBatch remove;
  // The next partition's prefix bounds this one; after the last, 0x10 0x00
  // is still below every key that is not partitioned (kind letters).
  const std::string end = KeyBuilder::PartitionPrefix(partition + 1);
  RETURN_IF_ERROR(FromRocksStatus(remove.DeleteRange(source, prefix, end), "batch delete range"));
  RETURN_IF_ERROR(from->Write(&remove, Durability::kSynced));
  return copier.moved();
}

// An index keyed by something else first: move its keys one by one.
absl::StatusOr<uint64_t> MoveIndex(const ShardMap& from_map, const ShardMap& to_map,
                                   const std::vector<Store*>& stores, const MovedFamily& family) {
  uint64_t moved = 0;
  for (size_t shard = 0; shard < from_map.size(); ++shard) {
    Store* from = stores[shard];
    rocksdb::ColumnFamilyHandle* source = from->Family(family.name);
    std::vector<std::unique_ptr<Copier>> copiers;
    for (Store* store : stores)
      copiers.push_back(std::make_unique<Copier>(store, store->Family(family.name)));
    rocksdb::WriteBatch remove;
    auto it = from->NewIterator(source, /*prefix_scan=*/false);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const absl::string_view key(it->key().data(), it->key().size());
      MemberId member = 0;
      KeyReader reader(key.substr(std::min(family.member_offset, key.size())));
      if (!reader.U64(&member)) continue;  // not a member's record
      const size_t owner = to_map.ShardOf(member);
      if (owner == shard) continue;
      RETURN_IF_ERROR(copiers[owner]->Put(it->key(), it->value()));
      RETURN_IF_ERROR(FromRocksStatus(remove.Delete(source, it->key()), "batch delete"));
    }
    RETURN_IF_ERROR(FromRocksStatus(it->status(), "index scan"));
    for (auto& copier : copiers) {
      RETURN_IF_ERROR(copier->Flush());
      moved += copier->moved();
    }
    if (remove.Count() > 0) RETURN_IF_ERROR(from->Write(&remove, Durability::kSynced));
  }
  return moved;
}

}  // namespace

absl::StatusOr<ReshardReport> MovePartitions(const ShardMap& from, const ShardMap& to,
                                             const std::vector<Store*>& stores,
                                             const std::vector<MovedFamily>& families) {
  if (to.epoch() <= from.epoch()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the new map's epoch (", to.epoch(), ") must be above the old one's (", from.epoch(), ")"));
  }
  if (stores.size() < std::max(from.size(), to.size())) {
    return absl::InvalidArgumentError(absl::StrCat("give a store for each of the ",
                                                   std::max(from.size(), to.size()),
                                                   " shards; got ", stores.size()));
  }
  ReshardReport report;
  for (uint32_t p = 0; p < kPartitions; ++p) {
    const size_t old_owner = from.ShardOfPartition(p);
    const size_t new_owner = to.ShardOfPartition(p);
    if (old_owner == new_owner) continue;
    ++report.partitions_moved;
    for (const MovedFamily& family : families) {
      if (family.member_offset != 0) continue;
      ASSIGN_OR_RETURN(uint64_t moved,
                       MovePartition(p, stores[old_owner], stores[new_owner], family.name));
      report.records_moved += moved;
    }
  }
  for (const MovedFamily& family : families) {
    if (family.member_offset == 0) continue;
    ASSIGN_OR_RETURN(uint64_t moved, MoveIndex(from, to, stores, family));
    report.records_moved += moved;
  }
  return report;
}

}  // namespace liaison
