// The credit ledger's rules on a real RocksDB in a temp dir, with a manual
// clock and the member's tier given directly (no identity service).
#include "services/credits/credit_logic.h"

#include <prometheus/registry.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

#include "services/credits/credit_rules.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace liaison::credits {
namespace {

using identity::v1::ACCOUNT_TIER_BASIC;
using identity::v1::ACCOUNT_TIER_PREMIUM_BUSINESS;
using identity::v1::ACCOUNT_TIER_PREMIUM_CAREER;
using identity::v1::ACCOUNT_TIER_SALES_NAVIGATOR;
using testing::IsOk;
using testing::StatusIs;
using Code = absl::StatusCode;

absl::Time At(int y, int m, int d, int hh = 12) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, hh, 0, 0), absl::UTCTimeZone());
}

const absl::Time kAnchor = At(2027, 1, 15);
constexpr MemberId kMember = 42;

struct Fixture {
  testing::TempDir dir;
  std::unique_ptr<Store> db = Store::Open({dir.path(), CreditStore::Families()}).value();
  CreditStore store{db.get()};
  ManualClock clock{kAnchor};
  prometheus::Registry registry;
  CreditLogic logic{&store, &clock,
                    CreditConfig{ParsePacks("5:1000,50:12000").value(), absl::Seconds(60)},
                    registry};
  MemberFacts career{ACCOUNT_TIER_PREMIUM_CAREER, kAnchor};

  v1::Balance Balance(const MemberFacts& facts, MemberId m = kMember) {
    v1::Balance balance;
    REQUIRE_THAT(logic.GetBalance(m, facts, &balance), IsOk());
    CheckLedgerMatches(m, balance);
    return balance;
  }

  std::vector<v1::LedgerEntry> Ledger(MemberId m = kMember) {
    std::string last;
    auto entries = store.Entries(m, "", 100000, &last);
    REQUIRE(entries.ok());
    return *entries;
  }

  // balance == sum of the ledger, per pool, always.
  void CheckLedgerMatches(MemberId m, const v1::Balance& balance) {
    int64_t monthly = 0, purchased = 0, held = 0;
    for (const auto& e : Ledger(m)) {
      monthly += e.monthly_delta();
      purchased += e.purchased_delta();
      held += e.held_delta();
    }
    CHECK(monthly == balance.monthly_available());
    CHECK(purchased == balance.purchased_available());
    CHECK(held == balance.held());
    CHECK(monthly >= 0);
    CHECK(purchased >= 0);
    CHECK(held >= 0);
  }

  absl::Status Reserve(const std::string& id, const MemberFacts& facts, v1::Hold* hold = nullptr) {
    v1::Hold ignored;
    return logic.Reserve(kMember, facts, id, hold != nullptr ? hold : &ignored);
  }
  absl::Status Commit(const std::string& id) {
    v1::Hold hold;
    return logic.Commit(kMember, id, &hold);
  }
  absl::Status Void(const std::string& id) {
    v1::Hold hold;
    return logic.Void(kMember, id, &hold);
  }
  absl::Status Refund(const std::string& id) {
    v1::Hold hold;
    return logic.Refund(kMember, id, &hold);
  }
};

TEST_CASE("Refresh dates keep the anchor's day, clamped to short months") {
  const absl::Time jan31 = At(2027, 1, 31, 9);
  CHECK(RefreshTime(jan31, 0) == jan31);
  CHECK(RefreshTime(jan31, 1) == At(2027, 2, 28, 9));
  CHECK(RefreshTime(jan31, 2) == At(2027, 3, 31, 9));
  CHECK(RefreshTime(jan31, 3) == At(2027, 4, 30, 9));
  CHECK(RefreshTime(jan31, 13) == At(2028, 2, 29, 9));  // leap year
  CHECK(RefreshTime(At(2027, 12, 15), 1) == At(2028, 1, 15));
}

TEST_CASE("Credit packs come from a table and bad tables are refused") {
  auto packs = ParsePacks("5:1000,50:12000");
  REQUIRE(packs.ok());
  CHECK(packs->size() == 2);
  CHECK((*packs)[1].credits() == 50);
  CHECK((*packs)[1].price_cents() == 12000);
  CHECK_THAT(ParsePacks("5:1000,x:1"), StatusIs(Code::kInvalidArgument));
  CHECK_THAT(ParsePacks("0:100"), StatusIs(Code::kInvalidArgument));
  CHECK_THAT(ParsePacks(""), StatusIs(Code::kInvalidArgument));
}

