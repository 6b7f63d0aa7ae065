// Two shards of CreditService in-process, on the loopback ports a shard map
// names, both following one identity's change feed: each member's account,
// ledger and holds live on their own shard whichever shard is asked, and
// each shard applies tier changes for its own members only.
#include <catch2/catch.hpp>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/shard_router.h"
#include "liaison/credits/v1/credits.grpc.pb.h"
#include "liaison/identity/v1/identity.grpc.pb.h"
#include "services/credits/credit_module.h"
#include "services/credits/credit_store.h"
#include "services/identity/identity_module.h"
#include "tests/support/metric_sum.h"
#include "tests/support/process.h"
#include "tests/support/shard_maps.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_service.h"

namespace liaison::credits {
namespace {

using testing::FreePort;
using testing::IsOk;
using testing::MetricSum;
using testing::ShardHeader;
using testing::StatusIs;
using testing::TestService;
using Code = absl::StatusCode;

struct Fixture {
  testing::TempDir dir;
  ManualClock clock{absl::FromUnixSeconds(1'800'000'000)};
  TestService identity{
      identity::IdentityServiceSpec(identity::IdentityConfig::CallingPrivacy("127.0.0.1:1")),
      dir.Sub("identity"), &clock};
  int port0 = FreePort();
  int port1 = FreePort();
  ShardMap map = testing::TwoShards("credits", port0, port1, 2);
  TestService shard0{CreditServiceSpec({identity.address(), 60, 3600, "5:1000"}), dir.Sub("c0"),
                     &clock, ShardIdentity(map, 0), port0};
  TestService shard1{CreditServiceSpec({identity.address(), 60, 3600, "5:1000"}), dir.Sub("c1"),
                     &clock, ShardIdentity(map, 1), port1};
  std::unique_ptr<identity::v1::IdentityService::Stub> people =
      identity::v1::IdentityService::NewStub(identity.channel());
  std::unique_ptr<v1::CreditService::Stub> stub0 = v1::CreditService::NewStub(shard0.channel());
  const std::string svc = shard0.ServiceToken("messaging");
  int created = 0;

  MemberId Create() {
    identity::v1::CreateMemberRequest create;
    const std::string handle = absl::StrCat("member", ++created);
    create.set_handle(handle);
    create.set_display_name(handle);
    create.set_email(handle + "@example.com");
    identity::v1::CreateMemberResponse response;
    REQUIRE_THAT(people->CreateMember(TestService::Context(svc).get(), create, &response), IsOk());
    return std::stoull(response.member().member_id());
  }

  // A new member owned by `shard`.
  MemberId OnShard(size_t shard) {
    for (int i = 0; i < 64; ++i) {
      const MemberId member = Create();
      if (map.ShardOf(member) == shard) return member;
    }
    FAIL("64 new members and none on shard " << shard);
    return 0;
  }

  void SetTier(MemberId member, identity::v1::AccountTier tier) {
    identity::v1::SetAccountTierRequest set;
    set.set_member_id(FormatMemberId(member));
    set.set_tier(tier);
    identity::v1::SetAccountTierResponse done;
    REQUIRE_THAT(people->SetAccountTier(TestService::Context(svc).get(), set, &done), IsOk());
  }

  bool HasAccount(TestService& shard, MemberId member) {
    return shard.store()->Get(shard.store()->Family("ledger"), keys::Account(member)).ok();
  }

  // Until both shards' tier feeds have applied everything identity wrote.
  void Settle() {
    const double head = MetricSum(identity, "liaison_feed_head_cursor");
    for (int i = 0; i < 500; ++i) {
      if (MetricSum(shard0, "liaison_feed_consumer_cursor") >= head &&
          MetricSum(shard1, "liaison_feed_consumer_cursor") >= head) {
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL("the credits shards did not catch up with identity's feed");
  }
};

TEST_CASE("Sharded credits: a member's balance and holds live on their shard, whoever is asked") {
  Fixture f;
  const MemberId b = f.OnShard(1);
  f.SetTier(b, identity::v1::ACCOUNT_TIER_PREMIUM_CAREER);
  f.Settle();

  // b asks shard 0: shard 1 answers, and says so.
  v1::GetBalanceRequest get;
  v1::GetBalanceResponse balance;
  auto context = TestService::Context(f.shard0.MemberToken(b));
  REQUIRE_THAT(f.stub0->GetBalance(context.get(), get, &balance), IsOk());
  CHECK(ShardHeader(*context) == "1/2");
  CHECK(balance.balance().available() == 5);

  // Messaging's saga through shard 0: the hold is b's shard's.
  v1::ReserveCreditRequest reserve;
  reserve.set_member_id(FormatMemberId(b));
  reserve.set_inmail_id("inmail-1");
  v1::ReserveCreditResponse held;
  REQUIRE_THAT(f.stub0->ReserveCredit(TestService::Context(f.svc).get(), reserve, &held), IsOk());
  v1::CommitHoldRequest commit;
  commit.set_member_id(FormatMemberId(b));
  commit.set_inmail_id("inmail-1");
  v1::CommitHoldResponse committed;
  REQUIRE_THAT(f.stub0->CommitHold(TestService::Context(f.svc).get(), commit, &committed), IsOk());
  CHECK(committed.hold().state() == v1::HOLD_STATE_COMMITTED);
  CHECK(f.shard1.store()->Get(f.shard1.store()->Family("ledger"), keys::Hold(b, "inmail-1")).ok());
  CHECK_FALSE(
      f.shard0.store()->Get(f.shard0.store()->Family("ledger"), keys::Hold(b, "inmail-1")).ok());
  CHECK(f.HasAccount(f.shard1, b));
  CHECK_FALSE(f.HasAccount(f.shard0, b));

  // The debit shows wherever b looks.
  auto again = TestService::Context(f.shard1.MemberToken(b));
  REQUIRE_THAT(
      v1::CreditService::NewStub(f.shard1.channel())->GetBalance(again.get(), get, &balance),
      IsOk());
  CHECK(balance.balance().available() == 4);
}

TEST_CASE("Sharded credits: each shard applies identity's tier changes for its own members") {
  Fixture f;
  const MemberId a = f.OnShard(0);
  const MemberId b = f.OnShard(1);
  f.SetTier(a, identity::v1::ACCOUNT_TIER_RECRUITER_CORPORATE);
  f.SetTier(b, identity::v1::ACCOUNT_TIER_RECRUITER_CORPORATE);
  f.Settle();
  CHECK(f.HasAccount(f.shard0, a));
  CHECK_FALSE(f.HasAccount(f.shard0, b));
  CHECK(f.HasAccount(f.shard1, b));
  CHECK_FALSE(f.HasAccount(f.shard1, a));
  // Both shards read the whole feed: neither is behind.
  CHECK(MetricSum(f.shard0, "liaison_feed_consumer_cursor") ==
        MetricSum(f.shard1, "liaison_feed_consumer_cursor"));
}

TEST_CASE("Sharded credits: refusals happen where the call arrives, before any forwarding") {
  Fixture f;
  const MemberId b = f.OnShard(1);
  v1::ReserveCreditRequest reserve;
  reserve.set_member_id(FormatMemberId(b));
  reserve.set_inmail_id("");
  v1::ReserveCreditResponse held;
  CHECK_THAT(f.stub0->ReserveCredit(TestService::Context(f.svc).get(), reserve, &held),
             StatusIs(Code::kInvalidArgument, "inmail_id"));
  // A member may not read another's credits, wherever they live.
  v1::GetBalanceRequest get;
  get.set_member_id(FormatMemberId(b));
  v1::GetBalanceResponse balance;
  const MemberId a = f.OnShard(0);
  CHECK_THAT(
      f.stub0->GetBalance(TestService::Context(f.shard0.MemberToken(a)).get(), get, &balance),
      StatusIs(Code::kPermissionDenied));
  // Members cannot touch holds at all.
  v1::CommitHoldRequest commit;
  commit.set_member_id(FormatMemberId(b));
  commit.set_inmail_id("inmail-9");
  v1::CommitHoldResponse committed;
  CHECK_THAT(
      f.stub0->CommitHold(TestService::Context(f.shard0.MemberToken(b)).get(), commit, &committed),
      StatusIs(Code::kPermissionDenied));
  // A call forwarded once is not forwarded again.
  auto forwarded = TestService::Context(f.svc);
  forwarded->AddMetadata(kForwardedHeader, "1");
  reserve.set_inmail_id("inmail-2");
  CHECK_THAT(f.stub0->ReserveCredit(forwarded.get(), reserve, &held),
             StatusIs(Code::kFailedPrecondition, "owned by shard 1 in shard map epoch 2"));
}

// Identity and credits both as two shards of one map: each credits shard
// follows its own identity shard's feed, which holds the same members.
TEST_CASE("Sharded credits behind sharded identity: each follows its own identity shard's feed") {
  testing::TempDir dir;
  ManualClock clock{absl::FromUnixSeconds(1'800'000'000)};
  const int ports[4] = {FreePort(), FreePort(), FreePort(), FreePort()};
  const ShardMap map =
      testing::TwoShardsOf({"identity", "credits"}, {ports[0], ports[1], ports[2], ports[3]}, 5);
  std::vector<std::unique_ptr<TestService>> identity, credits;
  for (size_t i = 0; i < 2; ++i) {
    identity.push_back(std::make_unique<TestService>(
        identity::IdentityServiceSpec(identity::IdentityConfig::CallingPrivacy("127.0.0.1:1")),
        dir.Sub(absl::StrCat("i", i)), &clock, ShardIdentity(map, i), ports[i]));
  }
  for (size_t i = 0; i < 2; ++i) {
    // Reads reach identity through shard 0 (which forwards); the feed is
    // the credits shard's own identity shard's.
    credits.push_back(std::make_unique<TestService>(
        CreditServiceSpec({identity[0]->address(), 60, 3600, "5:1000"}),
        dir.Sub(absl::StrCat("c", i)), &clock, ShardIdentity(map, i), ports[2 + i]));
  }
  const std::string svc = credits[0]->ServiceToken("messaging");
  std::vector<MemberId> members;
  for (size_t i = 0; i < 2; ++i) {
    auto people = identity::v1::IdentityService::NewStub(identity[i]->channel());
    identity::v1::CreateMemberRequest create;
    create.set_handle(absl::StrCat("recruiter", i));
    create.set_display_name("Recruiter");
    create.set_email(absl::StrCat("recruiter", i, "@example.com"));
    identity::v1::CreateMemberResponse created;
    REQUIRE_THAT(people->CreateMember(TestService::Context(svc).get(), create, &created), IsOk());
    const MemberId member = std::stoull(created.member().member_id());
    REQUIRE(map.ShardOf(member) == i);
    identity::v1::SetAccountTierRequest set;
    set.set_member_id(FormatMemberId(member));
    set.set_tier(identity::v1::ACCOUNT_TIER_RECRUITER_CORPORATE);
    identity::v1::SetAccountTierResponse done;
    // Through the other identity shard: forwarded to the owner.
    REQUIRE_THAT(identity::v1::IdentityService::NewStub(identity[1 - i]->channel())
                     ->SetAccountTier(TestService::Context(svc).get(), set, &done),
                 IsOk());
    members.push_back(member);
  }
  for (size_t i = 0; i < 2; ++i) {
    // Each credits shard's stored cursor reaches its own identity shard's head.
    const double head = MetricSum(*identity[i], "liaison_feed_head_cursor");
    bool caught_up = false;
    for (int t = 0; t < 500 && !caught_up; ++t) {
      caught_up = MetricSum(*credits[i], "liaison_feed_consumer_cursor") >= head;
      if (!caught_up) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK(caught_up);
    // The grant is the member's own shard's, written from the feed.
    v1::ListLedgerRequest list;
    list.set_member_id(FormatMemberId(members[i]));
    v1::ListLedgerResponse ledger;
    REQUIRE_THAT(v1::CreditService::NewStub(credits[1 - i]->channel())
                     ->ListLedger(TestService::Context(svc).get(), list, &ledger),
                 IsOk());
    int grants = 0;
    for (const auto& entry : ledger.entries()) grants += entry.type() == v1::ENTRY_TYPE_GRANT;
    CHECK(grants == 1);
    CHECK(credits[i]
              ->store()
              ->Get(credits[i]->store()->Family("ledger"), keys::Account(members[i]))
              .ok());
    CHECK_FALSE(credits[1 - i]
                    ->store()
                    ->Get(credits[1 - i]->store()->Family("ledger"), keys::Account(members[i]))
                    .ok());
  }
}

}  // namespace
}  // namespace liaison::credits
