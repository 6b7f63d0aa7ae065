// stream-latency and the echo server: the two scenarios that are not one
// unary call timed by the load loop.
#include <grpcpp/server_builder.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/status.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "liaison/messaging/v1/messaging.grpc.pb.h"
#include "tools/bench/calls.h"
#include "tools/bench/route.h"
#include "tools/bench/scenarios.h"
#include "tools/bench/seed.h"

namespace liaison::bench {
namespace {

using messaging::v1::MessagingService;
using messaging::v1::StreamEventsResponse;

int64_t SteadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch())
      .count();
}

// One member's StreamEvents; each new message's body starts "t=<ns> " with
// the steady-clock time its send started, so delivery is timed end to end.
class Listener final : public grpc::ClientReadReactor<StreamEventsResponse> {
 public:
  Listener(MessagingService::Stub* stub, const std::string& token) {
    context_.AddMetadata("authorization", "Bearer " + token);
    stub->async()->StreamEvents(&context_, &request_, this);
    StartRead(&event_);
    StartCall();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // the stream is ending; OnDone follows
    if (event_.has_new_message()) {
      const std::string& body = event_.new_message().message().body();
      int64_t sent = 0;
      if (body.rfind("t=", 0) == 0 && absl::SimpleAtoi(body.substr(2, body.find(' ') - 2), &sent)) {
        std::lock_guard<std::mutex> lock(mu_);
        seen_.emplace_back(sent, SteadyNs() - sent);
      }
    }
    StartRead(&event_);
  }

  void OnDone(const grpc::Status& status) override {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
    cv_.notify_all();
  }

  // Cancels the stream and waits for it to end; returns (send time,
  // latency) of every message it saw.
  std::vector<std::pair<int64_t, int64_t>> Close() {
    context_.TryCancel();
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return done_; });
    return std::move(seen_);
  }

 private:
  grpc::ClientContext context_;
  messaging::v1::StreamEventsRequest request_;
  StreamEventsResponse event_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::vector<std::pair<int64_t, int64_t>> seen_;
};