TEST_CASE("Basic members have no credits and cannot reserve one") {
  Fixture f;
  MemberFacts basic;
  CHECK(f.Balance(basic).available() == 0);
  CHECK(f.Ledger().empty());
  CHECK_THAT(f.Reserve("im-1", basic), StatusIs(Code::kFailedPrecondition, "basic members"));
}

TEST_CASE("An upgrade grants the allotment at once - each anchor day adds the next") {
  Fixture f;
  CHECK(f.Balance(f.career).monthly_available() == 5);
  f.clock.Set(At(2027, 2, 15) - absl::Seconds(1));
  CHECK(f.Balance(f.career).monthly_available() == 5);
  f.clock.Set(At(2027, 2, 15));
  auto balance = f.Balance(f.career);
  CHECK(balance.monthly_available() == 10);
  CHECK(balance.next_refresh_time().seconds() == absl::ToUnixSeconds(At(2027, 3, 15)));
  CHECK(balance.rollover_cap() == 15);
}

TEST_CASE("The monthly pool is clamped to the rollover cap - the excess expires on the ledger") {
  Fixture f;
  f.clock.Set(At(2027, 3, 15));  // 5 + 5 + 5: exactly the cap
  CHECK(f.Balance(f.career).monthly_available() == 15);
  for (const auto& e : f.Ledger()) CHECK(e.type() != v1::ENTRY_TYPE_EXPIRE);
  f.clock.Set(At(2027, 4, 15));  // 20 -> 15
  CHECK(f.Balance(f.career).monthly_available() == 15);
  auto ledger = f.Ledger();
  CHECK(ledger[0].type() == v1::ENTRY_TYPE_EXPIRE);
  CHECK(ledger[0].monthly_delta() == -5);
  CHECK(ledger[1].type() == v1::ENTRY_TYPE_GRANT);
}

TEST_CASE("Several missed months are applied one by one on the next access") {
  Fixture f;
  REQUIRE(f.Balance(f.career).monthly_available() == 5);
  v1::Hold hold;
  for (int i = 0; i < 5; ++i) {
    REQUIRE_THAT(f.Reserve("spend-" + std::to_string(i), f.career), IsOk());
    REQUIRE_THAT(f.Commit("spend-" + std::to_string(i)), IsOk());
  }
  f.clock.Set(At(2027, 7, 20));  // 6 refreshes missed: 0 -> 5, 10, 15, 15, 15, 15
  CHECK(f.Balance(f.career).monthly_available() == 15);
  int grants = 0, expires = 0;
  for (const auto& e : f.Ledger()) {
    grants += e.type() == v1::ENTRY_TYPE_GRANT && e.reference().rfind("period:", 0) == 0;
    expires += e.type() == v1::ENTRY_TYPE_EXPIRE;
  }
  CHECK(grants == 6);
  CHECK(expires == 3);
}

TEST_CASE("An anchor on the 31st refreshes on the last day of shorter months") {
  Fixture f;
  const MemberFacts facts{ACCOUNT_TIER_PREMIUM_BUSINESS, At(2027, 3, 31)};
  f.clock.Set(At(2027, 3, 31));
  CHECK(f.Balance(facts).monthly_available() == 15);
  f.clock.Set(At(2027, 4, 30) - absl::Seconds(1));
  CHECK(f.Balance(facts).monthly_available() == 15);
  f.clock.Set(At(2027, 4, 30));
  CHECK(f.Balance(facts).monthly_available() == 30);
}

TEST_CASE("Cancelling forfeits every credit, purchased ones too") {
  Fixture f;
  v1::PurchaseCreditsRequest buy;
  buy.set_pack_id("5");
  buy.set_idempotency_key("buy-1");
  v1::PurchaseCreditsResponse bought;
  REQUIRE_THAT(f.logic.Purchase(kMember, f.career, buy, &bought), IsOk());
  CHECK(bought.balance().available() == 10);
  auto balance = f.Balance(MemberFacts{});
  CHECK(balance.available() == 0);
  CHECK(f.Ledger()[0].type() == v1::ENTRY_TYPE_FORFEIT);
  CHECK(f.Ledger()[0].monthly_delta() == -5);
  CHECK(f.Ledger()[0].purchased_delta() == -5);
  // Upgrading again starts over with the new tier's allotment.
  f.clock.Advance(absl::Hours(24));
  CHECK(f.Balance(MemberFacts{ACCOUNT_TIER_PREMIUM_BUSINESS, f.clock.Now()}).available() == 15);
}

