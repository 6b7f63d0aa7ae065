// Configuration every service shares. Each flag has an environment variable
// LIAISON_<NAME> (e.g. --grpc-port / LIAISON_GRPC_PORT); a flag given on the
// command line wins over the environment. Values are validated while
// parsing; a bad one stops start-up with one line naming the flag.
#ifndef LIAISON_COMMON_CONFIG_H_
#define LIAISON_COMMON_CONFIG_H_

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "absl/time/time.h"

namespace liaison {

struct ServerConfig {
  std::string listen_host = "0.0.0.0";
  int grpc_port = 0;
  int metrics_port = 0;
  std::string data_dir;
  std::string signing_key_file;
  double shutdown_grace_seconds = 10;
  int max_message_bytes = 4 << 20;
  // gRPC's memory quota for the server's transports, in MiB: buffered
  // requests beyond it are cancelled (RESOURCE_EXHAUSTED), not held.
  int grpc_memory_mb = 64;
  std::string log_level = "info";
  int block_cache_mb = 64;
  // Count and time every RPC served and made (grpc_server_*, grpc_client_*).
  // Off only to measure what that costs.
  bool rpc_metrics = true;
  // Optional mTLS: all three set serves TLS and requires client certificates
  // signed by the CA; none set serves plaintext.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_ca_file;
  // A plaintext port serving only grpc.health.v1.Health, for probes that
  // cannot present a client certificate; -1: none, 0: a free port.
  int health_port = -1;
  // Test-only: moves the clock the service's rules run on (never token
  // expiry) by a duration such as "90d" or "-1h30m" (see ParseClockOffset).
  std::string clock_offset = "0";
  // Sharding (DESIGN.md §8, common/shard_map.h): the shard map file, and
  // which of its shards this process is. No file: one shard owning every
  // partition, and the --<service>-address flags say where the others are.
  std::string shard_map_file;
  int shard_index = 0;
  // Take the shard index from the host name's trailing "-N" (a
  // StatefulSet's pod name: privacy-1 is shard 1).
  bool shard_index_from_hostname = false;
};

// Registers the shared flags on `app`, writing into `config`. The defaults
// already in `config` (the service's own ports) are shown in --help.
void AddServerFlags(CLI::App& app, ServerConfig* config);

// Parses argv and the environment. Returns an exit code when the process
// should stop now: 0 after --help, 2 after printing one line for a bad
// value. Returns nullopt when start-up should go on.
std::optional<int> ParseFlags(CLI::App& app, int argc, char** argv);

// Adds --change-retention (LIAISON_CHANGE_RETENTION) for a service that
// keeps a change feed: how long changes are kept, a positive duration such
// as "7d" or "36h" (the syntax of --clock-offset), parsed into `retention`.
void AddChangeRetentionFlag(CLI::App& app, absl::Duration* retention);

// `name` as an environment variable: "grpc-port" -> "LIAISON_GRPC_PORT".
std::string EnvName(const std::string& flag_name);

}  // namespace liaison

#endif  // LIAISON_COMMON_CONFIG_H_
