#include "tools/bench/scenarios.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/server_builder.h>

#include <atomic>
#include <random>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/status.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "liaison/identity/v1/identity.grpc.pb.h"
#include "liaison/messaging/v1/messaging.grpc.pb.h"
#include "tools/bench/calls.h"
#include "tools/bench/route.h"
#include "tools/bench/seed.h"

namespace liaison::bench {
namespace {

using grpc::health::v1::Health;
using identity::v1::IdentityService;
using messaging::v1::MessagingService;

// What every scenario that needs the services has: stubs, tokens, a seeder.
struct Services {
  explicit Services(const Target& t)
      : target(t),
        minter(t.signing_key, Clock::Real()),
        service_token(minter.MintService("bench", absl::Hours(2)).value()),
        identity(Stubs<IdentityService>(t.identity, t.connections)),
        route(t),
        seeder(identity[0].get(), route.Any(), service_token, &minter, t.seed_concurrency) {}

  std::string Token(MemberId m) const { return minter.MintMember(m, absl::Hours(2)).value(); }

  Target target;
  TokenMinter minter;
  std::string service_token;
  std::vector<std::unique_ptr<IdentityService::Stub>> identity;
  MessagingRoute route;
  Seeder seeder;
  const std::string tag = RunTag();
};

class Echo final : public Scenario {
 public:
  explicit Echo(const Target& t) : target_(t) {}
  absl::Status Seed() override {
    std::string address = target_.echo;
    if (address.empty()) {
      ASSIGN_OR_RETURN(server_, StartEchoServer("127.0.0.1:0"));
      address = absl::StrCat("127.0.0.1:", server_->port());
    }
    stubs_ = Stubs<Health>(address, target_.connections);
    return absl::OkStatus();
  }
  void Issue(uint64_t n, Done done) override {
    auto call = std::make_shared<
        Call<grpc::health::v1::HealthCheckRequest, grpc::health::v1::HealthCheckResponse>>();
    auto* stub = stubs_[n % stubs_.size()].get();
    Async(
        "", call, [stub](auto... a) { stub->async()->Check(a...); }, std::move(done));
  }

 private:
  Target target_;
  std::unique_ptr<EchoServer> server_;
  std::vector<std::unique_ptr<Health::Stub>> stubs_;
};

// 1st-degree pairs from the seeded graph; each call a new message a -> b.
class SendMessage final : public Scenario {
 public:
  explicit SendMessage(const Target& t) : s_(t) {}
  absl::Status Seed() override {
    if (s_.target.graph_members == 0) return absl::InvalidArgumentError("give --graph-members");
    ASSIGN_OR_RETURN(auto pairs, s_.seeder.GraphPairs(s_.target.graph_members, s_.target.pairs,
                                                      [this](MemberId a, MemberId b) {
                                                        return s_.route.Placed(s_.target.placement,
                                                                               a, b);
                                                      }));
    for (auto [a, b] : pairs) pairs_.push_back({a, b, s_.Token(a), FormatMemberId(b)});
    return absl::OkStatus();
  }
  void Issue(uint64_t n, Done done) override {
    const auto& pair = pairs_[n % pairs_.size()];
    auto call = std::make_shared<
        Call<messaging::v1::SendMessageRequest, messaging::v1::SendMessageResponse>>();
    call->request.set_recipient_id(pair.recipient);
    call->request.set_body(absl::StrCat("Benchmark message ", n, ", about the project plan."));
    call->request.set_client_message_id(absl::StrCat("bench-", s_.tag, "-", n));
    auto* stub = s_.route.Pair(pair.sender, pair.recipient_id, n);
    Async(
        pair.token, call, [stub](auto... a) { stub->async()->SendMessage(a...); }, std::move(done));
  }

 private:
  struct Pair {
    MemberId sender, recipient_id;
    std::string token, recipient;
  };
  Services s_;
  std::vector<Pair> pairs_;
};

// Premium senders (Recruiter Corporate: 150 credits), each InMailing
// recipients in turn, never one twice; enough of them that no one runs out
// of credits within a run (256 x 150 InMails).
class SendInMail final : public Scenario {
 public:
  explicit SendInMail(const Target& t) : s_(t) {}
  absl::Status Seed() override {
    ASSIGN_OR_RETURN(
        auto senders,
        s_.seeder.Members("s", kSenders, identity::v1::ACCOUNT_TIER_RECRUITER_CORPORATE));
    ASSIGN_OR_RETURN(recipients_,
                     s_.seeder.Members("r", kRecipients, identity::v1::ACCOUNT_TIER_BASIC));
    for (MemberId m : senders) senders_.push_back({m, s_.Token(m)});
    return absl::OkStatus();
  }
  void Issue(uint64_t n, Done done) override {
    const size_t sender = n % senders_.size(), k = n / senders_.size();
    auto call = std::make_shared<
        Call<messaging::v1::SendInMailRequest, messaging::v1::SendInMailResponse>>();
    const MemberId recipient = recipients_[(sender * 7 + k) % kRecipients];
    call->request.set_recipient_id(FormatMemberId(recipient));
    call->request.set_subject("An opening on our team");
    call->request.set_body(absl::StrCat("Hello! InMail ", n, ": would you like to talk?"));
    call->request.set_client_message_id(absl::StrCat("bench-", s_.tag, "-", n));
    auto* stub = s_.route.Pair(senders_[sender].first, recipient, n);
    Async(
        senders_[sender].second, call, [stub](auto... a) { stub->async()->SendInMail(a...); },
        std::move(done));
  }

