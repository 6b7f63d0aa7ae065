// liaisonctl's connection to Liaison: the global flags, who is acting (a
// token given or minted from the dev signing key), one channel per service,
// unary calls with a deadline, and errors turned into exit codes.
//
// Exit codes: 0 done; 1 a service said no or could not be reached (the line
// on stderr is "liaisonctl: <GRPC_CODE>: <message>"); 2 the command line or
// the local setup is wrong (no key, bad flag value, nobody to act as).
#ifndef LIAISON_TOOLS_LIAISONCTL_CLIENT_H_
#define LIAISON_TOOLS_LIAISONCTL_CLIENT_H_

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "liaison/credits/v1/credits.grpc.pb.h"
#include "liaison/identity/v1/identity.grpc.pb.h"
#include "liaison/messaging/v1/messaging.grpc.pb.h"
#include "liaison/privacy/v1/privacy.grpc.pb.h"

namespace liaison::ctl {

using IdentityStub = identity::v1::IdentityService::Stub;
using MessagingStub = messaging::v1::MessagingService::Stub;
using CreditsStub = credits::v1::CreditService::Stub;
using PrivacyStub = privacy::v1::PrivacyService::Stub;

// The global flags (README-style defaults: the local run's ports).
struct Options {
  std::string as_member;   // --as: a member id or handle
  std::string as_service;  // --as-service: a service name
  std::string token;       // --token (LIAISON_TOKEN is read apart: it ranks lower)
  std::string signing_key_file;
  std::string identity_address = "127.0.0.1:50051";
  std::string messaging_address = "127.0.0.1:50052";
  std::string credits_address = "127.0.0.1:50053";
  std::string privacy_address = "127.0.0.1:50054";
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string timeout = "10s";
  bool json = false;
  // A shard map (DESIGN.md §8): calls to a service it names go to the
  // acting member's shard (a service acting: shard 0, which forwards).
  std::string shard_map_file;
};

// Whom a command calls as.
enum class Actor {
  kNone,     // no call (token)
  kMember,   // a member acting for themselves
  kService,  // an internal method: a service token, minted if nobody is named
  kAny,      // either: a member if one is named, else a service
};

// A mistake on the command line or in the local setup (exit code 2). Every
// error that did not come from a service is one.
absl::Status UsageError(absl::string_view message);

// Prints `status` as one line on stderr and returns the exit code (0, 1, 2).
int Report(const absl::Status& status);

class Cli final {
 public:
  explicit Cli(const Options* options) : options_(options) {}

  bool json() const { return options_->json; }

  // Decides the token for the command (see docs/liaisonctl.md, "Who acts").
  // UsageError when nobody can act as `actor` wants.
  absl::Status Authenticate(Actor actor);

  // The acting member's id (from --as, or the token's subject); empty when
  // a service acts.
  const std::string& acting_member() const { return acting_member_; }

  // One unary call with the command's token and the --timeout deadline.
  // Errors carry the gRPC code and the server's message (for UNAVAILABLE and
  // DEADLINE_EXCEEDED also the service and its address).
  template <typename Stub, typename Request, typename Response>
  absl::Status Call(grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
                    const Request& request, Response* response) {
    return CallWith(token_, method, request, response);
  }

  // The stub of a service, for streaming calls; `Prepare` then adds the
  // token (no deadline: a stream lives until the user stops it).
  template <typename Stub>
  absl::StatusOr<Stub*> StubFor() {
    return Connect(std::get<Endpoint<Stub>>(endpoints_));
  }
  void Prepare(grpc::ClientContext* context) const;
  template <typename Stub>
  absl::Status StreamError(const grpc::Status& status) const {
    return RpcError(std::get<Endpoint<Stub>>(endpoints_), status);
  }

  // A member named on the command line: a decimal id, or a handle (with or
  // without "@"; "@123" is the handle "123"). Returns the member id;
  // NOT_FOUND from identity for an unknown handle, UsageError for a
  // malformed id.
  absl::StatusOr<std::string> ResolveMember(const std::string& text);
  absl::StatusOr<std::vector<std::string>> ResolveMembers(const std::vector<std::string>& texts);

