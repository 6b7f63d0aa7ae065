#include "services/identity/identity_module.h"

#include "common/status.h"

namespace liaison::identity {

IdentityModule::IdentityModule(const ServiceDeps& deps, const IdentityConfig& config,
                               std::shared_ptr<grpc::Channel> privacy)
    : store_(deps.store),
      logic_(&store_, deps.clock, deps.metrics->registry()),
      // fsyncs from several threads are grouped by RocksDB into one.
      writers_(4),
      readers_(4),
      privacy_channel_(std::move(privacy)),
      privacy_(privacy::v1::PrivacyService::NewStub(privacy_channel_)),
      tokens_("identity", *deps.signing_key, deps.token_clock),
      registrar_(&store_, privacy_.get(), &tokens_, &writers_, deps.metrics->registry(),
                 config.registration),
      handler_(&logic_, deps.verifier, &writers_, &readers_, privacy_.get(), &tokens_,
               &registrar_) {}

void IdentityModule::Stop() { registrar_.Stop(); }

std::vector<ServiceEntry> IdentityModule::services() {
  return {{&handler_, v1::IdentityService::service_full_name()}};
}

ServiceSpec IdentityServiceSpec(IdentityConfig config) {
  return ServiceSpec{
      "identity", IdentityStore::Families(),
      [config](const ServiceDeps& deps) -> absl::StatusOr<std::unique_ptr<ServiceModule>> {
        ASSIGN_OR_RETURN(auto channel,
                         NewChannel(config.privacy_address, *deps.config, deps.metrics));
        return std::make_unique<IdentityModule>(deps, config, std::move(channel));
      }};
}

}  // namespace liaison::identity