TEST_CASE("Purchases: career and business only, from the pack table, idempotent by key") {
  Fixture f;
  v1::PurchaseCreditsRequest buy;
  buy.set_pack_id("50");
  buy.set_idempotency_key("order-7");
  v1::PurchaseCreditsResponse first, again;
  REQUIRE_THAT(f.logic.Purchase(kMember, f.career, buy, &first), IsOk());
  REQUIRE_THAT(f.logic.Purchase(kMember, f.career, buy, &again), IsOk());
  CHECK(first.entry().sequence() == again.entry().sequence());
  CHECK(again.balance().purchased_available() == 50);
  // Purchased credits are not subject to the cap.
  f.clock.Set(At(2027, 9, 15));
  CHECK(f.Balance(f.career).purchased_available() == 50);

  v1::PurchaseCreditsRequest other = buy;
  other.set_pack_id("5");
  CHECK_THAT(f.logic.Purchase(kMember, f.career, other, &again),
             StatusIs(Code::kInvalidArgument, "different purchase"));
  other.set_idempotency_key("order-8");
  other.set_pack_id("7");
  CHECK_THAT(f.logic.Purchase(kMember, f.career, other, &again), StatusIs(Code::kNotFound, "pack"));
  other.set_pack_id("5");
  other.set_quantity(-1);
  CHECK_THAT(f.logic.Purchase(kMember, f.career, other, &again),
             StatusIs(Code::kInvalidArgument, "quantity"));
  other.set_quantity(11);
  CHECK_THAT(f.logic.Purchase(kMember, f.career, other, &again), StatusIs(Code::kInvalidArgument));
  other.set_quantity(1);
  other.set_idempotency_key("has spaces");
  CHECK_THAT(f.logic.Purchase(kMember, f.career, other, &again),
             StatusIs(Code::kInvalidArgument, "idempotency_key"));
  other.set_idempotency_key("order-9");
  const MemberFacts navigator{ACCOUNT_TIER_SALES_NAVIGATOR, kAnchor};
  CHECK_THAT(f.logic.Purchase(7, navigator, other, &again), StatusIs(Code::kFailedPrecondition));
  CHECK(f.Balance(f.career).purchased_available() == 50);  // nothing else was bought
}

TEST_CASE("Holds spend monthly credits before purchased ones and are idempotent") {
  Fixture f;
  v1::PurchaseCreditsRequest buy;
  buy.set_pack_id("5");
  buy.set_idempotency_key("k");
  v1::PurchaseCreditsResponse bought;
  REQUIRE_THAT(f.logic.Purchase(kMember, f.career, buy, &bought), IsOk());
  v1::Hold hold;
  for (int i = 0; i < 5; ++i) {
    REQUIRE_THAT(f.Reserve("m" + std::to_string(i), f.career, &hold), IsOk());
    CHECK(hold.pool() == v1::CREDIT_POOL_MONTHLY);
  }
  REQUIRE_THAT(f.Reserve("p0", f.career, &hold), IsOk());
  CHECK(hold.pool() == v1::CREDIT_POOL_PURCHASED);
  const size_t entries = f.Ledger().size();
  REQUIRE_THAT(f.Reserve("p0", f.career, &hold), IsOk());  // a retry
  CHECK(f.Ledger().size() == entries);
  auto balance = f.Balance(f.career);
  CHECK(balance.held() == 6);
  CHECK(balance.available() == 4);
  CHECK_THAT(f.Reserve("bad id!", f.career), StatusIs(Code::kInvalidArgument, "inmail_id"));
}

TEST_CASE("With no credit left a reserve says when the next ones come") {
  Fixture f;
  for (int i = 0; i < 5; ++i) REQUIRE_THAT(f.Reserve("x" + std::to_string(i), f.career), IsOk());
  CHECK_THAT(f.Reserve("x5", f.career),
             StatusIs(Code::kFailedPrecondition, "next 5 arrive on 2027-02-15"));
}

