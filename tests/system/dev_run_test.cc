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

// An offset for LIAISON_PORT_OFFSET under which all eight ports are free,
// so the test never meets a developer's own running copy.
int FreeOffset() {
  for (int offset = 1000 + static_cast<int>(getpid() % 500) * 10; offset < 15000; offset += 10) {
    bool all = true;
    for (int i = 0; i < 4; ++i) all = all && PortFree(kGrpcPorts[i] + offset);
    for (int i = 0; i < 4; ++i) all = all && PortFree(kMetricsPorts[i] + offset);
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
  CommandResult ctl = RunCommand(
      {"/usr/bin/env", "LIAISON_PORT_OFFSET=" + std::to_string(offset),
       "LIAISON_SIGNING_KEY_FILE=" + dir.Sub("home/signing.key"), LIAISON_CTL_BIN, "member",
       "create", "--handle", "grace", "--name", "Grace Hopper", "--email", "grace@example.com"});
  INFO(ctl.output);
  CHECK(ctl.exit_code == 0);
  CHECK(Contains(ctl.output, "@grace"));
  // A second copy on the same folder refuses to start: `serve`, and `run`
  // before it installs or builds anything.
  for (const char* command : {"serve", "run"}) {
    INFO(command);
    CommandResult twice = RunCommand({"/usr/bin/env", "LIAISON_HOME=" + dir.Sub("home"),
                                      std::string("BUILD_DIR=") + LIAISON_BUILD_DIR, "/bin/bash",
                                      dev.script, command},
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

}  // namespace
}  // namespace liaison::testing
