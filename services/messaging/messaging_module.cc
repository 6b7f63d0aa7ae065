#include "services/messaging/messaging_module.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/status.h"

namespace liaison::messaging {
namespace {

// A feed per shard, told apart in metrics when there are several.
std::string FeedName(const char* service, const ShardChannels& channels, size_t shard) {
  return channels.size() == 1 ? std::string(service) : absl::StrCat(service, "-", shard);
}

// A member id this service wrote itself; 0 (shard 0, which forwards) if not.
MemberId ParseMemberIdOr0(const std::string& id) {
  auto member = ParseMemberId(id, "member_id");
  return member.ok() ? *member : 0;
}

}  // namespace

std::unique_ptr<FeedFollower> MessagingModule::IdentityFollower(size_t shard,
                                                                prometheus::Registry& registry) {
  auto run = [this, shard](grpc::ClientContext* context, std::optional<uint64_t> after) {
    identity::v1::WatchChangesRequest request;
    if (after.has_value()) request.set_after_cursor(*after);
    for (auto kind : {identity::v1::CHANGE_KIND_MEMBER, identity::v1::CHANGE_KIND_TIER,
                      identity::v1::CHANGE_KIND_CONNECTION, identity::v1::CHANGE_KIND_BLOCK}) {
      request.add_kinds(kind);
    }
    auto reader = identity_.At(shard)->WatchChanges(context, request);
    return IntoModel<identity::v1::WatchChangesResponse>(
        ModelFeed::kIdentity, shard, identity_feeds_[shard].get(), context, reader.get(), after);
  };
  return std::make_unique<FeedFollower>(
      FeedFollowerOptions{FeedName("identity", identity_channels_, shard), "messaging"},
      std::nullopt, StreamCredentials(), std::move(run),
      ClearOnRebuild(ModelFeed::kIdentity, shard), registry);
}

std::unique_ptr<FeedFollower> MessagingModule::PrivacyFollower(size_t shard,
                                                               prometheus::Registry& registry) {
  auto run = [this, shard](grpc::ClientContext* context, std::optional<uint64_t> after) {
    privacy::v1::WatchChangesRequest request;
    if (after.has_value()) request.set_after_cursor(*after);
    auto reader = privacy_.At(shard)->WatchChanges(context, request);
    return IntoModel<privacy::v1::WatchChangesResponse>(
        ModelFeed::kPrivacy, shard, privacy_feeds_[shard].get(), context, reader.get(), after);
  };
  return std::make_unique<FeedFollower>(
      FeedFollowerOptions{FeedName("privacy", privacy_channels_, shard), "messaging"}, std::nullopt,
      StreamCredentials(), std::move(run), ClearOnRebuild(ModelFeed::kPrivacy, shard), registry);
}

std::vector<std::unique_ptr<FeedFollower>> MessagingModule::Followers(
    const ShardChannels& channels,
    std::unique_ptr<FeedFollower> (MessagingModule::*make)(size_t, prometheus::Registry&),
    prometheus::Registry& registry) {
  std::vector<std::unique_ptr<FeedFollower>> followers;
  for (size_t shard = 0; shard < channels.size(); ++shard) {
    followers.push_back((this->*make)(shard, registry));
  }
  return followers;
}

Dependencies MessagingModule::MakeDependencies() {
  Dependencies deps{&identity_, &privacy_, &credits_, &tokens_, &model_, {}, {}};
  if (sharded_) {
    deps.shard = shard_;
    deps.peers = &peers_;
    deps.shard_peers = &shard_stubs_;
    deps.deliveries = &deliveries_;
  }
  for (const auto& follower : identity_feeds_) deps.identity_feeds.push_back(follower.get());
  for (const auto& follower : privacy_feeds_) deps.privacy_feeds.push_back(follower.get());
  return deps;
}

template <typename Response>
grpc::Status MessagingModule::IntoModel(ModelFeed feed, size_t shard, FeedFollower* follower,
                                        grpc::ClientContext* context,
                                        grpc::ClientReaderInterface<Response>* stream,
                                        std::optional<uint64_t> after) {
  bool first = !after.has_value();
  return follower->Follow<Response>(context, stream, [&](const Response& response) {
    // From the head: every change after the first response's cursor follows.
    if (first) model_.Begin(feed, response.cursor(), shard);
    first = false;
    for (const auto& change : response.changes()) ApplyChange(change, shard);
    return absl::OkStatus();
  });
}

// The feed no longer holds the cursor: forget what it said, follow from the
// head; the answers messaging asks for fill the model again.
FeedFollower::Rebuild MessagingModule::ClearOnRebuild(ModelFeed feed, size_t shard) {
  return [this, feed, shard]() -> absl::StatusOr<std::optional<uint64_t>> {
    model_.Clear(feed, shard);
    return std::nullopt;
  };
}

// A fresh token for every (re)connect, and no deadline: the stream stays open.
FeedFollower::Prepare MessagingModule::StreamCredentials() {
  return [this](grpc::ClientContext* context) {
    context->AddMetadata("authorization", "Bearer " + tokens_.Token());
  };
}

MessagingModule::MessagingModule(const ServiceDeps& deps, const MessagingServiceConfig& config,
                                 ShardChannels identity, ShardChannels privacy,
                                 ShardChannels credits, ShardChannels shards)
    : store_(deps.store),
      shard_(deps.shard),
      sharded_(shards.map() != nullptr),
      tokens_("messaging", *deps.signing_key, deps.token_clock),
      shard_channels_(std::move(shards)),
      shard_stubs_(shard_channels_),
      peers_(shard_channels_),
      deliveries_(
          &store_, deps.shard,
          [this](size_t shard, const std::vector<DeliveryOutbox::Sequenced>& deliveries) {
            return SendDeliveries(shard, deliveries);
          },
          deps.metrics->registry(), sharded_),
      hub_(&store_, config.streams, &readers_),
      logic_(&store_, deps.clock, MessagingConfig{config.premium_to_premium_inmail_override},
             deps.metrics->registry(), &hub_, sharded_ ? &deliveries_ : nullptr),
      limiter_(config.limits, deps.clock),
      // A writer mostly waits on its group's fsync: more of them make
      // RocksDB's commit groups larger (send-message at 64 in flight, small
      // graph: 4,323/s with 8, 4,700-4,900/s with 16 at the same p99; 32
      // gave 5,032/s but tripled p99).
      writers_(16),
      readers_(4),
      identity_channels_(std::move(identity)),
      identity_(identity_channels_),
      privacy_channels_(std::move(privacy)),
      privacy_(privacy_channels_),
      credits_channels_(std::move(credits)),
      credits_(credits_channels_),
      model_(ReadModelOptions{config.read_model_entries, ReadModelOptions{}.recent_changes,
                              identity_channels_.map(), privacy_channels_.map()},
             deps.metrics->registry()),
      identity_feeds_(Followers(identity_channels_, &MessagingModule::IdentityFollower,
                                deps.metrics->registry())),
      privacy_feeds_(Followers(privacy_channels_, &MessagingModule::PrivacyFollower,
                               deps.metrics->registry())),
      handler_(&logic_, deps.verifier, &writers_, &readers_, &hub_, &limiter_, MakeDependencies()),
      appliers_(4),
      shard_handler_(&logic_, deps.verifier, &appliers_),
      outbox_loop_([this, interval = absl::Seconds(config.outbox_interval_seconds)] {
        do {
          DrainOutbox();
        } while (!stop_.WaitForNotificationWithTimeout(interval));
      }) {
  for (auto& follower : identity_feeds_) follower->Start();
  for (auto& follower : privacy_feeds_) follower->Start();
}

MessagingModule::~MessagingModule() { Stop(); }

// Open streams would hold the drain to its deadline: end them first; clients
// reconnect (elsewhere) with their last cursor.
void MessagingModule::Draining() {
  hub_.CloseAll();
  handler_.CloseRelays();
}

void MessagingModule::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  deliveries_.Stop();
  if (outbox_loop_.joinable()) outbox_loop_.join();
  for (auto& follower : identity_feeds_) follower->Stop();
  for (auto& follower : privacy_feeds_) follower->Stop();
}

