// The identity service as the runtime runs it: store, logic, handler, the
// writer pool, the channel to the privacy service, and the registrar that
// tells privacy which members exist (its loop runs from start to Stop).
#ifndef LIAISON_SERVICES_IDENTITY_IDENTITY_MODULE_H_
#define LIAISON_SERVICES_IDENTITY_IDENTITY_MODULE_H_

#include <memory>
#include <string>
#include <vector>

#include "common/client.h"
#include "common/server.h"
#include "common/worker_pool.h"
#include "services/identity/identity_handler.h"
#include "services/identity/identity_logic.h"
#include "services/identity/identity_peers.h"
#include "services/identity/identity_shard_handler.h"
#include "services/identity/identity_store.h"
#include "services/identity/peer_outbox.h"
#include "services/identity/privacy_registrar.h"

namespace liaison::identity {

inline constexpr int kDefaultGrpcPort = 50051;
inline constexpr int kDefaultMetricsPort = 9101;

struct IdentityConfig {
  std::string privacy_address = "127.0.0.1:50054";
  // Timeouts and retry pauses of member registrations (not flags: tests
  // shorten them).
  RegistrarOptions registration;
  // How long the change feed keeps changes (--change-retention).
  absl::Duration change_retention = absl::Hours(24 * 7);
  // Delivery of two-member changes to other shards (not flags: tests
  // shorten them).
  PeerOutboxOptions peer_outbox;

  // The defaults, calling privacy at `address`.
  static IdentityConfig CallingPrivacy(std::string address) {
    IdentityConfig config;
    config.privacy_address = std::move(address);
    return config;
  }
};

class IdentityModule final : public ServiceModule {
 public:
  IdentityModule(const ServiceDeps& deps, const IdentityConfig& config,
                 std::shared_ptr<grpc::Channel> privacy, std::unique_ptr<ChangeFeed> feed,
                 ShardChannels shards);

  std::vector<ServiceEntry> services() override;
  void Draining() override;
  void Stop() override;

 private:
  std::unique_ptr<ChangeFeed> feed_;
  IdentityStore store_;
  ServiceTokenSource tokens_;
  // This service's shards (one: this process).
  ShardChannels shards_;
  ShardStubs<v1::IdentityService> shard_stubs_;
  IdentityPeers peers_;
  PeerOutbox outbox_;
  IdentityLogic logic_;
  WorkerPool writers_;
  WorkerPool readers_;
  // IdentityShardService's own (identity_shard_handler.h).
  WorkerPool peer_writes_;
  WorkerPool peer_reads_;
  std::shared_ptr<grpc::Channel> privacy_channel_;
  std::unique_ptr<privacy::v1::PrivacyService::Stub> privacy_;
  PrivacyRegistrar registrar_;
  IdentityHandler handler_;
  IdentityShardHandler shard_handler_;
};

ServiceSpec IdentityServiceSpec(IdentityConfig config);

}  // namespace liaison::identity

#endif  // LIAISON_SERVICES_IDENTITY_IDENTITY_MODULE_H_
