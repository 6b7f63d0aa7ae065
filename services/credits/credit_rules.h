// The product's credit rules (DESIGN.md §4 "Accounts and credits"): what
// each tier gets, its rollover cap, whether it may buy packs, and when the
// monthly refreshes fall.
#ifndef LIAISON_SERVICES_CREDITS_CREDIT_RULES_H_
#define LIAISON_SERVICES_CREDITS_CREDIT_RULES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "liaison/credits/v1/credits.pb.h"
#include "liaison/identity/v1/identity.pb.h"

namespace liaison::credits {

struct TierRule {
  int64_t allotment = 0;  // credits added each month
  int64_t cap = 0;        // most monthly credits that roll over
  bool may_buy = false;   // may purchase packs
};

TierRule RuleFor(identity::v1::AccountTier tier);
bool IsPremium(identity::v1::AccountTier tier);

// The start of billing period `period` (0 = the anchor itself): the anchor
// moved `period` months on, its day of month clamped to the month's length
// (an anchor on the 31st refreshes on the 30th in 30-day months).
absl::Time RefreshTime(absl::Time anchor, int64_t period);

inline constexpr absl::Duration kRefundWindow = absl::Hours(24 * 90);

// "5:1000,50:12000" (credits:price in cents) -> packs "5", "50".
absl::StatusOr<std::vector<v1::CreditPack>> ParsePacks(const std::string& table);

}  // namespace liaison::credits

#endif  // LIAISON_SERVICES_CREDITS_CREDIT_RULES_H_
