// The scenarios of liaison-bench: what each one seeds, and the call it makes
// over and over. Every call goes through the callback API on a few shared
// channels (one connection each); tokens are minted once, up front.
#ifndef LIAISON_TOOLS_BENCH_SCENARIOS_H_
#define LIAISON_TOOLS_BENCH_SCENARIOS_H_

#include <grpcpp/channel.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/auth.h"
#include "common/shard_map.h"
#include "tools/bench/load.h"

namespace liaison::bench {

struct Target {
  std::string identity = "127.0.0.1:50051";
  std::string messaging = "127.0.0.1:50052";
  std::string credits = "127.0.0.1:50053";
  std::string echo;            // empty: start an echo server in this process
  std::string signing_key;     // the deployment's HS256 key (dev tokens)
  int connections = 4;         // channels (TCP connections) per service
  uint64_t graph_members = 0;  // members 1..N of a liaison-seed-graph graph
  int pairs = 64;              // send-message / stream-latency sender-recipient pairs
  int hubs = 2;                // list-inbox members
  int conversations = 10000;   // list-inbox conversations per hub
  int seed_concurrency = 32;   // calls in flight while seeding
  bool skip_seed = false;      // list-inbox: the hubs' inboxes are full already
  int blocks = 2000;           // block-to-refusal: pairs blocked in all
  // A shard map (--shard-map): messaging calls go to the shard that serves
  // them (route.h); null: everything to `messaging`.
  std::shared_ptr<const ShardMap> map;
  // send-message / stream-latency pairs, with a map: members on any shards,
  // on the same shard, or across two.
  std::string placement = "any";
  int group_size = 50;  // group-latency: the group's members, its sender included
};

// `n` channels to `address`, each its own connection.
std::vector<std::shared_ptr<grpc::Channel>> Channels(const std::string& address, int n);

// A scenario: Seed() once, then Issue() as often as the load loop asks.
class Scenario {
 public:
  virtual ~Scenario() = default;
  virtual absl::Status Seed() = 0;
  virtual void Issue(uint64_t n, Done done) = 0;
};

// echo, send-message, send-inmail, list-inbox, relationship. NotFound for an
// unknown name; InvalidArgument when a needed option is missing.
absl::StatusOr<std::unique_ptr<Scenario>> MakeScenario(const std::string& name,
                                                       const Target& target);

// stream-latency: send -> the recipient's StreamEvents, timed per message.
// Sends go out in an open loop at `options.rate`.
absl::StatusOr<Result> RunStreamLatency(const Target& target, const LoadOptions& options);

// group-latency: a group of `target.group_size` (the graph's top hub and
// its connections, on every shard); the hub sends into it in an open loop at
// `options.rate`, every other member listening on StreamEvents on their own
// shard. Each sample is one delivery (send started -> event read); counters
// give the time until the last member had each message (p50, p99) and
// deliveries expected and seen.
absl::StatusOr<Result> RunGroupLatency(const Target& target, const LoadOptions& options);

// block-to-refusal: for each of up to `target.blocks` fresh 1st-degree pairs
// (none that the other scenarios use), `options.concurrency` at a time: one
// send (OK), the recipient's BlockMember, then the sender's sends back to
// back until one is PERMISSION_DENIED. Each sample is the time from
// BlockMember's return to that refusal; counters say how many sends slipped
// through. Ends when the pairs or `options.duration_seconds` run out.
absl::StatusOr<Result> RunBlockToRefusal(const Target& target, const LoadOptions& options);

// A bare callback server answering grpc.health.v1.Health/Check: gRPC and
// nothing else, the ceiling of this machine. Serves until the process ends.
class EchoServer {
 public:
  virtual ~EchoServer() = default;
  virtual int port() const = 0;
  virtual void Wait() = 0;
};
absl::StatusOr<std::unique_ptr<EchoServer>> StartEchoServer(const std::string& address);

}  // namespace liaison::bench

#endif  // LIAISON_TOOLS_BENCH_SCENARIOS_H_
