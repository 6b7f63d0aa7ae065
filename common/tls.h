// Optional mTLS between services (DESIGN.md §3): the credentials a service
// serves and calls with, built from --tls-cert-file, --tls-key-file and
// --tls-ca-file. The files are read and checked once, at start-up, so a wrong
// file stops the service with one line naming it instead of failing every
// handshake later (gRPC itself would only say it cannot listen).
#ifndef LIAISON_COMMON_TLS_H_
#define LIAISON_COMMON_TLS_H_

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/config.h"

namespace liaison {

// The PEM text of the three files, checked.
struct TlsFiles {
  std::string cert_chain;   // this service's certificate (first) and intermediates
  std::string private_key;  // the key of the first certificate
  std::string ca_bundle;    // the CAs a peer's certificate must chain to
};

// nullopt when none of the three flags is set (plaintext). InvalidArgumentError,
// naming the flag and the file, when only some are set, a file cannot be read or
// holds no PEM certificate (key) of its kind, the key is not the certificate's,
// or the certificate is expired or not yet valid.
absl::StatusOr<std::optional<TlsFiles>> LoadTlsFiles(const ServerConfig& config);

// What the gRPC server listens with: insecure without TLS flags; with them,
// TLS that requires a client certificate chaining to the CA bundle.
// Errors as LoadTlsFiles.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentialsFor(
    const ServerConfig& config);

// What calls to other services use: insecure without TLS flags; with them,
// TLS that presents this service's certificate and checks the server's
// against the CA bundle and the name in the address ("identity:50051" wants
// a certificate for "identity"). Errors as LoadTlsFiles.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ChannelCredentialsFor(
    const ServerConfig& config);

}  // namespace liaison

#endif  // LIAISON_COMMON_TLS_H_
