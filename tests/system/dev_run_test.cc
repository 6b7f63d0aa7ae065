// The README's run command, as a user runs it: tools/dev.sh starts the four
// real binaries in dependency order with data under one folder, a generated
// signing key and a ready token; every service answers health checks; the
// stop command (or Ctrl-C) stops them all, each cleanly, and the data is
// there on the next start. (`serve` is `run` without the install and build
// steps, which the test command has just done.)
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "common/shard_map.h"
#include "tests/system/system_support.h"

namespace liaison::testing {
namespace {

const char* const kServices[] = {"privacy", "identity", "credits", "messaging"};
constexpr int kGrpcPorts[] = {50054, 50051, 50053, 50052};
constexpr int kMetricsPorts[] = {9104, 9101, 9103, 9102};

bool PortFree(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_ANY);
  const bool free = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  close(fd);
  return free;
}

// An offset for LIAISON_PORT_OFFSET under which all eight ports are free
// (and, with `shards`, those of shards 1.. at +100 each), so the test never
// meets a developer's own running copy.
int FreeOffset(int shards = 1) {
  for (int offset = 1000 + static_cast<int>(getpid() % 500) * 10; offset < 15000; offset += 10) {
    bool all = true;
    for (int shard = 0; shard < shards; ++shard) {
      for (int i = 0; i < 4; ++i) all = all && PortFree(kGrpcPorts[i] + offset + 100 * shard);
      for (int i = 0; i < 4; ++i) all = all && PortFree(kMetricsPorts[i] + offset + 100 * shard);
    }
    if (all) return offset;
  }
  FAIL("no free ports for the local run");
  return 0;
}

struct DevRun {
  std::map<std::string, std::string> env;
  std::string script = std::string(LIAISON_SOURCE_DIR) + "/tools/dev.sh";

  std::unique_ptr<Process> Serve(const std::string& log) const {
    auto p =
        std::make_unique<Process>(std::vector<std::string>{"/bin/bash", script, "serve"}, env, log);
    auto ready = p->WaitForLine("Liaison is running", 90);
    INFO(p->Log());
    REQUIRE(ready.has_value());
    return p;
  }