std::vector<ServiceEntry> MessagingModule::services() {
  return {{&handler_, v1::MessagingService::service_full_name()},
          {&shard_handler_, shard::v1::MessagingShardService::service_full_name()}};
}

absl::Status MessagingModule::SendDeliveries(
    size_t shard, const std::vector<DeliveryOutbox::Sequenced>& deliveries) {
  shard::v1::ApplyDeliveriesRequest request;
  request.set_source_shard(static_cast<uint32_t>(shard_->index()));
  for (const auto& [sequence, delivery] : deliveries) {
    auto* sequenced = request.add_deliveries();
    sequenced->set_sequence(sequence);
    *sequenced->mutable_delivery() = delivery;
  }
  shard::v1::ApplyDeliveriesResponse response;
  grpc::ClientContext context;
  tokens_.Prepare(&context, absl::Seconds(5));
  grpc::Status status = shard_stubs_.At(shard)->ApplyDeliveries(&context, request, &response);
  // The other shard reads another map: try again later, as when it is down.
  if (RefusedAsWrongShard(context)) return absl::UnavailableError(status.error_message());
  return FromGrpcStatus(status);
}

int MessagingModule::DrainOutbox() {
  auto pending = store_.PendingOutbox(200);
  if (!pending.ok()) {
    LogError("outbox_scan_failed", {{"error", pending.status().ToString()}});
    return 0;
  }
  int finished = 0;
  for (const auto& record : *pending) {
    // A background thread: blocking calls are fine here.
    grpc::ClientContext context;
    tokens_.Prepare(&context, absl::Seconds(2));
    grpc::Status status;
    absl::Status applied;
    if (record.action() == storage::v1::OutboxRecord::ACTION_COMMIT_HOLD) {
      credits::v1::CommitHoldRequest request;
      request.set_member_id(record.member_id());
      request.set_inmail_id(record.inmail_id());
      credits::v1::CommitHoldResponse response;
      status = credits_.For(ParseMemberIdOr0(record.member_id()))
                   ->CommitHold(&context, request, &response);
      if (status.ok()) {
        applied = logic_.Deliver(record.inmail_id());
      } else if ((status.error_code() == grpc::StatusCode::FAILED_PRECONDITION &&
                  !RefusedAsWrongShard(context)) ||
                 status.error_code() == grpc::StatusCode::NOT_FOUND) {
        applied = logic_.Abandon(record.inmail_id());
        LogWarn("inmail_not_sent",
                {{"inmail_id", record.inmail_id()}, {"reason", status.error_message()}});
      } else {
        continue;  // credits is unavailable: next pass
      }
    } else {
      credits::v1::RefundInMailRequest request;
      request.set_member_id(record.member_id());
      request.set_inmail_id(record.inmail_id());
      credits::v1::RefundInMailResponse response;
      status = credits_.For(ParseMemberIdOr0(record.member_id()))
                   ->RefundInMail(&context, request, &response);
      const auto code = status.error_code();
      if (code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED ||
          RefusedAsWrongShard(context)) {
        continue;
      }
      if (!status.ok()) {
        LogError("inmail_refund_refused",
                 {{"inmail_id", record.inmail_id()}, {"reason", status.error_message()}});
      }
      applied = logic_.ClearOutbox(record.inmail_id());
    }
    if (applied.ok()) {
      ++finished;
    } else {
      LogError("outbox_apply_failed",
               {{"inmail_id", record.inmail_id()}, {"error", applied.ToString()}});
    }
  }
  if (finished > 0) LogInfo("outbox_finished", {{"count", finished}});
  return finished;
}

