// Members, tiers and pages over gRPC.
#include "tests/grpc/identity_fixture.h"

namespace liaison::identity {
namespace {

v1::CreateMemberRequest Person(const std::string& handle, const std::string& email) {
  v1::CreateMemberRequest request;
  request.set_handle(handle);
  request.set_display_name("  Ada Lovelace ");
  request.set_headline("Analyst");
  request.set_email(email);
  return request;
}

TEST_CASE("A service creates a member, who is found by id and by handle") {
  IdentityFixture f;
  v1::CreateMemberResponse created;
  REQUIRE_THAT(f.stub->CreateMember(TestService::Context(f.admin).get(),
                                    Person("ada", "Ada@Example.com"), &created),
               IsOk());
  const v1::Member& m = created.member();
  CHECK(m.display_name() == "Ada Lovelace");  // trimmed
  CHECK(m.tier() == v1::ACCOUNT_TIER_BASIC);
  CHECK(m.create_time().seconds() == absl::ToUnixSeconds(kStart));
  const MemberId id = std::stoull(m.member_id());
  CHECK(id < (uint64_t{1} << 53));

  v1::Member self;
  REQUIRE_THAT(f.GetMember(f.Token(id), id, &self), IsOk());
  CHECK(self.email() == "Ada@Example.com");
  v1::GetMemberRequest by_handle;
  by_handle.set_handle("ada");
  v1::GetMemberResponse response;
  const MemberId other = f.NewMember();
  REQUIRE_THAT(f.stub->GetMember(TestService::Context(f.Token(other)).get(), by_handle, &response),
               IsOk());
  CHECK(response.member().member_id() == m.member_id());
  CHECK(response.member().email().empty());  // others do not see the email
}

TEST_CASE("Handles and emails are unique, emails whatever their case") {
  IdentityFixture f;
  v1::CreateMemberResponse r;
  REQUIRE_THAT(
      f.stub->CreateMember(TestService::Context(f.admin).get(), Person("ada", "a@x.io"), &r),
      IsOk());
  CHECK_THAT(f.stub->CreateMember(TestService::Context(f.admin).get(), Person("ada", "b@x.io"), &r),
             StatusIs(Code::kAlreadyExists, "handle \"ada\" is taken"));
  CHECK_THAT(f.stub->CreateMember(TestService::Context(f.admin).get(), Person("bob", "A@X.IO"), &r),
             StatusIs(Code::kAlreadyExists, "email"));
}

TEST_CASE("Bad member input is INVALID_ARGUMENT and creates nothing") {
  IdentityFixture f;
  v1::CreateMemberResponse r;
  auto create = [&](v1::CreateMemberRequest request) {
    return f.stub->CreateMember(TestService::Context(f.admin).get(), request, &r);
  };
  CHECK_THAT(create(Person("ab", "a@x.io")), StatusIs(Code::kInvalidArgument, "3 to 30"));
  CHECK_THAT(create(Person(std::string(31, 'a'), "a@x.io")), StatusIs(Code::kInvalidArgument));
  CHECK_THAT(create(Person("Ada", "a@x.io")), StatusIs(Code::kInvalidArgument));
  CHECK_THAT(create(Person("ad a", "a@x.io")), StatusIs(Code::kInvalidArgument));
  CHECK_THAT(create(Person("ada", "not-an-email")), StatusIs(Code::kInvalidArgument, "email"));
  auto nameless = Person("ada", "a@x.io");
  nameless.set_display_name("   ");
  CHECK_THAT(create(nameless), StatusIs(Code::kInvalidArgument, "display_name is empty"));
  nameless.set_display_name("Ada\nLovelace");
  CHECK_THAT(create(nameless), StatusIs(Code::kInvalidArgument, "control character (U+000A)"));
  auto long_name = Person("ada", "a@x.io");
  long_name.set_display_name(std::string(101, 'x'));
  CHECK_THAT(create(long_name),
             StatusIs(Code::kInvalidArgument, "101 characters; the limit is 100"));
  // Nothing of it was stored: the handle is free.
  CHECK_THAT(create(Person("ada", "a@x.io")), IsOk());
  CHECK_THAT(create(Person("abc", "c@x.io")), IsOk());
  CHECK_THAT(create(Person(std::string(30, 'z'), "z@x.io")), IsOk());
}

TEST_CASE("Only services create members and set tiers") {
  IdentityFixture f;
  const MemberId m = f.NewMember();
  v1::CreateMemberResponse created;
  CHECK_THAT(f.stub->CreateMember(TestService::Context(f.Token(m)).get(), Person("eve", "e@x.io"),
                                  &created),
             StatusIs(Code::kPermissionDenied, "service token"));
  v1::SetAccountTierRequest request;
  request.set_member_id(std::to_string(m));
  request.set_tier(v1::ACCOUNT_TIER_RECRUITER_CORPORATE);
  v1::SetAccountTierResponse response;
  CHECK_THAT(f.stub->SetAccountTier(TestService::Context(f.Token(m)).get(), request, &response),
             StatusIs(Code::kPermissionDenied));
  CHECK_THAT(f.stub->SetAccountTier(TestService::Context("").get(), request, &response),
             StatusIs(Code::kUnauthenticated));
  v1::Member after;
  REQUIRE_THAT(f.GetMember(f.admin, m, &after), IsOk());
  CHECK(after.tier() == v1::ACCOUNT_TIER_BASIC);
}

TEST_CASE("A premium tier starts a billing cycle - BASIC ends it") {
  IdentityFixture f;
  const MemberId m = f.NewMember();
  f.clock.Advance(absl::Hours(5));
  f.SetTier(m, v1::ACCOUNT_TIER_PREMIUM_CAREER);
  v1::Member member;
  REQUIRE_THAT(f.GetMember(f.Token(m), m, &member), IsOk());
  CHECK(member.tier() == v1::ACCOUNT_TIER_PREMIUM_CAREER);
  CHECK(member.billing_anchor_time().seconds() == absl::ToUnixSeconds(kStart + absl::Hours(5)));
  f.SetTier(m, v1::ACCOUNT_TIER_BASIC);
  REQUIRE_THAT(f.GetMember(f.admin, m, &member), IsOk());
  CHECK_FALSE(member.has_billing_anchor_time());

  v1::SetAccountTierRequest bad;
  bad.set_member_id(std::to_string(m));
  bad.set_tier(static_cast<v1::AccountTier>(42));
  v1::SetAccountTierResponse response;
  CHECK_THAT(f.stub->SetAccountTier(TestService::Context(f.admin).get(), bad, &response),
             StatusIs(Code::kInvalidArgument, "not a tier"));
  bad.set_tier(v1::ACCOUNT_TIER_SALES_NAVIGATOR);
  bad.set_member_id("123456");
  CHECK_THAT(f.stub->SetAccountTier(TestService::Context(f.admin).get(), bad, &response),
             StatusIs(Code::kNotFound));
}

TEST_CASE("A member updates their own profile through a field mask") {
  IdentityFixture f;
  const MemberId m = f.NewMember("old-handle");
  const MemberId other = f.NewMember("taken");
  v1::UpdateMemberRequest request;
  request.mutable_member()->set_handle("new-handle");
  request.mutable_member()->set_headline("Engineer");
  request.mutable_member()->set_display_name("ignored: not in the mask");
  request.mutable_update_mask()->add_paths("handle");
  request.mutable_update_mask()->add_paths("headline");
  v1::UpdateMemberResponse response;
  REQUIRE_THAT(f.stub->UpdateMember(TestService::Context(f.Token(m)).get(), request, &response),
               IsOk());
  CHECK(response.member().handle() == "new-handle");
  CHECK(response.member().headline() == "Engineer");
  CHECK(response.member().display_name() == "Member 1");
  // The old handle is free again; the taken one is not.
  v1::GetMemberRequest old_handle;
  old_handle.set_handle("old-handle");
  v1::GetMemberResponse got;
  CHECK_THAT(f.stub->GetMember(TestService::Context(f.admin).get(), old_handle, &got),
             StatusIs(Code::kNotFound));
  request.mutable_member()->set_handle("taken");
  CHECK_THAT(f.stub->UpdateMember(TestService::Context(f.Token(m)).get(), request, &response),
             StatusIs(Code::kAlreadyExists));
  v1::UpdateMemberRequest bad;
  bad.mutable_update_mask()->add_paths("tier");
  CHECK_THAT(f.stub->UpdateMember(TestService::Context(f.Token(m)).get(), bad, &response),
             StatusIs(Code::kInvalidArgument, "\"tier\" cannot be changed"));
  v1::UpdateMemberRequest someone_else = request;
  someone_else.mutable_member()->set_member_id(std::to_string(other));
  CHECK_THAT(f.stub->UpdateMember(TestService::Context(f.Token(m)).get(), someone_else, &response),
             StatusIs(Code::kPermissionDenied));
}

TEST_CASE("BatchGetMembers returns found members in order and lists the missing") {
  IdentityFixture f;
  const MemberId a = f.NewMember(), b = f.NewMember(), c = f.NewMember();
  REQUIRE_THAT(f.Block(c, a), IsOk());
  v1::BatchGetMembersRequest request;
  for (MemberId id : {b, MemberId{999}, c}) request.add_member_ids(std::to_string(id));
  v1::BatchGetMembersResponse response;
  REQUIRE_THAT(f.stub->BatchGetMembers(TestService::Context(f.Token(a)).get(), request, &response),
               IsOk());
  REQUIRE(response.members_size() == 1);
  CHECK(response.members(0).member_id() == std::to_string(b));
  REQUIRE(response.missing_member_ids_size() == 2);  // 999 does not exist; c blocked a
  CHECK(response.missing_member_ids(1) == std::to_string(c));
  request.Clear();
  CHECK_THAT(f.stub->BatchGetMembers(TestService::Context(f.admin).get(), request, &response),
             StatusIs(Code::kInvalidArgument));
}

TEST_CASE("Pages: admins, followers, and what others may see") {
  IdentityFixture f;
  const MemberId owner = f.NewMember(), coadmin = f.NewMember(), fan = f.NewMember();
  v1::CreatePageRequest create;
  create.set_name("Acme Corp");
  create.add_admin_member_ids(std::to_string(coadmin));
  v1::CreatePageResponse created;
  REQUIRE_THAT(f.stub->CreatePage(TestService::Context(f.Token(owner)).get(), create, &created),
               IsOk());
  const std::string page = created.page().page_id();
  CHECK(created.page().admin_member_ids_size() == 2);

  v1::FollowPageRequest follow;
  follow.set_page_id(page);
  v1::FollowPageResponse followed;
  REQUIRE_THAT(f.stub->FollowPage(TestService::Context(f.Token(fan)).get(), follow, &followed),
               IsOk());
  REQUIRE_THAT(f.stub->FollowPage(TestService::Context(f.Token(fan)).get(), follow, &followed),
               IsOk());
  v1::GetPageRequest get;
  get.set_page_id(page);
  v1::GetPageResponse got;
  REQUIRE_THAT(f.stub->GetPage(TestService::Context(f.Token(fan)).get(), get, &got), IsOk());
  CHECK(got.page().follower_count() == 1);  // following twice counts once
  CHECK(got.page().admin_member_ids().empty());
  REQUIRE_THAT(f.stub->GetPage(TestService::Context(f.Token(coadmin)).get(), get, &got), IsOk());
  CHECK(got.page().admin_member_ids_size() == 2);

  v1::ListPageFollowersRequest list;
  list.set_page_id(page);
  v1::ListPageFollowersResponse followers;
  CHECK_THAT(f.stub->ListPageFollowers(TestService::Context(f.Token(fan)).get(), list, &followers),
             StatusIs(Code::kPermissionDenied, "admins"));
  REQUIRE_THAT(
      f.stub->ListPageFollowers(TestService::Context(f.Token(owner)).get(), list, &followers),
      IsOk());
  REQUIRE(followers.member_ids_size() == 1);
  CHECK(followers.member_ids(0) == std::to_string(fan));

  v1::GetPageRelationRequest relation;
  relation.set_page_id(page);
  relation.set_member_id(std::to_string(fan));
  v1::GetPageRelationResponse rel;
  REQUIRE_THAT(f.stub->GetPageRelation(TestService::Context(f.admin).get(), relation, &rel),
               IsOk());
  CHECK(rel.follows());
  CHECK_FALSE(rel.is_admin());
  relation.set_member_id(std::to_string(coadmin));
  REQUIRE_THAT(f.stub->GetPageRelation(TestService::Context(f.admin).get(), relation, &rel),
               IsOk());
  CHECK(rel.is_admin());
  CHECK_THAT(f.stub->GetPageRelation(TestService::Context(f.Token(fan)).get(), relation, &rel),
             StatusIs(Code::kPermissionDenied));

  v1::UnfollowPageRequest unfollow;
  unfollow.set_page_id(page);
  v1::UnfollowPageResponse unfollowed;
  REQUIRE_THAT(
      f.stub->UnfollowPage(TestService::Context(f.Token(fan)).get(), unfollow, &unfollowed),
      IsOk());
  REQUIRE_THAT(f.stub->GetPage(TestService::Context(f.Token(fan)).get(), get, &got), IsOk());
  CHECK(got.page().follower_count() == 0);
}

TEST_CASE("Bad page input is rejected and creates nothing") {
  IdentityFixture f;
  const MemberId owner = f.NewMember();
  v1::CreatePageRequest create;
  create.set_name(std::string(101, 'n'));
  v1::CreatePageResponse created;
  CHECK_THAT(f.stub->CreatePage(TestService::Context(f.Token(owner)).get(), create, &created),
             StatusIs(Code::kInvalidArgument, "limit is 100"));
  create.set_name("Acme");
  create.add_admin_member_ids("424242");
  CHECK_THAT(f.stub->CreatePage(TestService::Context(f.Token(owner)).get(), create, &created),
             StatusIs(Code::kNotFound, "admin_member_ids"));
  v1::GetPageRequest get;
  get.set_page_id("77");
  v1::GetPageResponse got;
  CHECK_THAT(f.stub->GetPage(TestService::Context(f.Token(owner)).get(), get, &got),
             StatusIs(Code::kNotFound));
  v1::FollowPageRequest follow;
  follow.set_page_id("x");
  v1::FollowPageResponse followed;
  CHECK_THAT(f.stub->FollowPage(TestService::Context(f.Token(owner)).get(), follow, &followed),
             StatusIs(Code::kInvalidArgument, "page_id"));
}

TEST_CASE("Members survive a restart of the identity service") {
  IdentityFixture f;
  const MemberId a = f.NewMember(), b = f.NewMember();
  f.Connect(a, b);
  f.identity.Stop();
  f.identity.Start();
  f.stub = v1::IdentityService::NewStub(f.identity.channel());
  v1::Member member;
  REQUIRE_THAT(f.GetMember(f.Token(a), b, &member), IsOk());
  CHECK(f.RelationshipAsService(a, b).degree() == v1::DEGREE_FIRST);
}

}  // namespace
}  // namespace liaison::identity