 private:
  static constexpr int kSenders = 256;
  static constexpr int kRecipients = 200;
  Services s_;
  std::vector<std::pair<MemberId, std::string>> senders_;  // id, token
  std::vector<MemberId> recipients_;
};

// The graph's hubs (its highest ids), each with `conversations` 1:1
// conversations; each call reads the first page of the inbox.
class ListInbox final : public Scenario {
 public:
  explicit ListInbox(const Target& t) : s_(t) {}
  absl::Status Seed() override {
    if (s_.target.graph_members == 0) return absl::InvalidArgumentError("give --graph-members");
    for (int h = 0; h < s_.target.hubs; ++h) {
      const MemberId hub = s_.target.graph_members - h;
      ASSIGN_OR_RETURN(auto others, s_.seeder.Connections(hub, s_.target.conversations));
      if (static_cast<int>(others.size()) < s_.target.conversations) {
        return absl::FailedPreconditionError(absl::StrCat(
            "hub ", hub, " has ", others.size(), " connections; need ", s_.target.conversations));
      }
      if (!s_.target.skip_seed) RETURN_IF_ERROR(s_.seeder.Messages(others, hub));
      hubs_.push_back({hub, s_.Token(hub)});
    }
    return absl::OkStatus();
  }
  void Issue(uint64_t n, Done done) override {
    auto call = std::make_shared<
        Call<messaging::v1::ListConversationsRequest, messaging::v1::ListConversationsResponse>>();
    call->request.set_folder(messaging::v1::FOLDER_FOCUSED);
    call->request.set_page_size(20);
    const auto& hub = hubs_[n % hubs_.size()];
    auto* stub = s_.route.Member(hub.first, n);
    Async(
        hub.second, call, [stub](auto... a) { stub->async()->ListConversations(a...); },
        std::move(done));
  }

 private:
  Services s_;
  std::vector<std::pair<MemberId, std::string>> hubs_;  // id, token
};

// GetRelationship between random members of the seeded graph (most pairs
// are 2nd or 3rd degree, as in a real network), as messaging asks it.
class Relationship final : public Scenario {
 public:
  explicit Relationship(const Target& t) : s_(t) {}
  absl::Status Seed() override {
    if (s_.target.graph_members == 0) return absl::InvalidArgumentError("give --graph-members");
    return absl::OkStatus();
  }
  void Issue(uint64_t n, Done done) override {
    std::mt19937_64 rng(n);
    auto call = std::make_shared<
        Call<identity::v1::GetRelationshipRequest, identity::v1::GetRelationshipResponse>>();
    call->request.set_member_id(FormatMemberId(1 + rng() % s_.target.graph_members));
    call->request.set_other_member_id(FormatMemberId(1 + rng() % s_.target.graph_members));
    auto* stub = s_.identity[n % s_.identity.size()].get();
    Async(
        s_.service_token, call, [stub](auto... a) { stub->async()->GetRelationship(a...); },
        std::move(done));
  }

 private:
  Services s_;
};

}  // namespace

std::vector<std::shared_ptr<grpc::Channel>> Channels(const std::string& address, int n) {
  std::vector<std::shared_ptr<grpc::Channel>> out;
  for (int i = 0; i < n; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("liaison.bench.channel", i);  // distinct args: a connection each
    out.push_back(grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
  }
  return out;
}

absl::StatusOr<std::unique_ptr<Scenario>> MakeScenario(const std::string& name,
                                                       const Target& target) {
  if (name == "echo") return std::make_unique<Echo>(target);
  if (target.signing_key.empty()) {
    return absl::InvalidArgumentError("give --signing-key-file for scenario " + name);
  }
  if (name == "send-message") return std::make_unique<SendMessage>(target);
  if (name == "send-inmail") return std::make_unique<SendInMail>(target);
  if (name == "list-inbox") return std::make_unique<ListInbox>(target);
  if (name == "relationship") return std::make_unique<Relationship>(target);
  return absl::NotFoundError("no scenario " + name);
}

}  // namespace liaison::bench
