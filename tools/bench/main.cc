// liaison-bench: a gRPC load generator for Liaison, reporting like ghz.
//
//   liaison-bench echo -c 64 --duration 10               # this machine's ceiling E
//   liaison-bench send-message -c 64 --graph-members 200000 --signing-key-file KEY
//   liaison-bench stream-latency -q 500 --graph-members 200000 --signing-key-file KEY
//   liaison-bench block-to-refusal -c 8 --blocks 2000 --graph-members 200000 ...
//   liaison-bench group-latency -q 20 --group-size 50 --shard-map MAP ...
//   liaison-bench serve-echo --port 50099                # the echo server alone
//
// Scenarios: echo, send-message, send-inmail, list-inbox, relationship,
// stream-latency, group-latency, block-to-refusal. With --shard-map, messaging
// calls go to the shard that serves them (route.h). -c N runs a closed loop with N calls (for
// block-to-refusal: pairs) in flight; -q R an open loop at R calls a second.
// --json FILE also writes the report as JSON.
#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>

#include "common/auth.h"
#include "common/config.h"
#include "common/shard_map.h"
#include "tools/bench/load.h"
#include "tools/bench/scenarios.h"

namespace {

using liaison::bench::LoadOptions;
using liaison::bench::Result;
using liaison::bench::Target;

int Fail(const std::string& message) {
  std::cerr << "liaison-bench: " << message << std::endl;
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"gRPC load generator for Liaison", "liaison-bench"};
  std::string scenario, key_file, json_file;
  Target target;
  LoadOptions load;
  int echo_port = 0;
  app.add_option("scenario", scenario,
                 "echo, send-message, send-inmail, list-inbox, relationship, stream-latency, "
                 "group-latency, block-to-refusal, or serve-echo")
      ->required();
  app.add_option("-c,--concurrency", load.concurrency, "Calls in flight (closed loop)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  app.add_option("-q,--rate", load.rate, "Calls started per second (open loop)")
      ->check(CLI::Range(0.0, 1e7));
  app.add_option("--duration", load.duration_seconds, "Measured seconds")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 3600.0));
  app.add_option("--warmup", load.warmup_seconds, "Unmeasured seconds first")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 600.0));
  app.add_option("--connections", target.connections, "Channels (connections) per service")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  app.add_option("--identity", target.identity, "identity host:port")->capture_default_str();
  app.add_option("--messaging", target.messaging, "messaging host:port")->capture_default_str();
  app.add_option("--credits", target.credits, "credits host:port")->capture_default_str();
  app.add_option("--echo", target.echo, "An echo server's host:port (default: one in-process)");
  app.add_option("--port", echo_port, "serve-echo: the port to listen on")->capture_default_str();
  app.add_option("--signing-key-file", key_file, "HS256 key file (dev tokens)")
      ->envname(liaison::EnvName("signing-key-file"));
  app.add_option("--graph-members", target.graph_members,
                 "Members 1..N of the identity store's seeded graph (liaison-seed-graph)");
  app.add_option("--pairs", target.pairs, "Sender-recipient pairs (send-message, stream-latency)")
      ->capture_default_str();
  app.add_option("--hubs", target.hubs, "list-inbox: members whose inbox is read")
      ->capture_default_str();
  app.add_option("--conversations", target.conversations, "list-inbox: conversations per hub")
      ->capture_default_str();
  app.add_option("--blocks", target.blocks, "block-to-refusal: pairs blocked in all")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  app.add_option("--cpu-of", load.cpu_pids,
                 "A server process id (give it once per process): their CPU time over the "
                 "measured window is reported, in all and per call");
  std::string map_file;
  app.add_option("--shard-map", map_file,
                 "A shard map: messaging calls go to the shard that serves them")
      ->check(CLI::ExistingFile);
  app.add_option("--placement", target.placement,
                 "send-message, stream-latency with --shard-map: pairs on any shards, the same "
                 "shard, or across two")
      ->capture_default_str()
      ->check(CLI::IsMember({"any", "same", "across"}));
  app.add_option("--group-size", target.group_size,
                 "group-latency: the group's members, its sender included")
      ->capture_default_str()
      ->check(CLI::Range(2, 100));
  app.add_flag("--skip-seed", target.skip_seed,
               "list-inbox: the hubs have their conversations already (an earlier run)");
  app.add_option("--json", json_file, "Also write the report here, as JSON");
  bool quiet = false;
  app.add_flag("--no-progress", quiet, "No progress line");
  if (auto exit_code = liaison::ParseFlags(app, argc, argv)) return *exit_code;
  load.progress = !quiet;
  load.label = scenario;

  if (scenario == "serve-echo") {
    auto server = liaison::bench::StartEchoServer("127.0.0.1:" + std::to_string(echo_port));
    if (!server.ok()) return Fail(std::string(server.status().message()));
    std::cout << "echo server on 127.0.0.1:" << (*server)->port() << std::endl;
    (*server)->Wait();
    return 0;
  }
  if (!map_file.empty()) {
    auto map = liaison::ShardMap::Load(map_file);
    if (!map.ok()) return Fail(std::string(map.status().message()));
    if (auto status = map->CheckAddresses("messaging"); !status.ok()) {
      return Fail(std::string(status.message()));
    }
    target.map = std::make_shared<const liaison::ShardMap>(*std::move(map));
  } else if (target.placement != "any") {
    return Fail("--placement " + target.placement + " needs --shard-map");
  }
  if (!key_file.empty()) {
    auto key = liaison::ReadSigningKey(key_file);
    if (!key.ok()) return Fail(std::string(key.status().message()));
    target.signing_key = *key;
  }

  Result result;
  if (scenario == "stream-latency") {
    auto measured = liaison::bench::RunStreamLatency(target, load);
    if (!measured.ok()) return Fail(std::string(measured.status().message()));
    result = *std::move(measured);
  } else if (scenario == "group-latency") {
    auto measured = liaison::bench::RunGroupLatency(target, load);
    if (!measured.ok()) return Fail(std::string(measured.status().message()));
    result = *std::move(measured);
  } else if (scenario == "block-to-refusal") {
    auto measured = liaison::bench::RunBlockToRefusal(target, load);
    if (!measured.ok()) return Fail(std::string(measured.status().message()));
    result = *std::move(measured);
  } else {
    auto made = liaison::bench::MakeScenario(scenario, target);
    if (!made.ok()) return Fail(std::string(made.status().message()));
    std::cerr << "seeding " << scenario << "..." << std::endl;
    if (absl::Status seeded = (*made)->Seed(); !seeded.ok()) {
      return Fail("seeding: " + std::string(seeded.message()));
    }
    auto& s = **made;
    result = liaison::bench::RunLoad(
        load, [&s](uint64_t n, liaison::bench::Done done) { s.Issue(n, std::move(done)); });
  }
  result.scenario = scenario;
  result.connections = target.connections;
  std::cout << liaison::bench::ToText(result) << std::flush;
  if (!json_file.empty()) {
    std::ofstream(json_file) << liaison::bench::ToJson(result).dump(2) << "\n";
  }
  return 0;
}
