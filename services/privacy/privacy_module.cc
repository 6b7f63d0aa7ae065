#include "services/privacy/privacy_module.h"

#include <memory>

namespace liaison::privacy {

PrivacyModule::PrivacyModule(const ServiceDeps& deps)
    : store_(deps.store),
      logic_(&store_, deps.metrics->registry()),
      // fsyncs from several threads are grouped by RocksDB into one.
      writers_(4),
      handler_(&logic_, deps.verifier, &writers_) {}

std::vector<ServiceEntry> PrivacyModule::services() {
  return {{&handler_, v1::PrivacyService::service_full_name()}};
}

ServiceSpec PrivacyServiceSpec() {
  return ServiceSpec{"privacy", PrivacyStore::Families(),
                     [](const ServiceDeps& deps) -> absl::StatusOr<std::unique_ptr<ServiceModule>> {
                       return std::make_unique<PrivacyModule>(deps);
                     }};
}

}  // namespace liaison::privacy
