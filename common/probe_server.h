// A plaintext gRPC server that serves only grpc.health.v1.Health, for health
// checkers that cannot present a client certificate while the service port
// requires mTLS: the kubelet's native gRPC probes speak plaintext only. It
// reports what the service port reports: SERVING after start, NOT_SERVING
// from the moment shutdown begins. Nothing else is served on it (not even
// reflection), so no other RPC is reachable without a certificate.
#ifndef LIAISON_COMMON_PROBE_SERVER_H_
#define LIAISON_COMMON_PROBE_SERVER_H_

#include <grpcpp/server.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace liaison {

class ProbeHealthService;

class ProbeServer final {
 public:
  // Serves health on host:port (0 picks a free port), with "" and every name
  // in `service_names` SERVING. UnavailableError if the port cannot be bound.
  static absl::StatusOr<std::unique_ptr<ProbeServer>> Start(
      const std::string& host, int port, const std::vector<std::string>& service_names);
  ~ProbeServer();

  int port() const { return port_; }

  // Every name turns NOT_SERVING, for good; the server keeps answering.
  // Thread-safe.
  void SetNotServing();

 private:
  ProbeServer() = default;
  std::unique_ptr<ProbeHealthService> health_;  // outlives server_
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace liaison

#endif  // LIAISON_COMMON_PROBE_SERVER_H_
