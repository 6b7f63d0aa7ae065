// Two shards of IdentityService in-process, on the loopback ports a shard
// map names, with one privacy service: members live on their own shard
// whichever shard is asked; handles and emails stay unique across shards;
// invitations, connections and blocks between members of different shards
// reach both sides through the outbox, also across a restart of the other
// shard; and the shards refuse what another shard could not have sent.
#include <catch2/catch.hpp>
#include <functional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/keys.h"
#include "common/shard_router.h"
#include "liaison/identity/v1/identity.grpc.pb.h"
#include "liaison/identity/v1/identity_shard.grpc.pb.h"
#include "services/identity/identity_module.h"
#include "services/identity/identity_store.h"
#include "services/privacy/privacy_module.h"
#include "tests/support/eventually.h"
#include "tests/support/metric_sum.h"
#include "tests/support/process.h"
#include "tests/support/shard_maps.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_service.h"

namespace liaison::identity {
namespace {

using testing::Eventually;

using testing::FreePort;
using testing::IsOk;
using testing::MetricSum;
using testing::ShardHeader;
using testing::StatusIs;
using testing::TestService;
using Code = absl::StatusCode;

IdentityConfig Config(const std::string& privacy) {
  IdentityConfig config = IdentityConfig::CallingPrivacy(privacy);
  config.peer_outbox.retry = absl::Milliseconds(20);
  config.peer_outbox.max_backoff = absl::Milliseconds(100);
  return config;
}

struct Fixture {
  testing::TempDir dir;
  ManualClock clock{absl::FromUnixSeconds(1'800'000'000)};
  TestService privacy{privacy::PrivacyServiceSpec(), dir.Sub("privacy"), &clock};
  int port0 = FreePort();
  int port1 = FreePort();
  ShardMap map = testing::TwoShards("identity", port0, port1, 3);
  TestService shard0{IdentityServiceSpec(Config(privacy.address())), dir.Sub("i0"), &clock,
                     ShardIdentity(map, 0), port0};
  TestService shard1{IdentityServiceSpec(Config(privacy.address())), dir.Sub("i1"), &clock,
                     ShardIdentity(map, 1), port1};
  std::unique_ptr<v1::IdentityService::Stub> stub0 = v1::IdentityService::NewStub(shard0.channel());
  std::unique_ptr<v1::IdentityService::Stub> stub1 = v1::IdentityService::NewStub(shard1.channel());
  const std::string svc = shard0.ServiceToken("messaging");
  int created = 0;

  v1::IdentityService::Stub* Stub(size_t shard) { return shard == 0 ? stub0.get() : stub1.get(); }
  TestService& Shard(size_t shard) { return shard == 0 ? shard0 : shard1; }

  grpc::Status Create(size_t via, const std::string& handle, const std::string& email,
                      MemberId* id = nullptr) {
    v1::CreateMemberRequest create;
    create.set_handle(handle);
    create.set_display_name(handle);
    create.set_email(email);
    v1::CreateMemberResponse response;
    grpc::Status status =
        Stub(via)->CreateMember(TestService::Context(svc).get(), create, &response);
    if (status.ok() && id != nullptr) *id = std::stoull(response.member().member_id());
    return status;
  }

  // A new member created through `shard` (so owned by it).
  MemberId OnShard(size_t shard) {
    const std::string handle = absl::StrCat("member", ++created);
    MemberId id = 0;
    REQUIRE_THAT(Create(shard, handle, handle + "@example.com", &id), IsOk());
    REQUIRE(map.ShardOf(id) == shard);
    return id;
  }

  std::unique_ptr<grpc::ClientContext> As(MemberId member) {
    return TestService::Context(shard0.MemberToken(member));
  }

  std::vector<MemberId> Connections(size_t via, MemberId member) {
    v1::ListConnectionsRequest list;
    list.set_member_id(FormatMemberId(member));
    v1::ListConnectionsResponse response;
    REQUIRE_THAT(Stub(via)->ListConnections(TestService::Context(svc).get(), list, &response),
                 IsOk());
    std::vector<MemberId> out;
    for (const auto& c : response.connections()) out.push_back(std::stoull(c.member_id()));
    return out;
  }

  int Incoming(size_t via, MemberId member) {
    v1::ListInvitationsRequest list;
    list.set_direction(v1::INVITATION_DIRECTION_INCOMING);
    v1::ListInvitationsResponse response;
    REQUIRE_THAT(Stub(via)->ListInvitations(As(member).get(), list, &response), IsOk());
    return response.invitations_size();
  }

  grpc::Status Invite(size_t via, MemberId from, MemberId to) {
    v1::SendInvitationRequest send;
    send.set_recipient_id(FormatMemberId(to));
    v1::SendInvitationResponse sent;
    return Stub(via)->SendInvitation(As(from).get(), send, &sent);
  }

  grpc::Status Accept(size_t via, MemberId by, MemberId from) {
    v1::RespondToInvitationRequest respond;
    respond.set_sender_id(FormatMemberId(from));
    respond.set_response(v1::INVITATION_RESPONSE_ACCEPT);
    v1::RespondToInvitationResponse answer;
    return Stub(via)->RespondToInvitation(As(by).get(), respond, &answer);
  }

  // Connects a and b: a invites, b accepts once the invitation reached them.
  void Connect(MemberId a, MemberId b) {
    REQUIRE_THAT(Invite(map.ShardOf(a), a, b), IsOk());
    REQUIRE(Eventually([&] { return Incoming(map.ShardOf(b), b) > 0; }));
    REQUIRE_THAT(Accept(map.ShardOf(b), b, a), IsOk());
    REQUIRE(Eventually([&] {
      auto of_a = Connections(0, a);
      return std::find(of_a.begin(), of_a.end(), b) != of_a.end();
    }));
  }

  grpc::Status Block(size_t via, MemberId by, MemberId whom) {
    v1::BlockMemberRequest block;
    block.set_member_id(FormatMemberId(whom));
    v1::BlockMemberResponse blocked;
    return Stub(via)->BlockMember(As(by).get(), block, &blocked);
  }

  v1::Relationship Relationship(size_t via, MemberId a, MemberId b) {
    v1::GetRelationshipRequest get;
    get.set_other_member_id(FormatMemberId(b));
    v1::GetRelationshipResponse response;
    REQUIRE_THAT(Stub(via)->GetRelationship(As(a).get(), get, &response), IsOk());
    return response.relationship();
  }

  // The connection and block changes in `shard`'s feed so far (the stream
  // is cut after a second and a half: it waits for more).
  std::vector<v1::Change> PairChanges(size_t shard) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + svc);
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(1500));
    v1::WatchChangesRequest request;
    request.set_after_cursor(0);
    request.add_kinds(v1::CHANGE_KIND_CONNECTION);
    request.add_kinds(v1::CHANGE_KIND_BLOCK);
    auto stream = Stub(shard)->WatchChanges(&context, request);
    std::vector<v1::Change> out;
    v1::WatchChangesResponse response;
    while (stream->Read(&response)) {
      for (const auto& change : response.changes()) out.push_back(change);
    }
    return out;
  }

