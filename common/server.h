// Server bootstrap shared by every service: a callback-API gRPC server with
// server reflection, grpc.health.v1.Health (also describable over
// reflection), message-size limits, keepalive and the metrics interceptor;
// plus the whole life of a service process (RunService): flags, store,
// /metrics, serving, and graceful shutdown on SIGTERM/SIGINT.
#ifndef LIAISON_COMMON_SERVER_H_
#define LIAISON_COMMON_SERVER_H_

#include <grpcpp/server.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/auth.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/metrics.h"
#include "common/probe_server.h"
#include "common/shard_map.h"
#include "common/store.h"

namespace liaison {

// A service to serve and the full name health reports it under, e.g.
// {&handler, PrivacyService::service_full_name()}.
struct ServiceEntry {
  grpc::Service* service;
  std::string name;
};

class Server final {
 public:
  // Builds and starts a server for `services` on config.listen_host and
  // config.grpc_port (0 picks a free port), and health checks alone on
  // config.health_port if set. Every service is marked SERVING.
  // UnavailableError if a port cannot be bound, InvalidArgumentError for
  // TLS files that are incomplete, unreadable or wrong (common/tls.h).
  // With `shard`, every response names it (common/shard_router.h).
  static absl::StatusOr<std::unique_ptr<Server>> Start(const ServerConfig& config,
                                                       const std::vector<ServiceEntry>& services,
                                                       Metrics* metrics,
                                                       const ShardIdentity* shard = nullptr);
  ~Server();

  int port() const { return port_; }
  // The plaintext health-only port (config.health_port), -1 if none.
  int health_port() const { return probe_ == nullptr ? -1 : probe_->port(); }

  // Flips health to NOT_SERVING, stops accepting calls, lets in-flight calls
  // finish for up to `grace`, then cancels the rest. Idempotent.
  void Shutdown(absl::Duration grace);

 private:
  Server() = default;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::unique_ptr<ProbeServer> probe_;
  bool shut_down_ = false;
};

// What a service's factory gets from the runtime.
struct ServiceDeps {
  const ServerConfig* config;
  Store* store;
  const TokenVerifier* verifier;
  Metrics* metrics;
  // What the service's rules read the time from (moved by --clock-offset).
  const Clock* clock;
  // The HS256 key, for minting this service's own token to call others.
  const std::string* signing_key;
  // What token lifetimes are measured on: real time, whatever the offset, so
  // tokens minted anywhere stay valid on a service whose clock was moved.
  const Clock* token_clock;
  // Which shard of its service this process is (the only one, owning every
  // member, when the map names no shards of this service).
  const ShardIdentity* shard;
  // The whole shard map, for reaching the shards of the services it calls.
  const ShardMap* map;
};

// What a service plugs into the runtime.
class ServiceModule {
 public:
  virtual ~ServiceModule() = default;
  // The gRPC services to register; owned by the module.
  virtual std::vector<ServiceEntry> services() = 0;
  // Called when shutdown begins, before in-flight calls are drained: end
  // long-lived streams here so they do not hold the drain to its deadline.
  virtual void Draining() {}
  // Called after the server has drained and before the store closes:
  // stop background work here.
  virtual void Stop() {}
};

struct ServiceSpec {
  std::string name;  // "privacy": names the process in logs and metrics.
  std::vector<ColumnFamilySpec> column_families;
  std::function<absl::StatusOr<std::unique_ptr<ServiceModule>>(const ServiceDeps&)> create;
};

// The life of a service process, after flags are parsed: opens the store,
// serves gRPC and /metrics, waits for SIGTERM/SIGINT, shuts down gracefully
// and closes the store. Returns the exit code (0 after a clean shutdown, 1 if
// start-up failed, with one log line saying why).
int RunService(const ServiceSpec& spec, const ServerConfig& config);

// Blocks SIGTERM and SIGINT in the calling thread and every thread it starts
// later, so that RunService can wait for them. Call first thing in main.
void BlockShutdownSignals();

}  // namespace liaison

#endif  // LIAISON_COMMON_SERVER_H_
