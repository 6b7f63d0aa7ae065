// Calling other Liaison services: one long-lived channel per dependency
// (keepalive, client metrics, optional mTLS), and the service token this
// service presents (`sub` = `svc:<name>`), minted from the shared signing key
// and renewed before it expires.
#ifndef LIAISON_COMMON_CLIENT_H_
#define LIAISON_COMMON_CLIENT_H_

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/auth.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/metrics.h"

namespace liaison {

// A channel to `address` ("host:port"). Uses mTLS when the config names
// cert, key and CA files (the same files the server uses; the server's
// certificate must chain to the CA and name the host in `address`),
// plaintext otherwise. `metrics` may be null. InvalidArgumentError for TLS
// files that are incomplete, unreadable or wrong (common/tls.h).
absl::StatusOr<std::shared_ptr<grpc::Channel>> NewChannel(const std::string& address,
                                                          const ServerConfig& config,
                                                          Metrics* metrics);

// What a failed call to another Liaison service means for our caller. The
// details (addresses, the other side's message) go to the log, not to the
// client: UNAVAILABLE ("retry") when the dependency is down, slow or
// overloaded; INTERNAL when the call itself was wrong (e.g. a signing-key
// mismatch between services, which an operator must fix).
absl::Status DependencyError(absl::string_view service, const grpc::Status& status);

// One outgoing async unary call and what must live until its callback runs:
// hold it in a shared_ptr captured by the callback.
template <typename Request, typename Response>
struct OutgoingCall {
  grpc::ClientContext context;
  Request request;
  Response response;
};

// Thread-safe.
class ServiceTokenSource final {
 public:
  ServiceTokenSource(std::string service, std::string key, const Clock* clock);

  // The current token, minted anew when less than a quarter of its hour is left.
  std::string Token();

  // Sets the authorization header and a deadline on an outgoing call.
  void Prepare(grpc::ClientContext* context, absl::Duration timeout);

 private:
  std::string service_;
  TokenMinter minter_;
  const Clock* clock_;
  absl::Mutex mu_;
  std::string token_ ABSL_GUARDED_BY(mu_);
  absl::Time expires_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace liaison

#endif  // LIAISON_COMMON_CLIENT_H_
