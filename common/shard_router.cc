#include "common/shard_router.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/client.h"

namespace liaison {
namespace {

using grpc::experimental::InterceptionHookPoints;

class ShardHeader final : public grpc::experimental::Interceptor {
 public:
  explicit ShardHeader(const std::string* value) : value_(value) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      auto* metadata = methods->GetSendInitialMetadata();
      if (metadata->find(kShardHeader) == metadata->end()) {
        metadata->emplace(kShardHeader, *value_);
      }
    }
    methods->Proceed();
  }

 private:
  const std::string* value_;
};

class ShardHeaderFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit ShardHeaderFactory(std::string value) : value_(std::move(value)) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo*) override {
    return new ShardHeader(&value_);
  }

 private:
  const std::string value_;
};

}  // namespace

absl::StatusOr<ShardChannels> ShardChannels::Open(const ShardMap& map, absl::string_view service,
                                                  const std::string& fallback,
                                                  const ServerConfig& config, Metrics* metrics) {
  ShardChannels out;
  out.map_ = &map;
  out.sharded_ = map.epoch() > 0 && NamesService(map, service);
  if (!out.sharded_) {
    // One instance, where the flag says (none: a service that only
    // forwards to its own shards, and there is only this one).
    if (fallback.empty()) {
      out.channels_.push_back(nullptr);
      return out;
    }
    auto channel = NewChannel(fallback, config, metrics);
    if (!channel.ok()) return channel.status();
    out.channels_.push_back(*std::move(channel));
    return out;
  }
  if (auto status = map.CheckAddresses(service); !status.ok()) return status;
  for (size_t i = 0; i < map.size(); ++i) {
    auto channel = NewChannel(map.shard(i).Address(service), config, metrics);
    if (!channel.ok()) return channel.status();
    out.channels_.push_back(*std::move(channel));
  }
  return out;
}

void PrepareForward(const grpc::CallbackServerContext& incoming, const ShardIdentity& shard,
                    grpc::ClientContext* outgoing) {
  const auto& metadata = incoming.client_metadata();
  for (auto it = metadata.lower_bound("authorization"); it != metadata.end(); ++it) {
    if (it->first != "authorization") break;
    outgoing->AddMetadata("authorization", std::string(it->second.data(), it->second.size()));
  }
  outgoing->AddMetadata(kForwardedHeader, absl::StrCat(shard.index()));
  if (incoming.deadline() != std::chrono::system_clock::time_point::max()) {
    outgoing->set_deadline(incoming.deadline());
  }
}

void RelayShardHeader(const grpc::ClientContext& outgoing, grpc::CallbackServerContext* incoming) {
  const auto& metadata = outgoing.GetServerInitialMetadata();
  auto it = metadata.find(kShardHeader);
  if (it != metadata.end()) {
    incoming->AddInitialMetadata(kShardHeader, std::string(it->second.data(), it->second.size()));
  }
}

bool RefusedAsWrongShard(const grpc::ClientContext& context) {
  return context.GetServerTrailingMetadata().count(kWrongShardTrailer) > 0;
}

void RefuseWrongShard(grpc::CallbackServerContext* context, grpc::ServerUnaryReactor* reactor,
                      const ShardIdentity& shard, MemberId member) {
  RefuseWrongShard(context, reactor, shard, shard.CheckOwned(member));
}

void RefuseWrongShard(grpc::CallbackServerContext* context, grpc::ServerUnaryReactor* reactor,
                      const ShardIdentity& shard, const absl::Status& refusal) {
  context->AddTrailingMetadata(kWrongShardTrailer, absl::StrCat(shard.map().epoch()));
  reactor->Finish(ToGrpcStatus(refusal));
}

bool WasForwarded(const grpc::CallbackServerContext& context) {
  return context.client_metadata().count(kForwardedHeader) > 0;
}

std::vector<std::vector<int>> SplitByShard(const ShardMap& map,
                                           const std::vector<MemberId>& members) {
  std::vector<std::vector<int>> parts(map.size());
  for (size_t i = 0; i < members.size(); ++i) {
    parts[map.ShardOf(members[i])].push_back(static_cast<int>(i));
  }
  return parts;
}

bool PlanBatch(grpc::CallbackServerContext* context, grpc::ServerUnaryReactor* reactor,
               const ShardIdentity& shard, const std::vector<MemberId>& members,
               std::vector<std::vector<int>>* parts, std::vector<size_t>* shards) {
  *parts = SplitByShard(shard.map(), members);
  shards->clear();
  for (size_t i = 0; i < parts->size(); ++i) {
    if (!(*parts)[i].empty()) shards->push_back(i);
  }
  if (shards->size() == 1 && shards->front() == shard.index()) {
    shards->clear();
    return true;
  }
  if (WasForwarded(*context)) {
    for (MemberId member : members) {
      if (!shard.Owns(member)) {
        RefuseWrongShard(context, reactor, shard, member);
        return false;
      }
    }
  }
  return true;
}

void ScatterCalls(
    const grpc::CallbackServerContext& incoming, const ShardIdentity& shard,
    const std::vector<size_t>& shards,
    std::function<void(size_t, grpc::ClientContext*, std::function<void(grpc::Status)>)> call,
    std::function<void(grpc::Status)> done) {
  struct Gather {
    absl::Mutex mu;
    size_t pending;
    grpc::Status first_failure;
    std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
    std::function<void(grpc::Status)> done;
  };
  if (shards.empty()) {
    done(grpc::Status::OK);
    return;
  }
  auto gather = std::make_shared<Gather>();
  gather->pending = shards.size();
  for (size_t i = 0; i < shards.size(); ++i) {
    gather->contexts.push_back(std::make_unique<grpc::ClientContext>());
  }
  gather->done = std::move(done);
  for (size_t i = 0; i < shards.size(); ++i) {
    PrepareForward(incoming, shard, gather->contexts[i].get());
    call(shards[i], gather->contexts[i].get(), [gather](grpc::Status status) {
      bool last = false;
      {
        absl::MutexLock lock(&gather->mu);
        if (!status.ok() && gather->first_failure.ok()) gather->first_failure = status;
        last = --gather->pending == 0;
      }
      if (last) gather->done(gather->first_failure);
    });
  }
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> ShardHeaderInterceptor(
    const ShardIdentity& shard) {
  return std::make_unique<ShardHeaderFactory>(
      absl::StrCat(shard.index(), "/", shard.map().epoch()));
}

}  // namespace liaison
