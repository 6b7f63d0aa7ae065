// Where liaison-bench sends each messaging call, as a smart client does
// (DESIGN.md §8). With a shard map (--shard-map): each shard's own stubs,
// and a call sent to the shard that serves it (a member's mailbox and
// events on the member's shard, a 1:1 send at the pair's home, the lower
// member's shard; a group send at its creator's). Without one: the single
// --messaging address's stubs.
#ifndef LIAISON_TOOLS_BENCH_ROUTE_H_
#define LIAISON_TOOLS_BENCH_ROUTE_H_

#include <algorithm>
#include <memory>
#include <vector>

#include "common/shard_map.h"
#include "liaison/messaging/v1/messaging.grpc.pb.h"
#include "tools/bench/calls.h"
#include "tools/bench/scenarios.h"

namespace liaison::bench {

class MessagingRoute final {
 public:
  using Stub = messaging::v1::MessagingService::Stub;

  explicit MessagingRoute(const Target& t) : map_(t.map) {
    if (map_ == nullptr) {
      shards_.push_back(Stubs<messaging::v1::MessagingService>(t.messaging, t.connections));
      return;
    }
    for (size_t i = 0; i < map_->size(); ++i) {
      shards_.push_back(
          Stubs<messaging::v1::MessagingService>(map_->shard(i).messaging, t.connections));
    }
  }

  size_t ShardOf(MemberId member) const { return map_ == nullptr ? 0 : map_->ShardOf(member); }
  // Call `n`'s stub on `member`'s shard (the connections taken in turn).
  Stub* Member(MemberId member, uint64_t n) const {
    const auto& stubs = shards_[ShardOf(member)];
    return stubs[n % stubs.size()].get();
  }
  Stub* Pair(MemberId a, MemberId b, uint64_t n) const { return Member(std::min(a, b), n); }
  // A stub of shard 0 (which forwards what it does not serve).
  Stub* Any() const { return shards_[0][0].get(); }
  // Whether a pair lies as `placement` (any, same, across) asks.
  bool Placed(const std::string& placement, MemberId a, MemberId b) const {
    if (placement == "same") return ShardOf(a) == ShardOf(b);
    if (placement == "across") return ShardOf(a) != ShardOf(b);
    return true;
  }

 private:
  std::shared_ptr<const ShardMap> map_;
  std::vector<std::vector<std::unique_ptr<Stub>>> shards_;
};

}  // namespace liaison::bench

#endif  // LIAISON_TOOLS_BENCH_ROUTE_H_
