// liaison-seed-graph: writes a synthetic member graph straight into an
// identity store, for benchmarks and load tests. Degrees follow a power law
// (Chung-Lu: each member draws a weight from a Pareto distribution, edges
// join members in proportion to their weights), a few hubs sit near the
// 30,000-connection cap, some members have no connections, and some live in
// small groups cut off from everyone else (so OUT_OF_NETWORK pairs exist
// that take real work to rule out).
//
//   liaison-seed-graph --data-dir DIR --members 1000000 --avg-degree 50
//
// Member ids are 1..N; handles "seed-<id>"; every tenth member is premium.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <optional>
#include <random>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/config.h"
#include "common/shard_map.h"
#include "common/store.h"
#include "services/identity/graph.h"
#include "services/identity/identity_store.h"
#include "services/identity/rules.h"

namespace {

using liaison::MemberId;
namespace identity = liaison::identity;

struct Options {
  std::string data_dir;
  uint64_t members = 1'000'000;
  double avg_degree = 50;
  int hubs = 10;
  double isolated = 0.01;  // fraction with no connections
  double islands = 0.01;   // fraction in small cut-off groups
  uint64_t seed = 42;
  // With a shard map: write only what shard `shard_index` owns.
  std::string shard_map;
  int shard_index = 0;
};

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// Compressed adjacency: neighbors of m are targets[offsets[m] .. offsets[m+1]).
struct Csr {
  std::vector<uint64_t> offsets;
  std::vector<MemberId> targets;
};

Csr BuildGraph(const Options& o) {
  std::mt19937_64 rng(o.seed);
  const uint64_t n = o.members;
  const uint64_t isolated = static_cast<uint64_t>(n * o.isolated);
  const uint64_t islanders = static_cast<uint64_t>(n * o.islands);
  const uint64_t main_start = 1 + isolated + islanders;  // ids [main_start, n] form the network
  // Pareto weights (degree exponent 2.1, as in social graphs), scaled to the mean degree.
  std::vector<double> weight(n + 1, 0);
  std::uniform_real_distribution<double> unit(0, 1);
  double total = 0;
  for (uint64_t m = main_start; m <= n; ++m) {
    weight[m] = std::pow(1 - unit(rng), -1 / 1.1);
    total += weight[m];
  }
  const uint64_t main_count = n - main_start + 1;
  const double scale = o.avg_degree * main_count / total;
  for (uint64_t m = main_start; m <= n; ++m) {
    weight[m] = std::min(weight[m] * scale, 20'000.0);
  }
  // Hubs: heavier than the cap allows, so they end at or near 30,000.
  for (int h = 0; h < o.hubs && main_start + h <= n; ++h) weight[n - h] = 40'000;
  std::vector<double> cumulative(n + 1, 0);
  total = 0;
  for (uint64_t m = main_start; m <= n; ++m) cumulative[m] = total += weight[m];
  auto draw = [&]() -> MemberId {
    const double x = unit(rng) * total;
    return std::upper_bound(cumulative.begin() + main_start, cumulative.end(), x) -
           cumulative.begin();
  };
  // Draw until the network has its mean degree: repeated pairs (common
  // between heavy members) are drawn again.
  const uint64_t target = static_cast<uint64_t>(o.avg_degree * main_count / 2);
  std::vector<std::pair<MemberId, MemberId>> edges;
  edges.reserve(target + islanders * 3);
  for (int round = 0; round < 8 && edges.size() < target; ++round) {
    for (uint64_t e = edges.size(); e < target; ++e) {
      MemberId a = std::min<MemberId>(draw(), n), b = std::min<MemberId>(draw(), n);
      if (a != b) edges.emplace_back(std::min(a, b), std::max(a, b));
    }
    std::sort(edges.begin(), edges.end());
    edges.erase(std::unique(edges.begin(), edges.end()), edges.end());
  }
  // Islands: groups of 10, each member linked to the next three in its group.
  for (uint64_t first = 1 + isolated; first + 9 < main_start; first += 10) {
    for (uint64_t i = 0; i < 10; ++i) {
      for (uint64_t k = 1; k <= 3 && i + k < 10; ++k) edges.emplace_back(first + i, first + i + k);
    }
  }
  std::sort(edges.begin(), edges.end());
  edges.erase(std::unique(edges.begin(), edges.end()), edges.end());

  Csr csr;
  csr.offsets.assign(n + 2, 0);
  std::vector<uint32_t> degree(n + 1, 0);
  std::vector<std::pair<MemberId, MemberId>> kept;
  kept.reserve(edges.size());
  for (auto [a, b] : edges) {  // enforce the cap
    if (degree[a] >= identity::kMaxConnections || degree[b] >= identity::kMaxConnections) continue;
    ++degree[a];
    ++degree[b];
    kept.emplace_back(a, b);
  }
  edges.clear();
  edges.shrink_to_fit();
  for (uint64_t m = 1; m <= n; ++m) csr.offsets[m + 1] = csr.offsets[m] + degree[m];
  csr.targets.resize(csr.offsets[n + 1]);
  std::vector<uint64_t> fill(csr.offsets.begin(), csr.offsets.end() - 1);
  for (auto [a, b] : kept) {
    csr.targets[fill[a]++] = b;
    csr.targets[fill[b]++] = a;
  }
  for (uint64_t m = 1; m <= n; ++m) {
    std::sort(csr.targets.begin() + csr.offsets[m], csr.targets.begin() + csr.offsets[m + 1]);
  }
  return csr;
}

int Run(const Options& o) {
  auto start = std::chrono::steady_clock::now();
  Csr csr = BuildGraph(o);
  const uint64_t n = o.members;
  uint32_t max_degree = 0;
  for (uint64_t m = 1; m <= n; ++m) {
    max_degree = std::max<uint32_t>(max_degree, csr.offsets[m + 1] - csr.offsets[m]);
  }
  std::cerr << "outside the main network: ids below "
            << 1 + static_cast<uint64_t>(n * o.isolated) + static_cast<uint64_t>(n * o.islands)
            << std::endl;
  std::cerr << "graph: " << n << " members, " << csr.targets.size() / 2 << " connections (mean "
            << static_cast<double>(csr.targets.size()) / n << ", max " << max_degree << ") in "
            << Seconds(start) << " s" << std::endl;

  std::error_code error;
  std::filesystem::create_directories(o.data_dir, error);
  auto store = liaison::Store::Open({o.data_dir, identity::IdentityStore::Families()});
  if (!store.ok()) {
    std::cerr << store.status() << std::endl;
    return 1;
  }
  identity::IdentityStore ids(store->get());
  // Every shard's run builds the same graph (same seed) and keeps its part:
  // its members' records and connections, and the names its directory holds.
  std::optional<liaison::ShardMap> map;
  if (!o.shard_map.empty()) {
    auto loaded = liaison::ShardMap::Load(o.shard_map);
    const absl::Status valid =
        loaded.ok() ? liaison::CheckShardIndex(*loaded, o.shard_index) : loaded.status();
    if (!valid.ok()) {
      std::cerr << valid << std::endl;
      return 1;
    }
    map = *std::move(loaded);
  }
  auto owns = [&](uint32_t partition) {
    return !map || map->ShardOfPartition(partition) == static_cast<size_t>(o.shard_index);
  };
  const auto since = static_cast<uint32_t>(absl::ToUnixSeconds(absl::Now()));
  rocksdb::WriteBatch batch;
  auto flush = [&]() -> bool {
    // A bulk load: no write-ahead log; Close() flushes it all at the end.
    auto status = (*store)->Write(&batch, liaison::Durability::kUnlogged);
    batch.Clear();
    if (!status.ok()) std::cerr << status << std::endl;
    return status.ok();
  };
  start = std::chrono::steady_clock::now();
  for (MemberId m = 1; m <= n; ++m) {
    liaison::identity::v1::Member member;
    member.set_member_id(absl::StrCat(m));
    member.set_handle(absl::StrCat("seed-", m));
    member.set_display_name(absl::StrCat("Seed Member ", m));
    member.set_email(absl::StrCat("seed-", m, "@example.com"));
    member.set_tier(m % 10 == 0 ? liaison::identity::v1::ACCOUNT_TIER_PREMIUM_BUSINESS
                                : liaison::identity::v1::ACCOUNT_TIER_BASIC);
    if (owns(liaison::PartitionOfName(member.handle()))) {
      batch.Put(ids.members(), identity::keys::Handle(member.handle()),
                identity::IdentityStore::EncodeCounter(m));
    }
    if (owns(liaison::PartitionOfName(member.email()))) {
      batch.Put(ids.members(), identity::keys::Email(member.email()),
                identity::IdentityStore::EncodeCounter(m));
    }
    if (!owns(liaison::PartitionOf(m))) continue;
    batch.Put(ids.members(), identity::keys::Member(m), member.SerializeAsString());
    if (csr.offsets[m + 1] > csr.offsets[m]) {
      identity::Adjacency adjacency;
      adjacency.ids.assign(csr.targets.begin() + csr.offsets[m],
                           csr.targets.begin() + csr.offsets[m + 1]);
      adjacency.since.assign(adjacency.ids.size(), since);
      batch.Put(ids.graph(), identity::keys::Adjacency(m), identity::EncodeAdjacency(adjacency));
    }
    if (batch.GetDataSize() > (4 << 20) && !flush()) return 1;
  }
  if (!flush()) return 1;
  std::cerr << "written in " << Seconds(start) << " s; compacting" << std::endl;
  // Left as written, the store would hold level-0 files that the service
  // compacts while a benchmark runs: the result would depend on when that
  // happens. Compact it all now, to the form the service reads.
  start = std::chrono::steady_clock::now();
  auto status = (*store)->CompactAll();
  if (!status.ok()) {
    std::cerr << status << std::endl;
    return 1;
  }
  std::cerr << "compacted in " << Seconds(start)
            << " s: " << (*store)->IntProperty("rocksdb.total-sst-files-size")
            << " bytes of tables, "
            << (*store)->IntProperty("rocksdb.estimate-pending-compaction-bytes")
            << " bytes of compaction pending" << std::endl;
  start = std::chrono::steady_clock::now();
  status = (*store)->Close();
  if (!status.ok()) {
    std::cerr << status << std::endl;
    return 1;
  }
  std::cerr << "flushed and closed in " << Seconds(start) << " s" << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"Writes a synthetic member graph into an identity store", "liaison-seed-graph"};
  app.add_option("--data-dir", o.data_dir, "Identity store directory (created)")->required();
  app.add_option("--members", o.members, "Members to create")
      ->check(CLI::Range(20, 100'000'000))
      ->capture_default_str();
  app.add_option("--avg-degree", o.avg_degree, "Mean connections per networked member")
      ->check(CLI::Range(1.0, 1000.0))
      ->capture_default_str();
  app.add_option("--hubs", o.hubs, "Members with about 29,000 connections")
      ->check(CLI::Range(0, 1000))
      ->capture_default_str();
  app.add_option("--isolated", o.isolated, "Fraction without connections")
      ->check(CLI::Range(0.0, 0.5))
      ->capture_default_str();
  app.add_option("--islands", o.islands, "Fraction in cut-off groups of 10")
      ->check(CLI::Range(0.0, 0.5))
      ->capture_default_str();
  app.add_option("--seed", o.seed, "Random seed")->capture_default_str();
  app.add_option("--shard-map", o.shard_map,
                 "Shard map file: write only what shard --shard-index owns (run once per shard)");
  app.add_option("--shard-index", o.shard_index, "This store's shard in --shard-map")
      ->capture_default_str();
  if (auto exit_code = liaison::ParseFlags(app, argc, argv)) return *exit_code;
  return Run(o);
}
