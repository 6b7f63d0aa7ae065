#include "common/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <prometheus/gauge.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/grpc_log.h"
#include "common/logging.h"
#include "common/memory_limits.h"
#include "common/request_guard.h"
#include "common/shard_router.h"
#include "common/status.h"
#include "common/tls.h"
#include "grpc/health/v1/health.pb.h"

namespace liaison {

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const ServerConfig& config,
                                                      const std::vector<ServiceEntry>& services,
                                                      Metrics* metrics,
                                                      const ShardIdentity* shard) {
  // gRPC's own health service serves grpc.health.v1.Health; linking the
  // generated health.proto puts its descriptor in the pool reflection reads.
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  ASSIGN_OR_RETURN(auto credentials, ServerCredentialsFor(config));
  auto server = std::unique_ptr<Server>(new Server());
  grpc::ServerBuilder builder;
  builder.AddListeningPort(absl::StrCat(config.listen_host, ":", config.grpc_port), credentials,
                           &server->port_);
  builder.SetMaxReceiveMessageSize(config.max_message_bytes);
  builder.SetMaxSendMessageSize(config.max_message_bytes);
  // gRPC holds a whole request before its size check (common/memory_limits.h).
  RETURN_IF_ERROR(ApplyGrpcMemoryQuota(config.grpc_memory_mb, config.max_message_bytes, &builder));
  // Keep idle connections alive through proxies and notice dead peers, and
  // let clients ping as often as every 10 s.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60 * 1000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20 * 1000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10 * 1000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  // The unparsable-request guard comes first, so the metrics interceptor
  // counts the status it sets.
  RouteProtobufLogs();
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
  creators.push_back(UnparsableRequestInterceptor());
  if (metrics != nullptr) creators.push_back(metrics->ServerInterceptor());
  if (shard != nullptr && shard->map().epoch() > 0)
    creators.push_back(ShardHeaderInterceptor(*shard));
  builder.experimental().SetInterceptorCreators(std::move(creators));
  for (const ServiceEntry& entry : services) builder.RegisterService(entry.service);
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot serve gRPC on ", config.listen_host, ":",
                                               config.grpc_port, " (port in use?)"));
  }
  auto* health = server->server_->GetHealthCheckService();
  health->SetServingStatus(true);
  for (const ServiceEntry& entry : services) health->SetServingStatus(entry.name, true);
  if (config.health_port >= 0) {
    std::vector<std::string> names;
    for (const ServiceEntry& entry : services) names.push_back(entry.name);
    ASSIGN_OR_RETURN(server->probe_,
                     ProbeServer::Start(config.listen_host, config.health_port, names));
  }
  return server;
}

Server::~Server() { Shutdown(absl::ZeroDuration()); }

void Server::Shutdown(absl::Duration grace) {
  if (shut_down_ || server_ == nullptr) return;
  shut_down_ = true;
  // NOT_SERVING first, so health checkers and load balancers stop sending.
  if (probe_ != nullptr) probe_->SetNotServing();
  server_->GetHealthCheckService()->Shutdown();
  server_->Shutdown(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(grace));
  server_->Wait();
}

void BlockShutdownSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