TEST_CASE("Commit and void are idempotent and safe in any order") {
  Fixture f;
  REQUIRE_THAT(f.Reserve("a", f.career), IsOk());
  REQUIRE_THAT(f.Reserve("b", f.career), IsOk());
  CHECK_THAT(f.Commit("a"), IsOk());
  CHECK_THAT(f.Commit("a"), IsOk());
  CHECK_THAT(f.Void("a"), StatusIs(Code::kFailedPrecondition, "refund"));
  CHECK_THAT(f.Void("b"), IsOk());
  CHECK_THAT(f.Void("b"), IsOk());
  CHECK_THAT(f.Commit("b"), StatusIs(Code::kFailedPrecondition, "voided"));
  CHECK_THAT(f.Commit("never"), StatusIs(Code::kNotFound));
  // A void that overtakes its reserve wins: the late reserve is refused.
  CHECK_THAT(f.Void("late"), IsOk());
  CHECK_THAT(f.Reserve("late", f.career), StatusIs(Code::kAborted));
  auto balance = f.Balance(f.career);
  CHECK(balance.available() == 4);  // one committed, one returned
  CHECK(balance.held() == 0);
}

TEST_CASE("Holds past their timeout are voided and return their credit") {
  Fixture f;
  REQUIRE_THAT(f.Reserve("slow", f.career), IsOk());
  REQUIRE_THAT(f.Reserve("swept", f.career), IsOk());
  f.clock.Advance(absl::Seconds(59));
  CHECK(f.logic.SweepExpired(100).value() == 0);
  f.clock.Advance(absl::Seconds(1));
  // Commit after the timeout: refused, and the credit goes back.
  CHECK_THAT(f.Commit("slow"), StatusIs(Code::kFailedPrecondition, "expired"));
  CHECK(f.logic.SweepExpired(100).value() == 1);
  CHECK(f.logic.SweepExpired(100).value() == 0);
  auto balance = f.Balance(f.career);
  CHECK(balance.available() == 5);
  CHECK(balance.held() == 0);
}

TEST_CASE("A refund returns a committed credit once, up to day 90 after the send") {
  Fixture f;
  REQUIRE_THAT(f.Reserve("r1", f.career), IsOk());
  REQUIRE_THAT(f.Reserve("r2", f.career), IsOk());
  REQUIRE_THAT(f.Reserve("held", f.career), IsOk());
  REQUIRE_THAT(f.Commit("r1"), IsOk());
  REQUIRE_THAT(f.Commit("r2"), IsOk());
  CHECK_THAT(f.Refund("held"), StatusIs(Code::kFailedPrecondition));
  CHECK_THAT(f.Refund("nope"), StatusIs(Code::kNotFound));
  const MemberFacts facts{ACCOUNT_TIER_PREMIUM_CAREER, kAnchor};
  f.clock.Set(kAnchor + absl::Hours(24 * 90));
  CHECK_THAT(f.Refund("r1"), IsOk());
  CHECK_THAT(f.Refund("r1"), IsOk());  // once per InMail
  f.clock.Set(kAnchor + absl::Hours(24 * 90) + absl::Seconds(1));
  CHECK_THAT(f.Refund("r2"), StatusIs(Code::kFailedPrecondition, "90 days"));
  int refunds = 0;
  for (const auto& e : f.Ledger()) refunds += e.type() == v1::ENTRY_TYPE_REFUND;
  CHECK(refunds == 1);
  f.Balance(facts);  // the ledger still sums to the balance
}

TEST_CASE("Many threads reserving against one credit: exactly one wins") {
  Fixture f;
  for (int i = 0; i < 4; ++i) REQUIRE_THAT(f.Reserve("pre" + std::to_string(i), f.career), IsOk());
  std::atomic<int> won{0}, refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      absl::Status s = f.Reserve("race-" + std::to_string(t), f.career);
      if (s.ok()) ++won;
      if (s.code() == Code::kFailedPrecondition) ++refused;
    });
  }
  for (auto& t : threads) t.join();
  CHECK(won == 1);
  CHECK(refused == 15);
  auto balance = f.Balance(f.career);
  CHECK(balance.available() == 0);
  CHECK(balance.held() == 5);
}

}  // namespace
}  // namespace liaison::credits
