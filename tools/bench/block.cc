// block-to-refusal: how long messaging keeps accepting a member's sends after
// the recipient's BlockMember has returned (messaging hears of the block on
// identity's change feed, so there is a window), timed per pair.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/status.h"
#include "liaison/identity/v1/identity.grpc.pb.h"
#include "liaison/messaging/v1/messaging.grpc.pb.h"
#include "tools/bench/calls.h"
#include "tools/bench/scenarios.h"
#include "tools/bench/seed.h"

namespace liaison::bench {
namespace {

using identity::v1::IdentityService;
using messaging::v1::MessagingService;

// A pair gives up on a refusal this long after its block returned.
constexpr auto kGiveUp = std::chrono::seconds(5);

struct Pair {
  MemberId sender, recipient;
  std::string sender_token, recipient_token;
};

// 1st-degree connections of the graph, no member in two pairs (a block
// removes the connection, so each pair is used once), and none of the
// members the other scenarios use: send-message's and stream-latency's pairs
// (Seeder::GraphPairs) and list-inbox's hubs. bench.sh runs the scenarios on
// one identity store, so the blocks must change nothing the others measure.
absl::StatusOr<std::vector<std::pair<MemberId, MemberId>>> FreshPairs(Seeder& seeder,
                                                                      const Target& t) {
  std::set<MemberId> used;
  ASSIGN_OR_RETURN(auto others, seeder.GraphPairs(t.graph_members, t.pairs));
  for (auto [a, b] : others) used.insert({a, b});
  for (int h = 0; h < t.hubs; ++h) used.insert(t.graph_members - h);

  const size_t candidates = std::min<uint64_t>(t.graph_members, 3 * t.blocks + 64);
  std::mt19937_64 rng(1212);  // not GraphPairs' seed
  std::vector<MemberId> senders(candidates);
  for (MemberId& m : senders) m = 1 + rng() % t.graph_members;
  std::vector<std::vector<MemberId>> connections(candidates);
  RETURN_IF_ERROR(ParallelFor(candidates, t.seed_concurrency, [&](size_t i) -> absl::Status {
    ASSIGN_OR_RETURN(connections[i], seeder.Connections(senders[i], 16));
    return absl::OkStatus();
  }));

  std::vector<std::pair<MemberId, MemberId>> out;
  for (size_t i = 0; i < candidates && static_cast<int>(out.size()) < t.blocks; ++i) {
    if (used.count(senders[i])) continue;
    for (MemberId b : connections[i]) {
      if (b == senders[i] || used.count(b)) continue;
      out.emplace_back(senders[i], b);
      used.insert({senders[i], b});
      break;
    }
  }
  if (out.empty()) return absl::FailedPreconditionError("the graph has no fresh connected pairs");
  return out;
}

// `concurrency` workers, each taking the next pair: a warm-up send, the
// recipient's BlockMember, then sends one after another until one is
// refused. Everything runs on gRPC's callback threads.
class BlockRun final {
 public:
  BlockRun(const Target& t, std::vector<Pair> pairs, SteadyClock::time_point end)
      : identity_(Stubs<IdentityService>(t.identity, t.connections)),
        messaging_(Stubs<MessagingService>(t.messaging, t.connections)),
        pairs_(std::move(pairs)),
        end_(end) {}

  // Starts `workers` and waits until every one has run out of pairs or time.
  void Run(int workers) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      active_ = workers;
    }
    for (int w = 0; w < workers; ++w) NextPair();
    std::unique_lock<std::mutex> lock(mu_);
    idle_.wait(lock, [this] { return active_ == 0; });
  }

  // Fills latencies, codes and counters.
  void Into(Result* result) {
    std::lock_guard<std::mutex> lock(mu_);
    std::sort(latencies_ns_.begin(), latencies_ns_.end());
    result->latencies_ns = latencies_ns_;
    result->codes = sends_.Codes();
    result->counters = {{"pairs", started_},
                        {"refused", static_cast<int64_t>(latencies_ns_.size())},
                        {"slipped_through", slipped_},
                        {"pairs_slipped", pairs_slipped_},
                        {"never_refused", never_refused_},
                        {"errors", errors_}};
  }

 private:
  void NextPair() {
    const size_t i = next_++;
    if (i >= pairs_.size() || SteadyClock::now() >= end_) {
      std::lock_guard<std::mutex> lock(mu_);
      if (--active_ == 0) idle_.notify_all();
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++started_;
    }
    Send(i, [this, i](grpc::StatusCode code) {
      if (code != grpc::StatusCode::OK) return Failed(code);
      Block(i);
    });
  }

