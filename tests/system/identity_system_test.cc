// The real liaison-identity and liaison-privacy binaries together, driven
// with buf curl and liaisonctl tokens.
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "tests/system/system_support.h"

namespace liaison::testing {
namespace {

const std::string kIdentity = "liaison.identity.v1.IdentityService/";

nlohmann::json Ok(const CommandResult& result) {
  INFO(result.output);
  REQUIRE(result.exit_code == 0);
  return nlohmann::json::parse(result.output);
}

TEST_CASE(
    "liaison-identity serves members, invitations and relationships, calling liaison-privacy") {
  TempDir dir;
  const std::string key = WriteKey(dir);
  RunningService privacy =
      StartService(LIAISON_PRIVACY_BIN, dir.Sub("privacy"), key, dir.Sub("p.log"));
  const std::vector<std::string> identity_flags = {
      "--privacy-address", "127.0.0.1:" + std::to_string(privacy.grpc_port)};
  RunningService identity = StartService(LIAISON_IDENTITY_BIN, dir.Sub("identity"), key,
                                         dir.Sub("i1.log"), identity_flags);
  const std::string admin = CtlToken(key, {"--service", "admin"});

  auto services = BufCurl({"--list-methods", identity.Url()});
  REQUIRE(services.exit_code == 0);
  CHECK(Contains(services.output, "liaison.identity.v1.IdentityService/GetRelationship"));

  std::map<std::string, std::string> ids;
  for (const char* handle : {"alice", "bob", "carol"}) {
    auto member = Ok(CallRpc(identity, kIdentity + "CreateMember", admin,
                             nlohmann::json{{"handle", handle},
                                            {"displayName", std::string("Ms ") + handle},
                                            {"email", std::string(handle) + "@example.com"}}
                                 .dump()));
    ids[handle] = member["member"]["memberId"];
  }
  const std::string alice = CtlToken(key, {ids["alice"]});
  const std::string bob = CtlToken(key, {ids["bob"]});
  const std::string carol = CtlToken(key, {ids["carol"]});

  Ok(CallRpc(identity, kIdentity + "SendInvitation", alice,
             nlohmann::json{{"recipientId", ids["bob"]}, {"note", "Hi Bob"}}.dump()));
  auto incoming = Ok(CallRpc(identity, kIdentity + "ListInvitations", bob,
                             R"({"direction":"INVITATION_DIRECTION_INCOMING"})"));
  CHECK(incoming["invitations"][0]["note"] == "Hi Bob");
  Ok(CallRpc(identity, kIdentity + "RespondToInvitation", bob,
             nlohmann::json{{"senderId", ids["alice"]}, {"response", "INVITATION_RESPONSE_ACCEPT"}}
                 .dump()));
  auto rel = Ok(CallRpc(identity, kIdentity + "GetRelationship", alice,
                        nlohmann::json{{"otherMemberId", ids["bob"]}}.dump()));
  CHECK(rel["relationship"]["degree"] == "DEGREE_FIRST");

  // Bob now wants his email from anyone inviting him: identity asks privacy.
  Ok(CallRpc(
      privacy, "liaison.privacy.v1.PrivacyService/UpdateSettings", bob,
      R"({"settings":{"whoCanInvite":"INVITE_POLICY_EMAIL_REQUIRED"},"updateMask":"whoCanInvite"})"));
  auto refused = CallRpc(identity, kIdentity + "SendInvitation", carol,
                         nlohmann::json{{"recipientId", ids["bob"]}}.dump());
  CHECK(Contains(refused.output, "\"code\": \"permission_denied\""));
  Ok(CallRpc(
      identity, kIdentity + "SendInvitation", carol,
      nlohmann::json{{"recipientId", ids["bob"]}, {"recipientEmail", "bob@example.com"}}.dump()));
  Ok(CallRpc(identity, kIdentity + "RespondToInvitation", bob,
             nlohmann::json{{"senderId", ids["carol"]}, {"response", "INVITATION_RESPONSE_ACCEPT"}}
                 .dump()));

  // Bad input, as a client sees it.
  CHECK(Contains(CallRpc(identity, kIdentity + "CreateMember", alice, R"({"handle":"zed"})").output,
                 "\"code\": \"permission_denied\""));
  CHECK(Contains(CallRpc(identity, kIdentity + "GetMember", "", R"({"handle":"bob"})").output,
                 "\"code\": \"unauthenticated\""));
  CHECK(Contains(CallRpc(identity, kIdentity + "CreateMember", admin, R"({"handle":"x"})").output,
                 "\"code\": \"invalid_argument\""));

  const std::string exposition = ScrapeAndCheck(identity, dir.Sub("metrics.txt"));
  CHECK(Contains(exposition,
                 "grpc_client_handled_total{grpc_code=\"OK\",grpc_method=\"GetSettings\","
                 "grpc_service=\"liaison.privacy.v1.PrivacyService\",grpc_type=\"unary\"} 3"));
  CHECK(Contains(exposition, "liaison_identity_events_total{event=\"invitation_accepted\"} 2"));
  CHECK(MetricFamilies(exposition) ==
        ReadLines(std::string(LIAISON_SOURCE_DIR) + "/tests/golden/identity_metrics.txt"));

  // Restart identity: everything is still there.
  identity.process->Signal(SIGTERM);
  CHECK(identity.process->Wait() == 0);
  RunningService again = StartService(LIAISON_IDENTITY_BIN, dir.Sub("identity"), key,
                                      dir.Sub("i2.log"), identity_flags);
  rel = Ok(
      CallRpc(again, kIdentity + "GetRelationship", admin,
              nlohmann::json{{"memberId", ids["carol"]}, {"otherMemberId", ids["alice"]}}.dump()));
  CHECK(rel["relationship"]["degree"] == "DEGREE_SECOND");
  CHECK(rel["relationship"]["mutualConnectionCount"] == "1");

  // With privacy gone, invitations are UNAVAILABLE (retry later), not lost or half-made.
  privacy.process->Signal(SIGTERM);
  CHECK(privacy.process->Wait() == 0);
  auto unavailable = CallRpc(again, kIdentity + "SendInvitation", alice,
                             nlohmann::json{{"recipientId", ids["carol"]}}.dump());
  CHECK(Contains(unavailable.output, "\"code\": \"unavailable\""));
  again.process->Signal(SIGTERM);
  CHECK(again.process->Wait() == 0);
}

}  // namespace
}  // namespace liaison::testing