class HealthEcho final : public grpc::health::v1::Health::CallbackService {
  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const grpc::health::v1::HealthCheckRequest* request,
                                  grpc::health::v1::HealthCheckResponse* response) override {
    response->set_status(grpc::health::v1::HealthCheckResponse::SERVING);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

class Echo final : public EchoServer {
 public:
  absl::Status Start(const std::string& address) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    if (server_ == nullptr || port_ == 0) {
      return absl::UnavailableError("cannot listen on " + address);
    }
    return absl::OkStatus();
  }
  int port() const override { return port_; }
  void Wait() override { server_->Wait(); }

 private:
  HealthEcho service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<EchoServer>> StartEchoServer(const std::string& address) {
  auto server = std::make_unique<Echo>();
  RETURN_IF_ERROR(server->Start(address));
  return server;
}

namespace {

// Every listener's deliveries of the sends started in `window`: the samples,
// sorted, and the sends' own statuses.
Result Deliveries(std::vector<std::unique_ptr<Listener>>* listeners, const Window& window,
                  const Recorder& sends, const LoadOptions& options,
                  std::vector<std::pair<int64_t, int64_t>>* all = nullptr) {
  // Stragglers still on their way get a moment to arrive.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const int64_t from =
      std::chrono::duration_cast<std::chrono::nanoseconds>(window.start.time_since_epoch()).count();
  const int64_t to =
      std::chrono::duration_cast<std::chrono::nanoseconds>(window.end.time_since_epoch()).count();
  Result result;
  result.mode = "open";
  result.target_rate = options.rate;
  result.seconds = std::chrono::duration<double>(window.end - window.start).count();
  for (auto& listener : *listeners) {
    for (auto [sent, latency] : listener->Close()) {
      if (sent < from || sent >= to) continue;
      result.latencies_ns.push_back(latency);
      if (all != nullptr) all->emplace_back(sent, latency);
    }
  }
  std::sort(result.latencies_ns.begin(), result.latencies_ns.end());
  result.codes = sends.Codes();
  const int64_t sent = result.codes.count("OK") ? result.codes.at("OK") : 0;
  if (!options.cpu_pids.empty()) {
    result.counters["server_cpu_ms"] = static_cast<int64_t>(window.cpu_seconds * 1e3);
    if (sent > 0) {
      result.counters["server_cpu_us_per_send"] =
          static_cast<int64_t>(window.cpu_seconds * 1e6 / static_cast<double>(sent));
    }
  }
  return result;
}

// A listener for each of `members`, on their own shard, given a moment to
// be open before anything is sent.
template <typename Members>
std::vector<std::unique_ptr<Listener>> Listen(const MessagingRoute& route,
                                              const TokenMinter& minter, const Members& members) {
  std::vector<std::unique_ptr<Listener>> listeners;
  for (MemberId m : members) {
    listeners.push_back(std::make_unique<Listener>(route.Member(m, m),
                                                   minter.MintMember(m, absl::Hours(2)).value()));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  return listeners;
}

// A send of `body` with a "t=<ns>" prefix: its start, for Listener.
std::string Stamped(uint64_t n) { return absl::StrCat("t=", SteadyNs(), " benchmark message ", n); }

}  // namespace

absl::StatusOr<Result> RunStreamLatency(const Target& t, const LoadOptions& options) {
  if (t.graph_members == 0) return absl::InvalidArgumentError("give --graph-members");
  if (options.rate <= 0) return absl::InvalidArgumentError("stream-latency needs -q (a rate)");
  TokenMinter minter(t.signing_key, Clock::Real());
  MessagingRoute route(t);
  auto identity = Stubs<identity::v1::IdentityService>(t.identity, 1);
  Seeder seeder(identity[0].get(), route.Any(), minter.MintService("bench", absl::Hours(2)).value(),
                &minter, t.seed_concurrency);
  ASSIGN_OR_RETURN(auto pairs,
                   seeder.GraphPairs(t.graph_members, t.pairs, [&](MemberId a, MemberId b) {
                     return route.Placed(t.placement, a, b);
                   }));

  // Every recipient listens (on their own shard) before anything is sent.
  std::set<MemberId> recipients;
  for (auto [a, b] : pairs) recipients.insert(b);
  auto listeners = Listen(route, minter, recipients);

  std::vector<std::string> tokens;
  for (auto [a, b] : pairs) tokens.push_back(minter.MintMember(a, absl::Hours(2)).value());
  const std::string tag = RunTag();
  Recorder sends;
  Window window;
  RunLoadInto(
      options,
      [&](uint64_t n, Done done) {
        const size_t p = n % pairs.size();
        auto call = std::make_shared<
            Call<messaging::v1::SendMessageRequest, messaging::v1::SendMessageResponse>>();
        call->request.set_recipient_id(FormatMemberId(pairs[p].second));
        call->request.set_body(Stamped(n));
        call->request.set_client_message_id(absl::StrCat("stream-", tag, "-", n));
        auto* stub = route.Pair(pairs[p].first, pairs[p].second, n);
        Async(
            tokens[p], call, [stub](auto... a) { stub->async()->SendMessage(a...); },
            std::move(done));
      },
      &window, &sends);
  return Deliveries(&listeners, window, sends, options);
}

absl::StatusOr<Result> RunGroupLatency(const Target& t, const LoadOptions& options) {
  if (t.graph_members == 0) return absl::InvalidArgumentError("give --graph-members");
  if (options.rate <= 0) return absl::InvalidArgumentError("group-latency needs -q (a rate)");
  if (t.group_size < 2) return absl::InvalidArgumentError("--group-size: give 2 or more");
  TokenMinter minter(t.signing_key, Clock::Real());
  MessagingRoute route(t);
  auto identity = Stubs<identity::v1::IdentityService>(t.identity, 1);
  Seeder seeder(identity[0].get(), route.Any(), minter.MintService("bench", absl::Hours(2)).value(),
                &minter, t.seed_concurrency);
  // The graph's top hub and as many of its connections as the group takes.
  const MemberId hub = t.graph_members;
  const std::string hub_token = minter.MintMember(hub, absl::Hours(2)).value();
  ASSIGN_OR_RETURN(auto members, seeder.Connections(hub, t.group_size - 1));
  if (static_cast<int>(members.size()) < t.group_size - 1) {
    return absl::FailedPreconditionError(absl::StrCat("member ", hub, " has ", members.size(),
                                                      " connections; need ", t.group_size - 1,
                                                      " for --group-size ", t.group_size));
  }
  messaging::v1::SendMessageRequest create;
  for (MemberId m : members) create.mutable_new_group()->add_member_ids(FormatMemberId(m));
  create.mutable_new_group()->set_name("Benchmark group");
  create.set_body("kick-off");
  create.set_client_message_id(absl::StrCat("group-", RunTag()));
  messaging::v1::SendMessageResponse created;
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + hub_token);
  context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
  if (grpc::Status made = route.Member(hub, 0)->SendMessage(&context, create, &created);
      !made.ok()) {
    return absl::UnavailableError("creating the group: " + made.error_message());
  }
  const std::string group = created.conversation().conversation_id();

  int64_t across = 0;
  for (MemberId m : members) across += route.ShardOf(m) != route.ShardOf(hub);
  auto listeners = Listen(route, minter, members);

  const std::string tag = RunTag();
  Recorder sends;
  Window window;
  RunLoadInto(
      options,
      [&](uint64_t n, Done done) {
        auto call = std::make_shared<
            Call<messaging::v1::SendMessageRequest, messaging::v1::SendMessageResponse>>();
        call->request.set_conversation_id(group);
        call->request.set_body(Stamped(n));
        call->request.set_client_message_id(absl::StrCat("group-", tag, "-", n));
        auto* stub = route.Member(hub, n);  // the group's home: its creator's shard
        Async(
            hub_token, call, [stub](auto... a) { stub->async()->SendMessage(a...); },
            std::move(done));
      },
      &window, &sends);
  std::vector<std::pair<int64_t, int64_t>> all;
  Result result = Deliveries(&listeners, window, sends, options, &all);
  // Per message: when its last member had it.
  std::map<int64_t, int64_t> last;
  for (auto [sent, latency] : all) last[sent] = std::max(last[sent], latency);
  std::vector<int64_t> lasts;
  for (auto [sent, latency] : last) lasts.push_back(latency);
  std::sort(lasts.begin(), lasts.end());
  auto quantile_us = [&](double q) {
    return lasts.empty() ? 0 : lasts[static_cast<size_t>(q * (lasts.size() - 1))] / 1000;
  };
  result.counters["last_member_p50_us"] = quantile_us(0.5);
  result.counters["last_member_p99_us"] = quantile_us(0.99);
  result.counters["members_listening"] = static_cast<int64_t>(listeners.size());
  result.counters["members_on_other_shards"] = across;
  const auto codes = sends.Codes();
  result.counters["deliveries_expected"] =
      (codes.count("OK") ? codes.at("OK") : 0) * static_cast<int64_t>(listeners.size());
  result.counters["deliveries_seen"] = result.Count();
  return result;
}

}  // namespace liaison::bench
