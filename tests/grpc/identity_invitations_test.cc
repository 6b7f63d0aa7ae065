// Invitations over gRPC: every rule and limit at its edge.
#include "tests/grpc/identity_fixture.h"

namespace liaison::identity {
namespace {

using v1::INVITATION_DIRECTION_INCOMING;
using v1::INVITATION_DIRECTION_OUTGOING;

TEST_CASE("An accepted invitation connects both members and leaves no invitation behind") {
  IdentityFixture f;
  const MemberId a = f.NewMember(), b = f.NewMember();
  REQUIRE_THAT(f.Invite(a, b, "  Hello!\nLet's connect.  "), IsOk());
  auto incoming = f.Invitations(b, INVITATION_DIRECTION_INCOMING);
  REQUIRE(incoming.size() == 1);
  CHECK(incoming[0].sender_id() == std::to_string(a));
  CHECK(incoming[0].note() == "Hello!\nLet's connect.");
  CHECK(f.Invitations(a, INVITATION_DIRECTION_OUTGOING).size() == 1);
  CHECK(f.RelationshipAsService(a, b).invitation_pending());
  REQUIRE_THAT(f.Respond(b, a, v1::INVITATION_RESPONSE_ACCEPT), IsOk());
  CHECK(f.RelationshipAsService(a, b).degree() == v1::DEGREE_FIRST);
  CHECK(f.RelationshipAsService(b, a).degree() == v1::DEGREE_FIRST);
  CHECK(f.Invitations(b, INVITATION_DIRECTION_INCOMING).empty());
  CHECK(f.Invitations(a, INVITATION_DIRECTION_OUTGOING).empty());
  CHECK_THAT(f.Invite(a, b), StatusIs(Code::kAlreadyExists, "already connected"));
  CHECK_THAT(f.Respond(b, a, v1::INVITATION_RESPONSE_ACCEPT), StatusIs(Code::kNotFound));
}

TEST_CASE("Inviting someone who already invited you connects you both, once") {
  IdentityFixture f;
  const MemberId a = f.NewMember(), b = f.NewMember();
  REQUIRE_THAT(f.Invite(a, b), IsOk());
  bool connected = false;
  REQUIRE_THAT(f.Invite(b, a, "", "", &connected), IsOk());
  CHECK(connected);
  auto store = f.Store();
  CHECK(store.GetAdjacency(a).value().ids == std::vector<MemberId>{b});
  CHECK(store.GetAdjacency(b).value().ids == std::vector<MemberId>{a});
  CHECK(f.Invitations(a, INVITATION_DIRECTION_OUTGOING).empty());
  CHECK(f.Invitations(a, INVITATION_DIRECTION_INCOMING).empty());
}

TEST_CASE("Bad invitations are rejected with the right code and store nothing") {
  IdentityFixture f;
  const MemberId a = f.NewMember(), b = f.NewMember();
  CHECK_THAT(f.Invite(a, a), StatusIs(Code::kInvalidArgument, "yourself"));
  CHECK_THAT(f.Invite(a, 987654321), StatusIs(Code::kNotFound));
  v1::SendInvitationRequest bad_id;
  bad_id.set_recipient_id("bob");
  v1::SendInvitationResponse response;
  CHECK_THAT(f.stub->SendInvitation(TestService::Context(f.Token(a)).get(), bad_id, &response),
             StatusIs(Code::kInvalidArgument, "recipient_id"));
  CHECK_THAT(f.Invite(a, b, std::string("bad \x01 byte")),
             StatusIs(Code::kInvalidArgument, "control"));
  CHECK_THAT(f.stub->SendInvitation(TestService::Context(f.admin).get(), bad_id, &response),
             StatusIs(Code::kPermissionDenied, "member token"));
  CHECK(f.Invitations(a, INVITATION_DIRECTION_OUTGOING).empty());
  REQUIRE_THAT(f.Invite(a, b), IsOk());
  CHECK_THAT(f.Invite(a, b), StatusIs(Code::kAlreadyExists, "already invited"));
  CHECK_THAT(f.Respond(b, a, v1::INVITATION_RESPONSE_UNSPECIFIED),
             StatusIs(Code::kInvalidArgument));
  CHECK_THAT(f.Respond(b, a, static_cast<v1::InvitationResponse>(9)),
             StatusIs(Code::kInvalidArgument));
}

TEST_CASE("Notes: 200 characters for basic members, 300 for premium, counted in code points") {
  IdentityFixture f;
  const MemberId basic = f.NewMember(), premium = f.NewMember();
  f.SetTier(premium, v1::ACCOUNT_TIER_PREMIUM_BUSINESS);
  std::vector<MemberId> to;
  for (int i = 0; i < 6; ++i) to.push_back(f.NewMember());
  // "é" is two bytes but one character.
  std::string e200;
  for (int i = 0; i < 200; ++i) e200 += "\xc3\xa9";
  CHECK_THAT(
      f.Invite(basic, to[0], e200 + "x"),
      StatusIs(Code::kInvalidArgument, "201 characters; the limit for basic members is 200"));
  CHECK_THAT(f.Invite(basic, to[0], e200), IsOk());
  CHECK_THAT(f.Invite(premium, to[0], std::string(301, 'p')),
             StatusIs(Code::kInvalidArgument, "301 characters; the limit is 300"));
  CHECK_THAT(f.Invite(premium, to[0], std::string(300, 'p')), IsOk());
}

TEST_CASE("Basic members may add notes to 5 invitations a calendar month") {
  IdentityFixture f;
  // kStart is 2027-01-15; move to the last minute of January.
  f.clock.Set(absl::FromCivil(absl::CivilSecond(2027, 1, 31, 23, 59, 0), absl::UTCTimeZone()));
  const MemberId basic = f.NewMember();
  std::vector<MemberId> to;
  for (int i = 0; i < 8; ++i) to.push_back(f.NewMember());
  for (int i = 0; i < 5; ++i) REQUIRE_THAT(f.Invite(basic, to[i], "hi"), IsOk());
  CHECK_THAT(f.Invite(basic, to[5], "hi"),
             StatusIs(Code::kResourceExhausted, "5 invitations a month"));
  CHECK_THAT(f.Invite(basic, to[5]), IsOk());  // without a note is fine
  f.clock.Advance(absl::Minutes(1));           // February
  CHECK_THAT(f.Invite(basic, to[6], "hi"), IsOk());
  // Premium members have no monthly note limit.
  const MemberId premium = f.NewMember();
  f.SetTier(premium, v1::ACCOUNT_TIER_PREMIUM_CAREER);
  for (int i = 0; i < 7; ++i) CHECK_THAT(f.Invite(premium, to[i], "hi"), IsOk());
}

TEST_CASE("At most 100 invitations in any rolling 7 days") {
  IdentityFixture f;
  const MemberId sender = f.NewMember();
  std::vector<MemberId> to;
  for (int i = 0; i < 102; ++i) to.push_back(f.NewMember());
  for (int i = 0; i < 100; ++i) {
    REQUIRE_THAT(f.Invite(sender, to[i]), IsOk());
    f.clock.Advance(absl::Minutes(1));
  }
  CHECK_THAT(f.Invite(sender, to[100]), StatusIs(Code::kResourceExhausted, "100 invitations"));
  // The first went out at kStart: 7 days later, one slot is free again.
  f.clock.Set(kStart + absl::Hours(24 * 7) - absl::Seconds(1));
  CHECK_THAT(f.Invite(sender, to[100]), StatusIs(Code::kResourceExhausted));
  f.clock.Set(kStart + absl::Hours(24 * 7));
  CHECK_THAT(f.Invite(sender, to[100]), IsOk());
  CHECK_THAT(f.Invite(sender, to[101]), StatusIs(Code::kResourceExhausted));
}

TEST_CASE("A withdrawn invitation blocks re-inviting for 21 days") {
  IdentityFixture f;
  const MemberId a = f.NewMember(), b = f.NewMember();
  REQUIRE_THAT(f.Invite(a, b), IsOk());
  v1::WithdrawInvitationRequest withdraw;
  withdraw.set_recipient_id(std::to_string(b));
  v1::WithdrawInvitationResponse withdrawn;
  REQUIRE_THAT(
      f.stub->WithdrawInvitation(TestService::Context(f.Token(a)).get(), withdraw, &withdrawn),
      IsOk());
  CHECK(f.Invitations(b, INVITATION_DIRECTION_INCOMING).empty());
  CHECK_THAT(
      f.stub->WithdrawInvitation(TestService::Context(f.Token(a)).get(), withdraw, &withdrawn),
      StatusIs(Code::kNotFound));
  f.clock.Advance(absl::Hours(24 * 20));
  CHECK_THAT(f.Invite(a, b), StatusIs(Code::kFailedPrecondition, "again from 2027-02-05"));
  f.clock.Advance(absl::Hours(24) - absl::Seconds(1));
  CHECK_THAT(f.Invite(a, b), StatusIs(Code::kFailedPrecondition));
  f.clock.Advance(absl::Seconds(1));  // exactly 21 days
  CHECK_THAT(f.Invite(a, b), IsOk());
}

TEST_CASE(
    "Ignoring hides an invitation from the recipient only - I don't know refuses the sender") {
  IdentityFixture f;
  const MemberId a = f.NewMember(), b = f.NewMember(), c = f.NewMember();
  REQUIRE_THAT(f.Invite(a, b), IsOk());
  REQUIRE_THAT(f.Respond(b, a, v1::INVITATION_RESPONSE_IGNORE), IsOk());
  CHECK(f.Invitations(b, INVITATION_DIRECTION_INCOMING).empty());
  CHECK(f.Invitations(a, INVITATION_DIRECTION_OUTGOING).size() == 1);  // a is not told
  CHECK_THAT(f.Invite(a, b), StatusIs(Code::kAlreadyExists));

  REQUIRE_THAT(f.Invite(c, b), IsOk());
  REQUIRE_THAT(f.Respond(b, c, v1::INVITATION_RESPONSE_I_DONT_KNOW), IsOk());
  v1::WithdrawInvitationRequest withdraw;
  withdraw.set_recipient_id(std::to_string(b));
  v1::WithdrawInvitationResponse withdrawn;
  REQUIRE_THAT(
      f.stub->WithdrawInvitation(TestService::Context(f.Token(c)).get(), withdraw, &withdrawn),
      IsOk());
  f.clock.Advance(absl::Hours(24 * 30));
  CHECK_THAT(f.Invite(c, b),
             StatusIs(Code::kPermissionDenied, "does not accept invitations from you"));
  // b may still invite c.
  CHECK_THAT(f.Invite(b, c), IsOk());
}

TEST_CASE("Who can invite me: email required") {
  IdentityFixture f;
  const MemberId a = f.NewMember(), b = f.NewMember("bea");
  f.SetInvitePolicy(b, privacy::v1::INVITE_POLICY_EMAIL_REQUIRED);
  CHECK_THAT(f.Invite(a, b), StatusIs(Code::kPermissionDenied, "email address"));
  CHECK_THAT(f.Invite(a, b, "", "someone@else.com"), StatusIs(Code::kPermissionDenied));
  CHECK(f.Invitations(b, INVITATION_DIRECTION_INCOMING).empty());
  CHECK_THAT(f.Invite(a, b, "", "BEA@example.com"), IsOk());
}

TEST_CASE("Who can invite me: 2nd degree only") {
  IdentityFixture f;
  const MemberId a = f.NewMember(), b = f.NewMember(), m = f.NewMember();
  f.SetInvitePolicy(b, privacy::v1::INVITE_POLICY_SECOND_DEGREE_ONLY);
  CHECK_THAT(f.Invite(a, b), StatusIs(Code::kPermissionDenied, "share a connection"));
  f.Connect(a, m);
  f.Connect(b, m);
  CHECK_THAT(f.Invite(a, b), IsOk());
}

TEST_CASE("With the privacy service down, invitations are UNAVAILABLE and nothing is stored") {
  IdentityFixture f;
  const MemberId a = f.NewMember(), b = f.NewMember();
  f.privacy.Stop();
  grpc::Status status = f.Invite(a, b);
  CHECK_THAT(status, StatusIs(Code::kUnavailable, "privacy service is unavailable"));
  CHECK(status.error_message().find("127.0.0.1") == std::string::npos);  // no internals
  CHECK(f.Invitations(a, INVITATION_DIRECTION_OUTGOING).empty());
}

TEST_CASE("Nobody passes 30,000 connections") {
  IdentityFixture f;
  const MemberId full = f.NewMember(), other = f.NewMember(), third = f.NewMember();
  // 29,999 connections, written straight into the store.
  Adjacency adjacency;
  for (MemberId id = 1'000'000; adjacency.ids.size() < 29'999; ++id) adjacency.Insert(id, 1);
  rocksdb::WriteBatch batch;
  batch.Put(f.identity.store()->Family("graph"), keys::Adjacency(full), EncodeAdjacency(adjacency));
  REQUIRE(f.identity.store()->Write(&batch, Durability::kBuffered).ok());
  REQUIRE_THAT(f.Invite(other, full), IsOk());
  REQUIRE_THAT(f.Invite(third, full), IsOk());
  REQUIRE_THAT(f.Respond(full, other, v1::INVITATION_RESPONSE_ACCEPT), IsOk());  // the 30,000th
  CHECK(f.Store().ConnectionCount(full).value() == 30'000);
  CHECK_THAT(f.Respond(full, third, v1::INVITATION_RESPONSE_ACCEPT),
             StatusIs(Code::kFailedPrecondition, "30000 connections"));
  CHECK_THAT(f.Invite(f.NewMember(), full),
             StatusIs(Code::kFailedPrecondition, "the other member"));
  CHECK(f.Store().ConnectionCount(full).value() == 30'000);
}

TEST_CASE("Invitation lists are newest first and page with opaque tokens") {
  IdentityFixture f;
  const MemberId r = f.NewMember();
  std::vector<MemberId> senders;
  for (int i = 0; i < 5; ++i) {
    senders.push_back(f.NewMember());
    REQUIRE_THAT(f.Invite(senders.back(), r), IsOk());
    f.clock.Advance(absl::Seconds(1));
  }
  v1::ListInvitationsRequest request;
  request.set_direction(INVITATION_DIRECTION_INCOMING);
  request.set_page_size(2);
  std::vector<std::string> seen;
  for (int page = 0; page < 5; ++page) {
    v1::ListInvitationsResponse response;
    REQUIRE_THAT(
        f.stub->ListInvitations(TestService::Context(f.Token(r)).get(), request, &response),
        IsOk());
    for (const auto& inv : response.invitations()) seen.push_back(inv.sender_id());
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  REQUIRE(seen.size() == 5);
  for (int i = 0; i < 5; ++i) CHECK(seen[i] == std::to_string(senders[4 - i]));
  request.set_page_token("bm90LWEtdG9rZW4");
  v1::ListInvitationsResponse response;
  CHECK_THAT(f.stub->ListInvitations(TestService::Context(f.Token(r)).get(), request, &response),
             StatusIs(Code::kInvalidArgument, "page_token"));
  request.set_page_token("");
  request.set_page_size(-1);
  CHECK_THAT(f.stub->ListInvitations(TestService::Context(f.Token(r)).get(), request, &response),
             StatusIs(Code::kInvalidArgument, "page_size"));
  request.set_page_size(0);
  request.set_direction(v1::INVITATION_DIRECTION_UNSPECIFIED);
  CHECK_THAT(f.stub->ListInvitations(TestService::Context(f.Token(r)).get(), request, &response),
             StatusIs(Code::kInvalidArgument, "direction"));
}

}  // namespace
}  // namespace liaison::identity
