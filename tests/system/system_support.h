// Shared pieces of the system tests: the real binaries and tools, a signing
// key on disk, and starting a service binary on free ports.
#ifndef LIAISON_TESTS_SYSTEM_SYSTEM_SUPPORT_H_
#define LIAISON_TESTS_SYSTEM_SYSTEM_SUPPORT_H_

#include <signal.h>

#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace liaison::testing {

inline const std::string kSystemKey = "system-test-signing-key-0123456789abcdef";

// A running service binary and where to reach it.
struct RunningService {
  std::unique_ptr<Process> process;
  int grpc_port = 0;
  int metrics_port = 0;
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(grpc_port); }
};

inline std::string WriteKey(const TempDir& dir) {
  std::string path = dir.Sub("signing.key");
  std::ofstream(path) << kSystemKey << "\n";
  return path;
}

// Starts `binary` on free ports with its data under `data_dir`; the process
// is left running. Fails the test if it does not report serving.
inline RunningService StartService(const std::string& binary, const std::string& data_dir,
                                   const std::string& key_file, const std::string& log_path,
                                   std::vector<std::string> extra = {}, int grpc_port = 0) {
  std::vector<std::string> argv = {
      binary,           "--data-dir", data_dir,        "--grpc-port", std::to_string(grpc_port),
      "--metrics-port", "0",          "--listen-host", "127.0.0.1",   "--signing-key-file",
      key_file};
  argv.insert(argv.end(), extra.begin(), extra.end());
  RunningService service;
  service.process = std::make_unique<Process>(argv, std::map<std::string, std::string>{}, log_path);
  auto line = service.process->WaitForServing();
  INFO(service.process->Log());
  REQUIRE(line.has_value());
  auto json = nlohmann::json::parse(*line);
  service.grpc_port = json.at("grpc_port").get<int>();
  service.metrics_port = json.at("metrics_port").get<int>();
  return service;
}

// SIGKILLs `service` and starts `binary` again on the same gRPC port (its
// other arguments as for StartService), for crash tests.
inline void KillAndRestart(RunningService* service, const std::string& binary,
                           const std::string& data_dir, const std::string& key_file,
                           const std::string& log_path, const std::vector<std::string>& extra) {
  const int port = service->grpc_port;
  service->process->Signal(SIGKILL);
  CHECK(service->process->Wait() == 128 + SIGKILL);
  *service = StartService(binary, data_dir, key_file, log_path, extra, port);
  REQUIRE(service->grpc_port == port);
}

// What messaging calls, started in dependency order (DESIGN.md §2), each
// pointed at what it calls; logs in `dir`.
struct MessagingDependencies {
  RunningService privacy, identity, credits;

  // The flags that point liaison-messaging at them.
  std::vector<std::string> MessagingFlags() const {
    return {"--identity-address", "127.0.0.1:" + std::to_string(identity.grpc_port),
            "--privacy-address",  "127.0.0.1:" + std::to_string(privacy.grpc_port),
            "--credits-address",  "127.0.0.1:" + std::to_string(credits.grpc_port)};
  }
};

inline MessagingDependencies StartMessagingDependencies(
    const TempDir& dir, const std::string& key_file, std::vector<std::string> credits_extra = {}) {
  MessagingDependencies d;
  d.privacy =
      StartService(LIAISON_PRIVACY_BIN, dir.Sub("privacy"), key_file, dir.Sub("privacy.log"));
  d.identity =
      StartService(LIAISON_IDENTITY_BIN, dir.Sub("identity"), key_file, dir.Sub("identity.log"),
                   {"--privacy-address", "127.0.0.1:" + std::to_string(d.privacy.grpc_port)});
  credits_extra.insert(credits_extra.begin(),
                       {"--identity-address", "127.0.0.1:" + std::to_string(d.identity.grpc_port)});
  d.credits = StartService(LIAISON_CREDITS_BIN, dir.Sub("credits"), key_file,
                           dir.Sub("credits.log"), credits_extra);
  return d;
}

