// The credits service as the runtime runs it: store, logic, handler, the
// writer pool, the channel to identity, the tier feed that follows
// identity's change feed, and the sweeper that voids holds past their
// timeout (at start-up, then every sweep interval).
#ifndef LIAISON_SERVICES_CREDITS_CREDIT_MODULE_H_
#define LIAISON_SERVICES_CREDITS_CREDIT_MODULE_H_

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "common/client.h"
#include "common/server.h"
#include "common/worker_pool.h"
#include "services/credits/credit_handler.h"
#include "services/credits/credit_logic.h"
#include "services/credits/credit_store.h"
#include "services/credits/tier_feed.h"

namespace liaison::credits {

inline constexpr int kDefaultGrpcPort = 50053;
inline constexpr int kDefaultMetricsPort = 9103;

struct CreditsConfig {
  std::string identity_address = "127.0.0.1:50051";
  double hold_timeout_seconds = 60;
  double sweep_interval_seconds = 1;
  std::string packs = "5:1000,10:1900,25:4500,50:12000";
};

class CreditModule final : public ServiceModule {
 public:
  // `identity`: where reads ask (any identity shard: it forwards);
  // `identity_feed`: whose change feed the tier changes come from (this
  // shard's identity shard); `peers`: a channel to each shard of credits
  // (common/shard_router.h).
  CreditModule(const ServiceDeps& deps, CreditConfig logic_config, absl::Duration sweep_interval,
               std::shared_ptr<grpc::Channel> identity,
               std::shared_ptr<grpc::Channel> identity_feed, ShardChannels peers);
  ~CreditModule() override;

  // Starts following identity's change feed from the stored cursor.
  absl::Status StartTierFeed();

  std::vector<ServiceEntry> services() override;
  void Stop() override;

 private:
  void SweepLoop(absl::Duration interval);

  ShardChannels peer_channels_;
  ShardStubs<v1::CreditService> peers_;
  CreditStore store_;
  CreditLogic logic_;
  WorkerPool writers_;
  std::shared_ptr<grpc::Channel> identity_channel_;
  std::unique_ptr<identity::v1::IdentityService::Stub> identity_;
  std::shared_ptr<grpc::Channel> identity_feed_channel_;
  std::unique_ptr<identity::v1::IdentityService::Stub> identity_feed_;
  ServiceTokenSource tokens_;
  TierFeed tiers_;
  CreditHandler handler_;
  absl::Notification stop_;
  std::thread sweeper_;
};

ServiceSpec CreditServiceSpec(CreditsConfig config);

}  // namespace liaison::credits

#endif  // LIAISON_SERVICES_CREDITS_CREDIT_MODULE_H_
