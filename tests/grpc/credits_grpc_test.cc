// CreditService through real in-process servers: identity (for tiers) and
// credits, each on its own RocksDB, sharing a manual clock.
#include <catch2/catch.hpp>

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
using testing::StatusIs;
using testing::TestService;
using Code = absl::StatusCode;

struct Fixture {
  testing::TempDir dir;
  ManualClock clock{absl::FromUnixSeconds(1'800'000'000)};
  TestService identity{
      identity::IdentityServiceSpec(identity::IdentityConfig::CallingPrivacy("127.0.0.1:1")),
      dir.Sub("identity"), &clock};
  TestService credits{CreditServiceSpec({identity.address(), 60, 3600, "5:1000,50:12000"}),
                      dir.Sub("credits"), &clock};
  std::unique_ptr<identity::v1::IdentityService::Stub> people =
      identity::v1::IdentityService::NewStub(identity.channel());
  std::unique_ptr<v1::CreditService::Stub> stub = v1::CreditService::NewStub(credits.channel());
  const std::string svc = credits.ServiceToken("messaging");

  MemberId NewMember(const std::string& handle, identity::v1::AccountTier tier) {
    identity::v1::CreateMemberRequest create;
    create.set_handle(handle);
    create.set_display_name(handle);
    create.set_email(handle + "@example.com");
    identity::v1::CreateMemberResponse created;
    REQUIRE_THAT(people->CreateMember(TestService::Context(svc).get(), create, &created), IsOk());
    identity::v1::SetAccountTierRequest set;
    set.set_member_id(created.member().member_id());
    set.set_tier(tier);
    identity::v1::SetAccountTierResponse done;
    REQUIRE_THAT(people->SetAccountTier(TestService::Context(svc).get(), set, &done), IsOk());
    return std::stoull(created.member().member_id());
  }

  grpc::Status Balance(const std::string& token, const std::string& member, v1::Balance* out) {
    v1::GetBalanceRequest request;
    request.set_member_id(member);
    v1::GetBalanceResponse response;
    grpc::Status status = stub->GetBalance(TestService::Context(token).get(), request, &response);
    *out = response.balance();
    return status;
  }

  grpc::Status Reserve(const std::string& token, MemberId member, const std::string& inmail) {
    v1::ReserveCreditRequest request;
    request.set_member_id(std::to_string(member));
    request.set_inmail_id(inmail);
    v1::ReserveCreditResponse response;
    return stub->ReserveCredit(TestService::Context(token).get(), request, &response);
  }

  grpc::Status Commit(MemberId member, const std::string& inmail) {
    v1::CommitHoldRequest request;
    request.set_member_id(std::to_string(member));
    request.set_inmail_id(inmail);
    v1::CommitHoldResponse response;
    return stub->CommitHold(TestService::Context(svc).get(), request, &response);
  }
};

TEST_CASE("A premium member's balance follows identity's tier") {
  Fixture f;
  const MemberId m = f.NewMember("rec", identity::v1::ACCOUNT_TIER_RECRUITER_LITE);
  v1::Balance balance;
  REQUIRE_THAT(f.Balance(f.credits.MemberToken(m), "", &balance), IsOk());
  CHECK(balance.monthly_available() == 30);
  CHECK(balance.rollover_cap() == 120);
  CHECK(balance.tier() == identity::v1::ACCOUNT_TIER_RECRUITER_LITE);
  CHECK(balance.tier_name() == "ACCOUNT_TIER_RECRUITER_LITE");  // the deprecated form
  CHECK(balance.member_id() == std::to_string(m));
  REQUIRE_THAT(f.Balance(f.svc, std::to_string(m), &balance), IsOk());
  CHECK(balance.available() == 30);
}

TEST_CASE("Reserve, commit and the ledger, over gRPC") {
  Fixture f;
  const MemberId m = f.NewMember("rec", identity::v1::ACCOUNT_TIER_PREMIUM_CAREER);
  REQUIRE_THAT(f.Reserve(f.svc, m, "inmail-1"), IsOk());
  REQUIRE_THAT(f.Reserve(f.svc, m, "inmail-1"), IsOk());  // idempotent
  REQUIRE_THAT(f.Commit(m, "inmail-1"), IsOk());
  v1::ListLedgerRequest request;
  request.set_page_size(2);
  v1::ListLedgerResponse page;
  REQUIRE_THAT(
      f.stub->ListLedger(TestService::Context(f.credits.MemberToken(m)).get(), request, &page),
      IsOk());
  REQUIRE(page.entries_size() == 2);
  CHECK(page.entries(0).type() == v1::ENTRY_TYPE_COMMIT);
  CHECK(page.entries(1).type() == v1::ENTRY_TYPE_HOLD);
  request.set_page_token(page.next_page_token());
  REQUIRE_THAT(
      f.stub->ListLedger(TestService::Context(f.credits.MemberToken(m)).get(), request, &page),
      IsOk());
  REQUIRE(page.entries_size() == 1);
  CHECK(page.entries(0).type() == v1::ENTRY_TYPE_GRANT);
  CHECK(page.next_page_token().empty());
}

TEST_CASE("Internal credit methods need a service token") {
  Fixture f;
  const MemberId m = f.NewMember("rec", identity::v1::ACCOUNT_TIER_PREMIUM_CAREER);
  const std::string member = f.credits.MemberToken(m);
  CHECK_THAT(f.Reserve(member, m, "x"), StatusIs(Code::kPermissionDenied, "service token"));
  v1::CommitHoldRequest commit;
  commit.set_member_id(std::to_string(m));
  commit.set_inmail_id("x");
  v1::CommitHoldResponse committed;
  CHECK_THAT(f.stub->CommitHold(TestService::Context(member).get(), commit, &committed),
             StatusIs(Code::kPermissionDenied));
  v1::RefundInMailRequest refund;
  refund.set_member_id(std::to_string(m));
  refund.set_inmail_id("x");
  v1::RefundInMailResponse refunded;
  CHECK_THAT(f.stub->RefundInMail(TestService::Context(member).get(), refund, &refunded),
             StatusIs(Code::kPermissionDenied));
  CHECK_THAT(f.Reserve("", m, "x"), StatusIs(Code::kUnauthenticated));
  v1::Balance balance;
  REQUIRE_THAT(f.Balance(member, "", &balance), IsOk());
  CHECK(balance.held() == 0);
}

TEST_CASE("Bad credit input gets the right code and stores nothing") {
  Fixture f;
  const MemberId m = f.NewMember("rec", identity::v1::ACCOUNT_TIER_PREMIUM_CAREER);
  const MemberId other = f.NewMember("other", identity::v1::ACCOUNT_TIER_PREMIUM_CAREER);
  CHECK_THAT(f.Reserve(f.svc, 424242, "x"), StatusIs(Code::kNotFound, "no member"));
  CHECK_THAT(f.Reserve(f.svc, m, ""), StatusIs(Code::kInvalidArgument, "inmail_id"));
  CHECK_THAT(f.Reserve(f.svc, m, std::string(129, 'a')), StatusIs(Code::kInvalidArgument));
  v1::ReserveCreditRequest no_member;
  no_member.set_inmail_id("x");
  v1::ReserveCreditResponse reserved;
  CHECK_THAT(f.stub->ReserveCredit(TestService::Context(f.svc).get(), no_member, &reserved),
             StatusIs(Code::kInvalidArgument, "member_id is required"));
  v1::Balance balance;
  CHECK_THAT(f.Balance(f.credits.MemberToken(m), std::to_string(other), &balance),
             StatusIs(Code::kPermissionDenied, "own credits"));
  v1::PurchaseCreditsRequest buy;
  buy.set_pack_id("6");
  buy.set_idempotency_key("k1");
  v1::PurchaseCreditsResponse bought;
  CHECK_THAT(
      f.stub->PurchaseCredits(TestService::Context(f.credits.MemberToken(m)).get(), buy, &bought),
      StatusIs(Code::kNotFound, "pack"));
  buy.set_pack_id("5");
  buy.set_quantity(-3);
  CHECK_THAT(
      f.stub->PurchaseCredits(TestService::Context(f.credits.MemberToken(m)).get(), buy, &bought),
      StatusIs(Code::kInvalidArgument, "quantity"));
  CHECK_THAT(f.stub->PurchaseCredits(TestService::Context(f.svc).get(), buy, &bought),
             StatusIs(Code::kPermissionDenied));
  REQUIRE_THAT(f.Balance(f.svc, std::to_string(m), &balance), IsOk());
  CHECK(balance.purchased_available() == 0);
  CHECK(balance.held() == 0);
}

TEST_CASE("Empty pack ids and holds of unknown members are refused, and nothing is stored") {
  Fixture f;
  const MemberId m = f.NewMember("rec", identity::v1::ACCOUNT_TIER_PREMIUM_CAREER);
  v1::PurchaseCreditsRequest buy;
  buy.set_idempotency_key("k1");
  v1::PurchaseCreditsResponse bought;
  CHECK_THAT(
      f.stub->PurchaseCredits(TestService::Context(f.credits.MemberToken(m)).get(), buy, &bought),
      StatusIs(Code::kInvalidArgument, "pack_id is empty"));
  // Voiding a hold of a member nobody created stores nothing: refunding the
  // same InMail afterwards answers as it did before.
  v1::RefundInMailRequest refund;
  refund.set_member_id("424242");
  refund.set_inmail_id("im-1");
  v1::RefundInMailResponse refunded;
  const grpc::Status before =
      f.stub->RefundInMail(TestService::Context(f.svc).get(), refund, &refunded);
  v1::VoidHoldRequest void_hold;
  void_hold.set_member_id("424242");
  void_hold.set_inmail_id("im-1");
  v1::VoidHoldResponse voided;
  CHECK_THAT(f.stub->VoidHold(TestService::Context(f.svc).get(), void_hold, &voided),
             StatusIs(Code::kNotFound, "no credits account"));
  const grpc::Status after =
      f.stub->RefundInMail(TestService::Context(f.svc).get(), refund, &refunded);
  CHECK(after.error_code() == before.error_code());
  CHECK(after.error_message() == before.error_message());
  // A known member's early void is remembered, so a late reserve is refused.
  v1::Balance balance;
  REQUIRE_THAT(f.Balance(f.svc, std::to_string(m), &balance), IsOk());
  void_hold.set_member_id(std::to_string(m));
  REQUIRE_THAT(f.stub->VoidHold(TestService::Context(f.svc).get(), void_hold, &voided), IsOk());
  CHECK(voided.hold().state() == v1::HOLD_STATE_VOIDED);
  CHECK_FALSE(f.Reserve(f.svc, m, "im-1").ok());
}

TEST_CASE("Credit packs are listed from the configured table") {
  Fixture f;
  v1::ListCreditPacksResponse packs;
  REQUIRE_THAT(f.stub->ListCreditPacks(TestService::Context(f.svc).get(), {}, &packs), IsOk());
  REQUIRE(packs.packs_size() == 2);
  CHECK(packs.packs(0).credits() == 5);
  CHECK(packs.packs(0).price_cents() == 1000);
  CHECK(packs.packs(1).price_cents() == 12000);
}

TEST_CASE("With identity down, tier-dependent calls are UNAVAILABLE - holds still settle") {
  Fixture f;
  const MemberId m = f.NewMember("rec", identity::v1::ACCOUNT_TIER_PREMIUM_CAREER);
  REQUIRE_THAT(f.Reserve(f.svc, m, "before"), IsOk());
  f.identity.Stop();
  grpc::Status status = f.Reserve(f.svc, m, "during");
  CHECK_THAT(status, StatusIs(Code::kUnavailable, "identity service is unavailable"));
  CHECK(status.error_message().find("127.0.0.1") == std::string::npos);
  CHECK_THAT(f.Commit(m, "before"), IsOk());
}

}  // namespace
}  // namespace liaison::credits
