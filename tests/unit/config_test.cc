#include "common/config.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>

#include "tests/support/temp_dir.h"

namespace liaison {
namespace {

struct Env {
  Env(const char* name, const char* value) : name_(name) { setenv(name, value, 1); }
  ~Env() { unsetenv(name_); }
  const char* name_;
};

std::optional<int> Parse(ServerConfig* config, std::vector<std::string> args) {
  CLI::App app{"test", "liaison-test"};
  AddServerFlags(app, config);
  std::vector<char*> argv = {const_cast<char*>("liaison-test")};
  for (auto& a : args) argv.push_back(a.data());
  return ParseFlags(app, static_cast<int>(argv.size()), argv.data());
}

TEST_CASE("Every flag has a LIAISON_ environment variable") {
  CHECK(EnvName("grpc-port") == "LIAISON_GRPC_PORT");
  CHECK(EnvName("signing-key-file") == "LIAISON_SIGNING_KEY_FILE");
}

TEST_CASE("Flags come from the environment, and the command line wins") {
  testing::TempDir dir;
  std::ofstream(dir.Sub("key")) << "k";
  Env port("LIAISON_GRPC_PORT", "6000");
  Env level("LIAISON_LOG_LEVEL", "debug");
  Env data("LIAISON_DATA_DIR", dir.path().c_str());
  ServerConfig config;
  CHECK_FALSE(Parse(&config, {"--signing-key-file", dir.Sub("key"), "--grpc-port", "7000"}));
  CHECK(config.grpc_port == 7000);
  CHECK(config.log_level == "debug");
  CHECK(config.data_dir == dir.path());
}

TEST_CASE("RPC metrics are on unless turned off, and only true or false is accepted") {
  testing::TempDir dir;
  std::ofstream(dir.Sub("key")) << "k";
  const std::string key = dir.Sub("key");
  ServerConfig config;
  CHECK_FALSE(Parse(&config, {"--data-dir", "d", "--signing-key-file", key}));
  CHECK(config.rpc_metrics);
  CHECK_FALSE(
      Parse(&config, {"--data-dir", "d", "--signing-key-file", key, "--rpc-metrics", "false"}));
  CHECK_FALSE(config.rpc_metrics);
  Env off("LIAISON_RPC_METRICS", "maybe");
  CHECK(Parse(&config, {"--data-dir", "d", "--signing-key-file", key}) == 2);
}

TEST_CASE("A bad value stops start-up with exit code 2") {
  testing::TempDir dir;
  std::ofstream(dir.Sub("key")) << "k";
  const std::string key = dir.Sub("key");
  ServerConfig config;
  CHECK(Parse(&config, {"--data-dir", "d", "--signing-key-file", key, "--grpc-port", "70000"}) ==
        2);
  CHECK(Parse(&config, {"--data-dir", "d", "--signing-key-file", key, "--grpc-port", "abc"}) == 2);
  CHECK(Parse(&config, {"--data-dir", "d", "--signing-key-file", key, "--log-level", "loud"}) == 2);
  CHECK(Parse(&config, {"--data-dir", "d", "--signing-key-file", dir.Sub("missing")}) == 2);
  CHECK(Parse(&config, {"--signing-key-file", key}) == 2);  // --data-dir is required
  CHECK(Parse(&config, {"--data-dir", "d", "--signing-key-file", key, "--bogus"}) == 2);
  Env bad("LIAISON_METRICS_PORT", "-1");
  CHECK(Parse(&config, {"--data-dir", "d", "--signing-key-file", key}) == 2);
}

TEST_CASE("The --help flag prints usage and exits 0") {
  ServerConfig config;
  CHECK(Parse(&config, {"--help"}) == 0);
}

}  // namespace
}  // namespace liaison
