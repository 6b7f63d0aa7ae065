// Messaging's read model through real in-process servers (issue #12): once
// warm, a send between connections calls no one; blocks, unblocks, tier and
// settings changes reach messaging's decisions through the change feeds.
#include <thread>

#include "tests/grpc/messaging_fixture.h"
#include "tests/support/eventually.h"

namespace liaison::messaging {
namespace {

using testing::Eventually;

// The sum of a counter family's values whose labels match every `want`.
double Counter(TestService& service, const std::string& name,
               const std::map<std::string, std::string>& want = {},
               const std::string& skip_method = "") {
  double sum = 0;
  for (const auto& family : service.metrics()->registry().Collect()) {
    if (family.name != name) continue;
    for (const auto& metric : family.metric) {
      bool match = true;
      for (const auto& label : metric.label) {
        auto it = want.find(label.name);
        if (it != want.end() && it->second != label.value) match = false;
        if (label.name == "grpc_method" && label.value == skip_method) match = false;
      }
      if (match) sum += metric.counter.value + metric.gauge.value;
    }
  }
  return sum;
}

// Calls messaging made to other services, its change-feed streams aside.
double OutgoingCalls(TestService& messaging) {
  return Counter(messaging, "grpc_client_started_total", {}, "WatchChanges");
}

double Answers(TestService& messaging, const std::string& source) {
  return Counter(messaging, "liaison_read_model_answers_total", {{"source", source}});
}

bool Live(TestService& messaging) {
  return Counter(messaging, "liaison_feed_consumer_live", {{"feed", "identity"}}) == 1 &&
         Counter(messaging, "liaison_feed_consumer_live", {{"feed", "privacy"}}) == 1;
}

struct ReadModelFixture : MessagingFixture {
  int sent = 0;

  ReadModelFixture() {
    REQUIRE(Eventually([&] { return Live(messaging); }));
  }

  // A fresh client id, and a second of the manual clock so rate limits refill.
  grpc::Status Message(MemberId from, MemberId to) {
    clock.Advance(absl::Seconds(1));
    ++sent;
    return Send(from, to, "hello " + std::to_string(sent), "m-" + std::to_string(sent));
  }
  grpc::Status Paid(MemberId from, MemberId to) {
    clock.Advance(absl::Minutes(3));
    ++sent;
    return InMail(from, to, "subject", "inmail " + std::to_string(sent),
                  "i-" + std::to_string(sent));
  }

  void Block(MemberId who, MemberId whom, bool blocked) {
    if (blocked) {
      identity::v1::BlockMemberRequest request;
      request.set_member_id(std::to_string(whom));
      identity::v1::BlockMemberResponse response;
      REQUIRE_THAT(people->BlockMember(TestService::Context(Token(who)).get(), request, &response),
                   IsOk());
    } else {
      identity::v1::UnblockMemberRequest request;
      request.set_member_id(std::to_string(whom));
      identity::v1::UnblockMemberResponse response;
      REQUIRE_THAT(
          people->UnblockMember(TestService::Context(Token(who)).get(), request, &response),
          IsOk());
    }
  }