ServiceSpec MessagingServiceSpec(MessagingServiceConfig config) {
  return ServiceSpec{
      "messaging", MessagingStore::Families(),
      [config](const ServiceDeps& deps) -> absl::StatusOr<std::unique_ptr<ServiceModule>> {
        ASSIGN_OR_RETURN(size_t moved, MessagingStore::UpgradeLayout(deps.store));
        if (moved > 0) LogInfo("store_layout_upgraded", {{"records", static_cast<int64_t>(moved)}});
        ASSIGN_OR_RETURN(auto identity,
                         ShardChannels::Open(*deps.map, "identity", config.identity_address,
                                             *deps.config, deps.metrics));
        ASSIGN_OR_RETURN(auto privacy,
                         ShardChannels::Open(*deps.map, "privacy", config.privacy_address,
                                             *deps.config, deps.metrics));
        ASSIGN_OR_RETURN(auto credits,
                         ShardChannels::Open(*deps.map, "credits", config.credits_address,
                                             *deps.config, deps.metrics));
        ASSIGN_OR_RETURN(auto shards, ShardChannels::Open(*deps.map, "messaging", "", *deps.config,
                                                          deps.metrics));
        return std::make_unique<MessagingModule>(deps, config, std::move(identity),
                                                 std::move(privacy), std::move(credits),
                                                 std::move(shards));
      }};
}

}  // namespace liaison::messaging
