// Who may message whom (DESIGN.md §4 "Who can message whom", rules 1-8): one
// pure function from the facts of a send to a decision. The facts come from
// one identity call (GetRelationship / BatchGetRelationships: degree, blocks,
// both tiers), one privacy call (the recipient's settings), the page facts
// (GetPageRelation) and messaging's own state (pending InMail, who wrote to a
// page first). Rate limits (rule 9) are applied separately, per sender.
#ifndef LIAISON_SERVICES_MESSAGING_POLICY_H_
#define LIAISON_SERVICES_MESSAGING_POLICY_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "liaison/identity/v1/identity.pb.h"
#include "liaison/privacy/v1/privacy.pb.h"

namespace liaison::messaging {

// What the sender asked for.
enum class Intent {
  kMessage,  // SendMessage: a regular message (or message request)
  kInMail,   // SendInMail: a paid InMail
};

enum class Outcome {
  kRegular,         // 1st degree: free, unlimited (within rate limits)
  kOpenProfile,     // recipient premium with Open Profile: free message request
  kMessageRequest,  // recipient takes free requests from 2nd degree, and sender is one
  kInMail,          // an InMail: costs a credit (reserved by the saga)
  kPageMessage,     // to a page, or from a page to a follower / someone who wrote first
  kDenied,          // see Decision::status
};

// The facts of one member-to-member send.
struct MemberSendFacts {
  // From identity, seen from the sender's side (member_id = sender). A
  // recipient that does not exist is `recipient_exists = false`.
  bool recipient_exists = true;
  identity::v1::Relationship relationship;
  // From privacy: the recipient's effective settings.
  privacy::v1::PrivacySettings recipient_settings;
  // Messaging's own state: an InMail from sender to recipient not yet answered.
  bool unanswered_inmail = false;
  // Deployment flag premium_to_premium_inmail_override.
  bool premium_to_premium_override = false;
};

// The facts of a send that involves a company page.
struct PageSendFacts {
  bool page_exists = true;
  // Sending as the page: the caller must administer it.
  bool sender_is_admin = false;
  // The member the page writes to follows it, or wrote to it first.
  bool recipient_follows_page = false;
  bool recipient_wrote_first = false;
};

struct Decision {
  Outcome outcome = Outcome::kDenied;
  // OK unless denied; then the RPC's code and a message a person can act on.
  absl::Status status;

  bool allowed() const { return outcome != Outcome::kDenied; }
};

// A member writes to a member (rules 1-6).
Decision DecideMemberSend(const MemberSendFacts& facts, Intent intent);

// A member writes to a page: anyone may (rule 7).
Decision DecideToPage(const PageSendFacts& facts);

// A page (through an admin) writes to a member (rule 7): to its followers,
// or to someone who wrote to the page first; no one else.
Decision DecideFromPage(const PageSendFacts& facts);

// Most participants a group may have, its creator included (rule 8).
inline constexpr int kMaxGroupParticipants = 50;

// Starting a group (rule 8): at most 50 participants, and the creator must
// be 1st-degree with every initial member (relationships seen from the
// creator, one per other member). Blocked pairs count as not connected.
Decision DecideGroupCreate(const std::vector<identity::v1::Relationship>& relationships);

// Adding members to a group: the adder must be 1st-degree with each new
// member, and the group stays within 50.
Decision DecideGroupAdd(int current_participants,
                        const std::vector<identity::v1::Relationship>& relationships);

}  // namespace liaison::messaging

#endif  // LIAISON_SERVICES_MESSAGING_POLICY_H_
