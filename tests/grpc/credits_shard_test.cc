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

}  // namespace
}  // namespace liaison::credits
