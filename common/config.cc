#include "common/config.h"

#include <iostream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/clock.h"

namespace liaison {

std::string EnvName(const std::string& flag_name) {
  return "LIAISON_" + absl::AsciiStrToUpper(absl::StrReplaceAll(flag_name, {{"-", "_"}}));
}

void AddServerFlags(CLI::App& app, ServerConfig* config) {
  auto add = [&app](const std::string& name, auto* value, const std::string& help) {
    return app.add_option("--" + name, *value, help)->envname(EnvName(name))->capture_default_str();
  };
  add("listen-host", &config->listen_host, "Address the gRPC and metrics servers bind to");
  add("grpc-port", &config->grpc_port, "gRPC port (0 picks a free one)")
      ->check(CLI::Range(0, 65535));
  add("metrics-port", &config->metrics_port, "Prometheus /metrics port (0 picks a free one)")
      ->check(CLI::Range(0, 65535));
  add("data-dir", &config->data_dir, "Directory of this service's RocksDB store")->required();
  add("signing-key-file", &config->signing_key_file,
      "File holding the HS256 key that signs and verifies tokens (>= 32 bytes)")
      ->required()
      ->check(CLI::ExistingFile);
  add("shutdown-grace-seconds", &config->shutdown_grace_seconds,
      "How long in-flight calls may run after SIGTERM before they are cancelled")
      ->check(CLI::Range(0.0, 3600.0));
  add("max-message-bytes", &config->max_message_bytes, "Largest gRPC message accepted or sent")
      ->check(CLI::Range(1024, 64 << 20));
  add("grpc-memory-mb", &config->grpc_memory_mb,
      "Memory gRPC may hold for requests being received, in MiB (at least twice "
      "--max-message-bytes); past it, calls are refused with RESOURCE_EXHAUSTED")
      ->check(CLI::Range(8, 1 << 20));
  add("block-cache-mb", &config->block_cache_mb,
      "RocksDB block cache shared by the store's column families, in MiB")
      ->check(CLI::Range(1, 1 << 20));
  add("rpc-metrics", &config->rpc_metrics,
      "Count and time every RPC (grpc_server_* and grpc_client_* metrics); false only to "
      "measure their cost");
  add("log-level", &config->log_level, "debug, info, warn or error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  add("tls-cert-file", &config->tls_cert_file, "PEM certificate for mTLS (with key and CA)")
      ->check(CLI::ExistingFile);
  add("tls-key-file", &config->tls_key_file, "PEM private key for mTLS")->check(CLI::ExistingFile);
  add("tls-ca-file", &config->tls_ca_file, "PEM CA bundle that client certificates must chain to")
      ->check(CLI::ExistingFile);
  add("health-port", &config->health_port,
      "Plaintext port serving only grpc.health.v1.Health, for probes that cannot present a "
      "client certificate under mTLS (Kubernetes' gRPC probes); -1: none, 0 picks a free one")
      ->check(CLI::Range(-1, 65535));
  add("shard-map", &config->shard_map_file,
      "The shard map file (JSON: epoch, each shard's partitions and addresses); none: one "
      "shard owning every member");
  add("shard-index", &config->shard_index, "Which shard of the map this process is (0, 1, ...)")
      ->check(CLI::Range(0, 1023));
  add("shard-index-from-hostname", &config->shard_index_from_hostname,
      "Take the shard index from the host name's trailing -N (a StatefulSet pod's ordinal: "
      "privacy-1 is shard 1), instead of --shard-index");
  add("clock-offset", &config->clock_offset,
      "Test only: run the service's time rules this far from real time (90d, 48h, -1h30m, 0); "
      "token expiry stays on real time")
      ->check(CLI::Validator(
          [](std::string& value) {
            auto offset = ParseClockOffset(value);
            return offset.ok() ? std::string() : std::string(offset.status().message());
          },
          "DURATION"));
}

void AddChangeRetentionFlag(CLI::App& app, absl::Duration* retention) {
  app.add_option_function<std::string>(
         "--change-retention",
         [retention](const std::string& value) { *retention = *ParseClockOffset(value); },
         "How long the change feed keeps changes (7d, 36h, ...); a consumer that falls further "
         "behind rebuilds from a snapshot")
      ->envname(EnvName("change-retention"))
      ->default_str(absl::StrCat(absl::ToInt64Hours(*retention) / 24, "d"))
      ->check(CLI::Validator(
          [](std::string& value) {
            auto retention = ParseClockOffset(value);
            if (!retention.ok()) return std::string(retention.status().message());
            return *retention > absl::ZeroDuration()
                       ? std::string()
                       : std::string("the change retention must be positive");
          },
          "DURATION"));
}

std::optional<int> ParseFlags(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    std::cout << app.help("", CLI::AppFormatMode::All);
    return 0;
  } catch (const CLI::ParseError& e) {
    // One line, naming the program, the flag (or its env var) and the reason.
    std::string message = e.what();
    for (char& c : message) {
      if (c == '\n') c = ' ';
    }
    std::cerr << app.get_name() << ": bad configuration: " << message << std::endl;
    return 2;
  }
  return std::nullopt;
}

}  // namespace liaison
