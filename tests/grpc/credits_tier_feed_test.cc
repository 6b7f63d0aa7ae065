// Credits' reads against the tier feed, with real in-process servers: a read
// the feed has caught up with uses the ledger's tier; with identity's feed
// unavailable, reads fall back to identity's answer and count it.
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include <catch2/catch.hpp>

#include "absl/synchronization/mutex.h"
#include "liaison/credits/v1/credits.grpc.pb.h"
#include "liaison/identity/v1/identity.grpc.pb.h"
#include "services/credits/credit_module.h"
#include "services/identity/identity_module.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_service.h"

namespace liaison::credits {
namespace {

using testing::IsOk;
using testing::TestService;

// An identity whose GetMember answers (with a change cursor) but whose
// change feed is unavailable, as while identity's feed is broken or being
// upgraded.
class FeedlessIdentity final : public identity::v1::IdentityService::Service {
 public:
  void SetTier(identity::v1::AccountTier tier, absl::Time anchor) {
    absl::MutexLock lock(&mu_);
    tier_ = tier;
    anchor_ = anchor;
    ++cursor_;
  }

  grpc::Status GetMember(grpc::ServerContext*, const identity::v1::GetMemberRequest* request,
                         identity::v1::GetMemberResponse* response) override {
    absl::MutexLock lock(&mu_);
    response->mutable_member()->set_member_id(request->member_id());
    response->mutable_member()->set_tier(tier_);
    if (tier_ != identity::v1::ACCOUNT_TIER_BASIC) {
      SetTimestamp(response->mutable_member()->mutable_billing_anchor_time(), anchor_);
    }
    response->set_change_cursor(cursor_);
    return grpc::Status::OK;
  }

  grpc::Status WatchChanges(grpc::ServerContext*, const identity::v1::WatchChangesRequest*,
                            grpc::ServerWriter<identity::v1::WatchChangesResponse>*) override {
    ++watches_;
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the change feed is down");
  }

  int watches() const { return watches_.load(); }

 private:
  absl::Mutex mu_;
  identity::v1::AccountTier tier_ ABSL_GUARDED_BY(mu_) = identity::v1::ACCOUNT_TIER_BASIC;
  absl::Time anchor_ ABSL_GUARDED_BY(mu_);
  uint64_t cursor_ ABSL_GUARDED_BY(mu_) = 1;
  std::atomic<int> watches_{0};
};

double FallbackCount(TestService& credits) {
  for (const auto& family : credits.metrics()->registry().Collect()) {
    if (family.name != "liaison_credits_tier_fallback_total") continue;
    double sum = 0;
    for (const auto& metric : family.metric) sum += metric.counter.value;
    return sum;
  }
  FAIL("liaison_credits_tier_fallback_total is not exported");
  return -1;
}

v1::Balance Balance(TestService& credits, MemberId member) {
  auto stub = v1::CreditService::NewStub(credits.channel());
  v1::GetBalanceRequest request;
  v1::GetBalanceResponse response;
  REQUIRE_THAT(
      stub->GetBalance(TestService::Context(credits.MemberToken(member)).get(), request, &response),
      IsOk());
  return response.balance();
}

TEST_CASE("With identity's feed unavailable, reads apply identity's tier and count the fallback") {
  testing::TempDir dir;
  ManualClock clock{absl::FromUnixSeconds(1'800'000'000)};
  FeedlessIdentity identity;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&identity);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  REQUIRE(port != 0);
  TestService credits{CreditServiceSpec({"127.0.0.1:" + std::to_string(port), 60, 3600, "5:1000"}),
                      dir.Sub("credits"), &clock};
  const MemberId m = 7;

  identity.SetTier(identity::v1::ACCOUNT_TIER_RECRUITER_CORPORATE, clock.Now());
  CHECK(Balance(credits, m).available() == 150);
  CHECK(FallbackCount(credits) == 1);
  // A cancellation and a resubscription, read in between: the lazy path.
  identity.SetTier(identity::v1::ACCOUNT_TIER_BASIC, clock.Now());
  CHECK(Balance(credits, m).available() == 0);
  identity.SetTier(identity::v1::ACCOUNT_TIER_PREMIUM_CAREER, clock.Now());
  const v1::Balance balance = Balance(credits, m);
  CHECK(balance.available() == 5);
  CHECK(balance.tier() == identity::v1::ACCOUNT_TIER_PREMIUM_CAREER);
  CHECK(FallbackCount(credits) == 3);
  CHECK(identity.watches() >= 1);  // it kept trying
  credits.Stop();
  server->Shutdown();
}

TEST_CASE("With identity's feed up, a cancellation and resubscription need no read between") {
  testing::TempDir dir;
  ManualClock clock{absl::FromUnixSeconds(1'800'000'000)};
  TestService identity{
      identity::IdentityServiceSpec(identity::IdentityConfig::CallingPrivacy("127.0.0.1:1")),
      dir.Sub("identity"), &clock};
  TestService credits{CreditServiceSpec({identity.address(), 60, 3600, "5:1000"}),
                      dir.Sub("credits"), &clock};
  auto people = identity::v1::IdentityService::NewStub(identity.channel());
  const std::string svc = credits.ServiceToken("admin");
  identity::v1::CreateMemberRequest create;
  create.set_handle("rena");
  create.set_display_name("Rena");
  create.set_email("rena@example.com");
  identity::v1::CreateMemberResponse created;
  REQUIRE_THAT(people->CreateMember(TestService::Context(svc).get(), create, &created), IsOk());
  const MemberId m = std::stoull(created.member().member_id());
  const auto set = [&](identity::v1::AccountTier tier) {
    identity::v1::SetAccountTierRequest request;
    request.set_member_id(created.member().member_id());
    request.set_tier(tier);
    identity::v1::SetAccountTierResponse response;
    REQUIRE_THAT(people->SetAccountTier(TestService::Context(svc).get(), request, &response),
                 IsOk());
  };
  set(identity::v1::ACCOUNT_TIER_RECRUITER_CORPORATE);
  CHECK(Balance(credits, m).available() == 150);
  set(identity::v1::ACCOUNT_TIER_BASIC);
  set(identity::v1::ACCOUNT_TIER_PREMIUM_CAREER);
  const v1::Balance balance = Balance(credits, m);
  CHECK(balance.available() == 5);
  CHECK(FallbackCount(credits) == 0);
  // Restarted, credits resumes from its cursor and replays nothing.
  credits.Stop();
  credits.Start();
  CHECK(Balance(credits, m).available() == 5);
  auto stub = v1::CreditService::NewStub(credits.channel());
  v1::ListLedgerRequest request;
  request.set_page_size(100);
  v1::ListLedgerResponse ledger;
  REQUIRE_THAT(
      stub->ListLedger(TestService::Context(credits.MemberToken(m)).get(), request, &ledger),
      IsOk());
  int forfeits = 0, grants = 0;
  for (const auto& e : ledger.entries()) {
    forfeits += e.type() == v1::ENTRY_TYPE_FORFEIT;
    grants += e.type() == v1::ENTRY_TYPE_GRANT;
  }
  CHECK(forfeits == 1);
  CHECK(grants == 2);
}

}  // namespace
}  // namespace liaison::credits
