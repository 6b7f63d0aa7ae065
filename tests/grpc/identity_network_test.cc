// Connections, relationships and blocks over gRPC.
#include "tests/grpc/identity_fixture.h"

namespace liaison::identity {
namespace {

// a - m1 - b, a - m2 - b, b - c, c - d; e alone: one pair of each degree.
struct SampleNetwork {
  MemberId a, b, c, d, e, m1, m2;
};

SampleNetwork BuildSampleNetwork(IdentityFixture& f) {
  SampleNetwork n{f.NewMember(), f.NewMember(), f.NewMember(), f.NewMember(),
                  f.NewMember(), f.NewMember(), f.NewMember()};
  f.Connect(n.a, n.m1);
  f.Connect(n.m1, n.b);
  f.Connect(n.a, n.m2);
  f.Connect(n.m2, n.b);
  f.Connect(n.b, n.c);
  f.Connect(n.c, n.d);
  return n;
}

TEST_CASE("GetRelationship gives every degree with mutual counts and both tiers") {
  IdentityFixture f;
  const auto [a, b, c, d, e, m1, m2] = BuildSampleNetwork(f);
  f.SetTier(b, v1::ACCOUNT_TIER_RECRUITER_LITE);

  auto r = f.RelationshipAsService(a, a);
  CHECK(r.degree() == v1::DEGREE_SELF);
  r = f.RelationshipAsService(a, m1);
  CHECK(r.degree() == v1::DEGREE_FIRST);
  r = f.RelationshipAsService(a, b);
  CHECK(r.degree() == v1::DEGREE_SECOND);
  CHECK(r.mutual_connection_count() == 2);
  CHECK(r.member_tier() == v1::ACCOUNT_TIER_BASIC);
  CHECK(r.other_tier() == v1::ACCOUNT_TIER_RECRUITER_LITE);
  CHECK_FALSE(r.blocked());
  r = f.RelationshipAsService(a, c);
  CHECK(r.degree() == v1::DEGREE_THIRD);
  CHECK(r.mutual_connection_count() == 0);
  CHECK(f.RelationshipAsService(a, d).degree() == v1::DEGREE_OUT_OF_NETWORK);
  CHECK(f.RelationshipAsService(a, e).degree() == v1::DEGREE_OUT_OF_NETWORK);
  CHECK(f.RelationshipAsService(e, a).degree() == v1::DEGREE_OUT_OF_NETWORK);
  CHECK(f.RelationshipAsService(d, a).degree() == v1::DEGREE_OUT_OF_NETWORK);
  CHECK(f.RelationshipAsService(m1, m2).degree() == v1::DEGREE_SECOND);

  // A member asks from their own side only.
  v1::Relationship mine;
  REQUIRE_THAT(f.Relationship(f.Token(a), 0, b, &mine), IsOk());
  CHECK(mine.degree() == v1::DEGREE_SECOND);
  CHECK_THAT(f.Relationship(f.Token(a), c, b, &mine), StatusIs(Code::kPermissionDenied));
  CHECK_THAT(f.Relationship(f.admin, 0, b, &mine), StatusIs(Code::kInvalidArgument, "required"));
  CHECK_THAT(f.Relationship(f.admin, a, 123456789, &mine), StatusIs(Code::kNotFound));
}

TEST_CASE("BatchGetRelationships answers up to 50 members in order") {
  IdentityFixture f;
  const MemberId a = f.NewMember(), b = f.NewMember(), c = f.NewMember();
  f.Connect(a, b);
  f.Connect(b, c);
  v1::BatchGetRelationshipsRequest request;
  request.set_member_id(std::to_string(a));
  request.add_other_member_ids(std::to_string(c));
  request.add_other_member_ids(std::to_string(b));
  v1::BatchGetRelationshipsResponse response;
  REQUIRE_THAT(
      f.stub->BatchGetRelationships(TestService::Context(f.admin).get(), request, &response),
      IsOk());
  REQUIRE(response.relationships_size() == 2);
  CHECK(response.relationships(0).degree() == v1::DEGREE_SECOND);
  CHECK(response.relationships(1).degree() == v1::DEGREE_FIRST);
  // Members that do not exist, or hide behind a block, are listed apart.
  const MemberId blocker = f.NewMember();
  REQUIRE_THAT(f.Block(blocker, a), IsOk());
  v1::BatchGetRelationshipsRequest mixed;
  for (MemberId id : {b, MemberId{987654}, blocker}) mixed.add_other_member_ids(std::to_string(id));
  REQUIRE_THAT(
      f.stub->BatchGetRelationships(TestService::Context(f.Token(a)).get(), mixed, &response),
      IsOk());
  REQUIRE(response.relationships_size() == 1);
  CHECK(response.relationships(0).other_member_id() == std::to_string(b));
  REQUIRE(response.missing_member_ids_size() == 2);
  CHECK(response.missing_member_ids(1) == std::to_string(blocker));
  for (int i = 0; i < 49; ++i) request.add_other_member_ids(std::to_string(b));
  CHECK_THAT(f.stub->BatchGetRelationships(TestService::Context(f.admin).get(), request, &response),
             StatusIs(Code::kInvalidArgument, "51 entries"));
}

TEST_CASE("Relationships asked without the mutual count differ only in that count") {
  IdentityFixture f;
  const auto [a, b, c, d, e, m1, m2] = BuildSampleNetwork(f);
  f.Connect(m1, m2);  // a - m1 is FIRST with one mutual (m2)
  f.SetTier(m1, v1::ACCOUNT_TIER_RECRUITER_LITE);
  auto ask = [&](const std::string& token, MemberId x, MemberId y, bool skip) {
    v1::GetRelationshipRequest request;
    request.set_member_id(std::to_string(x));
    request.set_other_member_id(std::to_string(y));
    request.set_skip_mutual_count(skip);
    v1::GetRelationshipResponse response;
    REQUIRE_THAT(f.stub->GetRelationship(TestService::Context(token).get(), request, &response),
                 IsOk());
    return response.relationship();
  };
  REQUIRE(ask(f.admin, a, b, false).mutual_connection_count() == 2);
  REQUIRE(ask(f.admin, a, m1, false).mutual_connection_count() == 1);
  for (MemberId other : {a, m1, b, c, d, e}) {
    INFO(other);
    v1::Relationship full = ask(f.admin, a, other, false);
    v1::Relationship lean = ask(f.admin, a, other, true);
    CHECK(lean.mutual_connection_count() == 0);
    full.set_mutual_connection_count(0);
    CHECK(lean.SerializeAsString() == full.SerializeAsString());
  }
  // Honoured for members too: it only saves work.
  CHECK(ask(f.Token(a), a, b, true).degree() == v1::DEGREE_SECOND);
  CHECK(ask(f.Token(a), a, b, true).mutual_connection_count() == 0);

  v1::BatchGetRelationshipsRequest request;
  request.set_member_id(std::to_string(a));
  for (MemberId other : {b, m1, c}) request.add_other_member_ids(std::to_string(other));
  request.set_skip_mutual_count(true);
  v1::BatchGetRelationshipsResponse response;
  REQUIRE_THAT(
      f.stub->BatchGetRelationships(TestService::Context(f.admin).get(), request, &response),
      IsOk());
  REQUIRE(response.relationships_size() == 3);
  CHECK(response.relationships(0).degree() == v1::DEGREE_SECOND);
  CHECK(response.relationships(1).degree() == v1::DEGREE_FIRST);
  CHECK(response.relationships(1).other_tier() == v1::ACCOUNT_TIER_RECRUITER_LITE);
  CHECK(response.relationships(2).degree() == v1::DEGREE_THIRD);
  for (const auto& r : response.relationships()) CHECK(r.mutual_connection_count() == 0);
}

TEST_CASE("Connections list in a stable order across pages, and can be removed") {
  IdentityFixture f;
  const MemberId me = f.NewMember();
  std::vector<MemberId> friends;
  for (int i = 0; i < 7; ++i) {
    friends.push_back(f.NewMember());
    f.Connect(me, friends.back());
  }
  std::sort(friends.begin(), friends.end());
  v1::ListConnectionsRequest request;
  request.set_page_size(3);
  std::vector<MemberId> seen;
  while (true) {
    v1::ListConnectionsResponse response;
    REQUIRE_THAT(
        f.stub->ListConnections(TestService::Context(f.Token(me)).get(), request, &response),
        IsOk());
    CHECK(response.total_count() == 7);
    for (const auto& c : response.connections()) {
      seen.push_back(std::stoull(c.member_id()));
      CHECK(c.connect_time().seconds() == absl::ToUnixSeconds(kStart));
    }
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  CHECK(seen == friends);

  v1::RemoveConnectionRequest remove;
  remove.set_member_id(std::to_string(friends[0]));
  v1::RemoveConnectionResponse removed;
  REQUIRE_THAT(f.stub->RemoveConnection(TestService::Context(f.Token(me)).get(), remove, &removed),
               IsOk());
  CHECK(f.RelationshipAsService(friends[0], me).degree() == v1::DEGREE_OUT_OF_NETWORK);
  CHECK_THAT(f.stub->RemoveConnection(TestService::Context(f.Token(me)).get(), remove, &removed),
             StatusIs(Code::kNotFound, "not connected"));

  v1::ListConnectionsRequest others;
  others.set_member_id(std::to_string(friends[1]));
  v1::ListConnectionsResponse response;
  CHECK_THAT(f.stub->ListConnections(TestService::Context(f.Token(me)).get(), others, &response),
             StatusIs(Code::kPermissionDenied));
  REQUIRE_THAT(f.stub->ListConnections(TestService::Context(f.admin).get(), others, &response),
               IsOk());
  CHECK(response.total_count() == 1);
}

TEST_CASE("Mutual connections are listed and counted") {
  IdentityFixture f;
  const MemberId a = f.NewMember(), b = f.NewMember();
  std::vector<MemberId> shared;
  for (int i = 0; i < 3; ++i) {
    shared.push_back(f.NewMember());
    f.Connect(a, shared.back());
    f.Connect(b, shared.back());
  }
  f.Connect(a, f.NewMember());
  std::sort(shared.begin(), shared.end());
  v1::ListMutualConnectionsRequest request;
  request.set_other_member_id(std::to_string(b));
  v1::ListMutualConnectionsResponse response;
  REQUIRE_THAT(
      f.stub->ListMutualConnections(TestService::Context(f.Token(a)).get(), request, &response),
      IsOk());
  CHECK(response.total_count() == 3);
  REQUIRE(response.member_ids_size() == 3);
  for (int i = 0; i < 3; ++i) CHECK(response.member_ids(i) == std::to_string(shared[i]));
  request.set_other_member_id(std::to_string(a));
  CHECK_THAT(
      f.stub->ListMutualConnections(TestService::Context(f.Token(a)).get(), request, &response),
      StatusIs(Code::kInvalidArgument, "is you"));
}

TEST_CASE("Blocking removes the connection and pending invitations both ways, at once") {
  IdentityFixture f;
  const MemberId a = f.NewMember(), b = f.NewMember(), c = f.NewMember();
  f.Connect(a, b);
  REQUIRE_THAT(f.Invite(c, a), IsOk());
  REQUIRE_THAT(f.Invite(a, c), StatusIs(Code::kOk));  // mutual: connects a and c
  REQUIRE_THAT(f.Block(a, c), IsOk());
  const MemberId d = f.NewMember();
  REQUIRE_THAT(f.Invite(d, a), IsOk());
  REQUIRE_THAT(f.Block(a, d), IsOk());
  REQUIRE_THAT(f.Block(a, b), IsOk());
  auto store = f.Store();
  CHECK(store.GetAdjacency(a).value().ids.empty());
  CHECK(store.GetAdjacency(b).value().ids.empty());
  CHECK_FALSE(store.GetInvitation(d, a).ok());
  CHECK(f.Invitations(a, v1::INVITATION_DIRECTION_INCOMING).empty());
  CHECK(f.Invitations(d, v1::INVITATION_DIRECTION_OUTGOING).empty());
  // Neither side may invite the other: each is invisible to the other.
  CHECK_THAT(f.Invite(a, b), StatusIs(Code::kNotFound));
  CHECK_THAT(f.Invite(b, a), StatusIs(Code::kNotFound));
}

TEST_CASE("A blocked pair cannot see each other - only the blocker learns of the block") {
  IdentityFixture f;
  const MemberId a = f.NewMember(), b = f.NewMember();
  REQUIRE_THAT(f.Block(a, b), IsOk());
  CHECK_THAT(f.GetMember(f.Token(b), a), StatusIs(Code::kNotFound));
  CHECK_THAT(f.GetMember(f.Token(a), b), StatusIs(Code::kNotFound));
  CHECK_THAT(f.GetMember(f.admin, b), IsOk());
  v1::Relationship r;
  REQUIRE_THAT(f.Relationship(f.Token(a), 0, b, &r), IsOk());
  CHECK(r.blocked());
  CHECK(r.blocked_by_member());
  CHECK_FALSE(r.blocked_by_other());            // not said to members
  CHECK(r.degree() == v1::DEGREE_UNSPECIFIED);  // and nothing else of b
  CHECK(r.other_tier() == v1::ACCOUNT_TIER_UNSPECIFIED);
  // Looking b's handle up says no more than for a handle nobody has.
  v1::GetMemberRequest by_handle;
  by_handle.set_handle("blocked-one");
  v1::GetMemberResponse found;
  const MemberId c = f.NewMember("blocked-one");
  REQUIRE_THAT(f.Block(c, a), IsOk());
  grpc::Status hidden =
      f.stub->GetMember(TestService::Context(f.Token(a)).get(), by_handle, &found);
  by_handle.set_handle("nobody-has-this");
  grpc::Status absent =
      f.stub->GetMember(TestService::Context(f.Token(a)).get(), by_handle, &found);
  CHECK_THAT(hidden, StatusIs(Code::kNotFound, "no member with handle \"blocked-one\""));
  CHECK_THAT(absent, StatusIs(Code::kNotFound, "no member with handle \"nobody-has-this\""));
  CHECK(hidden.error_message().find(std::to_string(c)) == std::string::npos);
  CHECK_THAT(f.Relationship(f.Token(b), 0, a, &r), StatusIs(Code::kNotFound));
  r = f.RelationshipAsService(b, a);
  CHECK(r.blocked());
  CHECK_FALSE(r.blocked_by_member());
  CHECK(r.blocked_by_other());
}

TEST_CASE("Blocking again within 48 hours of an unblock is refused") {
  IdentityFixture f;
  const MemberId a = f.NewMember(), b = f.NewMember();
  REQUIRE_THAT(f.Block(a, b), IsOk());
  REQUIRE_THAT(f.Block(a, b), IsOk());  // idempotent
  CHECK_THAT(f.Block(a, a), StatusIs(Code::kInvalidArgument));
  CHECK_THAT(f.Block(a, 5555), StatusIs(Code::kNotFound));
  REQUIRE_THAT(f.Unblock(a, b), IsOk());
  CHECK_THAT(f.Unblock(a, b), StatusIs(Code::kNotFound));
  f.clock.Advance(absl::Hours(48) - absl::Seconds(1));
  CHECK_THAT(f.Block(a, b), StatusIs(Code::kFailedPrecondition, "block them again from"));
  f.clock.Advance(absl::Seconds(1));
  CHECK_THAT(f.Block(a, b), IsOk());
}

TEST_CASE("At most 1,200 blocks per member") {
  IdentityFixture f;
  const MemberId a = f.NewMember(), b = f.NewMember(), c = f.NewMember();
  rocksdb::WriteBatch batch;
  for (MemberId id = 2'000'000; id < 2'000'000 + 1'199; ++id) {
    batch.Put(f.identity.store()->Family("social"), keys::Block(a, id),
              IdentityStore::EncodeTime(kStart));
  }
  REQUIRE(f.identity.store()->Write(&batch, Durability::kBuffered).ok());
  CHECK_THAT(f.Block(a, b), IsOk());  // the 1,200th
  CHECK_THAT(f.Block(a, c), StatusIs(Code::kFailedPrecondition, "1200 members"));
  v1::ListBlockedMembersRequest request;
  request.set_page_size(1000);
  v1::ListBlockedMembersResponse response;
  REQUIRE_THAT(
      f.stub->ListBlockedMembers(TestService::Context(f.Token(a)).get(), request, &response),
      IsOk());
  CHECK(response.blocked_members_size() == 1000);
  request.set_page_token(response.next_page_token());
  REQUIRE_THAT(
      f.stub->ListBlockedMembers(TestService::Context(f.Token(a)).get(), request, &response),
      IsOk());
  CHECK(response.blocked_members_size() == 200);
  CHECK(response.next_page_token().empty());
  CHECK(response.blocked_members(199).member_id() == std::to_string(b));
}

TEST_CASE("A service may list anyone's blocks, a member only their own") {
  IdentityFixture f;
  const MemberId a = f.NewMember(), b = f.NewMember(), c = f.NewMember();
  REQUIRE_THAT(f.Block(a, b), IsOk());
  auto list = [&](const std::string& token, const std::string& member,
                  v1::ListBlockedMembersResponse* response) {
    v1::ListBlockedMembersRequest request;
    request.set_member_id(member);
    return f.stub->ListBlockedMembers(TestService::Context(token).get(), request, response);
  };
  v1::ListBlockedMembersResponse response;
  REQUIRE_THAT(list(f.admin, std::to_string(a), &response), IsOk());
  REQUIRE(response.blocked_members_size() == 1);
  CHECK(response.blocked_members(0).member_id() == std::to_string(b));
  REQUIRE_THAT(list(f.admin, std::to_string(b), &response), IsOk());
  CHECK(response.blocked_members_size() == 0);  // the blocked side's list is its own
  CHECK_THAT(list(f.Token(c), std::to_string(a), &response),
             StatusIs(Code::kPermissionDenied, "your own"));
  CHECK_THAT(list(f.admin, "", &response), StatusIs(Code::kInvalidArgument, "member_id"));
  CHECK_THAT(list(f.admin, "x1", &response), StatusIs(Code::kInvalidArgument));
}

}  // namespace
}  // namespace liaison::identity