int RunService(const ServiceSpec& spec, const ServerConfig& config) {
  // Debian's Abseil is built with Mutex deadlock detection on: it walks a
  // lock graph on every Mutex acquisition (a few % of a busy service's CPU
  // in perf). The tests keep it; production does not pay for it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  auto fail = [&](absl::string_view step, const absl::Status& status) {
    LogError("start_failed",
             {{"step", std::string(step)}, {"error", std::string(status.message())}});
    return 1;
  };
  if (auto status = InitLogging(spec.name, config.log_level); !status.ok()) {
    return fail("logging", status);
  }
  RouteGrpcLogs();
  auto key = ReadSigningKey(config.signing_key_file);
  if (!key.ok()) return fail("signing key", key.status());
  const std::string signing_key = *std::move(key);
  TokenVerifier verifier(signing_key, Clock::Real());
  // Hands back what refused or finished large requests leave in glibc's
  // arenas (common/memory_limits.h).
  const HeapTrimmer heap_trimmer;
  auto clock_offset = ParseClockOffset(config.clock_offset);
  if (!clock_offset.ok()) return fail("clock offset", clock_offset.status());
  const OffsetClock clock(Clock::Real(), *clock_offset);

  std::error_code error;
  std::filesystem::create_directories(config.data_dir, error);
  if (error) {
    return fail("data dir", absl::InvalidArgumentError(absl::StrCat(
                                "cannot create ", config.data_dir, ": ", error.message())));
  }
  auto store = Store::Open(
      {config.data_dir, spec.column_families, static_cast<size_t>(config.block_cache_mb) << 20});
  if (!store.ok()) return fail("store", store.status());

  Metrics metrics(spec.name);
  metrics.AddCollectable((*store)->MetricsCollector());
  if (*clock_offset != absl::ZeroDuration()) {
    LogWarn("clock_offset", {{"offset", config.clock_offset},
                             {"offset_seconds", absl::ToInt64Seconds(*clock_offset)},
                             {"note", "test only: token expiry stays on real time"}});
    prometheus::BuildGauge()
        .Name("liaison_clock_offset_seconds")
        .Help("How far --clock-offset moves the rules' clock from real time (test only).")
        .Register(metrics.registry())
        .Add({})
        .Set(absl::ToDoubleSeconds(*clock_offset));
  }
  auto map =
      config.shard_map_file.empty() ? ShardMap::Single({}) : ShardMap::Load(config.shard_map_file);
  if (!map.ok()) return fail("shard map", map.status());
  int shard_index = config.shard_index;
  if (config.shard_index_from_hostname) {
    char hostname[256] = {};
    gethostname(hostname, sizeof(hostname) - 1);
    auto parsed = ShardIndexFromHostname(hostname);
    if (!parsed.ok()) return fail("shard map", parsed.status());
    shard_index = *parsed;
  }
  if (auto status = CheckShardIndex(*map, shard_index); !status.ok()) {
    return fail("shard map", status);
  }
  // A map naming no shards of this service: it is the one instance.
  const bool sharded = NamesService(*map, spec.name);
  if (!sharded && shard_index != 0) {
    return fail("shard map",
                absl::InvalidArgumentError(absl::StrCat(
                    "--shard-index is ", shard_index, ", but the map names no ", spec.name,
                    " shards: give ", spec.name, " addresses in the map, or no index")));
  }
  const ShardIdentity shard(sharded ? *map : ShardMap::Single({}),
                            static_cast<size_t>(shard_index));
  ServiceDeps deps{&config,      store->get(),  &verifier, &metrics, &clock,
                   &signing_key, Clock::Real(), &shard,    &*map};
  auto module = spec.create(deps);
  if (!module.ok()) return fail("service", module.status());

  if (auto status = metrics.Serve(config.listen_host, config.metrics_port); !status.ok()) {
    return fail("metrics", status);
  }
  auto server =
      Server::Start(config, (*module)->services(), config.rpc_metrics ? &metrics : nullptr, &shard);
  if (!server.ok()) return fail("grpc", server.status());
  LogInfo("serving", {{"grpc_port", (*server)->port()},
                      {"metrics_port", metrics.port()},
                      {"health_port", (*server)->health_port()},
                      {"data_dir", config.data_dir}});

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  int signal_number = 0;
  sigwait(&signals, &signal_number);

  const auto grace = absl::Seconds(config.shutdown_grace_seconds);
  LogInfo("shutting_down",
          {{"signal", strsignal(signal_number)}, {"grace_seconds", config.shutdown_grace_seconds}});
  const absl::Time shutdown_start = absl::Now();
  (*module)->Draining();
  (*server)->Shutdown(grace);
  LogDebug("grpc_drained", {{"ms", absl::ToDoubleMilliseconds(absl::Now() - shutdown_start)}});
  (*module)->Stop();
  metrics.Stop();
  LogDebug("metrics_stopped", {{"ms", absl::ToDoubleMilliseconds(absl::Now() - shutdown_start)}});
  module->reset();
  absl::Status closed = (*store)->Close();
  if (!closed.ok()) {
    LogError("store_close_failed", {{"error", closed.ToString()}});
    return 1;
  }
  LogInfo("stopped", {{"ms", absl::ToDoubleMilliseconds(absl::Now() - shutdown_start)}});
  return 0;
}

}  // namespace liaison
