// Identity's answers to inputs that once got the wrong code: oneself as the
// other side of an invitation, a connection or a block; a malformed id in a
// profile update; ids that name the kind of id they want.
#include "tests/grpc/identity_fixture.h"

namespace liaison::identity {
namespace {

using Code = absl::StatusCode;

TEST_CASE("Oneself as the other member is INVALID_ARGUMENT, and changes nothing") {
  IdentityFixture f;
  const MemberId a = f.NewMember(), b = f.NewMember();
  f.Connect(a, b);
  CHECK_THAT(f.Respond(a, a, v1::INVITATION_RESPONSE_ACCEPT),
             StatusIs(Code::kInvalidArgument, "sender_id is your own member id"));
  v1::WithdrawInvitationRequest withdraw;
  withdraw.set_recipient_id(std::to_string(a));
  v1::WithdrawInvitationResponse withdrawn;
  CHECK_THAT(f.stub->WithdrawInvitation(TestService::Context(f.Token(a)).get(), withdraw,
                                        &withdrawn),
             StatusIs(Code::kInvalidArgument, "recipient_id is your own member id"));
  v1::RemoveConnectionRequest remove;
  remove.set_member_id(std::to_string(a));
  v1::RemoveConnectionResponse removed;
  CHECK_THAT(f.stub->RemoveConnection(TestService::Context(f.Token(a)).get(), remove, &removed),
             StatusIs(Code::kInvalidArgument, "member_id is your own member id"));
  CHECK_THAT(f.Unblock(a, a), StatusIs(Code::kInvalidArgument, "member_id is your own member id"));
  CHECK_THAT(f.Block(a, a), StatusIs(Code::kInvalidArgument, "yourself"));
  // The real connection is still there; other members still get NOT_FOUND.
  CHECK(f.RelationshipAsService(a, b).degree() == v1::DEGREE_FIRST);
  const MemberId c = f.NewMember();
  CHECK_THAT(f.Unblock(a, c), StatusIs(Code::kNotFound));
  remove.set_member_id(std::to_string(c));
  CHECK_THAT(f.stub->RemoveConnection(TestService::Context(f.Token(a)).get(), remove, &removed),
             StatusIs(Code::kNotFound));
}

TEST_CASE("A malformed member id in UpdateMember is INVALID_ARGUMENT, another's is denied") {
  IdentityFixture f;
  const MemberId a = f.NewMember(), b = f.NewMember();
  v1::UpdateMemberRequest update;
  update.mutable_member()->set_headline("Engineer");
  update.mutable_update_mask()->add_paths("headline");
  v1::UpdateMemberResponse updated;
  for (const char* bad : {"abc", "0", "-1", " 1", "01", "99999999999999999999"}) {
    INFO(bad);
    update.mutable_member()->set_member_id(bad);
    CHECK_THAT(f.stub->UpdateMember(TestService::Context(f.Token(a)).get(), update, &updated),
               StatusIs(Code::kInvalidArgument, "member.member_id"));
  }
  update.mutable_member()->set_member_id(std::to_string(b));
  CHECK_THAT(f.stub->UpdateMember(TestService::Context(f.Token(a)).get(), update, &updated),
             StatusIs(Code::kPermissionDenied));
  update.mutable_member()->set_member_id(std::to_string(a));
  CHECK_THAT(f.stub->UpdateMember(TestService::Context(f.Token(a)).get(), update, &updated),
             IsOk());
  CHECK(updated.member().headline() == "Engineer");
}

TEST_CASE("A page id is asked for as a page id") {
  IdentityFixture f;
  const MemberId a = f.NewMember();
  v1::FollowPageRequest follow;
  v1::FollowPageResponse followed;
  CHECK_THAT(f.stub->FollowPage(TestService::Context(f.Token(a)).get(), follow, &followed),
             StatusIs(Code::kInvalidArgument, "page_id is empty; give a page id such as \"42\""));
  follow.set_page_id("acme");
  CHECK_THAT(f.stub->FollowPage(TestService::Context(f.Token(a)).get(), follow, &followed),
             StatusIs(Code::kInvalidArgument, "page_id \"acme\" is not a page id; page ids are"));
}

}  // namespace
}  // namespace liaison::identity
