// The numbers behind identity's rules (DESIGN.md §4 "Connections",
// "Blocking", "Accounts"), in one place.
#ifndef LIAISON_SERVICES_IDENTITY_RULES_H_
#define LIAISON_SERVICES_IDENTITY_RULES_H_

#include <cstddef>

#include "absl/time/time.h"
#include "liaison/identity/v1/identity.pb.h"

namespace liaison::identity {

inline constexpr size_t kMinHandle = 3;
inline constexpr size_t kMaxHandle = 30;
inline constexpr size_t kMaxDisplayName = 100;
inline constexpr size_t kMaxHeadline = 220;
inline constexpr size_t kMaxEmail = 254;
inline constexpr size_t kMaxPageName = 100;
inline constexpr int kMaxPageAdmins = 50;
inline constexpr int kMaxBatchMembers = 100;
inline constexpr int kMaxBatchRelationships = 50;

inline constexpr size_t kMaxNotePremium = 300;
inline constexpr size_t kMaxNoteBasic = 200;
inline constexpr int kBasicNotesPerMonth = 5;
inline constexpr int kInvitationsPerWeek = 100;
inline constexpr absl::Duration kInvitationWindow = absl::Hours(24 * 7);
inline constexpr absl::Duration kReinviteCooldown = absl::Hours(24 * 21);
inline constexpr uint32_t kMaxConnections = 30000;

inline constexpr absl::Duration kReblockCooldown = absl::Hours(48);
inline constexpr int kMaxBlocks = 1200;

// Every tier but BASIC is premium.
inline bool IsPremium(v1::AccountTier tier) {
  return tier != v1::ACCOUNT_TIER_BASIC && tier != v1::ACCOUNT_TIER_UNSPECIFIED;
}

}  // namespace liaison::identity

#endif  // LIAISON_SERVICES_IDENTITY_RULES_H_