// What messaging calls as `shards` shards of each of privacy, identity and
// credits under one map (its partitions split evenly, ports chosen here),
// started in dependency order, each calling shard 0 of what it depends on
// (which forwards). With one shard: no map, as StartMessagingDependencies.
// The map names messaging's shards' ports too (StartMessagingShards).
struct ShardedDependencies {
  std::string map_file;  // empty with one shard
  std::vector<RunningService> privacy, identity, credits;
  std::vector<int> messaging_ports;  // with a map

  // The flags that point liaison-messaging at them.
  std::vector<std::string> MessagingFlags() const {
    std::vector<std::string> flags = {
        "--identity-address", "127.0.0.1:" + std::to_string(identity[0].grpc_port),
        "--privacy-address",  "127.0.0.1:" + std::to_string(privacy[0].grpc_port),
        "--credits-address",  "127.0.0.1:" + std::to_string(credits[0].grpc_port)};
    if (!map_file.empty()) flags.insert(flags.end(), {"--shard-map", map_file});
    return flags;
  }
};

// A map of `shards` shards of every service (partitions split evenly, free
// ports chosen here) written in `dir` (none for one shard); the ports are
// privacy's, identity's, credits' and messaging's, shard by shard.
struct ShardedLayout {
  std::string map_file;
  std::vector<std::vector<int>> ports;
};

inline ShardedLayout WriteShardedMap(const TempDir& dir, int shards, int epoch = 1) {
  ShardedLayout layout;
  if (shards == 1) {
    layout.ports = {{0}, {0}, {0}, {0}};
    return layout;
  }
  layout.ports.resize(4);
  layout.map_file =
      dir.Sub(epoch == 1 ? "shard-map.json" : "shard-map-" + std::to_string(epoch) + ".json");
  nlohmann::json map = {{"epoch", epoch}, {"shards", nlohmann::json::array()}};
  for (int i = 0; i < shards; ++i) {
    nlohmann::json shard = {{"partitions", std::to_string(i * 4096 / shards) + "-" +
                                               std::to_string((i + 1) * 4096 / shards - 1)}};
    int k = 0;
    for (const char* service : {"privacy", "identity", "credits", "messaging"}) {
      layout.ports[k].push_back(FreePort());
      shard[service] = "127.0.0.1:" + std::to_string(layout.ports[k++].back());
    }
    map["shards"].push_back(shard);
  }
  std::ofstream(layout.map_file) << map.dump();
  return layout;
}

// Privacy, identity and credits as `layout` shards them, data per service
// and shard under `dir` (the same directories whatever the map).
inline ShardedDependencies StartShardedDependencies(const TempDir& dir, const std::string& key_file,
                                                    const ShardedLayout& layout) {
  ShardedDependencies d;
  d.map_file = layout.map_file;
  const auto& ports = layout.ports;
  const size_t shards = ports[0].size();
  d.messaging_ports = ports[3];
  auto start = [&](const std::string& binary, const std::string& name, size_t shard,
                   std::vector<std::string> extra, int port) {
    const std::string as = shards > 1 ? name + "-" + std::to_string(shard) : name;
    if (shards > 1)
      extra.insert(extra.end(),
                   {"--shard-map", d.map_file, "--shard-index", std::to_string(shard)});
    return StartService(binary, dir.Sub(as), key_file, dir.Sub(as + ".log"), extra, port);
  };
  for (size_t i = 0; i < shards; ++i) {
    d.privacy.push_back(start(LIAISON_PRIVACY_BIN, "privacy", i, {}, ports[0][i]));
  }
  const std::string privacy = "127.0.0.1:" + std::to_string(d.privacy[0].grpc_port);
  for (size_t i = 0; i < shards; ++i) {
    d.identity.push_back(
        start(LIAISON_IDENTITY_BIN, "identity", i, {"--privacy-address", privacy}, ports[1][i]));
  }
  const std::string identity = "127.0.0.1:" + std::to_string(d.identity[0].grpc_port);
  for (size_t i = 0; i < shards; ++i) {
    d.credits.push_back(
        start(LIAISON_CREDITS_BIN, "credits", i, {"--identity-address", identity}, ports[2][i]));
  }
  return d;
}

