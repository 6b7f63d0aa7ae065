#include "services/messaging/policy.h"

#include "absl/strings/str_cat.h"

namespace liaison::messaging {
namespace {

using identity::v1::AccountTier;

bool Premium(AccountTier tier) {
  return tier != identity::v1::ACCOUNT_TIER_BASIC && tier != identity::v1::ACCOUNT_TIER_UNSPECIFIED;
}

Decision Allow(Outcome outcome) { return Decision{outcome, absl::OkStatus()}; }
Decision Deny(absl::Status status) { return Decision{Outcome::kDenied, std::move(status)}; }

// What an InMail-only pair needs (rule 6).
Decision InMailRule(const MemberSendFacts& f) {
  const auto& r = f.relationship;
  if (!Premium(r.member_tier())) {
    return Deny(absl::PermissionDeniedError(
        r.degree() == identity::v1::DEGREE_FIRST
            ? "only premium members can send InMail; send a regular message, it is free"
            : "you are not connected to this member; only premium members can send InMail"));
  }
  const bool override_applies =
      f.premium_to_premium_override && Premium(r.member_tier()) && Premium(r.other_tier());
  if (!f.recipient_settings.inmail_acceptance() && !override_applies) {
    return Deny(absl::FailedPreconditionError("this member does not accept InMail"));
  }
  if (f.unanswered_inmail) {
    return Deny(absl::FailedPreconditionError(
        "your last InMail to this member is still unanswered; wait for a reply"));
  }
  return Allow(Outcome::kInMail);
}

}  // namespace

Decision DecideMemberSend(const MemberSendFacts& f, Intent intent) {
  const auto& r = f.relationship;
  // Rule 1.
  if (r.degree() == identity::v1::DEGREE_SELF) {
    return Deny(absl::InvalidArgumentError("you cannot message yourself"));
  }
  if (!f.recipient_exists) return Deny(absl::NotFoundError("no such member"));
  // Rule 2: no path at all, and no word on who blocked whom.
  if (r.blocked()) return Deny(absl::PermissionDeniedError("you cannot message this member"));
  // Rule 6: an InMail may go to anyone, connections included ("Send to
  // connections? InMail: Yes"); it costs a credit wherever it goes, and a
  // client may warn that a free path exists.
  if (intent == Intent::kInMail) return InMailRule(f);
  // Rules 3-5: free paths.
  Outcome free = Outcome::kDenied;
  if (r.degree() == identity::v1::DEGREE_FIRST) {
    free = Outcome::kRegular;
  } else if (Premium(r.other_tier()) && f.recipient_settings.open_profile()) {
    free = Outcome::kOpenProfile;
  } else if (f.recipient_settings.messages_from_second_degree() &&
             r.degree() == identity::v1::DEGREE_SECOND) {
    free = Outcome::kMessageRequest;
  }
  if (free != Outcome::kDenied) return Allow(free);
  // Rule 6: InMail only.
  Decision inmail = InMailRule(f);
  if (inmail.allowed()) {
    return Deny(absl::FailedPreconditionError(
        "you are not connected to this member; send an InMail (it costs one credit)"));
  }
  return inmail;
}

Decision DecideToPage(const PageSendFacts& f) {
  if (!f.page_exists) return Deny(absl::NotFoundError("no such page"));
  return Allow(Outcome::kPageMessage);
}

Decision DecideFromPage(const PageSendFacts& f) {
  if (!f.page_exists) return Deny(absl::NotFoundError("no such page"));
  if (!f.sender_is_admin) {
    return Deny(absl::PermissionDeniedError("only the page's admins can send as the page"));
  }
  if (f.recipient_follows_page || f.recipient_wrote_first) return Allow(Outcome::kPageMessage);
  return Deny(absl::PermissionDeniedError(
      "a page can write only to its followers and to people who wrote to it first"));
}

Decision DecideGroupAdd(int current_participants,
                        const std::vector<identity::v1::Relationship>& relationships) {
  const int total = current_participants + static_cast<int>(relationships.size());
  if (total > kMaxGroupParticipants) {
    return Deny(absl::InvalidArgumentError(absl::StrCat(
        "a group has at most ", kMaxGroupParticipants, " participants; this would make ", total)));
  }
  for (const auto& r : relationships) {
    if (r.degree() == identity::v1::DEGREE_SELF) {
      return Deny(absl::InvalidArgumentError("you are already in the group"));
    }
    if (r.degree() != identity::v1::DEGREE_FIRST || r.blocked()) {
      return Deny(absl::FailedPreconditionError(
          absl::StrCat("you can add only your connections; you are not connected to member ",
                       r.other_member_id())));
    }
  }
  return Allow(Outcome::kRegular);
}

Decision DecideGroupCreate(const std::vector<identity::v1::Relationship>& relationships) {
  // One other member makes a group of two (new_group), which stays a group.
  if (relationships.empty()) {
    return Deny(absl::InvalidArgumentError("a group needs at least one other participant"));
  }
  return DecideGroupAdd(1, relationships);
}

}  // namespace liaison::messaging
