#include "common/probe_server.h"

#include <grpcpp/ext/health_check_service_server_builder_option.h>
#include <grpcpp/impl/server_builder_option.h>
#include <grpcpp/impl/server_builder_plugin.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include <atomic>
#include <chrono>
#include <set>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace liaison {

// Check only: the kubelet's probes do not watch. gRPC's default health
// service cannot be the only service of a server (it registers too late for
// the builder, which then refuses to start), hence this one.
class ProbeHealthService final : public grpc::health::v1::Health::CallbackService {
 public:
  explicit ProbeHealthService(const std::vector<std::string>& names)
      : names_(names.begin(), names.end()) {
    names_.insert("");  // the whole server
  }

  void SetNotServing() { serving_.store(false); }

  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const grpc::health::v1::HealthCheckRequest* request,
                                  grpc::health::v1::HealthCheckResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    if (names_.count(request->service()) == 0) {
      reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND, "unknown service"));
      return reactor;
    }
    response->set_status(serving_.load() ? grpc::health::v1::HealthCheckResponse::SERVING
                                         : grpc::health::v1::HealthCheckResponse::NOT_SERVING);
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

 private:
  std::set<std::string> names_;  // not changed after construction
  std::atomic<bool> serving_{true};
};

namespace {

// Drops the builder plugins registered process-wide (server reflection), so
// the probe port describes nothing.
class WithoutPlugins final : public grpc::ServerBuilderOption {
 public:
  void UpdateArguments(grpc::ChannelArguments* args) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    plugins->clear();
  }
};

}  // namespace

absl::StatusOr<std::unique_ptr<ProbeServer>> ProbeServer::Start(
    const std::string& host, int port, const std::vector<std::string>& service_names) {
  auto probe = std::unique_ptr<ProbeServer>(new ProbeServer());
  probe->health_ = std::make_unique<ProbeHealthService>(service_names);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(absl::StrCat(host, ":", port), grpc::InsecureServerCredentials(),
                           &probe->port_);
  builder.SetOption(std::make_unique<WithoutPlugins>());
  // No default health service beside ours.
  builder.SetOption(std::make_unique<grpc::HealthCheckServiceServerBuilderOption>(nullptr));
  builder.RegisterService(probe->health_.get());
  // A port another process holds is an error, not a shared port.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Health requests and answers are a few bytes.
  builder.SetMaxReceiveMessageSize(4096);
  probe->server_ = builder.BuildAndStart();
  if (probe->server_ == nullptr || probe->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve health checks on ", host, ":", port, " (port in use?)"));
  }
  return probe;
}

ProbeServer::~ProbeServer() {
  if (server_ == nullptr) return;
  server_->Shutdown(std::chrono::system_clock::now());
  server_->Wait();
}

void ProbeServer::SetNotServing() { health_->SetNotServing(); }

}  // namespace liaison