inline ShardedDependencies StartShardedDependencies(const TempDir& dir, const std::string& key_file,
                                                    int shards) {
  return StartShardedDependencies(dir, key_file, WriteShardedMap(dir, shards));
}

// Messaging shard `i` of `deps`' map: its flags (`extra` last), and its
// name (its data directory and log under the test's dir).
inline std::vector<std::string> MessagingShardFlags(const ShardedDependencies& deps, size_t i,
                                                    const std::vector<std::string>& extra = {}) {
  std::vector<std::string> flags = deps.MessagingFlags();
  flags.insert(flags.end(), extra.begin(), extra.end());
  if (!deps.map_file.empty()) flags.insert(flags.end(), {"--shard-index", std::to_string(i)});
  return flags;
}
inline std::string MessagingShardName(const ShardedDependencies& deps, size_t i) {
  return deps.map_file.empty() ? "messaging" : "messaging-" + std::to_string(i);
}

// Messaging as the map of `deps` shards it: one process per shard (one,
// without a map), data and log per shard under `dir`.
inline std::vector<RunningService> StartMessagingShards(
    const ShardedDependencies& deps, const TempDir& dir, const std::string& key_file,
    const std::vector<std::string>& extra = {}) {
  std::vector<RunningService> out;
  for (size_t i = 0; i < deps.messaging_ports.size(); ++i) {
    const std::string as = MessagingShardName(deps, i);
    out.push_back(StartService(LIAISON_MESSAGING_BIN, dir.Sub(as), key_file, dir.Sub(as + ".log"),
                               MessagingShardFlags(deps, i, extra), deps.messaging_ports[i]));
  }
  return out;
}

// buf curl over plaintext HTTP/2 with server reflection, like grpcurl.
inline CommandResult BufCurl(std::vector<std::string> args) {
  std::vector<std::string> argv = {LIAISON_BUF, "curl", "--protocol", "grpc",
                                   "--http2-prior-knowledge"};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv);
}

// A token from liaisonctl: a member id, or "--service" and a name.
inline std::string CtlToken(const std::string& key_file, std::vector<std::string> subject) {
  std::vector<std::string> argv = {LIAISON_CTL_BIN, "token"};
  argv.insert(argv.end(), subject.begin(), subject.end());
  argv.insert(argv.end(), {"--signing-key-file", key_file});
  auto result = RunCommand(argv);
  INFO(result.output);
  REQUIRE(result.exit_code == 0);
  std::string token = result.output;
  while (!token.empty() && token.back() == '\n') token.pop_back();
  return token;
}

// One unary call with buf curl: `method` is "pkg.Service/Method".
inline CommandResult CallRpc(const RunningService& s, const std::string& method,
                             const std::string& token, const std::string& body = "{}") {
  std::vector<std::string> args;
  if (!token.empty()) args = {"-H", "authorization: Bearer " + token};
  args.insert(args.end(), {"-d", body, s.Url() + "/" + method});
  return BufCurl(args);
}

inline bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Scrapes /metrics, checks it with promtool, and returns the exposition.
inline std::string ScrapeAndCheck(const RunningService& s, const std::string& file) {
  auto scraped = RunCommand({LIAISON_CURL, "-sf", "-o", file,
                             "http://127.0.0.1:" + std::to_string(s.metrics_port) + "/metrics"});
  REQUIRE(scraped.exit_code == 0);
  auto check =
      RunCommand({"/bin/sh", "-c", std::string(LIAISON_PROMTOOL) + " check metrics < " + file});
  INFO(check.output);
  CHECK(check.exit_code == 0);
  std::ifstream in(file);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The metric families in a Prometheus text exposition: "name type" lines.
inline std::set<std::string> MetricFamilies(const std::string& exposition) {
  std::set<std::string> out;
  std::istringstream lines(exposition);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("# TYPE ", 0) == 0) out.insert(line.substr(7));
  }
  return out;
}

inline std::set<std::string> ReadLines(const std::string& path) {
  std::set<std::string> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != '#') out.insert(line);
  }
  return out;
}

}  // namespace liaison::testing

#endif  // LIAISON_TESTS_SYSTEM_SYSTEM_SUPPORT_H_
