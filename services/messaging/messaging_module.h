// The messaging service as the runtime runs it: store, logic, handler,
// writer pool, channels to identity, privacy and credits, and the outbox
// loop that finishes InMail sagas a crash or an outage left half done (at
// start-up, then every outbox interval), and the read model with the two
// feed followers (identity's, privacy's) that keep it current.
#ifndef LIAISON_SERVICES_MESSAGING_MESSAGING_MODULE_H_
#define LIAISON_SERVICES_MESSAGING_MESSAGING_MODULE_H_

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "common/client.h"
#include "common/feed_follower.h"
#include "common/server.h"
#include "common/shard_router.h"
#include "common/worker_pool.h"
#include "liaison/messaging/shard/v1/messaging_shard.grpc.pb.h"
#include "services/messaging/deliveries.h"
#include "services/messaging/event_hub.h"
#include "services/messaging/messaging_handler.h"
#include "services/messaging/messaging_logic.h"
#include "services/messaging/messaging_shard_handler.h"
#include "services/messaging/messaging_store.h"
#include "services/messaging/rate_limits.h"
#include "services/messaging/read_model.h"

namespace liaison::messaging {

inline constexpr int kDefaultGrpcPort = 50052;
inline constexpr int kDefaultMetricsPort = 9102;

struct MessagingServiceConfig {
  std::string identity_address = "127.0.0.1:50051";
  std::string privacy_address = "127.0.0.1:50054";
  std::string credits_address = "127.0.0.1:50053";
  bool premium_to_premium_inmail_override = false;
  double outbox_interval_seconds = 1;
  RateLimitConfig limits;
  StreamLimits streams;
  // Entries the read model holds at most (0: none, every send asks).
  size_t read_model_entries = ReadModelOptions::kDefaultEntries;
};

class MessagingModule final : public ServiceModule {
 public:
  // A channel per shard of each dependency (common/shard_router.h), and of
  // messaging itself when the map shards it (`shards`).
  MessagingModule(const ServiceDeps& deps, const MessagingServiceConfig& config,
                  ShardChannels identity, ShardChannels privacy, ShardChannels credits,
                  ShardChannels shards);
  ~MessagingModule() override;

  std::vector<ServiceEntry> services() override;
  void Draining() override;
  void Stop() override;

  // One pass over the outbox; returns how many records were finished.
  int DrainOutbox();

 private:
  // Sends a delivery to shard `shard` (the delivery thread: blocking).
  absl::Status SendDeliveries(size_t shard,
                              const std::vector<DeliveryOutbox::Sequenced>& deliveries);

  MessagingStore store_;
  const ShardIdentity* shard_;
  const bool sharded_;
  ServiceTokenSource tokens_;
  // Messaging's own shards (one channel, unused, when it is not sharded):
  // deliveries to them, and calls forwarded to them.
  ShardChannels shard_channels_;
  ShardStubs<shard::v1::MessagingShardService> shard_stubs_;
  ShardStubs<v1::MessagingService> peers_;
  DeliveryOutbox deliveries_;  // idle when not sharded
  EventHub hub_;
  MessagingLogic logic_;
  RateLimiter limiter_;
  WorkerPool writers_;
  // Reads that can be long (an inbox walked, a page of messages, a stream's
  // replay), so they never hold a gRPC callback thread nor wait behind
  // fsync'ed writes. Destroyed (its queue drained) before the hub it reads for.
  WorkerPool readers_;
  ShardChannels identity_channels_;
  ShardStubs<identity::v1::IdentityService> identity_;
  ShardChannels privacy_channels_;
  ShardStubs<privacy::v1::PrivacyService> privacy_;
  ShardChannels credits_channels_;
  ShardStubs<credits::v1::CreditService> credits_;
  ReadModel model_;
  // Started from the feeds' heads (the model is in memory: no stored
  // cursor); stopped in Stop().
  std::vector<std::unique_ptr<FeedFollower>> identity_feeds_;  // one per identity shard
  std::vector<std::unique_ptr<FeedFollower>> privacy_feeds_;   // one per privacy shard
  MessagingHandler handler_;
  WorkerPool appliers_;  // deliveries from other shards
  MessagingShardHandler shard_handler_;
  absl::Notification stop_;
  std::thread outbox_loop_;

  // Identity or privacy shard `shard`'s feed.
  std::unique_ptr<FeedFollower> IdentityFollower(size_t shard, prometheus::Registry& registry);
  std::unique_ptr<FeedFollower> PrivacyFollower(size_t shard, prometheus::Registry& registry);
  // One follower per shard of `channels`, made by `make`.
  std::vector<std::unique_ptr<FeedFollower>> Followers(
      const ShardChannels& channels,
      std::unique_ptr<FeedFollower> (MessagingModule::*make)(size_t, prometheus::Registry&),
      prometheus::Registry& registry);
  Dependencies MakeDependencies();
  FeedFollower::Prepare StreamCredentials();
  // A Run body: applies `stream`'s changes to the model (Begin on the first
  // response of a stream from the head).
  template <typename Response>
  grpc::Status IntoModel(ModelFeed feed, size_t shard, FeedFollower* follower,
                         grpc::ClientContext* context,
                         grpc::ClientReaderInterface<Response>* stream,
                         std::optional<uint64_t> after);
  void ApplyChange(const identity::v1::Change& change, size_t shard) {
    model_.Apply(change, shard);
  }
  void ApplyChange(const privacy::v1::SettingsChange& change, size_t shard) {
    model_.Apply(change, shard);
  }
  FeedFollower::Rebuild ClearOnRebuild(ModelFeed feed, size_t shard = 0);
};

ServiceSpec MessagingServiceSpec(MessagingServiceConfig config);

}  // namespace liaison::messaging

#endif  // LIAISON_SERVICES_MESSAGING_MESSAGING_MODULE_H_
