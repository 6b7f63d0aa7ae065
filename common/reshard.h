// Moving partitions between shards' stores (DESIGN.md §8, "Growing"), with
// the services stopped: every partition whose owner differs between two
// shard maps is copied from its old shard's store to its new one, checked,
// then deleted from the old one. Run again after a crash, it finishes the
// job: a copy is idempotent and a partition is deleted only once its copy
// is synced.
#ifndef LIAISON_COMMON_RESHARD_H_
#define LIAISON_COMMON_RESHARD_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/shard_map.h"
#include "common/store.h"

namespace liaison {

// A column family whose records follow their member.
struct MovedFamily {
  std::string name;
  // 0: every member-keyed key starts with the member's partition
  // (KeyBuilder::ForMember), and other keys (first byte 0x10 or above)
  // stay. Otherwise: an index whose keys hold the member id (8 bytes,
  // big-endian) at this byte offset, moved key by key.
  size_t member_offset = 0;
};

struct ReshardReport {
  uint64_t partitions_moved = 0;
  uint64_t records_moved = 0;
};

// Moves what `from` gives one shard and `to` another, for one service whose
// shard i's store is stores[i] (as many as the larger map has shards, each
// opened with the service's families). `to` must have a higher epoch.
absl::StatusOr<ReshardReport> MovePartitions(const ShardMap& from, const ShardMap& to,
                                             const std::vector<Store*>& stores,
                                             const std::vector<MovedFamily>& families);

}  // namespace liaison

#endif  // LIAISON_COMMON_RESHARD_H_
