// gRPC's own log lines (failed TLS handshakes, ports that cannot be bound,
// ...) as lines of the service's JSON log, event "grpc_log" with gRPC's
// message and source location, instead of gRPC's plain text on stderr. Which
// lines gRPC emits is still up to it (GRPC_VERBOSITY, default ERROR).
#ifndef LIAISON_COMMON_GRPC_LOG_H_
#define LIAISON_COMMON_GRPC_LOG_H_

namespace liaison {

// Idempotent; call once logging is initialised.
void RouteGrpcLogs();

}  // namespace liaison

#endif  // LIAISON_COMMON_GRPC_LOG_H_
