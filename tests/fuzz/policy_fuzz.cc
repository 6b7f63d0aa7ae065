// The send policy (services/messaging/policy.h) over fuzzed facts: any
// relationship (degree, block flags, both tiers, enum values outside the
// proto's included), any recipient settings, both intents. Properties of
// the product's rules that must hold whatever else changes:
//  - deterministic: the same facts give the same decision;
//  - allowed exactly when the status is OK; a refusal is one of the
//    client-facing codes, with a message;
//  - a blocked pair, oneself, or a recipient who does not exist: never;
//  - a free outcome only on its own path (regular: 1st degree; Open
//    Profile: premium recipient with it on; request: 2nd degree and the
//    recipient takes them); an InMail only when asked for, from a premium
//    sender, never with an unanswered one pending, never to someone who
//    refuses InMail unless the premium-to-premium override applies;
//  - pages write only as an admin, to followers or to whoever wrote first;
//  - groups: within 50, only 1st-degree, unblocked, other members.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "services/messaging/policy.h"
#include "tests/fuzz/fuzz_support.h"

namespace liaison::fuzz {
namespace {

using identity::v1::AccountTier;
using identity::v1::Degree;
using identity::v1::Relationship;
using messaging::Decision;
using messaging::Outcome;

// Mostly the proto's values, now and then a value a newer peer could send.
template <typename Enum>
Enum AnyEnum(FuzzedDataProvider& in, int last) {
  return static_cast<Enum>(in.ConsumeBool() ? in.ConsumeIntegralInRange<int>(0, last)
                                            : in.ConsumeIntegral<int>());
}

Relationship AnyRelationship(FuzzedDataProvider& in) {
  Relationship r;
  r.set_member_id("1");
  r.set_other_member_id("2");
  r.set_degree(AnyEnum<Degree>(in, 5));
  r.set_blocked(in.ConsumeBool());
  r.set_blocked_by_member(in.ConsumeBool());
  r.set_blocked_by_other(in.ConsumeBool());
  r.set_member_tier(AnyEnum<AccountTier>(in, 6));
  r.set_other_tier(AnyEnum<AccountTier>(in, 6));
  r.set_mutual_connection_count(in.ConsumeIntegral<int64_t>());
  // `blocked` is "a block either way": the one-sided flags imply it.
  if (r.blocked_by_member() || r.blocked_by_other()) r.set_blocked(true);
  return r;
}

// Premium is any tier but BASIC (and unset); an unknown tier is a paid one
// a newer identity added.
bool Premium(AccountTier tier) {
  return tier != identity::v1::ACCOUNT_TIER_BASIC && tier != identity::v1::ACCOUNT_TIER_UNSPECIFIED;
}

bool SameDecision(const Decision& a, const Decision& b) {
  return a.outcome == b.outcome && a.status == b.status;
}

void CheckShape(const Decision& d) {
  FUZZ_CHECK(d.allowed() == d.status.ok());
  if (d.allowed()) return;
  const auto code = d.status.code();
  FUZZ_CHECK(code == absl::StatusCode::kInvalidArgument || code == absl::StatusCode::kNotFound ||
             code == absl::StatusCode::kPermissionDenied ||
             code == absl::StatusCode::kFailedPrecondition);
  FUZZ_CHECK(IsClientError(d.status, code));
}

void CheckMemberSend(FuzzedDataProvider& in) {
  messaging::MemberSendFacts facts;
  facts.recipient_exists = in.ConsumeBool();
  facts.relationship = AnyRelationship(in);
  auto& settings = facts.recipient_settings;
  if (in.ConsumeBool()) settings.set_inmail_acceptance(in.ConsumeBool());
  if (in.ConsumeBool()) settings.set_open_profile(in.ConsumeBool());
  if (in.ConsumeBool()) settings.set_messages_from_second_degree(in.ConsumeBool());
  facts.unanswered_inmail = in.ConsumeBool();
  facts.premium_to_premium_override = in.ConsumeBool();
  const auto intent = in.ConsumeBool() ? messaging::Intent::kInMail : messaging::Intent::kMessage;

  const Decision d = messaging::DecideMemberSend(facts, intent);
  CheckShape(d);
  FUZZ_CHECK(SameDecision(d, messaging::DecideMemberSend(facts, intent)));
  if (!d.allowed()) return;

  const auto& r = facts.relationship;
  FUZZ_CHECK(!r.blocked() && facts.recipient_exists && r.degree() != identity::v1::DEGREE_SELF);
  switch (d.outcome) {
    case Outcome::kRegular:
      FUZZ_CHECK(intent == messaging::Intent::kMessage && r.degree() == identity::v1::DEGREE_FIRST);
      break;
    case Outcome::kOpenProfile:
      FUZZ_CHECK(intent == messaging::Intent::kMessage && Premium(r.other_tier()) &&
                 settings.open_profile());
      break;
    case Outcome::kMessageRequest:
      FUZZ_CHECK(intent == messaging::Intent::kMessage &&
                 r.degree() == identity::v1::DEGREE_SECOND &&
                 settings.messages_from_second_degree());
      break;
    case Outcome::kInMail: {
      const bool override_applies =
          facts.premium_to_premium_override && Premium(r.member_tier()) && Premium(r.other_tier());
      FUZZ_CHECK(intent == messaging::Intent::kInMail && Premium(r.member_tier()) &&
                 !facts.unanswered_inmail && (settings.inmail_acceptance() || override_applies));
      break;
    }
    default:
      FUZZ_CHECK(!"a member-to-member send gave a page or denied outcome");
  }
}

void CheckPages(FuzzedDataProvider& in) {
  messaging::PageSendFacts facts;
  facts.page_exists = in.ConsumeBool();
  facts.sender_is_admin = in.ConsumeBool();
  facts.recipient_follows_page = in.ConsumeBool();
  facts.recipient_wrote_first = in.ConsumeBool();
  const Decision to_page = messaging::DecideToPage(facts);
  CheckShape(to_page);
  FUZZ_CHECK(to_page.allowed() == facts.page_exists);
  const Decision from_page = messaging::DecideFromPage(facts);
  CheckShape(from_page);
  FUZZ_CHECK(SameDecision(from_page, messaging::DecideFromPage(facts)));
  FUZZ_CHECK(from_page.allowed() ==
             (facts.page_exists && facts.sender_is_admin &&
              (facts.recipient_follows_page || facts.recipient_wrote_first)));
  for (const Decision& d : {to_page, from_page}) {
    FUZZ_CHECK(!d.allowed() || d.outcome == Outcome::kPageMessage);
  }
}

void CheckGroups(FuzzedDataProvider& in) {
  std::vector<Relationship> relationships(in.ConsumeIntegralInRange<size_t>(0, 60));
  for (auto& r : relationships) {
    // Mostly connections, so that the size limit and single odd members
    // are reached too.
    r = AnyRelationship(in);
    if (in.ConsumeProbability<float>() < 0.8f) {
      r.set_degree(identity::v1::DEGREE_FIRST);
      r.set_blocked(false);
      r.set_blocked_by_member(false);
      r.set_blocked_by_other(false);
    }
  }
  const int current = in.ConsumeIntegralInRange<int>(1, 60);
  const bool all_connected = std::all_of(relationships.begin(), relationships.end(), [](auto& r) {
    return r.degree() == identity::v1::DEGREE_FIRST && !r.blocked();
  });
  const Decision add = messaging::DecideGroupAdd(current, relationships);
  CheckShape(add);
  FUZZ_CHECK(SameDecision(add, messaging::DecideGroupAdd(current, relationships)));
  FUZZ_CHECK(add.allowed() == (all_connected && current + static_cast<int>(relationships.size()) <=
                                                    messaging::kMaxGroupParticipants));
  const Decision create = messaging::DecideGroupCreate(relationships);
  CheckShape(create);
  // A group has its creator and at least one other; two others always do.
  const bool fits = 1 + relationships.size() <= messaging::kMaxGroupParticipants;
  if (create.allowed()) FUZZ_CHECK(all_connected && fits && !relationships.empty());
  if (all_connected && fits && relationships.size() >= 2) FUZZ_CHECK(create.allowed());
}

}  // namespace
}  // namespace liaison::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  switch (in.ConsumeIntegralInRange<int>(0, 2)) {
    case 0:
      liaison::fuzz::CheckMemberSend(in);
      break;
    case 1:
      liaison::fuzz::CheckPages(in);
      break;
    case 2:
      liaison::fuzz::CheckGroups(in);
      break;
  }
  return 0;
}