namespace liaison::testing {
namespace {

// Seeds dir/identity with `members` members and one hub; returns what the
// seeder printed.
std::string Seed(const TempDir& dir, const std::string& members, const std::string& avg_degree) {
  auto seeded = RunCommand({LIAISON_SEED_GRAPH_BIN, "--data-dir", dir.Sub("identity"), "--members",
                            members, "--hubs", "1", "--avg-degree", avg_degree});
  INFO(seeded.output);
  REQUIRE(seeded.exit_code == 0);
  return seeded.output;
}

TEST_CASE("liaison-seed-graph writes a store liaison-identity serves") {
  TempDir dir;
  const std::string key = WriteKey(dir);
  CHECK(Contains(Seed(dir, "2000", "10"), "outside the main network: ids below 41"));
  RunningService identity =
      StartService(LIAISON_IDENTITY_BIN, dir.Sub("identity"), key, dir.Sub("i.log"));
  const std::string admin = CtlToken(key, {"--service", "admin"});
  auto hub =
      nlohmann::json::parse(CallRpc(identity, "liaison.identity.v1.IdentityService/ListConnections",
                                    admin, R"({"memberId":"2000","pageSize":1})")
                                .output);
  CHECK(std::stoll(hub["totalCount"].get<std::string>()) > 100);
  const std::string neighbor = hub["connections"][0]["memberId"];
  auto first = nlohmann::json::parse(
      CallRpc(identity, "liaison.identity.v1.IdentityService/GetRelationship", admin,
              nlohmann::json{{"memberId", "2000"}, {"otherMemberId", neighbor}}.dump())
          .output);
  CHECK(first["relationship"]["degree"] == "DEGREE_FIRST");
  // Member 1 is isolated; 2,000 is the hub.
  auto out =
      nlohmann::json::parse(CallRpc(identity, "liaison.identity.v1.IdentityService/GetRelationship",
                                    admin, R"({"memberId":"1","otherMemberId":"2000"})")
                                .output);
  CHECK(out["relationship"]["degree"] == "DEGREE_OUT_OF_NETWORK");
  auto member =
      nlohmann::json::parse(CallRpc(identity, "liaison.identity.v1.IdentityService/GetMember",
                                    admin, R"({"handle":"seed-2000"})")
                                .output);
  CHECK(member["member"]["memberId"] == "2000");
  CHECK(member["member"]["tier"] == "ACCOUNT_TIER_PREMIUM_BUSINESS");
  identity.process->Signal(SIGTERM);
  CHECK(identity.process->Wait() == 0);
}

TEST_CASE("Members liaison-seed-graph wrote are registered with liaison-privacy after start-up") {
  TempDir dir;
  const std::string key = WriteKey(dir);
  Seed(dir, "2500", "4");
  RunningService privacy =
      StartService(LIAISON_PRIVACY_BIN, dir.Sub("privacy"), key, dir.Sub("p.log"));
  RunningService identity =
      StartService(LIAISON_IDENTITY_BIN, dir.Sub("identity"), key, dir.Sub("i.log"),
                   {"--privacy-address", "127.0.0.1:" + std::to_string(privacy.grpc_port)});
  // Ids 1..2,500: the first, a middle and the last of the 1,000-member batches.
  for (const char* id : {"1", "1500", "2500"}) {
    const std::string token = CtlToken(key, {id});
    CommandResult result;
    for (int attempt = 0; attempt < 300; ++attempt) {
      result = CallRpc(privacy, "liaison.privacy.v1.PrivacyService/UpdateSettings", token,
                       R"({"settings":{"openProfile":true},"updateMask":"openProfile"})");
      if (!Contains(result.output, "failed_precondition")) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    INFO(id << ": " << result.output);
    CHECK(result.exit_code == 0);
  }
  CHECK(Contains(identity.process->Log(), "privacy_registration_backfill_done"));
  // A member nobody created is still refused.
  auto ghost = CallRpc(privacy, "liaison.privacy.v1.PrivacyService/UpdateSettings",
                       CtlToken(key, {"2501"}), R"({"updateMask":"openProfile"})");
  CHECK(Contains(ghost.output, "\"code\": \"failed_precondition\""));
  identity.process->Signal(SIGTERM);
  CHECK(identity.process->Wait() == 0);
  privacy.process->Signal(SIGTERM);
  CHECK(privacy.process->Wait() == 0);
}

}  // namespace
}  // namespace liaison::testing
