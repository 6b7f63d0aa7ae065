// Routing by member id (DESIGN.md §8): one channel per shard of a service,
// the member's shard from the shard map, and forwarding a call that reached
// a shard that does not own its member to the owner, once.
//
// Every response of a service started with a shard map says which shard
// served it in the `liaison-shard` header ("<index>/<epoch>"); a smart
// client learns the map from it. A forwarded call carries
// `liaison-forwarded` and is never forwarded again: a shard that receives
// one for a member it does not own answers FAILED_PRECONDITION naming the
// epoch (the two shards read different maps).
#ifndef LIAISON_COMMON_SHARD_ROUTER_H_
#define LIAISON_COMMON_SHARD_ROUTER_H_

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>
#include <grpcpp/support/server_interceptor.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/config.h"
#include "common/metrics.h"
#include "common/shard_map.h"
#include "common/status.h"

namespace liaison {

inline constexpr char kShardHeader[] = "liaison-shard";
inline constexpr char kForwardedHeader[] = "liaison-forwarded";
// Trailer of a call refused because this shard does not own its member (the
// value: the epoch of this shard's map). Such a FAILED_PRECONDITION says
// nothing about the member's data: callers retry, as after UNAVAILABLE.
inline constexpr char kWrongShardTrailer[] = "liaison-wrong-shard";

// Whether a finished outgoing call was refused by a shard not owning its
// member (kWrongShardTrailer).
bool RefusedAsWrongShard(const grpc::ClientContext& context);
// Refuses `reactor`'s call as `shard` not owning `member`.
void RefuseWrongShard(grpc::CallbackServerContext* context, grpc::ServerUnaryReactor* reactor,
                      const ShardIdentity& shard, MemberId member);
// The same with the refusal given (a FAILED_PRECONDITION naming the epoch).
void RefuseWrongShard(grpc::CallbackServerContext* context, grpc::ServerUnaryReactor* reactor,
                      const ShardIdentity& shard, const absl::Status& refusal);

// One channel per shard of `service`. With the one-shard map of a process
// started without a map file, or a map that names no address for `service`
// (a service that is not sharded), there is one channel, to `fallback` (the
// service's --<service>-address flag); otherwise one per shard of the map.
class ShardChannels final {
 public:
  static absl::StatusOr<ShardChannels> Open(const ShardMap& map, absl::string_view service,
                                            const std::string& fallback, const ServerConfig& config,
                                            Metrics* metrics);

  size_t size() const { return channels_.size(); }
  const std::shared_ptr<grpc::Channel>& At(size_t shard) const { return channels_[shard]; }
  size_t ShardOf(MemberId member) const { return sharded_ ? map_->ShardOf(member) : 0; }
  const std::shared_ptr<grpc::Channel>& For(MemberId member) const {
    return channels_[ShardOf(member)];
  }
  // The map the channels follow; null when there is one channel.
  const ShardMap* map() const { return sharded_ ? map_ : nullptr; }

 private:
  const ShardMap* map_ = nullptr;
  bool sharded_ = false;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
};

// One stub per shard of a gRPC service, e.g. ShardStubs<PrivacyService>.
template <typename Service>
class ShardStubs final {
 public:
  using Stub = typename Service::Stub;

  // `channels` must outlive this.
  explicit ShardStubs(const ShardChannels& channels) : channels_(&channels) {
    for (size_t i = 0; i < channels.size(); ++i) {
      stubs_.push_back(channels.At(i) == nullptr ? nullptr : Service::NewStub(channels.At(i)));
    }
  }

  size_t size() const { return stubs_.size(); }
  Stub* At(size_t shard) const { return stubs_[shard].get(); }
  Stub* For(MemberId member) const { return stubs_[channels_->ShardOf(member)].get(); }
  size_t ShardOf(MemberId member) const { return channels_->ShardOf(member); }

 private:
  const ShardChannels* channels_;
  std::vector<std::unique_ptr<Stub>> stubs_;
};

// Prepares the outgoing half of a forwarded call: the caller's
// authorization, the call's deadline, the forwarded mark.
void PrepareForward(const grpc::CallbackServerContext& incoming, const ShardIdentity& shard,
                    grpc::ClientContext* outgoing);
// Copies the owner's liaison-shard header onto the incoming call.
void RelayShardHeader(const grpc::ClientContext& outgoing, grpc::CallbackServerContext* incoming);
// Whether the incoming call was forwarded by another shard.
bool WasForwarded(const grpc::CallbackServerContext& context);

// Forwards unary calls of `Service` to the shard that owns their member.
template <typename Service>
class ShardForwarder final {
 public:
  using Stub = typename Service::Stub;

  ShardForwarder(const ShardIdentity* shard, const ShardStubs<Service>* peers)
      : shard_(shard), peers_(peers) {}

