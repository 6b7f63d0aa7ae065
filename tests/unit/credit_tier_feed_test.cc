// Tier changes from identity's change feed on the credit ledger (real
// RocksDB in a temp dir, manual clock): each applied once, skipped at or
// below the account's applied cursor, and reads that the feed vouches for
// keep the account's tier.
#include <prometheus/registry.h>

#include <catch2/catch.hpp>

#include "services/credits/credit_logic.h"
#include "services/credits/credit_rules.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace liaison::credits {
namespace {

using identity::v1::ACCOUNT_TIER_BASIC;
using identity::v1::ACCOUNT_TIER_PREMIUM_CAREER;
using identity::v1::ACCOUNT_TIER_RECRUITER_CORPORATE;
using testing::IsOk;

const absl::Time kStart = absl::FromCivil(absl::CivilDay(2027, 1, 15), absl::UTCTimeZone());
constexpr MemberId kMember = 42;
constexpr char kFeed[] = "identity";

struct Fixture {
  testing::TempDir dir;
  std::unique_ptr<Store> db = Store::Open({dir.path(), CreditStore::Families()}).value();
  CreditStore store{db.get()};
  ManualClock clock{kStart};
  prometheus::Registry registry;
  CreditLogic logic{&store, &clock, CreditConfig{ParsePacks("5:1000").value(), absl::Seconds(60)},
                    registry};

  bool Apply(uint64_t cursor, identity::v1::AccountTier tier, absl::Time at) {
    TierEvent event;
    event.cursor = cursor;
    event.member = kMember;
    event.tier = tier;
    if (tier != ACCOUNT_TIER_BASIC) event.anchor = at;
    event.commit_time = at;
    auto applied = logic.ApplyTierChange(event, kFeed);
    REQUIRE_THAT(applied.status(), IsOk());
    return *applied;
  }

  v1::Balance Balance(const MemberFacts& facts) {
    v1::Balance balance;
    REQUIRE_THAT(logic.GetBalance(kMember, facts, &balance), IsOk());
    return balance;
  }

  std::vector<v1::LedgerEntry> Ledger() {
    std::string last;
    auto entries = store.Entries(kMember, "", 1000, &last);
    REQUIRE(entries.ok());
    return *entries;
  }

  int Count(v1::EntryType type) {
    int n = 0;
    for (const auto& e : Ledger()) n += e.type() == type;
    return n;
  }

  uint64_t StoredCursor() {
    auto cursor = store.GetFeedCursor(kFeed);
    REQUIRE(cursor.ok());
    REQUIRE(cursor->has_value());
    return **cursor;
  }

