#include "services/credits/credit_module.h"

#include "common/logging.h"
#include "common/status.h"
#include "services/credits/credit_rules.h"

namespace liaison::credits {

CreditModule::CreditModule(const ServiceDeps& deps, CreditConfig logic_config,
                           absl::Duration sweep_interval, std::shared_ptr<grpc::Channel> identity,
                           std::shared_ptr<grpc::Channel> identity_feed, ShardChannels peers)
    : peer_channels_(std::move(peers)),
      peers_(peer_channels_),
      store_(deps.store),
      logic_(&store_, deps.clock, std::move(logic_config), deps.metrics->registry()),
      // Ledger writes wait for an fsync; RocksDB commits concurrent ones as a group.
      writers_(8),
      identity_channel_(std::move(identity)),
      identity_(identity::v1::IdentityService::NewStub(identity_channel_)),
      identity_feed_channel_(std::move(identity_feed)),
      identity_feed_(identity::v1::IdentityService::NewStub(identity_feed_channel_)),
      tokens_("credits", *deps.signing_key, deps.token_clock),
      tiers_(&logic_, &store_, identity_feed_.get(), &tokens_, deps.shard,
             deps.metrics->registry()),
      handler_(&logic_, deps.verifier, &writers_, identity_.get(), &tokens_, &tiers_, deps.shard,
               &peers_),
      sweeper_([this, sweep_interval] { SweepLoop(sweep_interval); }) {}

CreditModule::~CreditModule() { Stop(); }

absl::Status CreditModule::StartTierFeed() { return tiers_.Start(); }

void CreditModule::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (sweeper_.joinable()) sweeper_.join();
  tiers_.Stop();  // its stream writes to the store, which closes next
}

void CreditModule::SweepLoop(absl::Duration interval) {
  do {
    // Drain everything due, a batch at a time.
    while (true) {
      auto voided = logic_.SweepExpired(500);
      if (!voided.ok()) {
        LogError("hold_sweep_failed", {{"error", voided.status().ToString()}});
        break;
      }
      if (*voided > 0) LogInfo("expired_holds_voided", {{"count", *voided}});
      if (*voided < 500) break;
    }
  } while (!stop_.WaitForNotificationWithTimeout(interval));
}

std::vector<ServiceEntry> CreditModule::services() {
  return {{&handler_, v1::CreditService::service_full_name()}};
}

namespace {

// Where credits follows identity's tier changes: with identity sharded, the
// identity shard of this shard's index, which holds the same members (one
// map gives both services the same partitions); else --identity-address.
absl::StatusOr<std::string> IdentityFeedAddress(const ServiceDeps& deps,
                                                const CreditsConfig& config) {
  const ShardMap& map = *deps.map;
  if (map.size() == 1 || !NamesService(map, "identity")) return config.identity_address;
  if (!NamesService(map, "credits")) {
    return absl::FailedPreconditionError(absl::StrCat(
        "credits follows the identity feed of its own shard, and this shard map runs identity as ",
        map.size(), " shards but credits as one; name a \"credits\" address for every shard"));
  }
  RETURN_IF_ERROR(map.CheckAddresses("identity"));
  return map.shard(deps.shard->index()).identity;
}

}  // namespace

ServiceSpec CreditServiceSpec(CreditsConfig config) {
  return ServiceSpec{
      "credits", CreditStore::Families(),
      [config](const ServiceDeps& deps) -> absl::StatusOr<std::unique_ptr<ServiceModule>> {
        ASSIGN_OR_RETURN(std::string feed_address, IdentityFeedAddress(deps, config));
        ASSIGN_OR_RETURN(size_t moved, CreditStore::UpgradeLayout(deps.store));
        if (moved > 0) LogInfo("store_layout_upgraded", {{"records", static_cast<int64_t>(moved)}});
        ASSIGN_OR_RETURN(auto peers,
                         ShardChannels::Open(*deps.map, "credits", "", *deps.config, deps.metrics));
        CreditConfig logic_config;
        ASSIGN_OR_RETURN(logic_config.packs, ParsePacks(config.packs));
        logic_config.hold_timeout = absl::Seconds(config.hold_timeout_seconds);
        ASSIGN_OR_RETURN(auto channel,
                         NewChannel(config.identity_address, *deps.config, deps.metrics));
        std::shared_ptr<grpc::Channel> feed_channel = channel;
        if (feed_address != config.identity_address) {
          ASSIGN_OR_RETURN(feed_channel, NewChannel(feed_address, *deps.config, deps.metrics));
        }
        auto module = std::make_unique<CreditModule>(
            deps, std::move(logic_config), absl::Seconds(config.sweep_interval_seconds),
            std::move(channel), std::move(feed_channel), std::move(peers));
        RETURN_IF_ERROR(module->StartTierFeed());
        return std::unique_ptr<ServiceModule>(std::move(module));
      }};
}

}  // namespace liaison::credits
