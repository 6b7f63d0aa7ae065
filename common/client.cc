#include "common/client.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <chrono>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/status.h"
#include "common/tls.h"

namespace liaison {
namespace {

constexpr absl::Duration kTokenLifetime = absl::Hours(1);

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::Channel>> NewChannel(const std::string& address,
                                                          const ServerConfig& config,
                                                          Metrics* metrics) {
  ASSIGN_OR_RETURN(std::shared_ptr<grpc::ChannelCredentials> credentials,
                   ChannelCredentialsFor(config));
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30 * 1000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10 * 1000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetMaxReceiveMessageSize(config.max_message_bytes);
  args.SetMaxSendMessageSize(config.max_message_bytes);
  // Reconnect quickly after a dependency restarts.
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> creators;
  if (metrics != nullptr && config.rpc_metrics) creators.push_back(metrics->ClientInterceptor());
  return grpc::experimental::CreateCustomChannelWithInterceptors(address, credentials, args,
                                                                 std::move(creators));
}

absl::Status DependencyError(absl::string_view service, const grpc::Status& status) {
  LogWarn("dependency_call_failed", {{"service", std::string(service)},
                                     {"code", static_cast<int>(status.error_code())},
                                     {"message", status.error_message()}});
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::CANCELLED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::ABORTED:
      return absl::UnavailableError(
          absl::StrCat("the ", service, " service is unavailable; retry shortly"));
    default:
      return absl::InternalError(
          absl::StrCat("call to the ", service, " service failed: ", status.error_message()));
  }
}

ServiceTokenSource::ServiceTokenSource(std::string service, std::string key, const Clock* clock)
    : service_(std::move(service)), minter_(std::move(key), clock), clock_(clock) {}

std::string ServiceTokenSource::Token() {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_->Now();
  if (now + kTokenLifetime / 4 >= expires_) {
    auto token = minter_.MintService(service_, kTokenLifetime);
    // The name was validated at start-up; minting cannot fail afterwards.
    token_ = token.ok() ? *token : "";
    expires_ = now + kTokenLifetime;
  }
  return token_;
}

void ServiceTokenSource::Prepare(grpc::ClientContext* context, absl::Duration timeout) {
  context->AddMetadata("authorization", "Bearer " + Token());
  // Deadlines are real time, whatever clock the rules run on.
  context->set_deadline(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(timeout));
}

}  // namespace liaison
