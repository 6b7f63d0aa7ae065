// The real binaries with a shard map (DESIGN.md §8): two liaison-privacy
// shards behind the ports the map names, reached with buf curl at either
// one; and the start-up lines of a map or index that cannot work.
#include <catch2/catch.hpp>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/shard_map.h"
#include "tests/system/system_support.h"

namespace liaison::testing {
namespace {

std::string WriteMap(const TempDir& dir, const std::string& name, const std::string& json) {
  const std::string path = dir.Sub(name);
  std::ofstream(path) << json;
  return path;
}

std::string TwoShardMap(int port0, int port1) {
  return absl::StrCat(R"({"epoch": 7, "shards": [)",
                      R"({"partitions": "0-2047", "privacy": "127.0.0.1:)", port0, R"("},)",
                      R"({"partitions": "2048-4095", "privacy": "127.0.0.1:)", port1, R"("}]})");
}

MemberId OnShard(const ShardMap& map, size_t shard) {
  MemberId m = 1;
  while (map.ShardOf(m) != shard) ++m;
  return m;
}

CommandResult Privacy(const RunningService& s, const std::string& method, const std::string& token,
                      const std::string& body, bool verbose = false) {
  std::vector<std::string> args;
  if (verbose) args.push_back("-v");
  args.insert(args.end(), {"-H", "authorization: Bearer " + token, "-d", body,
                           s.Url() + "/liaison.privacy.v1.PrivacyService/" + method});
  return BufCurl(args);
}

TEST_CASE("Two privacy shards: any of them serves any member, through buf curl") {
  TempDir dir;
  const std::string key = WriteKey(dir);
  const int port0 = FreePort();
  const int port1 = FreePort();
  const std::string json = TwoShardMap(port0, port1);
  const std::string map_file = WriteMap(dir, "map.json", json);
  const ShardMap map = ShardMap::Parse(json, "test").value();
  RunningService shard0 = StartService(LIAISON_PRIVACY_BIN, dir.Sub("p0"), key, dir.Sub("p0.log"),
                                       {"--shard-map", map_file, "--shard-index", "0"}, port0);
  RunningService shard1 = StartService(LIAISON_PRIVACY_BIN, dir.Sub("p1"), key, dir.Sub("p1.log"),
                                       {"--shard-map", map_file, "--shard-index", "1"}, port1);
  const MemberId a = OnShard(map, 0);
  const MemberId b = OnShard(map, 1);
  const std::string service = CtlToken(key, {"--service", "identity"});

  // Registered through shard 0: each member lands on their own shard.
  auto registered = Privacy(shard0, "RegisterMembers", service,
                            absl::StrCat(R"({"memberIds":[")", a, R"(",")", b, R"("]})"));
  INFO(registered.output);
  REQUIRE(registered.exit_code == 0);

  // b changes a setting through shard 0; shard 1 (theirs) served it.
  auto updated = Privacy(shard0, "UpdateSettings", CtlToken(key, {std::to_string(b)}),
                         R"({"settings":{"openProfile":true},"updateMask":"openProfile"})",
                         /*verbose=*/true);
  INFO(updated.output);
  REQUIRE(updated.exit_code == 0);
  // buf prints header names capitalized.
  CHECK(Contains(updated.output, "Liaison-Shard: 1/7"));
  CHECK(Contains(updated.output, "\"openProfile\": true"));

  // Read back at shard 1 directly, and the batch of both at shard 1.
  auto read = Privacy(shard1, "GetSettings", service, absl::StrCat(R"({"memberId":")", b, R"("})"));
  CHECK(Contains(read.output, "\"openProfile\": true"));
  auto batch = Privacy(shard1, "BatchGetSettings", service,
                       absl::StrCat(R"({"memberIds":[")", a, R"(",")", b, R"("]})"));
  INFO(batch.output);
  REQUIRE(batch.exit_code == 0);
  CHECK(batch.output.find(absl::StrCat("\"memberId\": \"", a, "\"")) <
        batch.output.find(absl::StrCat("\"memberId\": \"", b, "\"")));

  // Each shard's metrics and its own feed: shard 0 never stored b's change.
  auto head = [](const RunningService& s) {
    auto scraped = RunCommand(
        {LIAISON_CURL, "-sf", "http://127.0.0.1:" + std::to_string(s.metrics_port) + "/metrics"});
    const std::string name = "liaison_feed_head_cursor{feed=\"privacy\"} ";
    const size_t at = scraped.output.find(name);
    REQUIRE(at != std::string::npos);
    return std::stoi(scraped.output.substr(at + name.size()));
  };
  CHECK(head(shard0) == 0);
  CHECK(head(shard1) == 1);
}

TEST_CASE("Two credits shards behind one identity: a member's credits, asked anywhere") {
  TempDir dir;
  const std::string key = WriteKey(dir);
  const int port0 = FreePort();
  const int port1 = FreePort();
  const std::string json = absl::StrCat(
      R"({"epoch": 3, "shards": [)", R"({"partitions": "0-2047", "credits": "127.0.0.1:)", port0,
      R"("},)", R"({"partitions": "2048-4095", "credits": "127.0.0.1:)", port1, R"("}]})");
  const std::string map_file = WriteMap(dir, "map.json", json);
  const ShardMap map = ShardMap::Parse(json, "test").value();
  // identity is not sharded: it runs without the map, credits shards call it.
  RunningService identity =
      StartService(LIAISON_IDENTITY_BIN, dir.Sub("identity"), key, dir.Sub("i.log"));
  const std::vector<std::string> to_identity = {"--identity-address",
                                                "127.0.0.1:" + std::to_string(identity.grpc_port),
                                                "--shard-map", map_file, "--shard-index"};
  auto flags = [&](const char* index) {
    auto out = to_identity;
    out.push_back(index);
    return out;
  };
  RunningService credits0 =
      StartService(LIAISON_CREDITS_BIN, dir.Sub("c0"), key, dir.Sub("c0.log"), flags("0"), port0);
  RunningService credits1 =
      StartService(LIAISON_CREDITS_BIN, dir.Sub("c1"), key, dir.Sub("c1.log"), flags("1"), port1);
  const std::string admin = CtlToken(key, {"--service", "admin"});
  std::string member;
  for (int i = 0; i < 64 && member.empty(); ++i) {
    auto call =
        CallRpc(identity, "liaison.identity.v1.IdentityService/CreateMember", admin,
                absl::StrCat(R"({"handle":"member)", i, R"(","displayName":"M","email":"member)", i,
                             R"(@example.com"})"));
    INFO(call.output);
    REQUIRE(call.exit_code == 0);
    const std::string id = nlohmann::json::parse(call.output)["member"]["memberId"];
    if (map.ShardOf(std::stoull(id)) == 1) member = id;
  }
  REQUIRE_FALSE(member.empty());
  REQUIRE(
      CallRpc(identity, "liaison.identity.v1.IdentityService/SetAccountTier", admin,
              nlohmann::json{{"memberId", member}, {"tier", "ACCOUNT_TIER_SALES_NAVIGATOR"}}.dump())
          .exit_code == 0);

  // Asked at shard 0, answered by shard 1.
  auto balance = BufCurl({"-v", "-H", "authorization: Bearer " + CtlToken(key, {member}), "-d",
                          "{}", credits0.Url() + "/liaison.credits.v1.CreditService/GetBalance"});
  INFO(balance.output);
  REQUIRE(balance.exit_code == 0);
  CHECK(Contains(balance.output, "Liaison-Shard: 1/3"));
  CHECK(Contains(balance.output, "\"monthlyAvailable\": \"50\""));
  const std::string hold = nlohmann::json{{"memberId", member}, {"inmailId", "im-1"}}.dump();
  const std::string messaging = CtlToken(key, {"--service", "messaging"});
  CHECK(CallRpc(credits0, "liaison.credits.v1.CreditService/ReserveCredit", messaging, hold)
            .exit_code == 0);
  auto committed =
      CallRpc(credits1, "liaison.credits.v1.CreditService/CommitHold", messaging, hold);
  INFO(committed.output);
  CHECK(Contains(committed.output, "HOLD_STATE_COMMITTED"));
}

