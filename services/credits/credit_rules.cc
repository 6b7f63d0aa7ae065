#include "services/credits/credit_rules.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace liaison::credits {

TierRule RuleFor(identity::v1::AccountTier tier) {
  switch (tier) {
    case identity::v1::ACCOUNT_TIER_PREMIUM_CAREER:
      return {5, 15, true};
    case identity::v1::ACCOUNT_TIER_PREMIUM_BUSINESS:
      return {15, 45, true};
    case identity::v1::ACCOUNT_TIER_SALES_NAVIGATOR:
      return {50, 150, false};
    case identity::v1::ACCOUNT_TIER_RECRUITER_LITE:
      return {30, 120, false};
    case identity::v1::ACCOUNT_TIER_RECRUITER_CORPORATE:
      return {150, 600, false};
    default:
      return {0, 0, false};
  }
}

bool IsPremium(identity::v1::AccountTier tier) { return RuleFor(tier).allotment > 0; }

absl::Time RefreshTime(absl::Time anchor, int64_t period) {
  const absl::TimeZone utc = absl::UTCTimeZone();
  const absl::CivilSecond start = absl::ToCivilSecond(anchor, utc);
  const absl::CivilMonth month = absl::CivilMonth(start) + period;
  const int days_in_month = static_cast<int>(absl::CivilDay(month + 1) - absl::CivilDay(month));
  const int day = std::min<int>(start.day(), days_in_month);
  const absl::CivilSecond at(month.year(), month.month(), day, start.hour(), start.minute(),
                             start.second());
  return absl::FromCivil(at, utc) + (anchor - absl::FromCivil(start, utc));  // keep sub-seconds
}

absl::StatusOr<std::vector<v1::CreditPack>> ParsePacks(const std::string& table) {
  std::vector<v1::CreditPack> packs;
  for (absl::string_view item : absl::StrSplit(table, ',', absl::SkipEmpty())) {
    std::vector<absl::string_view> parts = absl::StrSplit(item, ':');
    int64_t credits = 0, cents = 0;
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &credits) ||
        !absl::SimpleAtoi(parts[1], &cents) || credits <= 0 || cents <= 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "credit pack \"", item, "\" is not <credits>:<price in cents>, both positive"));
    }
    v1::CreditPack pack;
    pack.set_pack_id(absl::StrCat(credits));
    pack.set_credits(credits);
    pack.set_price_cents(cents);
    pack.set_currency("USD");
    packs.push_back(pack);
  }
  if (packs.empty()) return absl::InvalidArgumentError("the credit pack table is empty");
  return packs;
}

}  // namespace liaison::credits
