// Shard maps for tests of sharded services (common/shard_map.h).
#ifndef LIAISON_TESTS_SUPPORT_SHARD_MAPS_H_
#define LIAISON_TESTS_SUPPORT_SHARD_MAPS_H_

#include <grpcpp/client_context.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/shard_map.h"
#include "common/shard_router.h"

namespace liaison::testing {

// The map file of two shards of `service` on loopback ports, partitions
// split in half.
inline std::string TwoShardsJson(const std::string& service, int port0, int port1, uint64_t epoch) {
  return absl::StrCat(R"({"epoch": )", epoch, R"(, "shards": [{"partitions": "0-2047", ")", service,
                      R"(": "127.0.0.1:)", port0, R"("}, {"partitions": "2048-4095", ")", service,
                      R"(": "127.0.0.1:)", port1, R"("}]})");
}

// The same map, parsed.
inline ShardMap TwoShards(const std::string& service, int port0, int port1, uint64_t epoch) {
  return ShardMap::Parse(TwoShardsJson(service, port0, port1, epoch), "test").value();
}

// Two shards of each of several services, partitions split in half:
// services[k] on ports[2k] (shard 0) and ports[2k + 1] (shard 1).
inline ShardMap TwoShardsOf(const std::vector<std::string>& services, const std::vector<int>& ports,
                            uint64_t epoch) {
  std::string json = absl::StrCat(R"({"epoch": )", epoch, R"(, "shards": [)");
  for (int shard = 0; shard < 2; ++shard) {
    absl::StrAppend(&json,
                    shard == 0 ? R"({"partitions": "0-2047")" : R"(, {"partitions": "2048-4095")");
    for (size_t k = 0; k < services.size(); ++k) {
      absl::StrAppend(&json, R"(, ")", services[k], R"(": "127.0.0.1:)", ports[2 * k + shard],
                      R"(")");
    }
    absl::StrAppend(&json, "}");
  }
  return ShardMap::Parse(json + "]}", "test").value();
}

// The liaison-shard header a call's answer carried ("" if none).
inline std::string ShardHeader(const grpc::ClientContext& context) {
  const auto& metadata = context.GetServerInitialMetadata();
  auto it = metadata.find(kShardHeader);
  return it == metadata.end() ? "" : std::string(it->second.data(), it->second.size());
}

}  // namespace liaison::testing

#endif  // LIAISON_TESTS_SUPPORT_SHARD_MAPS_H_
