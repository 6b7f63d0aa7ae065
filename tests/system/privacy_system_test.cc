// The real liaison-privacy binary, driven by the clients its users have:
// buf curl (reflection, like grpcurl), liaisonctl, curl and promtool.
#include <signal.h>

#include <catch2/catch.hpp>

#include "common/auth.h"
#include "tests/system/system_support.h"

namespace liaison::testing {
namespace {

std::string Token(const std::string& key_file, const std::string& member) {
  return CtlToken(key_file, {member});
}

CommandResult Call(const RunningService& s, const std::string& method, const std::string& token,
                   const std::string& body = "{}") {
  return CallRpc(s, "liaison.privacy.v1.PrivacyService/" + method, token, body);
}

TEST_CASE(
    "liaison-privacy serves health, reflection, settings and metrics, and keeps settings "
    "across a restart") {
  TempDir dir;
  const std::string key = WriteKey(dir);
  const std::string data = dir.Sub("data");
  RunningService s = StartService(LIAISON_PRIVACY_BIN, data, key, dir.Sub("log1"));

  // Health, for the server and for the service.
  auto health = BufCurl({s.Url() + "/grpc.health.v1.Health/Check"});
  CHECK(health.exit_code == 0);
  CHECK(Contains(health.output, "\"SERVING\""));
  health = BufCurl({"-d", R"({"service":"liaison.privacy.v1.PrivacyService"})",
                    s.Url() + "/grpc.health.v1.Health/Check"});
  CHECK(Contains(health.output, "\"SERVING\""));

  // Reflection lists every service, and every service's methods resolve
  // (buf fetches each service's file descriptors to list them).
  auto services = BufCurl({"--list-services", s.Url()});
  INFO(services.output);
  REQUIRE(services.exit_code == 0);
  for (const char* name : {"grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection",
                           "liaison.privacy.v1.PrivacyService"}) {
    CHECK(Contains(services.output, name));
  }
  auto methods = BufCurl({"--list-methods", s.Url()});
  INFO(methods.output);
  REQUIRE(methods.exit_code == 0);
  for (const char* name : {"grpc.health.v1.Health/Check", "grpc.health.v1.Health/Watch",
                           "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                           "liaison.privacy.v1.PrivacyService/GetSettings",
                           "liaison.privacy.v1.PrivacyService/UpdateSettings",
                           "liaison.privacy.v1.PrivacyService/BatchGetSettings",
                           "liaison.privacy.v1.PrivacyService/RegisterMembers"}) {
    CHECK(Contains(methods.output, name));
  }

  // A member with a token minted by liaisonctl reads defaults, and changes a
  // setting once identity has said the member exists.
  const std::string token = Token(key, "42");
  auto got = Call(s, "GetSettings", token);
  INFO(got.output);
  REQUIRE(got.exit_code == 0);
  CHECK(Contains(got.output, "\"memberId\": \"42\""));
  CHECK(Contains(got.output, "\"inmailAcceptance\": true"));
  const std::string reset = R"({"updateMask":"inmailAcceptance"})";
  auto ghost = Call(s, "UpdateSettings", token, reset);
  CHECK(Contains(ghost.output, "\"code\": \"failed_precondition\""));
  CHECK(Contains(ghost.output, "member 42 (the token's subject) does not exist"));
  const std::string identity = CtlToken(key, {"--service", "identity"});
  auto registered = Call(s, "RegisterMembers", identity, R"({"memberIds":["42"]})");
  INFO(registered.output);
  REQUIRE(registered.exit_code == 0);
  CHECK(Contains(Call(s, "RegisterMembers", token, R"({"memberIds":["42"]})").output,
                 "\"code\": \"permission_denied\""));
  auto updated = Call(
      s, "UpdateSettings", token,
      R"({"settings":{"inmailAcceptance":false,"whoCanInvite":"INVITE_POLICY_EMAIL_REQUIRED"},)"
      R"("updateMask":"inmailAcceptance,whoCanInvite"})");
  INFO(updated.output);
  REQUIRE(updated.exit_code == 0);
  CHECK(Contains(updated.output, "\"inmailAcceptance\": false"));
  CHECK(Contains(updated.output, "\"whoCanInvite\": \"INVITE_POLICY_EMAIL_REQUIRED\""));

  // Bad input gets the right code, as a client sees it.
  ManualClock past(absl::Now() - absl::Hours(2));
  const std::string expired = TokenMinter(kSystemKey, &past).MintMember(42, absl::Hours(1)).value();
  const std::string forged = TokenMinter("a-forger-s-key-that-is-long-enough-012345", Clock::Real())
                                 .MintMember(42, absl::Hours(1))
                                 .value();
  const std::string reset_all = R"({"updateMask":"inmailAcceptance,whoCanInvite"})";
  struct Bad {
    std::string token, body, code;
  };
  for (const Bad& bad : std::vector<Bad>{
           {"", reset_all, "unauthenticated"},
           {expired, reset_all, "unauthenticated"},
           {forged, reset_all, "unauthenticated"},
           {Token(key, "7"), R"({"memberId":"42","updateMask":"inmailAcceptance"})",
            "permission_denied"},
           {token, R"({"updateMask":"shoeSize"})", "invalid_argument"},
           {token, R"({"settings":{"whoCanInvite":9},"updateMask":"whoCanInvite"})",
            "invalid_argument"},
       }) {
    auto result = Call(s, "UpdateSettings", bad.token, bad.body);
    INFO(bad.body << "\n" << result.output);
    CHECK(result.exit_code != 0);
    CHECK(Contains(result.output, "\"code\": \"" + bad.code + "\""));
  }
  // ... and nothing of it was stored.
  got = Call(s, "GetSettings", token);
  CHECK(Contains(got.output, "\"inmailAcceptance\": false"));
  CHECK(Contains(got.output, "\"whoCanInvite\": \"INVITE_POLICY_EMAIL_REQUIRED\""));

  // /metrics passes promtool and holds exactly the metric families on record.
  const std::string exposition = ScrapeAndCheck(s, dir.Sub("metrics.txt"));
  CHECK(Contains(exposition,
                 "grpc_server_handled_total{grpc_code=\"InvalidArgument\","
                 "grpc_method=\"UpdateSettings\",grpc_service=\"liaison.privacy.v1."
                 "PrivacyService\",grpc_type=\"unary\"} 2"));
  CHECK(MetricFamilies(exposition) ==
        ReadLines(std::string(LIAISON_SOURCE_DIR) + "/tests/golden/privacy_metrics.txt"));

  // SIGTERM: drain, close the store, exit 0.
  s.process->Signal(SIGTERM);
  CHECK(s.process->Wait() == 0);
  CHECK(Contains(s.process->Log(), "\"event\":\"stopped\""));

  // A new process on the same data finds the settings; SIGINT stops it too.
  RunningService again = StartService(LIAISON_PRIVACY_BIN, data, key, dir.Sub("log2"));
  got = Call(again, "GetSettings", token);
  INFO(got.output);
  CHECK(Contains(got.output, "\"inmailAcceptance\": false"));
  CHECK(Contains(got.output, "\"whoCanInvite\": \"INVITE_POLICY_EMAIL_REQUIRED\""));
  again.process->Signal(SIGINT);
  CHECK(again.process->Wait() == 0);
}

TEST_CASE("A bad configuration value stops liaison-privacy with one line and exit code 2") {
  TempDir dir;
  const std::string key = WriteKey(dir);
  Process bad_port({LIAISON_PRIVACY_BIN, "--data-dir", dir.Sub("d"), "--signing-key-file", key,
                    "--grpc-port", "70000"},
                   {}, dir.Sub("log1"));
  CHECK(bad_port.Wait() == 2);
  CHECK(bad_port.Log() ==
        "liaison-privacy: bad configuration: --grpc-port: Value 70000 not in range 0 to 65535\n");
  Process bad_env({LIAISON_PRIVACY_BIN, "--data-dir", dir.Sub("d"), "--signing-key-file", key},
                  {{"LIAISON_LOG_LEVEL", "loud"}}, dir.Sub("log2"));
  CHECK(bad_env.Wait() == 2);
  const std::string log = bad_env.Log();
  CHECK(Contains(log, "--log-level"));
  CHECK(std::count(log.begin(), log.end(), '\n') == 1);
}

TEST_CASE("A second liaison-privacy on the same data directory refuses to start") {
  TempDir dir;
  const std::string key = WriteKey(dir);
  RunningService first = StartService(LIAISON_PRIVACY_BIN, dir.Sub("data"), key, dir.Sub("log1"));
  Process second({LIAISON_PRIVACY_BIN, "--data-dir", dir.Sub("data"), "--signing-key-file", key,
                  "--grpc-port", "0", "--metrics-port", "0"},
                 {}, dir.Sub("log2"));
  CHECK(second.Wait() == 1);
  CHECK(Contains(second.Log(), "\"event\":\"start_failed\",\"step\":\"store\""));
  first.process->Signal(SIGTERM);
  CHECK(first.process->Wait() == 0);
}

TEST_CASE("A signing key that is too short stops start-up") {
  TempDir dir;
  std::ofstream(dir.Sub("short.key")) << "short\n";
  Process p({LIAISON_PRIVACY_BIN, "--data-dir", dir.Sub("d"), "--signing-key-file",
             dir.Sub("short.key"), "--grpc-port", "0", "--metrics-port", "0"},
            {}, dir.Sub("log"));
  CHECK(p.Wait() == 1);
  CHECK(Contains(p.Log(), "HS256 needs at least 32"));
}

}  // namespace
}  // namespace liaison::testing
