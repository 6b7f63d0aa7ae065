#include "services/identity/identity_module.h"

#include "common/logging.h"
#include "common/status.h"

namespace liaison::identity {

IdentityModule::IdentityModule(const ServiceDeps& deps, const IdentityConfig& config,
                               std::shared_ptr<grpc::Channel> privacy,
                               std::unique_ptr<ChangeFeed> feed, ShardChannels shards)
    : feed_(std::move(feed)),
      store_(deps.store),
      tokens_("identity", *deps.signing_key, deps.token_clock),
      shards_(std::move(shards)),
      shard_stubs_(shards_),
      peers_(deps.shard, &shards_, &tokens_),
      outbox_(&store_, &peers_, deps.metrics->registry(), config.peer_outbox),
      logic_(&store_, deps.clock, deps.metrics->registry(), feed_.get(), &outbox_),
      // fsyncs from several threads are grouped by RocksDB into one.
      writers_(4),
      readers_(4),
      peer_writes_(2),
      peer_reads_(2),
      privacy_channel_(std::move(privacy)),
      privacy_(privacy::v1::PrivacyService::NewStub(privacy_channel_)),
      registrar_(&store_, privacy_.get(), &tokens_, &writers_, deps.metrics->registry(),
                 config.registration),
      handler_(&logic_, deps.verifier, &writers_, &readers_, privacy_.get(), &tokens_, &registrar_,
               feed_.get(), deps.shard, &shard_stubs_),
      shard_handler_(&logic_, deps.verifier, &peer_writes_, &peer_reads_) {}

// Open feed streams would hold the drain to its deadline: end them first;
// consumers resume from their cursor.
void IdentityModule::Draining() { feed_->CloseAll(); }

void IdentityModule::Stop() {
  registrar_.Stop();
  outbox_.Stop();
  feed_.reset();  // its pruning thread writes to the store
}

std::vector<ServiceEntry> IdentityModule::services() {
  return {{&handler_, v1::IdentityService::service_full_name()},
          {&shard_handler_, v1::IdentityShardService::service_full_name()}};
}

ServiceSpec IdentityServiceSpec(IdentityConfig config) {
  return ServiceSpec{
      "identity", IdentityStore::Families(),
      [config](const ServiceDeps& deps) -> absl::StatusOr<std::unique_ptr<ServiceModule>> {
        ASSIGN_OR_RETURN(size_t moved, IdentityStore::UpgradeLayout(deps.store));
        if (moved > 0) LogInfo("store_layout_upgraded", {{"records", static_cast<int64_t>(moved)}});
        ASSIGN_OR_RETURN(auto channel,
                         NewChannel(config.privacy_address, *deps.config, deps.metrics));
        ChangeFeedOptions options;
        options.name = "identity";
        options.retention = config.change_retention;
        ASSIGN_OR_RETURN(auto feed, ChangeFeed::Open(deps.store, deps.clock, std::move(options),
                                                     deps.metrics->registry()));
        ASSIGN_OR_RETURN(auto shards, ShardChannels::Open(*deps.map, "identity", "", *deps.config,
                                                          deps.metrics));
        return std::make_unique<IdentityModule>(deps, config, std::move(channel), std::move(feed),
                                                std::move(shards));
      }};
}

}  // namespace liaison::identity