  CommandResult Stop() const {
    std::vector<std::string> argv = {"/usr/bin/env"};
    for (const auto& [name, value] : env) argv.push_back(name + "=" + value);
    argv.insert(argv.end(), {"/bin/bash", script, "stop"});
    return RunCommand(argv);
  }
};

bool Serving(int port) {
  RunningService s;
  s.grpc_port = port;
  return Contains(CallRpc(s, "grpc.health.v1.Health/Check", "").output, "SERVING");
}

std::string AdminToken(const std::string& output) {
  const std::string marker = "export ADMIN_TOKEN=";
  const size_t at = output.find(marker);
  REQUIRE(at != std::string::npos);
  const size_t end = output.find('\n', at);
  return output.substr(at + marker.size(), end - at - marker.size());
}

void CheckStoppedCleanly(const std::string& output, int offset) {
  INFO(output);
  for (const char* name : kServices)
    CHECK(Contains(output, std::string(name) + " stopped cleanly"));
  for (int port : kGrpcPorts) CHECK_FALSE(Serving(port + offset));
}

TEST_CASE("The run command starts all four services, and stop or Ctrl-C stops them cleanly") {
  TempDir dir;
  const int offset = FreeOffset();
  DevRun dev;
  dev.env = {{"LIAISON_HOME", dir.Sub("home")},
             {"BUILD_DIR", LIAISON_BUILD_DIR},
             {"LIAISON_PORT_OFFSET", std::to_string(offset)}};

  auto run = dev.Serve(dir.Sub("run-1.log"));
  // Everything under the one folder, with a key only its owner reads.
  struct stat key {};
  REQUIRE(stat(dir.Sub("home/signing.key").c_str(), &key) == 0);
  CHECK((key.st_mode & 0777) == 0600);
  CHECK(key.st_size >= 32);
  for (const char* name : kServices) {
    INFO(name);
    CHECK(std::filesystem::is_directory(dir.Sub("home/data/" + std::string(name))));
    CHECK(std::filesystem::is_regular_file(dir.Sub("home/logs/" + std::string(name) + ".log")));
  }
  for (int port : kGrpcPorts) {
    INFO("port " << port + offset);
    CHECK(Serving(port + offset));
  }
  // The printed token works as printed: it creates a member.
  RunningService identity;
  identity.grpc_port = 50051 + offset;
  const std::string admin = AdminToken(run->Log());
  const std::string ada =
      R"({"handle": "ada", "displayName": "Ada Lovelace", "email": "ada@example.com"})";
  auto created = CallRpc(identity, "liaison.identity.v1.IdentityService/CreateMember", admin, ada);
  INFO(created.output);
  CHECK(created.exit_code == 0);
  // The banner says what liaisonctl needs for this run (not on the default
  // ports and folder), and liaisonctl with just that reaches it.
  const std::string offset_line = "export LIAISON_PORT_OFFSET=" + std::to_string(offset);
  const std::string key_line = "export LIAISON_SIGNING_KEY_FILE=" + dir.Sub("home/signing.key");
  CHECK(Contains(run->Log(), offset_line));
  CHECK(Contains(run->Log(), key_line));
  CommandResult ctl = RunCommand({"/usr/bin/env", "LIAISON_PORT_OFFSET=" + std::to_string(offset),
                                  "LIAISON_SIGNING_KEY_FILE=" + dir.Sub("home/signing.key"),
                                  LIAISON_CTL_BIN, "member", "create", "--handle", "grace",
                                  "--name", "Grace Hopper", "--email", "grace@example.com"});
  INFO(ctl.output);
  CHECK(ctl.exit_code == 0);
  CHECK(Contains(ctl.output, "@grace"));
  // A second copy on the same folder refuses to start: `serve`, and `run`
  // before it installs or builds anything.
  for (const char* command : {"serve", "run"}) {
    INFO(command);
    CommandResult twice = RunCommand(
        {"/usr/bin/env", "LIAISON_HOME=" + dir.Sub("home"),
         std::string("BUILD_DIR=") + LIAISON_BUILD_DIR, "/bin/bash", dev.script, command},
        /*timeout_seconds=*/10);
    INFO(twice.output);
    CHECK(twice.exit_code == 1);
    CHECK(Contains(twice.output, "already running from " + dir.Sub("home")));
    CHECK_FALSE(Contains(twice.output, "installing"));
    CHECK_FALSE(Contains(twice.output, "building"));
  }

  // The stop command.
  auto stopped = dev.Stop();
  INFO(stopped.output);
  CHECK(stopped.exit_code == 0);
  CHECK(run->Wait(60) == 0);
  CheckStoppedCleanly(run->Log(), offset);

  // Again, with the data kept: Ada is still there. Then Ctrl-C.
  run = dev.Serve(dir.Sub("run-2.log"));
  auto again = CallRpc(identity, "liaison.identity.v1.IdentityService/CreateMember", admin, ada);
  CHECK(Contains(again.output, "already_exists"));
  run->Signal(SIGINT);
  CHECK(run->Wait(60) == 0);
  CheckStoppedCleanly(run->Log(), offset);
}

// What a LIAISON_SHARDS=2 run starts.
constexpr const char* kShardedRun[] = {"privacy-0", "privacy-1", "identity-0",  "identity-1",
                                       "credits-0", "credits-1", "messaging-0", "messaging-1"};

TEST_CASE("LIAISON_SHARDS=2 runs two shards of every service, and each serves anyone") {
  TempDir dir;
  const int offset = FreeOffset(2);
  DevRun dev;
  dev.env = {{"LIAISON_HOME", dir.Sub("home")},
             {"BUILD_DIR", LIAISON_BUILD_DIR},
             {"LIAISON_PORT_OFFSET", std::to_string(offset)},
             {"LIAISON_SHARDS", "2"}};
  auto run = dev.Serve(dir.Sub("run.log"));
  for (const char* name : kShardedRun) {
    INFO(name);
    CHECK(std::filesystem::is_directory(dir.Sub("home/data/" + std::string(name))));
  }
  REQUIRE(std::filesystem::is_regular_file(dir.Sub("home/shard-map.json")));
  const int privacy1 = 50054 + 100 + offset;
  const int credits1 = 50053 + 100 + offset;
  CHECK(Serving(privacy1));
  CHECK(Serving(credits1));

  RunningService identity, privacy0, credits0, credits_1, privacy_1;
  identity.grpc_port = 50051 + offset;
  privacy0.grpc_port = 50054 + offset;
  privacy_1.grpc_port = privacy1;
  credits0.grpc_port = 50053 + offset;
  credits_1.grpc_port = credits1;
  const std::string admin = AdminToken(run->Log());
  auto created = CallRpc(identity, "liaison.identity.v1.IdentityService/CreateMember", admin,
                         R"({"handle":"ada","displayName":"Ada","email":"ada@example.com"})");
  INFO(created.output);
  REQUIRE(created.exit_code == 0);
  const std::string ada = nlohmann::json::parse(created.output)["member"]["memberId"];
  REQUIRE(
      CallRpc(identity, "liaison.identity.v1.IdentityService/SetAccountTier", admin,
              nlohmann::json{{"memberId", ada}, {"tier", "ACCOUNT_TIER_SALES_NAVIGATOR"}}.dump())
          .exit_code == 0);
  const std::string token = CtlToken(dir.Sub("home/signing.key"), {ada});
  // Either credits shard answers with Ada's credits, as does either privacy
  // shard with her settings.
  for (const RunningService* credits : {&credits0, &credits_1}) {
    auto balance = CallRpc(*credits, "liaison.credits.v1.CreditService/GetBalance", token);
    INFO(balance.output);
    CHECK(Contains(balance.output, "\"monthlyAvailable\": \"50\""));
  }
  const std::string update = R"({"settings":{"openProfile":true},"updateMask":"openProfile"})";
  std::string updated;
  for (int i = 0; i < 50; ++i) {  // identity registers Ada with privacy just after creating her
    updated = CallRpc(privacy_1, "liaison.privacy.v1.PrivacyService/UpdateSettings", token, update)
                  .output;
    if (Contains(updated, "openProfile")) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(Contains(updated, "\"openProfile\": true"));
  auto read = CallRpc(privacy0, "liaison.privacy.v1.PrivacyService/GetSettings", token);
  CHECK(Contains(read.output, "\"openProfile\": true"));
  // messaging follows both privacy shards' feeds: the change on Ada's shard
  // reaches it, whichever shard that is.
  const std::string feed =
      "privacy-" +
      std::to_string(
          ShardMap::Load(dir.Sub("home/shard-map.json")).value().ShardOf(std::stoull(ada)));
  double applied = 0;
  for (int i = 0; i < 100 && applied < 1; ++i) {
    auto scraped = RunCommand(
        {LIAISON_CURL, "-sf", "http://127.0.0.1:" + std::to_string(9102 + offset) + "/metrics"});
    for (absl::string_view line : absl::StrSplit(scraped.output, '\n')) {
      if (absl::StartsWith(line, "liaison_feed_consumer_cursor{") &&
          absl::StrContains(line, "feed=\"" + feed + "\"")) {
        applied = std::stod(std::string(line.substr(line.rfind(' ') + 1)));
      }
    }
    if (applied < 1) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(applied >= 1);
  auto scraped = RunCommand(
      {LIAISON_CURL, "-sf", "http://127.0.0.1:" + std::to_string(9102 + offset) + "/metrics"});
  for (const char* shard : {"privacy-0", "privacy-1", "identity-0", "identity-1"}) {
    INFO(shard);
    CHECK(Contains(scraped.output, std::string("feed=\"") + shard + "\""));
  }

  // Bob, created by identity shard 1 (a shard creates members it owns), is
  // found through shard 0, and his handle is taken on both.
  RunningService identity_1;
  identity_1.grpc_port = 50051 + 100 + offset;
  auto bob = CallRpc(identity_1, "liaison.identity.v1.IdentityService/CreateMember", admin,
                     R"({"handle":"bob","displayName":"Bob","email":"bob@example.com"})");
  INFO(bob.output);
  REQUIRE(bob.exit_code == 0);
  const std::string bob_id = nlohmann::json::parse(bob.output)["member"]["memberId"];
  CHECK(ShardMap::Load(dir.Sub("home/shard-map.json")).value().ShardOf(std::stoull(bob_id)) == 1);
  auto found = CallRpc(identity, "liaison.identity.v1.IdentityService/GetMember", admin,
                       nlohmann::json{{"memberId", bob_id}}.dump());
  CHECK(Contains(found.output, "\"handle\": \"bob\""));
  auto taken = CallRpc(identity, "liaison.identity.v1.IdentityService/CreateMember", admin,
                       R"({"handle":"bob","displayName":"Bob 2","email":"bob2@example.com"})");
  CHECK(Contains(taken.output, "already_exists"));

  // An InMail through messaging, across identity shards, which pays with
  // Ada's credit on her credits shard (reached through the map), and the
  // debit shows on both shards.
  RunningService messaging;
  messaging.grpc_port = 50052 + offset;
  auto inmail = CallRpc(messaging, "liaison.messaging.v1.MessagingService/SendInMail", token,
                        nlohmann::json{{"recipientId", bob_id},
                                       {"subject", "Hello"},
                                       {"body", "A role you may like"},
                                       {"clientMessageId", "im-1"}}
                            .dump());
  INFO(inmail.output);
  CHECK(inmail.exit_code == 0);
  for (const RunningService* credits : {&credits0, &credits_1}) {
    auto balance = CallRpc(*credits, "liaison.credits.v1.CreditService/GetBalance", token);
    INFO(balance.output);
    CHECK(Contains(balance.output, "\"monthlyAvailable\": \"49\""));
  }
  // Bob finds it in his InMail folder through either messaging shard (his
  // own serves it; the other forwards).
  RunningService messaging_1;
  messaging_1.grpc_port = 50052 + 100 + offset;
  const std::string bobs_token = CtlToken(dir.Sub("home/signing.key"), {bob_id});
  for (const RunningService* shard : {&messaging, &messaging_1}) {
    std::string listed;
    for (int i = 0; i < 50 && !Contains(listed, "A role you may like"); ++i) {
      listed = CallRpc(*shard, "liaison.messaging.v1.MessagingService/ListConversations",
                       bobs_token, R"({"folder":"FOLDER_INMAIL"})")
                   .output;
      if (!Contains(listed, "A role you may like")) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
    CHECK(Contains(listed, "\"subject\": \"Hello\""));
  }

  auto stopped = dev.Stop();
  CHECK(stopped.exit_code == 0);
  CHECK(run->Wait(60) == 0);
  INFO(run->Log());
  for (const char* name : kShardedRun) {
    CHECK(Contains(run->Log(), std::string(name) + " stopped cleanly"));
  }

  // A shard count that cannot work is refused before anything starts.
  dev.env["LIAISON_SHARDS"] = "0";
  std::vector<std::string> argv = {"/usr/bin/env"};
  for (const auto& [name, value] : dev.env) argv.push_back(name + "=" + value);
  argv.insert(argv.end(), {"/bin/bash", dev.script, "serve"});
  auto refused = RunCommand(argv, 30);
  CHECK(refused.exit_code == 2);
  CHECK(Contains(refused.output, "LIAISON_SHARDS must be a whole number from 1 to 16"));
}

}  // namespace
}  // namespace liaison::testing
