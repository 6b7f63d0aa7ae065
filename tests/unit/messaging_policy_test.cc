// The messaging policy engine as a table: every rule of DESIGN.md §4 "Who can
// message whom", each row one situation and the one right answer.
#include <catch2/catch.hpp>

#include "services/messaging/policy.h"

namespace liaison::messaging {
namespace {

using identity::v1::AccountTier;
using identity::v1::Degree;
using Code = absl::StatusCode;

constexpr AccountTier kBasic = identity::v1::ACCOUNT_TIER_BASIC;
constexpr AccountTier kCareer = identity::v1::ACCOUNT_TIER_PREMIUM_CAREER;
constexpr AccountTier kRecruiter = identity::v1::ACCOUNT_TIER_RECRUITER_LITE;
constexpr Degree kSelf = identity::v1::DEGREE_SELF;
constexpr Degree kFirst = identity::v1::DEGREE_FIRST;
constexpr Degree kSecond = identity::v1::DEGREE_SECOND;
constexpr Degree kThird = identity::v1::DEGREE_THIRD;
constexpr Degree kOut = identity::v1::DEGREE_OUT_OF_NETWORK;

struct Row {
  const char* name;
  Degree degree;
  AccountTier sender, recipient;
  bool inmail_acceptance = true, open_profile = false, second_degree_requests = false;
  bool blocked = false, exists = true, unanswered = false, override_flag = false;
  Intent intent = Intent::kMessage;
  Outcome outcome = Outcome::kDenied;
  Code code = Code::kOk;
};

TEST_CASE("The policy table: rules 1 to 6 for members") {
  const Intent M = Intent::kMessage, I = Intent::kInMail;
  const Row rows[] = {
      // Rule 1.
      {"to oneself", kSelf, kCareer, kCareer, true, false, false, false, true, false, false, M,
       Outcome::kDenied, Code::kInvalidArgument},
      {"to nobody", kOut, kCareer, kBasic, true, false, false, false, false, false, false, M,
       Outcome::kDenied, Code::kNotFound},
      // Rule 2: blocks close every path, connections and InMail alike.
      {"blocked connection", kFirst, kBasic, kBasic, true, false, false, true, true, false, false,
       M, Outcome::kDenied, Code::kPermissionDenied},
      {"blocked InMail", kOut, kRecruiter, kBasic, true, false, false, true, true, false, false, I,
       Outcome::kDenied, Code::kPermissionDenied},
      {"blocked open profile", kOut, kBasic, kCareer, true, true, false, true, true, false, false,
       M, Outcome::kDenied, Code::kPermissionDenied},
      // Rule 3.
      {"1st degree, basic", kFirst, kBasic, kBasic, true, false, false, false, true, false, false,
       M, Outcome::kRegular, Code::kOk},
      {"InMail to a connection costs a credit like any other", kFirst, kCareer, kBasic, true,
       false, false, false, true, false, false, I, Outcome::kInMail, Code::kOk},
      {"InMail to a connection still needs premium", kFirst, kBasic, kBasic, true, false, false,
       false, true, false, false, I, Outcome::kDenied, Code::kPermissionDenied},
      {"InMail to a connection who refuses InMail", kFirst, kCareer, kBasic, false, false, false,
       false, true, false, false, I, Outcome::kDenied, Code::kFailedPrecondition},
      // Rule 4: Open Profile works only while the recipient is premium.
      {"open profile, premium recipient", kOut, kBasic, kCareer, true, true, false, false, true,
       false, false, M, Outcome::kOpenProfile, Code::kOk},
      {"open profile, lapsed to basic", kOut, kBasic, kBasic, true, true, false, false, true, false,
       false, M, Outcome::kDenied, Code::kPermissionDenied},
      {"InMail where Open Profile is free still goes", kThird, kCareer, kCareer, true, true,
       false, false, true, false, false, I, Outcome::kInMail, Code::kOk},
      // Rule 5: only for 2nd degree, only when allowed.
      {"2nd degree request allowed", kSecond, kBasic, kBasic, true, false, true, false, true, false,
       false, M, Outcome::kMessageRequest, Code::kOk},
      {"2nd degree request not allowed", kSecond, kBasic, kBasic, true, false, false, false, true,
       false, false, M, Outcome::kDenied, Code::kPermissionDenied},
      {"3rd degree is not 2nd", kThird, kBasic, kBasic, true, false, true, false, true, false,
       false, M, Outcome::kDenied, Code::kPermissionDenied},
      // Rule 6: InMail.
      {"InMail from premium", kOut, kRecruiter, kBasic, true, false, false, false, true, false,
       false, I, Outcome::kInMail, Code::kOk},
      {"InMail to 2nd degree without requests", kSecond, kCareer, kBasic, true, false, false, false,
       true, false, false, I, Outcome::kInMail, Code::kOk},
      {"a regular message where InMail is needed", kOut, kRecruiter, kBasic, true, false, false,
       false, true, false, false, M, Outcome::kDenied, Code::kFailedPrecondition},
      {"InMail from basic", kOut, kBasic, kBasic, true, false, false, false, true, false, false, I,
       Outcome::kDenied, Code::kPermissionDenied},
      {"recipient refuses InMail", kOut, kRecruiter, kBasic, false, false, false, false, true,
       false, false, I, Outcome::kDenied, Code::kFailedPrecondition},
      {"override: premium to premium", kOut, kRecruiter, kCareer, false, false, false, false, true,
       false, true, I, Outcome::kInMail, Code::kOk},
      {"override does not reach basic members", kOut, kRecruiter, kBasic, false, false, false,
       false, true, false, true, I, Outcome::kDenied, Code::kFailedPrecondition},
      {"override off by default", kOut, kRecruiter, kCareer, false, false, false, false, true,
       false, false, I, Outcome::kDenied, Code::kFailedPrecondition},
      {"one unanswered InMail at a time", kOut, kRecruiter, kBasic, true, false, false, false, true,
       true, false, I, Outcome::kDenied, Code::kFailedPrecondition},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    MemberSendFacts facts;
    facts.recipient_exists = row.exists;
    facts.relationship.set_degree(row.degree);
    facts.relationship.set_blocked(row.blocked);
    facts.relationship.set_member_tier(row.sender);
    facts.relationship.set_other_tier(row.recipient);
    facts.recipient_settings.set_inmail_acceptance(row.inmail_acceptance);
    facts.recipient_settings.set_open_profile(row.open_profile);
    facts.recipient_settings.set_messages_from_second_degree(row.second_degree_requests);
    facts.unanswered_inmail = row.unanswered;
    facts.premium_to_premium_override = row.override_flag;
    const Decision d = DecideMemberSend(facts, row.intent);
    CHECK(d.outcome == row.outcome);
    CHECK(d.status.code() == row.code);
    CHECK(d.allowed() == d.status.ok());
    if (!d.status.ok()) CHECK_FALSE(d.status.message().empty());
  }
}

TEST_CASE("Blocked pairs are refused without saying who blocked whom") {
  MemberSendFacts facts;
  facts.relationship.set_degree(kOut);
  facts.relationship.set_blocked(true);
  facts.relationship.set_blocked_by_member(false);
  const std::string one(DecideMemberSend(facts, Intent::kMessage).status.message());
  facts.relationship.set_blocked_by_member(true);
  CHECK(std::string(DecideMemberSend(facts, Intent::kMessage).status.message()) == one);
}

TEST_CASE(
    "Pages: anyone writes to a page - a page writes to followers and to those who wrote first") {
  PageSendFacts facts;
  CHECK(DecideToPage(facts).outcome == Outcome::kPageMessage);
  facts.page_exists = false;
  CHECK(DecideToPage(facts).status.code() == Code::kNotFound);
  facts = PageSendFacts{};
  facts.sender_is_admin = true;
  CHECK(DecideFromPage(facts).status.code() == Code::kPermissionDenied);  // a stranger
  facts.recipient_follows_page = true;
  CHECK(DecideFromPage(facts).outcome == Outcome::kPageMessage);
  facts.recipient_follows_page = false;
  facts.recipient_wrote_first = true;
  CHECK(DecideFromPage(facts).outcome == Outcome::kPageMessage);
  facts.sender_is_admin = false;
  CHECK(DecideFromPage(facts).status.code() == Code::kPermissionDenied);
}

identity::v1::Relationship Rel(Degree degree, const std::string& id, bool blocked = false) {
  identity::v1::Relationship r;
  r.set_degree(degree);
  r.set_other_member_id(id);
  r.set_blocked(blocked);
  return r;
}

TEST_CASE("Groups: the creator must be connected to everyone, and 50 is the most") {
  CHECK(DecideGroupCreate({Rel(kFirst, "2"), Rel(kFirst, "3")}).allowed());
  CHECK(DecideGroupCreate({Rel(kFirst, "2")}).allowed());  // a group of two
  CHECK(DecideGroupCreate({}).status.code() == Code::kInvalidArgument);
  auto stranger = DecideGroupCreate({Rel(kFirst, "2"), Rel(kSecond, "3")});
  CHECK(stranger.status.code() == Code::kFailedPrecondition);
  CHECK(std::string(stranger.status.message()).find("member 3") != std::string::npos);
  CHECK(DecideGroupCreate({Rel(kFirst, "2"), Rel(kFirst, "3", true)}).status.code() ==
        Code::kFailedPrecondition);
  std::vector<identity::v1::Relationship> many(49, Rel(kFirst, "x"));
  CHECK(DecideGroupCreate(many).allowed());  // 49 + the creator = 50
  many.push_back(Rel(kFirst, "y"));
  CHECK(DecideGroupCreate(many).status.code() == Code::kInvalidArgument);
  CHECK(DecideGroupAdd(49, {Rel(kFirst, "z")}).allowed());
  CHECK(DecideGroupAdd(50, {Rel(kFirst, "z")}).status.code() == Code::kInvalidArgument);
  CHECK(DecideGroupAdd(3, {Rel(kThird, "z")}).status.code() == Code::kFailedPrecondition);
}

}  // namespace
}  // namespace liaison::messaging
