// The privacy service as the runtime runs it: store, logic, handler and the
// pool its writes wait on, wired once for main.cc and the in-process tests.
#ifndef LIAISON_SERVICES_PRIVACY_PRIVACY_MODULE_H_
#define LIAISON_SERVICES_PRIVACY_PRIVACY_MODULE_H_

#include <vector>

#include "common/server.h"
#include "common/worker_pool.h"
#include "services/privacy/privacy_handler.h"
#include "services/privacy/privacy_logic.h"
#include "services/privacy/privacy_store.h"

namespace liaison::privacy {

inline constexpr int kDefaultGrpcPort = 50054;
inline constexpr int kDefaultMetricsPort = 9104;

class PrivacyModule final : public ServiceModule {
 public:
  // deps.store must have been opened with PrivacyStore::Families().
  explicit PrivacyModule(const ServiceDeps& deps);

  std::vector<ServiceEntry> services() override;

 private:
  PrivacyStore store_;
  PrivacyLogic logic_;
  WorkerPool writers_;
  PrivacyHandler handler_;
};

// For RunService.
ServiceSpec PrivacyServiceSpec();

}  // namespace liaison::privacy

#endif  // LIAISON_SERVICES_PRIVACY_PRIVACY_MODULE_H_
