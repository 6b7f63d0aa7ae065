// Partitions and the shard map (DESIGN.md §8).
//
// A member's partition is a fixed function of the member id into
// kPartitions logical partitions; neither the function nor the number ever
// changes, since every member-keyed record's key starts with its partition.
// The shard map says which shard owns which partitions, and where each
// shard of each service listens. It is versioned by an epoch: a map that
// moves partitions gets a higher one. A JSON file every service, liaisonctl
// and liaison-bench read at start (a ConfigMap on Kubernetes):
//
//   {
//     "epoch": 2,
//     "shards": [
//       {"partitions": "0-2047",
//        "identity": "10.0.0.1:50051", "messaging": "10.0.0.1:50052",
//        "credits": "10.0.0.1:50053", "privacy": "10.0.0.1:50054"},
//       {"partitions": "2048-4095", ...}
//     ]
//   }
//
// A shard's index is its place in "shards". "partitions" is a list of
// ranges and single partitions ("0-99,200,300-4095"); every partition is
// owned by exactly one shard. Without a file there is one shard, epoch 0,
// owning everything, at the addresses the flags give.
#ifndef LIAISON_COMMON_SHARD_MAP_H_
#define LIAISON_COMMON_SHARD_MAP_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/ids.h"

namespace liaison {

inline constexpr uint32_t kPartitions = 4096;

// The member's partition, in [0, kPartitions). Stable forever.
uint32_t PartitionOf(MemberId member);
// The partition of a name kept unique through a directory (a handle, an
// email): its 64-bit FNV-1a hash's partition. Stable forever.
uint32_t PartitionOfName(absl::string_view name);

// The services a shard map names addresses for, in DESIGN.md §2's order.
inline constexpr std::array<const char*, 4> kShardedServices = {"privacy", "identity", "credits",
                                                                "messaging"};

class ShardMap final {
 public:
  struct Shard {
    // The partitions this shard owns, as inclusive ranges, sorted.
    std::vector<std::pair<uint32_t, uint32_t>> ranges;
    // host:port of each service's shard, by service name ("" when unset).
    std::string privacy, identity, credits, messaging;
    const std::string& Address(absl::string_view service) const;
  };

  // One shard owning every partition, epoch 0, at these addresses (any may
  // be empty).
  static ShardMap Single(Shard addresses);
  // Reads and validates a map file. Errors name the file and the field.
  static absl::StatusOr<ShardMap> Load(const std::string& path);
  // Validates a map given as JSON text (`source` names it in errors).
  static absl::StatusOr<ShardMap> Parse(absl::string_view json, absl::string_view source);

  uint64_t epoch() const { return epoch_; }
  size_t size() const { return shards_.size(); }
  const Shard& shard(size_t index) const { return shards_[index]; }
  size_t ShardOfPartition(uint32_t partition) const { return owner_[partition]; }
  size_t ShardOf(MemberId member) const { return owner_[PartitionOf(member)]; }

  // Whether every shard names an address for `service`; the error says
  // which shard does not.
  absl::Status CheckAddresses(absl::string_view service) const;
  // The map as JSON, in the file format (liaisonctl shard-map prints it).
  std::string ToJson() const;

 private:
  uint64_t epoch_ = 0;
  std::vector<Shard> shards_;
  std::vector<uint16_t> owner_;  // partition -> shard index
};

// Which shard this process is, and what it may serve.
class ShardIdentity final {
 public:
  ShardIdentity(ShardMap map, size_t index) : map_(std::move(map)), index_(index) {}

  const ShardMap& map() const { return map_; }
  size_t index() const { return index_; }
  bool Owns(MemberId member) const { return map_.ShardOf(member) == index_; }
  // FAILED_PRECONDITION naming the member's partition, its owner and the
  // map's epoch, for a member this shard does not own; OK otherwise.
  absl::Status CheckOwned(MemberId member) const;

 private:
  ShardMap map_;
  size_t index_;
};

// Whether the map names an address for `service` on any shard.
bool NamesService(const ShardMap& map, absl::string_view service);

// The shard index in a StatefulSet pod's host name: its trailing "-N".
absl::StatusOr<int> ShardIndexFromHostname(absl::string_view hostname);

// Checks a --shard-index against a map: an index the map has.
absl::Status CheckShardIndex(const ShardMap& map, int index);

}  // namespace liaison

#endif  // LIAISON_COMMON_SHARD_MAP_H_