  void SetTier(MemberId member, AccountTier tier) {
    identity::v1::SetAccountTierRequest set;
    set.set_member_id(std::to_string(member));
    set.set_tier(tier);
    identity::v1::SetAccountTierResponse done;
    REQUIRE_THAT(people->SetAccountTier(TestService::Context(admin).get(), set, &done), IsOk());
  }
};

TEST_CASE("Once warm, sends between connections make no outgoing call") {
  ReadModelFixture f;
  const MemberId a = f.NewMember(), b = f.NewMember();
  f.Connect(a, b);
  // Each direction asks identity and privacy once, and remembers.
  REQUIRE_THAT(f.Message(a, b), IsOk());
  REQUIRE_THAT(f.Message(b, a), IsOk());
  const double calls = OutgoingCalls(f.messaging);
  const double relationship_calls =
      Counter(f.identity, "grpc_server_started_total", {{"grpc_method", "GetRelationship"}});
  const double settings_calls =
      Counter(f.privacy, "grpc_server_started_total", {{"grpc_method", "GetSettings"}});
  const double from_model = Answers(f.messaging, "model");
  constexpr int kSends = 20;
  for (int i = 0; i < kSends; ++i) {
    REQUIRE_THAT(f.Message(i % 2 == 0 ? b : a, i % 2 == 0 ? a : b), IsOk());
  }
  CHECK(OutgoingCalls(f.messaging) == calls);
  CHECK(Counter(f.identity, "grpc_server_started_total", {{"grpc_method", "GetRelationship"}}) ==
        relationship_calls);
  CHECK(Counter(f.privacy, "grpc_server_started_total", {{"grpc_method", "GetSettings"}}) ==
        settings_calls);
  CHECK(Answers(f.messaging, "model") == from_model + kSends);
  CHECK(Counter(f.messaging, "liaison_read_model_entries") >= 4);  // the pair, 2 tiers, settings
}

TEST_CASE("A send to someone who is not a connection still asks identity") {
  ReadModelFixture f;
  const MemberId a = f.NewMember(), b = f.NewMember();
  CHECK_THAT(f.Message(a, b), StatusIs(Code::kPermissionDenied));  // InMail only, and BASIC
  const double asked = Answers(f.messaging, "asked");
  CHECK_THAT(f.Message(a, b), StatusIs(Code::kPermissionDenied));
  CHECK(Answers(f.messaging, "asked") == asked + 1);
}

TEST_CASE("A block reaches messaging's decisions, and unblocking and connecting again reopens") {
  ReadModelFixture f;
  const MemberId a = f.NewMember(), b = f.NewMember();
  f.Connect(a, b);
  REQUIRE_THAT(f.Message(a, b), IsOk());
  REQUIRE_THAT(f.Message(b, a), IsOk());  // both directions warm
  f.Block(b, a, true);
  // Both sides are refused, whoever blocked whom.
  CHECK(Eventually([&] { return f.Message(a, b).error_code() == grpc::PERMISSION_DENIED; }));
  CHECK_THAT(f.Message(b, a), StatusIs(Code::kPermissionDenied));
  f.Block(b, a, false);
  f.Connect(a, b);
  CHECK(Eventually([&] { return f.Message(a, b).ok(); }));
  CHECK_THAT(f.Message(b, a), IsOk());
}

TEST_CASE("A tier change reaches messaging's decisions") {
  ReadModelFixture f;
  const MemberId a = f.NewMember(), b = f.NewMember();
  f.Connect(a, b);
  REQUIRE_THAT(f.Message(a, b), IsOk());
  // BASIC: no InMail, to a connection either.
  CHECK_THAT(f.Paid(a, b), StatusIs(Code::kPermissionDenied));
  f.SetTier(a, identity::v1::ACCOUNT_TIER_PREMIUM_CAREER);
  CHECK(Eventually([&] { return f.Paid(a, b).ok(); }));
  f.SetTier(a, identity::v1::ACCOUNT_TIER_BASIC);
  CHECK(Eventually([&] { return f.Paid(a, b).error_code() == grpc::PERMISSION_DENIED; }));
}

TEST_CASE("A settings change reaches messaging's decisions") {
  ReadModelFixture f;
  const MemberId a = f.NewMember(identity::v1::ACCOUNT_TIER_PREMIUM_CAREER), b = f.NewMember();
  f.Connect(a, b);
  REQUIRE_THAT(f.Message(a, b), IsOk());  // b's settings are remembered
  f.SetSetting(b, "inmail_acceptance", false);
  CHECK(Eventually([&] {
    grpc::Status s = f.Paid(a, b);
    return s.error_code() == grpc::FAILED_PRECONDITION &&
           s.error_message().find("does not accept InMail") != std::string::npos;
  }));
  const double from_model = Answers(f.messaging, "model");
  f.SetSetting(b, "inmail_acceptance", true);
  CHECK(Eventually([&] { return f.Paid(a, b).ok(); }));
  CHECK(Answers(f.messaging, "model") > from_model);
}

TEST_CASE("With identity down, a known pair still sends and an unknown one is UNAVAILABLE") {
  ReadModelFixture f;
  const MemberId a = f.NewMember(), b = f.NewMember(), c = f.NewMember();
  f.Connect(a, b);
  REQUIRE_THAT(f.Message(a, b), IsOk());
  REQUIRE_THAT(f.Message(b, a), IsOk());
  f.identity.Stop();
  REQUIRE(Eventually([&] { return !Live(f.messaging); }));
  // Not live: messaging asks, identity cannot answer, the model's last word stands.
  const double stale = Answers(f.messaging, "stale");
  CHECK_THAT(f.Message(a, b), IsOk());
  CHECK_THAT(f.Message(b, a), IsOk());
  CHECK(Answers(f.messaging, "stale") == stale + 2);
  // Nothing known of a and c: no wrong refusal, the caller may retry.
  CHECK_THAT(f.Message(a, c), StatusIs(Code::kUnavailable));
  // Back: the follower reconnects and the model answers alone again.
  f.identity.Start();
  CHECK(Eventually([&] { return Live(f.messaging); }));
}

}  // namespace
}  // namespace liaison::messaging
