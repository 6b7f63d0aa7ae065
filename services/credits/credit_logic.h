// CreditService's methods without gRPC. Every change to a member's credits
// is one WriteBatch (account, ledger entries, hold, index), fsync'ed before
// the method returns, made under that member's lock stripe, so concurrent
// requests for one member never overdraw. The handler runs these on a pool
// of writer threads; RocksDB groups their concurrent fsyncs (group commit).
#ifndef LIAISON_SERVICES_CREDITS_CREDIT_LOGIC_H_
#define LIAISON_SERVICES_CREDITS_CREDIT_LOGIC_H_

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <array>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "liaison/credits/v1/credits.pb.h"
#include "liaison/identity/v1/identity.pb.h"
#include "services/credits/credit_store.h"

namespace liaison::credits {

// What identity says about a member, fetched per request.
struct MemberFacts {
  identity::v1::AccountTier tier = identity::v1::ACCOUNT_TIER_BASIC;
  // Start of the billing cycle; InfinitePast when none.
  absl::Time anchor = absl::InfinitePast();
  // Identity's change-feed cursor the answer reflects at least (0: unknown).
  uint64_t cursor = 0;
  // The tier feed (tier_feed.h) has applied every tier change up to `cursor`:
  // the account's own tier is current and identity's is used only for a
  // member with no account yet. Otherwise (the fallback) identity's tier is
  // applied here, and feed changes up to `cursor` are skipped later.
  bool feed_applied = false;
};

// One TierChange from identity's change feed.
struct TierEvent {
  uint64_t cursor = 0;
  MemberId member = 0;
  identity::v1::AccountTier tier = identity::v1::ACCOUNT_TIER_BASIC;
  absl::Time anchor = absl::InfinitePast();  // InfinitePast for BASIC
  absl::Time commit_time;                    // when identity committed it
};

struct CreditConfig {
  std::vector<v1::CreditPack> packs;
  absl::Duration hold_timeout = absl::Seconds(60);
};

class CreditLogic final {
 public:
  CreditLogic(CreditStore* store, const Clock* clock, CreditConfig config,
              prometheus::Registry& registry);

  // Brings the account up to date with `facts` and the clock first.
  absl::Status GetBalance(MemberId member, const MemberFacts& facts, v1::Balance* balance);
  absl::Status ListLedger(MemberId member, const MemberFacts& facts,
                          const v1::ListLedgerRequest& request, v1::ListLedgerResponse* response);
  const std::vector<v1::CreditPack>& packs() const { return config_.packs; }
  absl::Status Purchase(MemberId member, const MemberFacts& facts,
                        const v1::PurchaseCreditsRequest& request,
                        v1::PurchaseCreditsResponse* response);

  absl::Status Reserve(MemberId member, const MemberFacts& facts, const std::string& inmail_id,
                       v1::Hold* hold);
  absl::Status Commit(MemberId member, const std::string& inmail_id, v1::Hold* hold);
  absl::Status Void(MemberId member, const std::string& inmail_id, v1::Hold* hold);
  absl::Status Refund(MemberId member, const std::string& inmail_id, v1::Hold* hold);

  // The tier feed: turns `event` into the member's FORFEIT / GRANT entries
  // (creating the account if there is none), and writes them with the
  // account's applied_cursor and `feed`'s stored cursor in one synced batch.
  // An event at or below the account's applied_cursor changes nothing
  // (returns false): each change is applied exactly once.
  absl::StatusOr<bool> ApplyTierChange(const TierEvent& event, absl::string_view feed);
  // A rebuild: sets `member`'s account from identity's `facts` as a fallback
  // read does, with applied_cursor = facts.cursor (not the larger of the two:
  // a reset feed starts its cursors again). NotFoundError if no account.
  absl::Status ResetTier(MemberId member, const MemberFacts& facts);
  // Stores `feed`'s cursor alone (heartbeats, skipped changes). Not synced: a
  // lost one only replays changes the accounts skip.
  absl::Status SaveFeedCursor(absl::string_view feed, uint64_t cursor);

  // Voids up to `limit` holds past their timeout; returns how many.
  absl::StatusOr<int> SweepExpired(size_t limit);

  // InvalidArgumentError unless 1-128 characters of [A-Za-z0-9_-].
  static absl::Status ValidateId(const std::string& id, const char* field);

 private:
  class Change;

  // The account as of now: identity's tier applied unless the feed already
  // did (facts.feed_applied), then the monthly refreshes due.
  absl::Status BringUpToDate(Change& change, const MemberFacts& facts);
  // A tier seen: FORFEIT when cancelled, GRANT and a new cycle for a new
  // premium tier or anchor; nothing when unchanged.
  void ApplyTier(Change& change, identity::v1::AccountTier tier, absl::Time anchor);
  // The account's tier's refreshes due up to `until`, each clamped to the cap.
  void Refresh(Change& change, absl::Time until);
  // Voids an expired or cancelled HELD hold inside `change`.
  void VoidHeld(Change& change, v1::Hold* hold, const char* why);
  void FillBalance(MemberId member, const storage::v1::Account& account,
                   v1::Balance* balance) const;
  absl::Mutex& Stripe(MemberId member) { return stripes_[member % stripes_.size()]; }

  CreditStore* store_;
  const Clock* clock_;
  CreditConfig config_;
  prometheus::Family<prometheus::Counter>& entries_;
  prometheus::Counter& tier_fallbacks_;
  std::array<absl::Mutex, 256> stripes_;
};

}  // namespace liaison::credits

#endif  // LIAISON_SERVICES_CREDITS_CREDIT_LOGIC_H_
