#include "services/privacy/privacy_module.h"

#include <memory>

#include "common/logging.h"
#include "common/status.h"

namespace liaison::privacy {

PrivacyModule::PrivacyModule(const ServiceDeps& deps, std::unique_ptr<ChangeFeed> feed,
                             ShardChannels peers)
    : feed_(std::move(feed)),
      peer_channels_(std::move(peers)),
      peers_(peer_channels_),
      store_(deps.store, feed_.get()),
      logic_(&store_, deps.metrics->registry()),
      // fsyncs from several threads are grouped by RocksDB into one.
      writers_(4),
      readers_(2),
      handler_(&logic_, deps.verifier, &writers_, &readers_, feed_.get(), deps.shard, &peers_) {}

std::vector<ServiceEntry> PrivacyModule::services() {
  return {{&handler_, v1::PrivacyService::service_full_name()}};
}

// Open feed streams would hold the drain to its deadline: end them first.
void PrivacyModule::Draining() { feed_->CloseAll(); }

void PrivacyModule::Stop() { feed_.reset(); }

ServiceSpec PrivacyServiceSpec(PrivacyConfig config) {
  return ServiceSpec{
      "privacy", PrivacyStore::Families(),
      [config](const ServiceDeps& deps) -> absl::StatusOr<std::unique_ptr<ServiceModule>> {
        ASSIGN_OR_RETURN(size_t moved, PrivacyStore::UpgradeLayout(deps.store));
        if (moved > 0) LogInfo("store_layout_upgraded", {{"records", static_cast<int64_t>(moved)}});
        ASSIGN_OR_RETURN(auto peers,
                         ShardChannels::Open(*deps.map, "privacy", "", *deps.config, deps.metrics));
        ChangeFeedOptions options;
        options.name = "privacy";
        options.retention = config.change_retention;
        ASSIGN_OR_RETURN(auto feed, ChangeFeed::Open(deps.store, deps.clock, std::move(options),
                                                     deps.metrics->registry()));
        return std::make_unique<PrivacyModule>(deps, std::move(feed), std::move(peers));
      }};
}

}  // namespace liaison::privacy