  uint64_t AppliedCursor() {
    auto account = store.GetAccount(kMember);
    REQUIRE(account.ok());
    return account->applied_cursor();
  }
};

MemberFacts Facts(identity::v1::AccountTier tier, absl::Time anchor, uint64_t cursor,
                  bool feed_applied) {
  MemberFacts facts;
  facts.tier = tier;
  if (tier != ACCOUNT_TIER_BASIC) facts.anchor = anchor;
  facts.cursor = cursor;
  facts.feed_applied = feed_applied;
  return facts;
}

TEST_CASE("Cancelling and resubscribing from the feed forfeits, then grants the new tier") {
  Fixture f;
  CHECK(f.Apply(1, ACCOUNT_TIER_RECRUITER_CORPORATE, kStart));
  CHECK(f.Apply(2, ACCOUNT_TIER_BASIC, kStart + absl::Hours(1)));
  CHECK(f.Apply(3, ACCOUNT_TIER_PREMIUM_CAREER, kStart + absl::Hours(2)));
  const auto balance = f.Balance(Facts(ACCOUNT_TIER_PREMIUM_CAREER, kStart + absl::Hours(2), 3,
                                       /*feed_applied=*/true));
  CHECK(balance.available() == 5);
  CHECK(f.Count(v1::ENTRY_TYPE_FORFEIT) == 1);
  CHECK(f.Count(v1::ENTRY_TYPE_GRANT) == 2);
  CHECK(f.Count(v1::ENTRY_TYPE_EXPIRE) == 0);
  CHECK(f.StoredCursor() == 3);
  CHECK(f.AppliedCursor() == 3);
}

TEST_CASE("A tier change at or below the account's applied cursor changes nothing") {
  Fixture f;
  REQUIRE(f.Apply(10, ACCOUNT_TIER_RECRUITER_CORPORATE, kStart));
  const size_t entries = f.Ledger().size();
  CHECK_FALSE(f.Apply(10, ACCOUNT_TIER_BASIC, kStart));  // the same cursor again
  CHECK_FALSE(f.Apply(4, ACCOUNT_TIER_BASIC, kStart));   // an older one
  CHECK(f.Ledger().size() == entries);
  CHECK(f.AppliedCursor() == 10);
  CHECK(f.StoredCursor() == 10);
  CHECK(f.Apply(11, ACCOUNT_TIER_BASIC, kStart));
  CHECK(f.Count(v1::ENTRY_TYPE_FORFEIT) == 1);
  CHECK(f.StoredCursor() == 11);
}

TEST_CASE("A fallback read applies identity's tier and skips the feed changes it reflects") {
  Fixture f;
  REQUIRE(f.Apply(1, ACCOUNT_TIER_RECRUITER_CORPORATE, kStart));
  // The feed is not live: identity's answer (as of cursor 20) is applied.
  const auto balance = f.Balance(Facts(ACCOUNT_TIER_BASIC, kStart, 20, /*feed_applied=*/false));
  CHECK(balance.available() == 0);
  CHECK(f.AppliedCursor() == 20);
  const size_t entries = f.Ledger().size();
  // The change the answer already held, replayed when the feed is back.
  CHECK_FALSE(f.Apply(15, ACCOUNT_TIER_BASIC, kStart));
  CHECK(f.Ledger().size() == entries);
  CHECK(f.Apply(21, ACCOUNT_TIER_PREMIUM_CAREER, kStart + absl::Hours(1)));
  CHECK(f.Balance(Facts(ACCOUNT_TIER_PREMIUM_CAREER, kStart + absl::Hours(1), 21, true))
            .available() == 5);
}

TEST_CASE("A read the feed vouches for keeps the account's tier, not identity's answer") {
  Fixture f;
  REQUIRE(f.Apply(5, ACCOUNT_TIER_RECRUITER_CORPORATE, kStart));
  // An answer older than the account (identity read before the change
  // committed) cannot take the tier back.
  const auto balance = f.Balance(Facts(ACCOUNT_TIER_BASIC, kStart, 4, /*feed_applied=*/true));
  CHECK(balance.available() == 150);
  CHECK(balance.tier() == ACCOUNT_TIER_RECRUITER_CORPORATE);
  CHECK(f.Count(v1::ENTRY_TYPE_FORFEIT) == 0);
}

TEST_CASE("A member with no account starts from identity's answer, even when the feed vouches") {
  Fixture f;
  const auto balance =
      f.Balance(Facts(ACCOUNT_TIER_PREMIUM_CAREER, kStart, 9, /*feed_applied=*/true));
  CHECK(balance.available() == 5);
  CHECK(f.AppliedCursor() == 9);
  CHECK_FALSE(f.Apply(9, ACCOUNT_TIER_PREMIUM_CAREER, kStart));
}

TEST_CASE("The old tier's refreshes before a change count up to the change, not up to now") {
  Fixture f;
  REQUIRE(f.Apply(1, ACCOUNT_TIER_PREMIUM_CAREER, kStart));
  // Read much later: the cancellation 40 days in came after one refresh.
  f.clock.Advance(absl::Hours(24 * 100));
  REQUIRE(f.Apply(2, ACCOUNT_TIER_BASIC, kStart + absl::Hours(24 * 40)));
  CHECK(f.Count(v1::ENTRY_TYPE_GRANT) == 2);  // the upgrade and period 1
  const auto ledger = f.Ledger();
  REQUIRE(ledger.front().type() == v1::ENTRY_TYPE_FORFEIT);
  CHECK(ledger.front().monthly_delta() == -10);
}

TEST_CASE("A rebuild sets the account from identity, even back to a smaller cursor") {
  Fixture f;
  REQUIRE(f.Apply(100, ACCOUNT_TIER_RECRUITER_CORPORATE, kStart));
  // Identity's feed was reset: its cursors start again.
  REQUIRE_THAT(f.logic.ResetTier(kMember, Facts(ACCOUNT_TIER_BASIC, kStart, 3, false)), IsOk());
  CHECK(f.AppliedCursor() == 3);
  CHECK(f.Count(v1::ENTRY_TYPE_FORFEIT) == 1);
  CHECK(f.Apply(4, ACCOUNT_TIER_PREMIUM_CAREER, kStart + absl::Hours(1)));
  CHECK(f.Balance(Facts(ACCOUNT_TIER_PREMIUM_CAREER, kStart, 4, true)).available() == 5);
  CHECK(f.logic.ResetTier(7, Facts(ACCOUNT_TIER_BASIC, kStart, 3, false)).code() ==
        absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace liaison::credits
