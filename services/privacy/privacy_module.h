// The privacy service as the runtime runs it: store, logic, handler and the
// pool its writes wait on, wired once for main.cc and the in-process tests.
#ifndef LIAISON_SERVICES_PRIVACY_PRIVACY_MODULE_H_
#define LIAISON_SERVICES_PRIVACY_PRIVACY_MODULE_H_

#include <memory>
#include <vector>

#include "common/server.h"
#include "common/worker_pool.h"
#include "services/privacy/privacy_handler.h"
#include "services/privacy/privacy_logic.h"
#include "services/privacy/privacy_store.h"

namespace liaison::privacy {

inline constexpr int kDefaultGrpcPort = 50054;
inline constexpr int kDefaultMetricsPort = 9104;

struct PrivacyConfig {
  // How long the change feed keeps changes (--change-retention).
  absl::Duration change_retention = absl::Hours(24 * 7);
};

class PrivacyModule final : public ServiceModule {
 public:
  // deps.store must have been opened with PrivacyStore::Families() and
  // ChangeFeed::Family().
  // `peers`: a channel to each shard of privacy (common/shard_router.h).
  PrivacyModule(const ServiceDeps& deps, std::unique_ptr<ChangeFeed> feed, ShardChannels peers);

  std::vector<ServiceEntry> services() override;
  void Draining() override;
  void Stop() override;

 private:
  std::unique_ptr<ChangeFeed> feed_;
  ShardChannels peer_channels_;
  ShardStubs<v1::PrivacyService> peers_;
  PrivacyStore store_;
  PrivacyLogic logic_;
  WorkerPool writers_;
  WorkerPool readers_;  // feed streams read the store here
  PrivacyHandler handler_;
};

// For RunService.
ServiceSpec PrivacyServiceSpec(PrivacyConfig config = {});

}  // namespace liaison::privacy

#endif  // LIAISON_SERVICES_PRIVACY_PRIVACY_MODULE_H_
