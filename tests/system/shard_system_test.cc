// The real binaries with a shard map (DESIGN.md §8): two liaison-privacy
// shards behind the ports the map names, reached with buf curl at either
// one; and the start-up lines of a map or index that cannot work.
#include <grpcpp/create_channel.h>
#include <signal.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <functional>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/auth.h"
#include "common/shard_map.h"
#include "liaison/privacy/v1/privacy.grpc.pb.h"
#include "services/identity/identity_store.h"
#include "tests/support/shard_maps.h"
#include "tests/system/system_support.h"

namespace liaison::testing {
namespace {

std::string WriteMap(const TempDir& dir, const std::string& name, const std::string& json) {
  const std::string path = dir.Sub(name);
  std::ofstream(path) << json;
  return path;
}

std::string TwoShardMap(int port0, int port1) { return TwoShardsJson("privacy", port0, port1, 7); }

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

  // liaisonctl with the map reaches b's shard itself (the --privacy it is
  // given listens nowhere).
  auto ctl =
      RunCommand({LIAISON_CTL_BIN, "--shard-map", map_file, "--privacy", "127.0.0.1:1",
                  "--signing-key-file", key, "--as", std::to_string(b), "--json", "settings"});
  INFO(ctl.output);
  CHECK(ctl.exit_code == 0);
  CHECK(Contains(ctl.output, "\"openProfile\": true"));
  auto bad_map = RunCommand({LIAISON_CTL_BIN, "--shard-map", dir.Sub("none.json"),
                             "--signing-key-file", key, "--as", std::to_string(b), "settings"});
  CHECK(bad_map.exit_code == 2);
  CHECK(Contains(bad_map.output, "cannot read the file"));

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

TEST_CASE("liaison-seed-graph splits a graph between two identity shards that serve it whole") {
  TempDir dir;
  const std::string key = WriteKey(dir);
  const int port0 = FreePort();
  const int port1 = FreePort();
  const std::string map = WriteMap(dir, "map.json", TwoShardsJson("identity", port0, port1, 2));
  std::vector<RunningService> shards;
  for (int i = 0; i < 2; ++i) {
    const std::string store = dir.Sub(absl::StrCat("identity-", i));
    auto seeded =
        RunCommand({LIAISON_SEED_GRAPH_BIN, "--data-dir", store, "--members", "600", "--hubs", "1",
                    "--avg-degree", "6", "--shard-map", map, "--shard-index", std::to_string(i)});
    INFO(seeded.output);
    REQUIRE(seeded.exit_code == 0);
    shards.push_back(StartService(LIAISON_IDENTITY_BIN, store, key, dir.Sub(absl::StrCat("i", i)),
                                  {"--shard-map", map, "--shard-index", std::to_string(i)},
                                  i == 0 ? port0 : port1));
  }
  const std::string admin = CtlToken(key, {"--service", "admin"});
  auto call = [&](int shard, const char* method, const nlohmann::json& request) {
    auto result =
        CallRpc(shards[shard], absl::StrCat("liaison.identity.v1.IdentityService/", method), admin,
                request.dump());
    INFO(result.output);
    REQUIRE(result.exit_code == 0);
    return nlohmann::json::parse(result.output);
  };
  const ShardMap parsed = ShardMap::Load(map).value();
  std::set<size_t> owners;
  for (int m = 1; m <= 600; m += 37) {
    owners.insert(parsed.ShardOf(m));
    for (int via : {0, 1}) {
      CHECK(call(via, "GetMember", {{"memberId", std::to_string(m)}})["member"]["handle"] ==
            absl::StrCat("seed-", m));
      CHECK(call(via, "GetMember", {{"handle", absl::StrCat("seed-", m)}})["member"]["memberId"] ==
            std::to_string(m));
    }
  }
  CHECK(owners.size() == 2);
  // The hub (600) and a neighbor, whichever shards they are on, agree.
  auto hub = call(1, "ListConnections", {{"memberId", "600"}, {"pageSize", 1}});
  CHECK(std::stoll(hub["totalCount"].get<std::string>()) > 50);
  const std::string neighbor = hub["connections"][0]["memberId"];
  for (int via : {0, 1}) {
    CHECK(call(via, "GetRelationship",
               {{"memberId", "600"}, {"otherMemberId", neighbor}})["relationship"]["degree"] ==
          "DEGREE_FIRST");
    CHECK(call(via, "GetRelationship",
               {{"memberId", neighbor}, {"otherMemberId", "600"}})["relationship"]["degree"] ==
          "DEGREE_FIRST");
  }
  for (auto& shard : shards) {
    shard.process->Signal(SIGTERM);
    CHECK(shard.process->Wait() == 0);
  }
}

TEST_CASE("A two-member change survives SIGKILLs of both identity shards before it crossed") {
  TempDir dir;
  const std::string key = WriteKey(dir);
  const int ports[2] = {FreePort(), FreePort()};
  const std::string map =
      WriteMap(dir, "map.json", TwoShardsJson("identity", ports[0], ports[1], 4));
  // Invitations ask privacy for the recipient's "who can invite me".
  RunningService privacy =
      StartService(LIAISON_PRIVACY_BIN, dir.Sub("privacy"), key, dir.Sub("p.log"));
  auto flags = [&](int i) {
    return std::vector<std::string>{
        "--shard-map",       map,
        "--shard-index",     std::to_string(i),
        "--privacy-address", "127.0.0.1:" + std::to_string(privacy.grpc_port)};
  };
  auto start = [&](int i, const std::string& log) {
    return StartService(LIAISON_IDENTITY_BIN, dir.Sub(absl::StrCat("identity-", i)), key,
                        dir.Sub(log), flags(i), ports[i]);
  };
  std::vector<RunningService> shards;
  shards.push_back(start(0, "i0.log"));
  shards.push_back(start(1, "i1.log"));
  const std::string admin = CtlToken(key, {"--service", "admin"});
  auto call = [&](int shard, const std::string& method, const std::string& token,
                  const nlohmann::json& request) {
    return CallRpc(shards[shard], "liaison.identity.v1.IdentityService/" + method, token,
                   request.dump());
  };
  auto create = [&](int shard, const std::string& handle) {
    auto created =
        call(shard, "CreateMember", admin,
             {{"handle", handle}, {"displayName", handle}, {"email", handle + "@x.org"}});
    INFO(created.output);
    REQUIRE(created.exit_code == 0);
    return nlohmann::json::parse(created.output)["member"]["memberId"].get<std::string>();
  };
  // Each is created on the shard asked, and so owned by it.
  const std::string ada = create(0, "ada"), bob = create(1, "bob");
  const std::string as_ada = CtlToken(key, {ada}), as_bob = CtlToken(key, {bob});
  auto eventually = [&](const std::function<bool()>& done) {
    for (int i = 0; i < 150 && !done(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return done();
  };
  auto connections = [&](int shard, const std::string& member) {
    auto listed = call(shard, "ListConnections", admin, {{"memberId", member}});
    INFO(listed.output);
    REQUIRE(listed.exit_code == 0);
    auto json = nlohmann::json::parse(listed.output);
    return json.contains("connections") ? json["connections"].size() : size_t{0};
  };
  REQUIRE(call(0, "SendInvitation", as_ada, {{"recipientId", bob}}).exit_code == 0);
  REQUIRE(eventually([&] {
    return Contains(
        call(1, "ListInvitations", as_bob, {{"direction", "INVITATION_DIRECTION_INCOMING"}}).output,
        ada);
  }));
  REQUIRE(call(1, "RespondToInvitation", as_bob,
               {{"senderId", ada}, {"response", "INVITATION_RESPONSE_ACCEPT"}})
              .exit_code == 0);
  REQUIRE(eventually([&] { return connections(0, ada) == 1; }));

  // Bob's shard is down: Ada's side decides alone and answers; her shard is
  // killed with the other side still in its outbox; both come back.
  shards[1].process->Signal(SIGKILL);
  CHECK(shards[1].process->Wait() == 128 + SIGKILL);
  auto removed = call(0, "RemoveConnection", as_ada, {{"memberId", bob}});
  INFO(removed.output);
  REQUIRE(removed.exit_code == 0);
  CHECK(connections(0, ada) == 0);
  KillAndRestart(&shards[0], LIAISON_IDENTITY_BIN, dir.Sub("identity-0"), key, dir.Sub("i0b.log"),
                 flags(0));
  shards[1] = start(1, "i1b.log");
  CHECK(eventually([&] { return connections(1, bob) == 0; }));
  CHECK(connections(0, ada) == 0);

  // The same for a block and its undoing.
  REQUIRE(call(0, "BlockMember", as_ada, {{"memberId", bob}}).exit_code == 0);
  auto hidden = [&] {
    return Contains(call(1, "GetMember", as_bob, {{"memberId", ada}}).output, "not_found");
  };
  REQUIRE(eventually(hidden));
  shards[1].process->Signal(SIGKILL);
  CHECK(shards[1].process->Wait() == 128 + SIGKILL);
  REQUIRE(call(0, "UnblockMember", as_ada, {{"memberId", bob}}).exit_code == 0);
  KillAndRestart(&shards[0], LIAISON_IDENTITY_BIN, dir.Sub("identity-0"), key, dir.Sub("i0c.log"),
                 flags(0));
  shards[1] = start(1, "i1c.log");
  CHECK(eventually([&] { return !hidden(); }));
  CHECK(call(1, "GetMember", as_bob, {{"memberId", ada}}).exit_code == 0);
  for (RunningService* s : {&shards[0], &shards[1], &privacy}) {
    s->process->Signal(SIGTERM);
    CHECK(s->process->Wait() == 0);
  }
}

TEST_CASE("Two credits shards behind one identity: a member's credits, asked anywhere") {
  TempDir dir;
  const std::string key = WriteKey(dir);
  const int port0 = FreePort();
  const int port1 = FreePort();
  const std::string json = TwoShardsJson("credits", port0, port1, 3);
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

// A map of `service` alone: each shard's partitions and loopback port.
std::string ServiceMap(const std::string& service,
                       const std::vector<std::pair<std::string, int>>& shards, int epoch) {
  std::string json = absl::StrCat(R"({"epoch": )", epoch, R"(, "shards": [)");
  for (size_t i = 0; i < shards.size(); ++i) {
    absl::StrAppend(&json, i ? "," : "", R"({"partitions": ")", shards[i].first, R"(", ")", service,
                    R"(": "127.0.0.1:)", shards[i].second, R"("})");
  }
  return json + "]}";
}

TEST_CASE("liaison-reshard grows privacy from 2 shards to 3, and every setting reads back") {
  TempDir dir;
  const std::string key = WriteKey(dir);
  const int ports[] = {FreePort(), FreePort(), FreePort()};
  const std::string two = WriteMap(
      dir, "two.json", ServiceMap("privacy", {{"0-2047", ports[0]}, {"2048-4095", ports[1]}}, 1));
  const std::string three = WriteMap(
      dir, "three.json",
      ServiceMap("privacy",
                 {{"0-1364", ports[0]}, {"1365-2729", ports[1]}, {"2730-4095", ports[2]}}, 2));
  auto start = [&](const std::string& map, int shard) {
    return StartService(LIAISON_PRIVACY_BIN, dir.Sub("p" + std::to_string(shard)), key,
                        dir.Sub("p" + std::to_string(shard) + ".log"),
                        {"--shard-map", map, "--shard-index", std::to_string(shard)}, ports[shard]);
  };
  const TokenMinter minter(kSystemKey, Clock::Real());
  auto context = [&](const std::string& token) {
    auto c = std::make_unique<grpc::ClientContext>();
    c->AddMetadata("authorization", "Bearer " + token);
    c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return c;
  };
  const std::string service = minter.MintService("identity", absl::Hours(1)).value();
  constexpr int kMembers = 300;
  {
    RunningService shard0 = start(two, 0);
    RunningService shard1 = start(two, 1);
    auto stub = liaison::privacy::v1::PrivacyService::NewStub(
        grpc::CreateChannel(shard0.Url().substr(7), grpc::InsecureChannelCredentials()));
    liaison::privacy::v1::RegisterMembersRequest all;
    for (int m = 1; m <= kMembers; ++m) all.add_member_ids(std::to_string(m));
    liaison::privacy::v1::RegisterMembersResponse registered;
    REQUIRE(stub->RegisterMembers(context(service).get(), all, &registered).ok());
    // Every third member turns their open profile on.
    for (int m = 3; m <= kMembers; m += 3) {
      liaison::privacy::v1::UpdateSettingsRequest update;
      update.mutable_settings()->set_open_profile(true);
      update.mutable_update_mask()->add_paths("open_profile");
      liaison::privacy::v1::UpdateSettingsResponse updated;
      REQUIRE(stub->UpdateSettings(context(minter.MintMember(m, absl::Hours(1)).value()).get(),
                                   update, &updated)
                  .ok());
    }
    for (auto* s : {&shard0, &shard1}) {
      s->process->Signal(SIGTERM);
      REQUIRE(s->process->Wait() == 0);
    }
  }

  // Refused while a map is not newer, or a store is missing.
  auto refused = RunCommand({LIAISON_RESHARD_BIN, "--service", "privacy", "--from-map", three,
                             "--to-map", two, "--data-dir", dir.Sub("p0"), "--data-dir",
                             dir.Sub("p1"), "--data-dir", dir.Sub("p2")});
  CHECK(refused.exit_code == 1);
  CHECK(Contains(refused.output, "must be above the old one's"));
  refused = RunCommand({LIAISON_RESHARD_BIN, "--service", "privacy", "--from-map", two, "--to-map",
                        three, "--data-dir", dir.Sub("p0")});
  CHECK(refused.exit_code == 1);
  CHECK(Contains(refused.output, "--data-dir: give 3"));

  auto moved = RunCommand({LIAISON_RESHARD_BIN, "--service", "privacy", "--from-map", two,
                           "--to-map", three, "--data-dir", dir.Sub("p0"), "--data-dir",
                           dir.Sub("p1"), "--data-dir", dir.Sub("p2")});
  INFO(moved.output);
  REQUIRE(moved.exit_code == 0);
  auto report = nlohmann::json::parse(moved.output);
  // 1365-2047 move from shard 0 to 1, 2730-4095 from 1 to 2.
  CHECK(report["partitions_moved"] == 683 + 1366);
  CHECK(report["records_moved"].get<int>() > kMembers / 2);
  // Again: nothing left to move.
  auto again = RunCommand({LIAISON_RESHARD_BIN, "--service", "privacy", "--from-map", two,
                           "--to-map", three, "--data-dir", dir.Sub("p0"), "--data-dir",
                           dir.Sub("p1"), "--data-dir", dir.Sub("p2")});
  CHECK(nlohmann::json::parse(again.output)["records_moved"] == 0);

  RunningService shard0 = start(three, 0);
  RunningService shard1 = start(three, 1);
  RunningService shard2 = start(three, 2);
  for (const RunningService* s : {&shard0, &shard1, &shard2}) {
    auto stub = liaison::privacy::v1::PrivacyService::NewStub(
        grpc::CreateChannel(s->Url().substr(7), grpc::InsecureChannelCredentials()));
    liaison::privacy::v1::BatchGetSettingsRequest request;
    for (int m = 1; m <= kMembers; ++m) request.add_member_ids(std::to_string(m));
    liaison::privacy::v1::BatchGetSettingsResponse response;
    grpc::Status status = stub->BatchGetSettings(context(service).get(), request, &response);
    INFO(status.error_message());
    REQUIRE(status.ok());
    REQUIRE(response.settings_size() == kMembers);
    int wrong = 0;
    for (int m = 1; m <= kMembers; ++m) {
      if (response.settings(m - 1).open_profile() != (m % 3 == 0)) ++wrong;
    }
    CHECK(wrong == 0);
  }
  // Each member's registration moved too: a member of the new shard 2 may
  // still change a setting there.
  MemberId on_new_shard = 1;
  const ShardMap map3 = ShardMap::Load(three).value();
  while (map3.ShardOf(on_new_shard) != 2) ++on_new_shard;
  REQUIRE(on_new_shard <= static_cast<MemberId>(kMembers));
  auto stub = liaison::privacy::v1::PrivacyService::NewStub(
      grpc::CreateChannel(shard2.Url().substr(7), grpc::InsecureChannelCredentials()));
  liaison::privacy::v1::UpdateSettingsRequest update;
  update.mutable_settings()->set_focused_inbox(false);
  update.mutable_update_mask()->add_paths("focused_inbox");
  liaison::privacy::v1::UpdateSettingsResponse updated;
  grpc::Status status = stub->UpdateSettings(
      context(minter.MintMember(on_new_shard, absl::Hours(1)).value()).get(), update, &updated);
  INFO(status.error_message());
  CHECK(status.ok());
}

TEST_CASE("liaison-reshard grows identity from 2 shards to 3: members, links and names read back") {
  TempDir dir;
  const std::string key = WriteKey(dir);
  const int ports[] = {FreePort(), FreePort(), FreePort()};
  const std::string two = WriteMap(
      dir, "two.json", ServiceMap("identity", {{"0-2047", ports[0]}, {"2048-4095", ports[1]}}, 1));
  const std::string three = WriteMap(
      dir, "three.json",
      ServiceMap("identity",
                 {{"0-1364", ports[0]}, {"1365-2729", ports[1]}, {"2730-4095", ports[2]}}, 2));
  auto data = [&](int shard) { return dir.Sub(absl::StrCat("identity-", shard)); };
  auto start = [&](const std::string& map, int shard) {
    return StartService(LIAISON_IDENTITY_BIN, data(shard), key,
                        dir.Sub(absl::StrCat("i", shard, "-", map.size(), ".log")),
                        {"--shard-map", map, "--shard-index", std::to_string(shard)}, ports[shard]);
  };
  const std::string admin = CtlToken(key, {"--service", "admin"});
  auto call = [&](const RunningService& shard, const char* method, const nlohmann::json& request,
                  const std::string& token) {
    auto result = CallRpc(shard, absl::StrCat("liaison.identity.v1.IdentityService/", method),
                          token, request.dump());
    INFO(method << " " << request.dump() << ": " << result.output);
    REQUIRE(result.exit_code == 0);
    return nlohmann::json::parse(result.output);
  };
  constexpr int kMembers = 600;
  const ShardMap map2 = ShardMap::Load(two).value();
  const ShardMap map3 = ShardMap::Load(three).value();
  // A blocker on shard 0 and whom they block on shard 1, who both move.
  int blocker = 1, blocked = 1;
  while (map2.ShardOf(blocker) != 0 || map3.ShardOf(blocker) == 0) ++blocker;
  while (map2.ShardOf(blocked) != 1 || map3.ShardOf(blocked) == 1) ++blocked;
  REQUIRE(std::max(blocker, blocked) < kMembers);
  const nlohmann::json block_pair = {{"memberId", std::to_string(blocked)},
                                     {"otherMemberId", std::to_string(blocker)}};
  std::string hub_connections, neighbor;
  {
    std::vector<RunningService> shards;
    for (int i = 0; i < 2; ++i) {
      auto seeded = RunCommand({LIAISON_SEED_GRAPH_BIN, "--data-dir", data(i), "--members",
                                std::to_string(kMembers), "--hubs", "1", "--avg-degree", "6",
                                "--shard-map", two, "--shard-index", std::to_string(i)});
      INFO(seeded.output);
      REQUIRE(seeded.exit_code == 0);
      shards.push_back(start(two, i));
    }
    call(shards[0], "BlockMember", {{"memberId", std::to_string(blocked)}},
         CtlToken(key, {std::to_string(blocker)}));
    // The blocked member's shard has its side once the outbox delivered it.
    bool crossed = false;
    for (int i = 0; i < 200 && !crossed; ++i) {
      crossed = call(shards[1], "GetRelationship", block_pair, admin)["relationship"].value(
          "blockedByOther", false);
      if (!crossed) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    REQUIRE(crossed);
    auto hub = call(shards[1], "ListConnections", {{"memberId", "600"}, {"pageSize", 1}}, admin);
    hub_connections = hub["totalCount"];
    neighbor = hub["connections"][0]["memberId"];
    for (auto& shard : shards) {
      shard.process->Signal(SIGTERM);
      REQUIRE(shard.process->Wait() == 0);
    }
  }

  auto reshard = [&](const std::string& from, const std::string& to) {
    return RunCommand({LIAISON_RESHARD_BIN, "--service", "identity", "--from-map", from, "--to-map",
                       to, "--data-dir", data(0), "--data-dir", data(1), "--data-dir", data(2)});
  };
  // A two-member change still in shard 0's peer outbox (as after a crash
  // while shard 1 was down) names its member by the old map: nothing moves.
  auto leave_undelivered = [&](bool undelivered) {
    auto store = Store::Open({data(0), identity::IdentityStore::Families()}).value();
    rocksdb::WriteBatch batch;
    if (undelivered) {
      batch.Put(store->Family("outbox"), identity::keys::PeerWrites(1), "");
    } else {
      batch.Delete(store->Family("outbox"), identity::keys::PeerWrites(1));
    }
    REQUIRE(store->Write(&batch, Durability::kSynced).ok());
    REQUIRE(store->Close().ok());
  };
  leave_undelivered(true);
  auto refused = reshard(two, three);
  CHECK(refused.exit_code == 1);
  CHECK(Contains(refused.output, "holds 1 two-member changes not yet delivered"));
  CHECK(Contains(refused.output, "nothing was moved"));
  leave_undelivered(false);

  auto moved = reshard(two, three);
  INFO(moved.output);
  REQUIRE(moved.exit_code == 0);
  auto report = nlohmann::json::parse(moved.output);
  CHECK(report["partitions_moved"] == 683 + 1366);
  CHECK(report["records_moved"].get<int>() > kMembers / 2);
  CHECK(nlohmann::json::parse(reshard(two, three).output)["records_moved"] == 0);

  std::vector<RunningService> shards;
  for (int i = 0; i < 3; ++i) shards.push_back(start(three, i));
  std::set<size_t> owners;
  for (int m = 1; m <= kMembers; m += 29) {
    owners.insert(map3.ShardOf(m));
    for (const auto& via : shards) {
      CHECK(call(via, "GetMember", {{"memberId", std::to_string(m)}}, admin)["member"]["handle"] ==
            absl::StrCat("seed-", m));
      CHECK(call(via, "GetMember", {{"handle", absl::StrCat("seed-", m)}},
                 admin)["member"]["memberId"] == std::to_string(m));
    }
  }
  CHECK(owners.size() == 3);
  for (const auto& via : shards) {
    auto hub = call(via, "ListConnections", {{"memberId", "600"}, {"pageSize", 1}}, admin);
    CHECK(hub["totalCount"] == hub_connections);
    CHECK(call(via, "GetRelationship", {{"memberId", neighbor}, {"otherMemberId", "600"}},
               admin)["relationship"]["degree"] == "DEGREE_FIRST");
    // The block stands on both sides, each on its member's new shard.
    auto relationship = call(via, "GetRelationship", block_pair, admin)["relationship"];
    CHECK(relationship.value("blockedByOther", false));
    CHECK_FALSE(relationship.value("blockedByMember", false));
  }
  // Handles stay taken wherever the directory moved them, and the new shard
  // creates members it owns.
  auto taken = CallRpc(shards[2], "liaison.identity.v1.IdentityService/CreateMember", admin,
                       R"({"handle":"seed-7","displayName":"Again","email":"again@example.com"})");
  CHECK(Contains(taken.output, "already_exists"));
  auto created =
      call(shards[2], "CreateMember",
           {{"handle", "newcomer"}, {"displayName", "Newcomer"}, {"email", "newcomer@example.com"}},
           admin);
  const std::string newcomer = created["member"]["memberId"];
  CHECK(map3.ShardOf(std::stoull(newcomer)) == 2);
  CHECK(call(shards[0], "GetMember", {{"handle", "newcomer"}}, admin)["member"]["memberId"] ==
        newcomer);
  for (auto& shard : shards) {
    shard.process->Signal(SIGTERM);
    CHECK(shard.process->Wait() == 0);
  }
}

TEST_CASE("The Kubernetes overlay's shard map is one the services accept") {
  auto map = ShardMap::Load(std::string(LIAISON_SOURCE_DIR) +
                            "/deploy/k8s/overlays/prod-sharded/shard-map.json");
  INFO(map.status().ToString());
  REQUIRE(map.ok());
  CHECK(map->size() == 2);
  for (const char* service : {"privacy", "identity", "credits", "messaging"}) {
    INFO(service);
    CHECK(map->CheckAddresses(service).ok());
  }
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

  // Credits follows its own shard's identity feed, so it
  // must run as the same shards.
  const std::string with_identity =
      WriteMap(dir, "identity.json", TwoShardsJson("identity", 1, 2, 1));
  result = start(LIAISON_CREDITS_BIN, {"--shard-map", with_identity});
  INFO(result.output);
  CHECK(result.exit_code == 1);
  CHECK(Contains(result.output, "credits follows the identity feed of its own shard"));
}

}  // namespace
}  // namespace liaison::testing