  // True when `member`'s owner is another shard: the call was forwarded
  // there and `reactor` finishes with its answer (or, for a call already
  // forwarded once, refused with FAILED_PRECONDITION). False: serve it
  // here. `call` is `void(Stub*, grpc::ClientContext*, std::function<void(grpc::Status)>)`
  // and fills the response the incoming call answers with.
  template <typename Call>
  bool Forward(grpc::CallbackServerContext* context, grpc::ServerUnaryReactor* reactor,
               MemberId member, Call call) const {
    if (shard_ == nullptr || shard_->Owns(member)) return false;
    if (WasForwarded(*context)) {
      RefuseWrongShard(context, reactor, *shard_, member);
      return true;
    }
    Send(context, reactor, shard_->map().ShardOf(member), std::move(call));
    return true;
  }
  // The same for a call that belongs to shard `owner` (not a member's: a
  // conversation's home); `refusal` is the FAILED_PRECONDITION for one
  // already forwarded.
  template <typename Call, typename Refusal>
  bool ForwardTo(grpc::CallbackServerContext* context, grpc::ServerUnaryReactor* reactor,
                 size_t owner, Refusal refusal, Call call) const {
    if (shard_ == nullptr || owner == shard_->index()) return false;
    if (WasForwarded(*context)) {
      RefuseWrongShard(context, reactor, *shard_, refusal());
      return true;
    }
    Send(context, reactor, owner, std::move(call));
    return true;
  }

  const ShardIdentity* shard() const { return shard_; }

 private:
  template <typename Call>
  void Send(grpc::CallbackServerContext* context, grpc::ServerUnaryReactor* reactor, size_t owner,
            Call call) const {
    auto outgoing = std::make_shared<grpc::ClientContext>();
    PrepareForward(*context, *shard_, outgoing.get());
    call(peers_->At(owner), outgoing.get(), [context, reactor, outgoing](grpc::Status status) {
      RelayShardHeader(*outgoing, context);
      reactor->Finish(status);
    });
  }

  const ShardIdentity* shard_;
  const ShardStubs<Service>* peers_;
};

// A batch call's members by owning shard: for each shard, the positions in
// `members` of those it owns (empty for a shard that owns none).
std::vector<std::vector<int>> SplitByShard(const ShardMap& map,
                                           const std::vector<MemberId>& members);

// One call per shard in `shards`, all at once, each prepared as a forwarded
// call of `incoming`; `done` gets OK once all answered OK, else the first
// failure. `call(shard, context, on_done)` starts shard's call.
void ScatterCalls(
    const grpc::CallbackServerContext& incoming, const ShardIdentity& shard,
    const std::vector<size_t>& shards,
    std::function<void(size_t, grpc::ClientContext*, std::function<void(grpc::Status)>)> call,
    std::function<void(grpc::Status)> done);

// Plans a batch call naming `members`: `parts` gets each shard's positions
// (SplitByShard) and `shards` the shards to ask, empty when this shard owns
// them all (serve it here). A forwarded batch naming a member this shard
// does not own is refused: `reactor` is finished and false returned.
bool PlanBatch(grpc::CallbackServerContext* context, grpc::ServerUnaryReactor* reactor,
               const ShardIdentity& shard, const std::vector<MemberId>& members,
               std::vector<std::vector<int>>* parts, std::vector<size_t>* shards);

// Splits a batch call (a request with `repeated string member_ids`) among
// the shards PlanBatch named: each gets a copy of `request` holding only
// its members. `start(shard, context, request, response, on_done)` makes a
// shard's call; `done(status, parts, responses)` runs once all answered,
// with responses[shard] in the order of parts[shard].
template <typename Request, typename Response, typename Start, typename Done>
void SplitBatchCall(const grpc::CallbackServerContext& incoming, const ShardIdentity& shard,
                    const Request& request, std::vector<std::vector<int>> parts,
                    const std::vector<size_t>& shards, Start start, Done done) {
  struct Split {
    std::vector<std::vector<int>> parts;
    std::vector<Request> requests;
    std::vector<Response> responses;
  };
  auto split = std::make_shared<Split>();
  split->requests.resize(parts.size());
  split->responses.resize(parts.size());
  for (size_t s : shards) {
    split->requests[s] = request;
    split->requests[s].clear_member_ids();
    for (int i : parts[s]) split->requests[s].add_member_ids(request.member_ids(i));
  }
  split->parts = std::move(parts);
  ScatterCalls(
      incoming, shard, shards,
      [split, start = std::move(start)](size_t s, grpc::ClientContext* context,
                                        std::function<void(grpc::Status)> on_done) {
        start(s, context, &split->requests[s], &split->responses[s], std::move(on_done));
      },
      [split, done = std::move(done)](grpc::Status status) {
        done(status, split->parts, split->responses);
      });
}

// Adds `liaison-shard: <index>/<epoch>` to every response this server sends
// (unless a forwarded call already relays the owner's).
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> ShardHeaderInterceptor(
    const ShardIdentity& shard);

}  // namespace liaison

#endif  // LIAISON_COMMON_SHARD_ROUTER_H_
