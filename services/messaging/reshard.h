// What liaison-reshard does for messaging beyond moving partitions
// (common/reshard.h): records a shard keeps for a conversation it is home
// of, or a copy of one for a member it holds, are not all in the partition
// that owns them. Once partitions have moved (services stopped), Rehome
// puts each where the new map wants it.
#ifndef LIAISON_SERVICES_MESSAGING_RESHARD_H_
#define LIAISON_SERVICES_MESSAGING_RESHARD_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "common/shard_map.h"
#include "common/store.h"

namespace liaison::messaging {

// Work a shard has not finished, which names shards by the map it was
// written under: InMail saga steps for the credits service ('O') and
// deliveries to other shards' mailboxes ('T'). Partitions may only move
// once every shard holds none.
struct UnfinishedWork {
  uint64_t inmail_steps = 0;
  uint64_t deliveries = 0;
};
absl::StatusOr<UnfinishedWork> Unfinished(Store* store);

// One-to-one and page conversations whose lookup record (the pair's or the
// page's, in the lower member's or the page's partition) and whose home
// (the partition its id names) `map` would put on different shards: a
// conversation started before ids named their home partition. Such a store
// cannot be split by `map` yet.
absl::StatusOr<uint64_t> SplitLookups(const ShardMap& map, Store* store);

struct RehomeReport {
  uint64_t records_moved = 0;   // sends' idempotency and unanswered-InMail records
  uint64_t copies_made = 0;     // conversations copied to a shard that now needs them
  uint64_t copies_dropped = 0;  // copies on a shard that no longer needs them
};

// After MovePartitions to `to` over `stores` (shard i's store, as many as
// the larger map has shards): a send's idempotency record and an
// unanswered InMail go to their conversation's home, and each shard holds
// a copy of exactly the conversations its members have a state in (besides
// those it is home of), copied from the home. Run again, it moves nothing.
absl::StatusOr<RehomeReport> Rehome(const ShardMap& to, const std::vector<Store*>& stores);

}  // namespace liaison::messaging

#endif  // LIAISON_SERVICES_MESSAGING_RESHARD_H_