TEST_CASE("The Kubernetes overlay's shard map is one the services accept") {
  auto map = ShardMap::Load(std::string(LIAISON_SOURCE_DIR) +
                            "/deploy/k8s/overlays/prod-sharded/shard-map.json");
  INFO(map.status().ToString());
  REQUIRE(map.ok());
  CHECK(map->size() == 2);
  CHECK(map->CheckAddresses("privacy").ok());
  CHECK(map->CheckAddresses("credits").ok());
  // identity and messaging are not sharded yet: the map must leave them out.
  CHECK_FALSE(NamesService(*map, "identity"));
  CHECK_FALSE(NamesService(*map, "messaging"));
  CHECK(ShardIndexFromHostname("privacy-1").value() == 1);
}

TEST_CASE("A shard map or index that cannot work stops start-up with one line saying why") {
  TempDir dir;
  const std::string key = WriteKey(dir);
  int starts = 0;
  auto start = [&](const std::string& binary, std::vector<std::string> extra) {
    const std::string data = dir.Sub("data" + std::to_string(++starts));
    std::vector<std::string> argv = {binary, "--data-dir",     data, "--grpc-port",
                                     "0",    "--metrics-port", "0",  "--signing-key-file",
                                     key};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunCommand(argv, 30);
  };
  const std::string overlapping =
      WriteMap(dir, "overlap.json",
               R"({"epoch":1,"shards":[{"partitions":"0-2047","privacy":"127.0.0.1:1"},)"
               R"({"partitions":"2000-4095","privacy":"127.0.0.1:2"}]})");
  auto result = start(LIAISON_PRIVACY_BIN, {"--shard-map", overlapping});
  INFO(result.output);
  CHECK(result.exit_code == 1);
  CHECK(Contains(result.output, "shards[1].partitions: partition 2000 is already owned"));

  const std::string good = WriteMap(dir, "good.json", TwoShardMap(1, 2));
  result = start(LIAISON_PRIVACY_BIN, {"--shard-map", good, "--shard-index", "2"});
  CHECK(result.exit_code == 1);
  CHECK(Contains(result.output, "--shard-index: 2 is not a shard of the map"));

  result = start(LIAISON_PRIVACY_BIN, {"--shard-map", dir.Sub("missing.json")});
  CHECK(result.exit_code == 1);
  CHECK(Contains(result.output, "cannot read the file"));

  result = start(LIAISON_PRIVACY_BIN, {"--shard-index", "-1"});
  CHECK(result.exit_code == 2);
  CHECK(Contains(result.output, "--shard-index"));

  // The services not sharded yet say so rather than serve members they
  // should not own.
  const std::string with_identity =
      WriteMap(dir, "identity.json",
               R"({"epoch":1,"shards":[{"partitions":"0-2047","identity":"127.0.0.1:1"},)"
               R"({"partitions":"2048-4095","identity":"127.0.0.1:2"}]})");
  result = start(LIAISON_IDENTITY_BIN, {"--shard-map", with_identity});
  INFO(result.output);
  CHECK(result.exit_code == 1);
  CHECK(Contains(result.output, "identity does not run sharded yet"));
}

}  // namespace
}  // namespace liaison::testing
