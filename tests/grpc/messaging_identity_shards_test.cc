// Messaging behind two identity shards (and the two credits shards that
// follow them), through real in-process servers: messaging follows both
// identity feeds, keeps a pair across them in its read model, and hears of a
// block or a tier change whichever shard it happens on.
#include <catch2/catch.hpp>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "liaison/credits/v1/credits.grpc.pb.h"
#include "liaison/identity/v1/identity.grpc.pb.h"
#include "liaison/messaging/v1/messaging.grpc.pb.h"
#include "services/credits/credit_module.h"
#include "services/identity/identity_module.h"
#include "services/identity/identity_store.h"
#include "services/messaging/messaging_module.h"
#include "services/privacy/privacy_module.h"
#include "tests/support/eventually.h"
#include "tests/support/metric_sum.h"
#include "tests/support/process.h"
#include "tests/support/shard_maps.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_service.h"

namespace liaison::messaging {
namespace {

using testing::Eventually;

using testing::FreePort;
using testing::IsOk;
using testing::MetricSum;
using testing::StatusIs;
using testing::TestService;
using Code = absl::StatusCode;

struct Fixture {
  testing::TempDir dir;
  ManualClock clock{absl::FromUnixSeconds(1'800'000'000)};
  const int ports[4] = {FreePort(), FreePort(), FreePort(), FreePort()};
  const ShardMap map =
      testing::TwoShardsOf({"identity", "credits"}, {ports[0], ports[1], ports[2], ports[3]}, 3);
  TestService privacy{privacy::PrivacyServiceSpec(), dir.Sub("privacy"), &clock};
  std::vector<std::unique_ptr<TestService>> identity = Shards([this](size_t i) {
    return std::make_unique<TestService>(
        identity::IdentityServiceSpec(identity::IdentityConfig::CallingPrivacy(privacy.address())),
        dir.Sub(absl::StrCat("identity-", i)), &clock, ShardIdentity(map, i), ports[i]);
  });
  std::vector<std::unique_ptr<TestService>> credits = Shards([this](size_t i) {
    return std::make_unique<TestService>(
        credits::CreditServiceSpec({identity[0]->address(), 60, 3600, "5:1000"}),
        dir.Sub(absl::StrCat("credits-", i)), &clock, ShardIdentity(map, i), ports[2 + i]);
  });
  // Not sharded itself: one messaging, reading the map for its dependencies.
  TestService messaging{MessagingServiceSpec(Config()), dir.Sub("messaging"), &clock,
                        ShardIdentity(map, 0)};
  std::unique_ptr<v1::MessagingService::Stub> stub =
      v1::MessagingService::NewStub(messaging.channel());
  std::unique_ptr<identity::v1::IdentityService::Stub> people =
      identity::v1::IdentityService::NewStub(identity[0]->channel());
  const std::string admin =
      identity[0]->minter().MintService("admin", absl::Hours(24 * 800)).value();
  int created = 0;
  int sent = 0;

  Fixture() {
    REQUIRE(Eventually([&] { return Live(0) && Live(1); }));
  }

  template <typename Make>
  static std::vector<std::unique_ptr<TestService>> Shards(Make make) {
    std::vector<std::unique_ptr<TestService>> shards;
    for (size_t i = 0; i < 2; ++i) shards.push_back(make(i));
    return shards;
  }

  MessagingServiceConfig Config() const {
    MessagingServiceConfig config;
    config.identity_address = identity[0]->address();
    config.privacy_address = privacy.address();
    config.credits_address = credits[0]->address();
    config.outbox_interval_seconds = 0.1;
    return config;
  }

  bool Live(size_t shard) {
    return MetricSum(messaging, "liaison_feed_consumer_live",
                     {{"feed", absl::StrCat("identity-", shard)}}) == 1;
  }

  double GetRelationshipCalls() {
    double calls = 0;
    for (auto& shard : identity) {
      calls += MetricSum(*shard, "grpc_server_started_total", {{"grpc_method", "GetRelationship"}});
    }
    return calls;
  }

  double Answers(const std::string& source) {
    return MetricSum(messaging, "liaison_read_model_answers_total", {{"source", source}});
  }

  // Until messaging has applied every change both identity shards committed.
  void Settle() {
    for (size_t i = 0; i < identity.size(); ++i) {
      const double head = MetricSum(*identity[i], "liaison_feed_head_cursor");
      REQUIRE(Eventually([&] {
        return MetricSum(messaging, "liaison_feed_consumer_cursor",
                         {{"feed", absl::StrCat("identity-", i)}}) >= head;
      }));
    }
  }

  // A new member; the shard a service asks creates one it owns.
  MemberId NewMember(size_t shard) {
    identity::v1::CreateMemberRequest create;
    create.set_handle(absl::StrCat("member-", ++created));
    create.set_display_name("Member");
    create.set_email(create.handle() + "@example.com");
    identity::v1::CreateMemberResponse member;
    REQUIRE_THAT(identity::v1::IdentityService::NewStub(identity[shard]->channel())
                     ->CreateMember(TestService::Context(admin).get(), create, &member),
                 IsOk());
    const MemberId id = std::stoull(member.member().member_id());
    REQUIRE(map.ShardOf(id) == shard);
    return id;
  }

  // Two new members on different shards, the lower id on `lower_shard`.
  std::pair<MemberId, MemberId> PairAcross(size_t lower_shard) {
    for (int i = 0; i < 64; ++i) {
      const MemberId low = NewMember(lower_shard), high = NewMember(1 - lower_shard);
      if (low < high) return {low, high};
    }
    FAIL("64 pairs and none with the lower id on shard " << lower_shard);
    return {};
  }

  std::string Token(MemberId m) { return identity[0]->MemberToken(m); }

  // `wait`: until both shards have the connection and messaging heard of it.
  void Connect(MemberId a, MemberId b, bool wait = true) {
    identity::v1::SendInvitationRequest invite;
    invite.set_recipient_id(FormatMemberId(b));
    identity::v1::SendInvitationResponse invited;
    REQUIRE_THAT(people->SendInvitation(TestService::Context(Token(a)).get(), invite, &invited),
                 IsOk());
    identity::v1::RespondToInvitationRequest accept;
    accept.set_sender_id(FormatMemberId(a));
    accept.set_response(identity::v1::INVITATION_RESPONSE_ACCEPT);
    identity::v1::RespondToInvitationResponse accepted;
    // The invitation reaches b's shard through a's outbox.
    REQUIRE(Eventually([&] {
      return people->RespondToInvitation(TestService::Context(Token(b)).get(), accept, &accepted)
          .ok();
    }));
    if (!wait) return;
    // The pair's shard (its lower member's) has the connection too, and
    // messaging has heard of it from that shard's feed.
    const MemberId low = std::min(a, b), high = std::max(a, b);
    REQUIRE(Eventually([&] {
      auto relationship = RelationshipOnShardOf(low, high);
      return relationship.has_value() && relationship->degree() == identity::v1::DEGREE_FIRST;
    }));
    Settle();
  }

  // How `a`'s identity shard sees `a` and `b` (nothing if it cannot say).
  std::optional<identity::v1::Relationship> RelationshipOnShardOf(MemberId a, MemberId b) {
    identity::v1::GetRelationshipRequest ask;
    ask.set_member_id(FormatMemberId(a));
    ask.set_other_member_id(FormatMemberId(b));
    identity::v1::GetRelationshipResponse answer;
    if (!identity::v1::IdentityService::NewStub(identity[map.ShardOf(a)]->channel())
             ->GetRelationship(TestService::Context(admin).get(), ask, &answer)
             .ok()) {
      return std::nullopt;
    }
    return answer.relationship();
  }

  void Block(MemberId who, MemberId whom, bool blocked) {
    grpc::Status status;
    if (blocked) {
      identity::v1::BlockMemberRequest request;
      request.set_member_id(FormatMemberId(whom));
      identity::v1::BlockMemberResponse response;
      status = people->BlockMember(TestService::Context(Token(who)).get(), request, &response);
    } else {
      identity::v1::UnblockMemberRequest request;
      request.set_member_id(FormatMemberId(whom));
      identity::v1::UnblockMemberResponse response;
      status = people->UnblockMember(TestService::Context(Token(who)).get(), request, &response);
    }
    REQUIRE_THAT(status, IsOk());
  }

  void SetTier(MemberId member, identity::v1::AccountTier tier) {
    identity::v1::SetAccountTierRequest set;
    set.set_member_id(FormatMemberId(member));
    set.set_tier(tier);
    identity::v1::SetAccountTierResponse done;
    REQUIRE_THAT(people->SetAccountTier(TestService::Context(admin).get(), set, &done), IsOk());
  }

  // A fresh client id, and a second of the manual clock so rate limits refill.
  grpc::Status Message(MemberId from, MemberId to) {
    clock.Advance(absl::Seconds(1));
    v1::SendMessageRequest request;
    request.set_recipient_id(FormatMemberId(to));
    request.set_body(absl::StrCat("hello ", ++sent));
    request.set_client_message_id(absl::StrCat("m-", sent));
    v1::SendMessageResponse response;
    return stub->SendMessage(TestService::Context(Token(from)).get(), request, &response);
  }

  grpc::Status Paid(MemberId from, MemberId to) {
    clock.Advance(absl::Minutes(3));
    v1::SendInMailRequest request;
    request.set_recipient_id(FormatMemberId(to));
    request.set_subject("subject");
    request.set_body(absl::StrCat("inmail ", ++sent));
    request.set_client_message_id(absl::StrCat("i-", sent));
    v1::SendInMailResponse response;
    return stub->SendInMail(TestService::Context(Token(from)).get(), request, &response);
  }
};

TEST_CASE("Messaging behind two identity shards decides a pair across them from its read model") {
  Fixture f;
  // Whichever shard owns the lower id (the pair's feed), and asked first by
  // the higher member, whose shard's copy of the pair is not the feed's.
  for (size_t lower_shard : {0, 1}) {
    INFO("the lower id on identity shard " << lower_shard);
    const auto [low, high] = f.PairAcross(lower_shard);
    f.Connect(low, high);
    REQUIRE_THAT(f.Message(high, low), IsOk());
    const double asked = f.GetRelationshipCalls();
    const double from_model = f.Answers("model");
    constexpr int kSends = 10;
    for (int i = 0; i < kSends; ++i) REQUIRE_THAT(f.Message(high, low), IsOk());
    CHECK(f.Answers("model") == from_model + kSends);
    // The other way: privacy is asked for high's settings, identity not.
    REQUIRE_THAT(f.Message(low, high), IsOk());
    CHECK(f.GetRelationshipCalls() == asked);
  }
}

TEST_CASE("Whoever accepts an invitation across identity shards may write at once") {
  Fixture f;
  const auto [low, high] = f.PairAcross(0);
  // Hold back what high's shard sends low's (as if its deliveries were
  // late): low's shard takes them as already applied.
  const size_t high_shard = f.map.ShardOf(high);
  Store* lows = f.identity[f.map.ShardOf(low)]->store();
  rocksdb::WriteBatch late;
  late.Put(lows->Family("outbox"), identity::keys::PeerApplied(static_cast<uint32_t>(high_shard)),
           identity::IdentityStore::EncodeCounter(~uint64_t{0}));
  REQUIRE(lows->Write(&late, Durability::kSynced).ok());
  // high accepts on its shard; the pair's shard has not heard of it.
  f.Connect(low, high, /*wait=*/false);
  CHECK_THAT(f.Message(high, low), IsOk());
}

TEST_CASE("A block by either member of a pair across identity shards reaches messaging") {
  Fixture f;
  const auto [low, high] = f.PairAcross(0);
  f.Connect(low, high);
  REQUIRE_THAT(f.Message(low, high), IsOk());
  REQUIRE_THAT(f.Message(high, low), IsOk());
  // The higher member's block is written on its shard, then on the lower's,
  // whose feed carries it to messaging.
  f.Block(high, low, true);
  CHECK(Eventually([&] { return f.Message(low, high).error_code() == grpc::PERMISSION_DENIED; }));
  CHECK_THAT(f.Message(high, low), StatusIs(Code::kPermissionDenied));
  f.Block(high, low, false);
  // The unblock reaches the lower member's shard through the outbox; until
  // it has, that shard takes the higher one for blocking the lower.
  REQUIRE(Eventually([&] {
    auto relationship = f.RelationshipOnShardOf(low, high);
    return relationship.has_value() && !relationship->blocked_by_other();
  }));
  f.Connect(low, high);
  CHECK(Eventually([&] { return f.Message(low, high).ok(); }));
  // And the lower member's, written on the pair's own shard first.
  f.Block(low, high, true);
  CHECK(Eventually([&] { return f.Message(high, low).error_code() == grpc::PERMISSION_DENIED; }));
  CHECK_THAT(f.Message(low, high), StatusIs(Code::kPermissionDenied));
}

TEST_CASE("A tier change on either identity shard reaches messaging's decisions") {
  Fixture f;
  const auto [low, high] = f.PairAcross(1);
  f.Connect(low, high);
  REQUIRE_THAT(f.Message(low, high), IsOk());
  for (MemberId member : {low, high}) {
    INFO("the member on identity shard " << f.map.ShardOf(member));
    const MemberId other = member == low ? high : low;
    // BASIC: no InMail, to a connection either.
    CHECK_THAT(f.Paid(member, other), StatusIs(Code::kPermissionDenied));
    f.SetTier(member, identity::v1::ACCOUNT_TIER_PREMIUM_CAREER);
    CHECK(Eventually([&] { return f.Paid(member, other).ok(); }));
  }
}

TEST_CASE(
    "With one identity shard down, messaging decides pairs it knows and refuses none wrongly") {
  Fixture f;
  const MemberId a = f.NewMember(0);
  const MemberId b = f.NewMember(0);
  const auto [low, high] = f.PairAcross(0);
  const MemberId stranger = f.NewMember(1);
  f.Connect(a, b);
  f.Connect(low, high);
  for (auto [from, to] : {std::pair(a, b), std::pair(b, a), std::pair(low, high)}) {
    REQUIRE_THAT(f.Message(from, to), IsOk());
  }
  f.identity[1]->Stop();
  REQUIRE(Eventually([&] { return !f.Live(1); }));
  CHECK(f.Live(0));
  // Both on the live shard: the model answers alone.
  const double from_model = f.Answers("model");
  CHECK_THAT(f.Message(a, b), IsOk());
  CHECK(f.Answers("model") == from_model + 1);
  // Across: messaging asks, shard 0 cannot read shard 1, the model's last word stands.
  const double stale = f.Answers("stale");
  CHECK_THAT(f.Message(low, high), IsOk());
  CHECK(f.Answers("stale") == stale + 1);
  // Nothing known of a and the stranger: no wrong refusal, the caller may retry.
  CHECK_THAT(f.Message(a, stranger), StatusIs(Code::kUnavailable));
  f.identity[1]->Start();
  CHECK(Eventually([&] { return f.Live(1); }));
}

}  // namespace
}  // namespace liaison::messaging