  grpc::Status GetMember(size_t via, MemberId as, MemberId who) {
    v1::GetMemberRequest get;
    get.set_member_id(FormatMemberId(who));
    v1::GetMemberResponse response;
    return Stub(via)->GetMember(As(as).get(), get, &response);
  }
};

TEST_CASE("Each identity shard creates members it owns, and any shard serves any member") {
  Fixture f;
  for (size_t shard : {0, 1}) {
    for (int i = 0; i < 4; ++i) {
      const MemberId member = f.OnShard(shard);
      for (size_t via : {0, 1}) {
        grpc::ClientContext context;
        context.AddMetadata("authorization", "Bearer " + f.svc);
        v1::GetMemberRequest get;
        get.set_member_id(FormatMemberId(member));
        v1::GetMemberResponse response;
        REQUIRE_THAT(f.Stub(via)->GetMember(&context, get, &response), IsOk());
        CHECK(response.member().member_id() == FormatMemberId(member));
        // The answer names the shard that owns the member.
        CHECK(ShardHeader(context) == absl::StrCat(shard, "/3"));
      }
      // The record is on its shard's store only.
      CHECK(f.Shard(shard)
                .store()
                ->Get(f.Shard(shard).store()->Family("members"), keys::Member(member))
                .ok());
      CHECK_FALSE(f.Shard(1 - shard)
                      .store()
                      ->Get(f.Shard(1 - shard).store()->Family("members"), keys::Member(member))
                      .ok());
    }
  }
}

TEST_CASE("Handles and emails are unique across identity shards, and found from any") {
  Fixture f;
  int remote_names = 0;
  for (int i = 0; i < 12; ++i) {
    const std::string handle = absl::StrCat("unique", i);
    MemberId id = 0;
    REQUIRE_THAT(f.Create(i % 2, handle, handle + "@example.com", &id), IsOk());
    // Some of these names live in the other shard's directory.
    if (f.map.ShardOfPartition(PartitionOfName(handle)) != static_cast<size_t>(i % 2)) {
      ++remote_names;
    }
    for (size_t via : {0, 1}) {
      CHECK_THAT(f.Create(via, handle, absl::StrCat("other", i, via, "@example.com")),
                 StatusIs(Code::kAlreadyExists, "is taken"));
      CHECK_THAT(f.Create(via, absl::StrCat("other", i, "x", via), handle + "@EXAMPLE.com"),
                 StatusIs(Code::kAlreadyExists, "email"));
      v1::GetMemberRequest get;
      get.set_handle(handle);
      v1::GetMemberResponse response;
      REQUIRE_THAT(f.Stub(via)->GetMember(TestService::Context(f.svc).get(), get, &response),
                   IsOk());
      CHECK(response.member().member_id() == FormatMemberId(id));
    }
  }
  CHECK(remote_names > 0);

  SECTION("a renamed member's old handle is free again, on whichever shard holds it") {
    MemberId ada = 0;
    REQUIRE_THAT(f.Create(0, "ada", "ada@example.com", &ada), IsOk());
    v1::UpdateMemberRequest update;
    update.mutable_member()->set_handle("ada-lovelace");
    update.mutable_update_mask()->add_paths("handle");
    v1::UpdateMemberResponse updated;
    REQUIRE_THAT(f.stub1->UpdateMember(f.As(ada).get(), update, &updated), IsOk());
    CHECK_THAT(f.Create(1, "ada-lovelace", "x@example.com"), StatusIs(Code::kAlreadyExists));
    CHECK_THAT(f.Create(1, "ada", "ada2@example.com"), IsOk());
  }
}

TEST_CASE("Members of two identity shards connect: the invitation and the connection reach both") {
  Fixture f;
  const MemberId a = f.OnShard(0), b = f.OnShard(1), c = f.OnShard(0);
  // Sent through the wrong shard: forwarded to a's.
  REQUIRE_THAT(f.Invite(1, a, b), IsOk());
  REQUIRE(Eventually([&] { return f.Incoming(1, b) == 1; }));
  CHECK(f.Incoming(0, b) == 1);  // b's shard answers, asked through either
  REQUIRE_THAT(f.Accept(1, b, a), IsOk());
  REQUIRE(Eventually([&] { return f.Connections(0, a) == std::vector<MemberId>{b}; }));
  CHECK(f.Connections(1, b) == std::vector<MemberId>{a});
  CHECK(f.Relationship(0, a, b).degree() == v1::DEGREE_FIRST);
  CHECK(f.Relationship(1, b, a).degree() == v1::DEGREE_FIRST);

  // c (shard 0) meets a only through b (shard 1): degree and mutual count
  // read b's connections from b's shard.
  f.Connect(c, b);
  const v1::Relationship ac = f.Relationship(0, a, c);
  CHECK(ac.degree() == v1::DEGREE_SECOND);
  CHECK(ac.mutual_connection_count() == 1);
  v1::ListMutualConnectionsRequest mutual;
  mutual.set_other_member_id(FormatMemberId(c));
  v1::ListMutualConnectionsResponse mutuals;
  REQUIRE_THAT(f.stub0->ListMutualConnections(f.As(a).get(), mutual, &mutuals), IsOk());
  REQUIRE(mutuals.member_ids_size() == 1);
  CHECK(mutuals.member_ids(0) == FormatMemberId(b));

  // Removing the connection on one side removes it on the other.
  v1::RemoveConnectionRequest remove;
  remove.set_member_id(FormatMemberId(a));
  v1::RemoveConnectionResponse removed;
  REQUIRE_THAT(f.stub1->RemoveConnection(f.As(b).get(), remove, &removed), IsOk());
  REQUIRE(Eventually([&] { return f.Connections(0, a).empty(); }));
  CHECK(f.Connections(1, b) == std::vector<MemberId>{c});
  CHECK(MetricSum(f.shard1, "liaison_identity_peer_writes_total", {{"outcome", "delivered"}}) > 0);
}

TEST_CASE("A pair's changes are in one identity feed: its lower member's shard's") {
  Fixture f;
  const MemberId a = f.OnShard(0), b = f.OnShard(1);
  f.Connect(a, b);
  REQUIRE_THAT(f.Block(1, b, a), IsOk());
  const size_t home = f.map.ShardOf(std::min(a, b));
  // Connected (accepted on b's shard), disconnected and blocked (on b's
  // shard): all three in the home shard's feed, in that order, once.
  std::vector<v1::Change> changes;
  REQUIRE(Eventually([&] {
    changes = f.PairChanges(home);
    return changes.size() >= 3;
  }));
  REQUIRE(changes.size() == 3);
  CHECK(changes[0].connection().connected());
  CHECK_FALSE(changes[1].connection().connected());
  CHECK(changes[2].block().blocked());
  CHECK(changes[2].block().blocker_member_id() == FormatMemberId(b));
  CHECK(f.PairChanges(1 - home).empty());
}

TEST_CASE("A block between identity shards hides each from the other on both shards") {
  Fixture f;
  const MemberId a = f.OnShard(0), b = f.OnShard(1);
  f.Connect(a, b);
  REQUIRE_THAT(f.Block(0, a, b), IsOk());
  // b's shard learns of it through the outbox: b no longer sees a.
  REQUIRE(Eventually([&] { return f.GetMember(1, b, a).error_code() == grpc::NOT_FOUND; }));
  CHECK(f.GetMember(0, b, a).error_code() == grpc::NOT_FOUND);
  CHECK(f.Connections(1, b).empty());
  CHECK(f.Connections(0, a).empty());
  CHECK_THAT(f.Invite(1, b, a), StatusIs(Code::kNotFound));

  SECTION("a connection the other shard made meanwhile loses to the block") {
    // As if b's shard had accepted an invitation from a at the same moment.
    auto peer = v1::IdentityShardService::NewStub(f.shard1.channel());
    v1::ApplyPeerWritesRequest apply;
    auto* link = apply.add_writes()->mutable_link();
    link->set_member_id(FormatMemberId(b));
    link->set_other_member_id(FormatMemberId(a));
    link->set_since_seconds(1'800'000'000);
    v1::ApplyPeerWritesResponse applied;
    REQUIRE_THAT(peer->ApplyPeerWrites(TestService::Context(f.svc).get(), apply, &applied), IsOk());
    CHECK(f.Connections(1, b).empty());
  }

  SECTION("unblocking makes them visible again on both shards") {
    v1::UnblockMemberRequest unblock;
    unblock.set_member_id(FormatMemberId(b));
    v1::UnblockMemberResponse unblocked;
    REQUIRE_THAT(f.stub1->UnblockMember(f.As(a).get(), unblock, &unblocked), IsOk());
    REQUIRE(Eventually([&] { return f.GetMember(1, b, a).ok(); }));
    CHECK_THAT(f.GetMember(0, a, b), IsOk());
  }
}

TEST_CASE("The other side of a change waits while its identity shard is down, then arrives") {
  Fixture f;
  const MemberId a = f.OnShard(0), b = f.OnShard(1);
  f.Connect(a, b);
  f.shard1.Stop();
  // a's side decides alone: committed and answered with b's shard down.
  v1::RemoveConnectionRequest remove;
  remove.set_member_id(FormatMemberId(b));
  v1::RemoveConnectionResponse removed;
  REQUIRE_THAT(f.stub0->RemoveConnection(f.As(a).get(), remove, &removed), IsOk());
  CHECK(f.Connections(0, a).empty());
  REQUIRE(Eventually([&] {
    return MetricSum(f.shard0, "liaison_identity_peer_writes_total", {{"outcome", "failed"}}) > 0;
  }));
  f.shard1.Start();
  f.stub1 = v1::IdentityService::NewStub(f.shard1.channel());
  REQUIRE(Eventually([&] { return f.Connections(1, b).empty(); }));
  // Delivered: nothing waits in the outbox.
  IdentityStore ids(f.shard0.store());
  REQUIRE(
      Eventually([&] { return ids.Scan(ids.outbox(), KeyBuilder('P').key(), "", 1)->empty(); }));
}

TEST_CASE("An outbox record no shard would take is set aside, and the others still go") {
  Fixture f;
  const MemberId a = f.OnShard(0), b = f.OnShard(1);
  IdentityStore ids(f.shard0.store());
  rocksdb::WriteBatch batch;
  batch.Put(ids.outbox(), keys::PeerWrites(1), "not a record");  // sorts first
  REQUIRE(f.shard0.store()->Write(&batch, Durability::kSynced).ok());
  f.Connect(a, b);  // needs shard 0's records to reach shard 1
  REQUIRE(
      Eventually([&] { return ids.Scan(ids.outbox(), KeyBuilder('P').key(), "", 1)->empty(); }));
  auto aside = ids.Scan(ids.outbox(), KeyBuilder('D').key(), "", 10);
  REQUIRE(aside.ok());
  REQUIRE(aside->size() == 1);
  CHECK(aside->front().value == "not a record");
}

TEST_CASE("A peer write sent again after later ones changes nothing, per source shard") {
  Fixture f;
  const MemberId a = f.OnShard(0), b = f.OnShard(1);
  auto peer = v1::IdentityShardService::NewStub(f.shard1.channel());
  auto apply = [&](bool put, uint32_t source, uint64_t sequence) {
    v1::ApplyPeerWritesRequest request;
    auto* record =
        put ? request.add_writes()->mutable_put() : request.add_writes()->mutable_delete_();
    record->set_key(keys::Received(b, a));
    if (put) record->set_value("an invitation");
    request.set_source_shard(source);
    request.set_sequence(sequence);
    v1::ApplyPeerWritesResponse response;
    return peer->ApplyPeerWrites(TestService::Context(f.svc).get(), request, &response);
  };
  auto received = [&] {
    return f.shard1.store()->Get(f.shard1.store()->Family("social"), keys::Received(b, a)).ok();
  };
  REQUIRE_THAT(apply(true, 0, 100), IsOk());
  CHECK(received());
  REQUIRE_THAT(apply(false, 0, 101), IsOk());  // declined since
  CHECK_FALSE(received());
  // The first again (its acknowledgement was lost): answered OK, not applied.
  CHECK_THAT(apply(true, 0, 100), IsOk());
  CHECK_FALSE(received());
  CHECK_THAT(apply(true, 0, 101), IsOk());
  CHECK_FALSE(received());
  // Another shard's queue counts on its own; an untracked write always applies.
  CHECK_THAT(apply(true, 1, 50), IsOk());
  CHECK(received());
  CHECK_THAT(apply(false, 0, 0), IsOk());
  CHECK_FALSE(received());
}

TEST_CASE("An invitation reaching its recipient after a block between the two stays out") {
  Fixture f;
  const MemberId a = f.OnShard(0), b = f.OnShard(1), c = f.OnShard(0);
  // b blocks a on b's shard while a's invitation to b is still on its way.
  REQUIRE_THAT(f.Block(1, b, a), IsOk());
  auto peer = v1::IdentityShardService::NewStub(f.shard1.channel());
  const absl::Time when = f.clock.Now();
  auto deliver = [&](MemberId sender) {
    v1::ApplyPeerWritesRequest late;
    late.add_writes()->mutable_put()->set_key(keys::Received(b, sender));
    late.add_writes()->mutable_put()->set_key(keys::Incoming(b, when, sender));
    v1::ApplyPeerWritesResponse response;
    return peer->ApplyPeerWrites(TestService::Context(f.svc).get(), late, &response);
  };
  IdentityStore ids(f.shard1.store());
  REQUIRE_THAT(deliver(a), IsOk());
  CHECK_FALSE(ids.Exists(ids.social(), keys::Received(b, a)).value());
  CHECK_FALSE(ids.Exists(ids.social(), keys::Incoming(b, when, a)).value());
  // From someone else, the same arrives.
  REQUIRE_THAT(deliver(c), IsOk());
  CHECK(ids.Exists(ids.social(), keys::Received(b, c)).value());
  CHECK(ids.Exists(ids.social(), keys::Incoming(b, when, c)).value());
}

TEST_CASE("A shard's outbox numbers what it sends, and the receiver keeps the last it applied") {
  Fixture f;
  const MemberId a = f.OnShard(0), b = f.OnShard(1);
  REQUIRE_THAT(f.Block(0, a, b), IsOk());
  IdentityStore ids(f.shard1.store());
  // (A counter never written reads 0.)
  CHECK(ids.GetCounter(ids.outbox(), keys::PeerApplied(1)).value() == 0);
  CHECK(Eventually(
      [&] { return ids.GetCounter(ids.outbox(), keys::PeerApplied(0)).value_or(0) > 0; }));
  CHECK(ids.Exists(ids.social(), keys::BlockedBy(b, a)).value());
}

TEST_CASE("Identity shards refuse peer calls that are wrong, or not from a service") {
  Fixture f;
  const MemberId a = f.OnShard(0), b = f.OnShard(1);
  auto peer = v1::IdentityShardService::NewStub(f.shard0.channel());
  auto apply = [&](const v1::ApplyPeerWritesRequest& request, const std::string& token) {
    v1::ApplyPeerWritesResponse response;
    return peer->ApplyPeerWrites(TestService::Context(token).get(), request, &response);
  };
  v1::ApplyPeerWritesRequest empty;
  CHECK_THAT(apply(empty, f.svc), StatusIs(Code::kInvalidArgument, "writes has 0 entries"));

  v1::ApplyPeerWritesRequest own_record;  // a member's own records are not a peer's to write
  own_record.add_writes()->mutable_put()->set_key(keys::Member(a));
  CHECK_THAT(apply(own_record, f.svc), StatusIs(Code::kInvalidArgument, "writes[0]"));
  CHECK(f.shard0.store()->Get(f.shard0.store()->Family("members"), keys::Member(a)).ok());

  v1::ApplyPeerWritesRequest garbage;
  garbage.add_writes()->mutable_put()->set_key("\x01");
  CHECK_THAT(apply(garbage, f.svc), StatusIs(Code::kInvalidArgument, "writes[0]"));

  v1::ApplyPeerWritesRequest elsewhere;  // b is shard 1's: this shard refuses
  elsewhere.add_writes()->mutable_put()->set_key(keys::BlockedBy(b, a));
  CHECK_THAT(apply(elsewhere, f.svc), StatusIs(Code::kFailedPrecondition, "epoch 3"));

  v1::ApplyPeerWritesRequest bad_link;
  bad_link.add_writes()->mutable_link()->set_member_id(FormatMemberId(a));
  CHECK_THAT(apply(bad_link, f.svc), StatusIs(Code::kInvalidArgument, "other_member_id"));

  v1::ApplyPeerWritesRequest too_many;
  for (int i = 0; i <= kMaxPeerWrites; ++i) {
    too_many.add_writes()->mutable_delete_()->set_key(keys::BlockedBy(a, b));
  }
  CHECK_THAT(apply(too_many, f.svc), StatusIs(Code::kInvalidArgument, "give 1 to 1000"));

  v1::ApplyPeerWritesRequest fine;
  fine.add_writes()->mutable_delete_()->set_key(keys::BlockedBy(a, b));
  CHECK_THAT(apply(fine, f.shard0.MemberToken(a)), StatusIs(Code::kPermissionDenied));
  CHECK_THAT(apply(fine, ""), StatusIs(Code::kUnauthenticated));
  CHECK_THAT(apply(fine, f.svc), IsOk());

  v1::GetMemberFactsRequest facts;
  for (size_t i = 0; i <= kMaxFactsPerCall; ++i) facts.add_member_ids(FormatMemberId(a));
  v1::GetMemberFactsResponse answer;
  CHECK_THAT(peer->GetMemberFacts(TestService::Context(f.svc).get(), facts, &answer),
             StatusIs(Code::kInvalidArgument, "give 1 to 256"));
  facts.clear_member_ids();
  for (size_t i = 0; i <= kMaxListsPerCall; ++i) facts.add_member_ids(FormatMemberId(a));
  facts.set_include_connections(true);
  CHECK_THAT(peer->GetMemberFacts(TestService::Context(f.svc).get(), facts, &answer),
             StatusIs(Code::kInvalidArgument, "give 1 to 8 with include_connections"));
  // A valid id of another shard after an invalid one: the invalid one is named.
  facts.clear_member_ids();
  facts.add_member_ids(FormatMemberId(b));
  facts.add_member_ids("x");
  CHECK_THAT(peer->GetMemberFacts(TestService::Context(f.svc).get(), facts, &answer),
             StatusIs(Code::kInvalidArgument, "member_ids[1]"));
  facts.clear_member_ids();
  facts.add_member_ids(FormatMemberId(b));
  CHECK_THAT(peer->GetMemberFacts(TestService::Context(f.svc).get(), facts, &answer),
             StatusIs(Code::kFailedPrecondition));
  facts.set_member_ids(0, "not-a-member");
  CHECK_THAT(peer->GetMemberFacts(TestService::Context(f.svc).get(), facts, &answer),
             StatusIs(Code::kInvalidArgument, "member_ids[0]"));

  v1::ClaimNameRequest claim;
  claim.set_name("someone");
  claim.set_member_id(FormatMemberId(a));
  v1::ClaimNameResponse claimed;
  CHECK_THAT(peer->ClaimName(TestService::Context(f.svc).get(), claim, &claimed),
             StatusIs(Code::kInvalidArgument, "kind"));
  claim.set_kind(v1::NAME_KIND_HANDLE);
  claim.set_name(std::string(300, 'x'));
  CHECK_THAT(peer->ClaimName(TestService::Context(f.svc).get(), claim, &claimed),
             StatusIs(Code::kInvalidArgument, "name"));
}

}  // namespace
}  // namespace liaison::identity