  // How a member is shown: "@handle", or the id when the member cannot be
  // looked up. Lookups are cached and best effort (never an error).
  void PrefetchMembers(const std::vector<std::string>& ids);
  std::string MemberLabel(const std::string& id);
  // The page's name, or "page <id>".
  std::string PageLabel(const std::string& id);

  // A fresh client_message_id (idempotency key) for a send.
  static std::string NewClientId();

  // The HS256 key: --signing-key-file, $LIAISON_SIGNING_KEY_FILE, or
  // .liaison/signing.key when it exists. UsageError when there is none.
  absl::StatusOr<std::string> SigningKey();

 private:
  template <typename Stub>
  struct Endpoint {
    Endpoint(const char* service, const std::string* host_port)
        : name(service), address(host_port) {}
    const char* name;
    const std::string* address;
    std::unique_ptr<Stub> stub;  // made on first use
  };

  template <typename Stub, typename Request, typename Response>
  absl::Status CallWith(const std::string& token,
                        grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                                     Response*),
                        const Request& request, Response* response) {
    auto& endpoint = std::get<Endpoint<Stub>>(endpoints_);
    absl::StatusOr<Stub*> stub = Connect(endpoint);
    if (!stub.ok()) return stub.status();
    absl::StatusOr<absl::Duration> timeout = Timeout();
    if (!timeout.ok()) return timeout.status();
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + token);
    context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(*timeout));
    return RpcError(endpoint, ((*stub)->*method)(&context, request, response));
  }

  template <typename Stub>
  absl::StatusOr<Stub*> Connect(Endpoint<Stub>& endpoint) {
    if (endpoint.stub == nullptr) {
      absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = NewChannel(*endpoint.address);
      if (!channel.ok()) return channel.status();
      endpoint.stub = std::make_unique<Stub>(*channel);
    }
    return endpoint.stub.get();
  }

  template <typename Stub>
  absl::Status RpcError(const Endpoint<Stub>& endpoint, const grpc::Status& status) const {
    return RpcError(endpoint.name, *endpoint.address, status);
  }
  static absl::Status RpcError(const char* service, const std::string& address,
                               const grpc::Status& status);

  absl::StatusOr<std::shared_ptr<grpc::Channel>> NewChannel(const std::string& address) const;
  absl::StatusOr<absl::Duration> Timeout() const;
  absl::StatusOr<std::string> ServiceToken(const std::string& name);
  // Whether a signing key is named or lies at the default path.
  bool HaveKey() const;
  // A service token (svc:liaisonctl) for handle lookups, minted once.
  absl::StatusOr<std::string> LookupToken();
  absl::StatusOr<std::string> LookUpHandle(const std::string& handle, const std::string& token);

  const Options* options_;
  std::string token_;
  std::string acting_member_;
  std::optional<std::string> key_;
  std::string lookup_token_;
  std::tuple<Endpoint<IdentityStub>, Endpoint<MessagingStub>, Endpoint<CreditsStub>,
             Endpoint<PrivacyStub>>
      endpoints_{Endpoint<IdentityStub>("identity", &options_->identity_address),
                 Endpoint<MessagingStub>("messaging", &options_->messaging_address),
                 Endpoint<CreditsStub>("credits", &options_->credits_address),
                 Endpoint<PrivacyStub>("privacy", &options_->privacy_address)};
  absl::flat_hash_map<std::string, std::string> member_labels_;
  absl::flat_hash_map<std::string, std::string> page_labels_;
  // With --shard-map: the addresses the acting member's shard has.
  std::string routed_credits_, routed_privacy_;

  absl::Status AuthenticateAs(Actor actor);
  // Points the sharded services' endpoints at the acting member's shard.
  absl::Status Route();
};

}  // namespace liaison::ctl

#endif  // LIAISON_TOOLS_LIAISONCTL_CLIENT_H_