  void Send(size_t i, Done done) {
    const Pair& pair = pairs_[i];
    const uint64_t n = sent_++;
    auto call = std::make_shared<
        Call<messaging::v1::SendMessageRequest, messaging::v1::SendMessageResponse>>();
    call->request.set_recipient_id(FormatMemberId(pair.recipient));
    call->request.set_body(absl::StrCat("Benchmark message ", n, " before and after a block."));
    call->request.set_client_message_id(absl::StrCat("block-", tag_, "-", n));
    auto* stub = messaging_[n % messaging_.size()].get();
    Async(
        pair.sender_token, call, [stub](auto... a) { stub->async()->SendMessage(a...); },
        std::move(done));
  }

  void Block(size_t i) {
    const Pair& pair = pairs_[i];
    auto call = std::make_shared<
        Call<identity::v1::BlockMemberRequest, identity::v1::BlockMemberResponse>>();
    call->request.set_member_id(FormatMemberId(pair.sender));
    auto* stub = identity_[i % identity_.size()].get();
    Async(
        pair.recipient_token, call, [stub](auto... a) { stub->async()->BlockMember(a...); },
        [this, i](grpc::StatusCode code) {
          if (code != grpc::StatusCode::OK) return Failed(code);
          Probe(i, SteadyClock::now(), 0);
        });
  }

  // One send after the block returned at `blocked`, `slipped` sends having
  // been accepted since; again until refused.
  void Probe(size_t i, SteadyClock::time_point blocked, int slipped) {
    Send(i, [this, i, blocked, slipped](grpc::StatusCode code) {
      const auto now = SteadyClock::now();
      sends_.Record(code, 0);
      if (code == grpc::StatusCode::PERMISSION_DENIED) {
        {
          std::lock_guard<std::mutex> lock(mu_);
          latencies_ns_.push_back(
              std::chrono::duration_cast<std::chrono::nanoseconds>(now - blocked).count());
          if (slipped > 0) ++pairs_slipped_;
        }
        return NextPair();
      }
      if (code != grpc::StatusCode::OK) return Failed(code);
      const bool give_up = now - blocked >= kGiveUp;
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++slipped_;
        if (give_up) ++never_refused_, ++pairs_slipped_;
      }
      if (give_up) return NextPair();
      Probe(i, blocked, slipped + 1);
    });
  }

  void Failed(grpc::StatusCode code) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++errors_;
      if (errors_ <= 5) std::cerr << "block-to-refusal: a call failed with code " << code << "\n";
    }
    NextPair();
  }

  std::vector<std::unique_ptr<IdentityService::Stub>> identity_;
  std::vector<std::unique_ptr<MessagingService::Stub>> messaging_;
  const std::vector<Pair> pairs_;
  const SteadyClock::time_point end_;
  const std::string tag_ = RunTag();
  std::atomic<size_t> next_{0};
  std::atomic<uint64_t> sent_{0};
  Recorder sends_;  // the sends after each block, for their status codes
  std::mutex mu_;
  std::condition_variable idle_;
  int active_ = 0;
  int64_t started_ = 0, slipped_ = 0, pairs_slipped_ = 0, never_refused_ = 0, errors_ = 0;
  std::vector<int64_t> latencies_ns_;
};

}  // namespace

absl::StatusOr<Result> RunBlockToRefusal(const Target& t, const LoadOptions& options) {
  if (t.graph_members == 0) return absl::InvalidArgumentError("give --graph-members");
  if (t.signing_key.empty()) return absl::InvalidArgumentError("give --signing-key-file");
  if (options.rate > 0) return absl::InvalidArgumentError("block-to-refusal takes -c, not -q");
  TokenMinter minter(t.signing_key, Clock::Real());
  auto identity = Stubs<IdentityService>(t.identity, 1);
  auto messaging = Stubs<MessagingService>(t.messaging, 1);
  Seeder seeder(identity[0].get(), messaging[0].get(),
                minter.MintService("bench", absl::Hours(2)).value(), &minter, t.seed_concurrency);
  std::cerr << "choosing " << t.blocks << " fresh pairs..." << std::endl;
  ASSIGN_OR_RETURN(auto chosen, FreshPairs(seeder, t));
  std::vector<Pair> pairs;
  for (auto [a, b] : chosen) {
    pairs.push_back({a, b, minter.MintMember(a, absl::Hours(2)).value(),
                     minter.MintMember(b, absl::Hours(2)).value()});
  }
  if (static_cast<int>(pairs.size()) < t.blocks) {
    std::cerr << "block-to-refusal: only " << pairs.size() << " fresh pairs" << std::endl;
  }

  // No separate warm-up: each pair's first send warms it (and is not timed).
  const auto start = SteadyClock::now();
  BlockRun run(t, std::move(pairs),
               start + std::chrono::duration_cast<SteadyClock::duration>(
                           std::chrono::duration<double>(options.duration_seconds)));
  run.Run(options.concurrency);
  Result result;
  result.mode = "closed";
  result.concurrency = options.concurrency;
  result.seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  run.Into(&result);
  return result;
}

}  // namespace liaison::bench
