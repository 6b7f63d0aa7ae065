// Prometheus metrics for a service: the registry, the /metrics endpoint
// (prometheus-cpp's civetweb exposer), and the gRPC server interceptor that
// counts and times every RPC once for all handlers:
//   grpc_server_started_total{grpc_service,grpc_method,grpc_type}
//   grpc_server_handled_total{grpc_service,grpc_method,grpc_type,grpc_code}
//   grpc_server_handling_seconds{grpc_service,grpc_method,grpc_type} (histogram)
// the same grpc_client_* for channels to other services, plus process_* gauges and whatever
// collectables the service adds.
#ifndef LIAISON_COMMON_METRICS_H_
#define LIAISON_COMMON_METRICS_H_

#include <grpcpp/support/client_interceptor.h>
#include <grpcpp/support/server_interceptor.h>
#include <prometheus/collectable.h>
#include <prometheus/exposer.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace liaison {

// Histogram buckets for RPC latency: 10 µs up to 10 s.
const prometheus::Histogram::BucketBoundaries& LatencyBuckets();

class GrpcRpcMetrics;  // Per-method RPC counters (metrics.cc).

class Metrics final {
 public:
  // `service` labels liaison_build_info.
  explicit Metrics(const std::string& service);
  ~Metrics();

  prometheus::Registry& registry() { return *registry_; }

  // Installs the interceptor on a ServerBuilder (call once per server).
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> ServerInterceptor();

  // For channels to other services: grpc_client_started_total,
  // grpc_client_handled_total and grpc_client_handling_seconds, labelled like
  // the server's. The families appear on the first call to this.
  std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface> ClientInterceptor();

  // Exposes registered metrics at http://<host>:<port>/metrics.
  // InternalError if the port cannot be bound.
  absl::Status Serve(const std::string& host, int port);
  // The bound port (after Serve), 0 before.
  int port() const;

  // Adds a collectable read at every scrape (e.g. the store's gauges).
  void AddCollectable(const std::shared_ptr<prometheus::Collectable>& collectable);

  // Stops the HTTP endpoint; idempotent.
  void Stop();

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<GrpcRpcMetrics> grpc_;
  absl::Mutex client_mu_;
  std::shared_ptr<GrpcRpcMetrics> grpc_client_ ABSL_GUARDED_BY(client_mu_);
  std::shared_ptr<prometheus::Collectable> process_;
  std::vector<std::shared_ptr<prometheus::Collectable>> pending_;
  std::unique_ptr<prometheus::Exposer> exposer_;
};

// process_* metrics read from /proc at scrape time.
std::shared_ptr<prometheus::Collectable> NewProcessCollector();

}  // namespace liaison

#endif  // LIAISON_COMMON_METRICS_H_
