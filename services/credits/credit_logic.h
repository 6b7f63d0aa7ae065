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

  // Voids up to `limit` holds past their timeout; returns how many.
  absl::StatusOr<int> SweepExpired(size_t limit);

  // InvalidArgumentError unless 1-128 characters of [A-Za-z0-9_-].
  static absl::Status ValidateId(const std::string& id, const char* field);

 private:
  class Change;

  absl::Status BringUpToDate(Change& change, const MemberFacts& facts);
  // Voids an expired or cancelled HELD hold inside `change`.
  void VoidHeld(Change& change, v1::Hold* hold, const char* why);
  void FillBalance(MemberId member, const storage::v1::Account& account,
                   v1::Balance* balance) const;
  absl::Mutex& Stripe(MemberId member) { return stripes_[member % stripes_.size()]; }

  CreditStore* store_;
  const Clock* clock_;
  CreditConfig config_;
  prometheus::Family<prometheus::Counter>& entries_;
  std::array<absl::Mutex, 256> stripes_;
};

}  // namespace liaison::credits

#endif  // LIAISON_SERVICES_CREDITS_CREDIT_LOGIC_H_
