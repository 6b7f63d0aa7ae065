// Identity's and privacy's change feeds through real in-process servers:
// WatchChanges, the change_cursor of snapshot answers, and FeedFollower
// resuming and rebuilding against them.
#include <grpcpp/client_context.h>

#include <atomic>
#include <thread>

#include "common/feed_follower.h"
#include "tests/grpc/identity_fixture.h"

namespace liaison::identity {
namespace {

using Stream = std::unique_ptr<grpc::ClientReader<v1::WatchChangesResponse>>;

struct Watch {
  grpc::ClientContext context;
  Stream stream;

  Watch(IdentityFixture& f, const std::string& token, std::optional<uint64_t> after,
        std::vector<v1::ChangeKind> kinds = {}) {
    context.AddMetadata("authorization", "Bearer " + token);
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    v1::WatchChangesRequest request;
    if (after.has_value()) request.set_after_cursor(*after);
    for (auto k : kinds) request.add_kinds(k);
    stream = f.stub->WatchChanges(&context, request);
  }

  // Changes until `count` arrived (heartbeats skipped); the last response's
  // cursor in `*cursor`.
  std::vector<v1::Change> Take(size_t count, uint64_t* cursor = nullptr) {
    std::vector<v1::Change> out;
    v1::WatchChangesResponse response;
    while (out.size() < count && stream->Read(&response)) {
      for (const auto& c : response.changes()) out.push_back(c);
      if (cursor != nullptr) *cursor = response.cursor();
    }
    return out;
  }

  grpc::Status End() {
    context.TryCancel();
    v1::WatchChangesResponse ignored;
    while (stream->Read(&ignored)) {
    }
    return stream->Finish();
  }
};

grpc::Status Refusal(IdentityFixture& f, const std::string& token, std::optional<uint64_t> after,
                     std::vector<int> kinds = {}) {
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + token);
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::WatchChangesRequest request;
  if (after.has_value()) request.set_after_cursor(*after);
  for (int k : kinds) request.add_kinds(static_cast<v1::ChangeKind>(k));
  auto stream = f.stub->WatchChanges(&context, request);
  v1::WatchChangesResponse response;
  while (stream->Read(&response)) {
  }
  return stream->Finish();
}

uint64_t HeadOf(IdentityFixture& f) {
  Watch w(f, f.admin, std::nullopt);
  v1::WatchChangesResponse first;
  REQUIRE(w.stream->Read(&first));
  w.End();
  return first.cursor();
}

TEST_CASE("WatchChanges is for services, asks for known kinds and a cursor the feed holds") {
  IdentityFixture f;
  f.NewMember();
  CHECK_THAT(Refusal(f, f.Token(1), 0), StatusIs(Code::kPermissionDenied));
  CHECK_THAT(Refusal(f, "not-a-token", 0), StatusIs(Code::kUnauthenticated));
  CHECK_THAT(Refusal(f, f.admin, 0, {0}), StatusIs(Code::kInvalidArgument, "kinds"));
  CHECK_THAT(Refusal(f, f.admin, 0, {99}), StatusIs(Code::kInvalidArgument, "kinds: 99"));
  CHECK_THAT(Refusal(f, f.admin, 1000), StatusIs(Code::kOutOfRange, "ahead"));
}

TEST_CASE("Every kind of identity change reaches a watcher, in commit order") {
  IdentityFixture f;
  Watch all(f, f.admin, 0);
  const MemberId a = f.NewMember("ann"), b = f.NewMember("bob");
  f.Connect(a, b);
  f.SetTier(a, v1::ACCOUNT_TIER_PREMIUM_CAREER);
  REQUIRE_THAT(f.Block(b, a), IsOk());
  REQUIRE_THAT(f.Unblock(b, a), IsOk());

  uint64_t cursor = 0;
  auto changes = all.Take(7, &cursor);
  REQUIRE(changes.size() == 7);
  for (size_t i = 1; i < changes.size(); ++i) CHECK(changes[i].cursor() > changes[i - 1].cursor());
  CHECK(changes[0].member().created());
  CHECK(changes[0].member().member().handle() == "ann");
  CHECK(changes[1].member().member().handle() == "bob");
  CHECK(changes[2].connection().connected());
  CHECK(changes[2].connection().member_id() == std::to_string(a));
  CHECK(changes[2].connection().other_member_id() == std::to_string(b));
  CHECK(changes[3].tier().member_id() == std::to_string(a));
  CHECK(changes[3].tier().tier() == v1::ACCOUNT_TIER_PREMIUM_CAREER);
  CHECK(changes[3].tier().previous_tier() == v1::ACCOUNT_TIER_BASIC);
  CHECK(changes[3].tier().has_billing_anchor_time());
  // A block ends the connection in the same write: both changes, in order.
  CHECK_FALSE(changes[4].connection().connected());
  CHECK(changes[5].block().blocker_member_id() == std::to_string(b));
  CHECK(changes[5].block().blocked());
  CHECK(changes[5].cursor() == changes[4].cursor() + 1);
  CHECK_FALSE(changes[6].block().blocked());
  CHECK(changes[6].has_commit_time());
  CHECK(cursor == changes[6].cursor());
  all.End();

  SECTION("a consumer resuming after a cursor gets exactly what followed it") {
    Watch resumed(f, f.admin, changes[3].cursor());
    auto rest = resumed.Take(3);
    REQUIRE(rest.size() == 3);
    CHECK(rest[0].cursor() == changes[4].cursor());
    CHECK(rest[2].cursor() == changes[6].cursor());
    resumed.End();
  }
  SECTION("a kinds filter sends only those, and its cursor still moves to the head") {
    Watch tiers(f, f.admin, 0, {v1::CHANGE_KIND_TIER});
    v1::WatchChangesResponse response;
    REQUIRE(tiers.stream->Read(&response));
    REQUIRE(response.changes_size() == 1);
    CHECK(response.changes(0).has_tier());
    CHECK(response.cursor() == changes[6].cursor());
    CHECK(response.head_cursor() == changes[6].cursor());
    tiers.End();
  }
}

TEST_CASE("A watch without a cursor starts at the head and sees only what comes next") {
  IdentityFixture f;
  f.NewMember();
  f.NewMember();
  Watch live(f, f.admin, std::nullopt);
  v1::WatchChangesResponse first;
  REQUIRE(live.stream->Read(&first));
  CHECK(first.changes_size() == 0);
  CHECK(first.cursor() == 2);
  const MemberId c = f.NewMember("cat");
  auto changes = live.Take(1);
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].member().member().member_id() == std::to_string(c));
  live.End();
}

TEST_CASE("Page follows are on the feed") {
  IdentityFixture f;
  const MemberId admin = f.NewMember();
  v1::CreatePageRequest create;
  create.set_name("Acme");
  v1::CreatePageResponse page;
  REQUIRE_THAT(f.stub->CreatePage(TestService::Context(f.Token(admin)).get(), create, &page),
               IsOk());
  Watch follows(f, f.admin, 0, {v1::CHANGE_KIND_PAGE_FOLLOW});
  const MemberId fan = f.NewMember();
  v1::FollowPageRequest follow;
  follow.set_page_id(page.page().page_id());
  v1::FollowPageResponse followed;
  REQUIRE_THAT(f.stub->FollowPage(TestService::Context(f.Token(fan)).get(), follow, &followed),
               IsOk());
  v1::UnfollowPageRequest unfollow;
  unfollow.set_page_id(page.page().page_id());
  v1::UnfollowPageResponse unfollowed;
  REQUIRE_THAT(
      f.stub->UnfollowPage(TestService::Context(f.Token(fan)).get(), unfollow, &unfollowed),
      IsOk());
  auto changes = follows.Take(2);
  REQUIRE(changes.size() == 2);
  CHECK(changes[0].page_follow().page_id() == page.page().page_id());
  CHECK(changes[0].page_follow().member_id() == std::to_string(fan));
  CHECK(changes[0].page_follow().following());
  CHECK_FALSE(changes[1].page_follow().following());
  follows.End();
}

TEST_CASE("Snapshot answers carry the change cursor they reflect, for services only") {
  IdentityFixture f;
  const MemberId a = f.NewMember(), b = f.NewMember();
  f.SetTier(a, v1::ACCOUNT_TIER_PREMIUM_BUSINESS);
  const uint64_t head = HeadOf(f);
  REQUIRE(head == 3);

  v1::GetMemberRequest get;
  get.set_member_id(std::to_string(a));
  v1::GetMemberResponse member;
  REQUIRE_THAT(f.stub->GetMember(TestService::Context(f.admin).get(), get, &member), IsOk());
  CHECK(member.change_cursor() == head);
  REQUIRE_THAT(f.stub->GetMember(TestService::Context(f.Token(b)).get(), get, &member), IsOk());
  CHECK(member.change_cursor() == 0);

  v1::GetRelationshipRequest rel;
  rel.set_member_id(std::to_string(a));
  rel.set_other_member_id(std::to_string(b));
  v1::GetRelationshipResponse relationship;
  REQUIRE_THAT(f.stub->GetRelationship(TestService::Context(f.admin).get(), rel, &relationship),
               IsOk());
  CHECK(relationship.change_cursor() == head);

  v1::BatchGetMembersRequest batch;
  batch.add_member_ids(std::to_string(b));
  v1::BatchGetMembersResponse members;
  REQUIRE_THAT(f.stub->BatchGetMembers(TestService::Context(f.admin).get(), batch, &members),
               IsOk());
  CHECK(members.change_cursor() == head);
}

TEST_CASE("Privacy's feed carries each member's effective settings after a change") {
  IdentityFixture f;
  const MemberId a = f.NewMember();
  auto settings = privacy::v1::PrivacyService::NewStub(f.privacy.channel());
  const std::string token = f.privacy.ServiceToken("messaging");
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + token);
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  privacy::v1::WatchChangesRequest request;
  request.set_after_cursor(0);
  auto stream = settings->WatchChanges(&context, request);

  f.SetInvitePolicy(a, privacy::v1::INVITE_POLICY_EMAIL_REQUIRED);
  privacy::v1::WatchChangesResponse response;
  privacy::v1::SettingsChange change;
  while (stream->Read(&response)) {
    if (response.changes_size() > 0) {
      change = response.changes(0);
      break;
    }
  }
  CHECK(change.cursor() == 1);
  CHECK(change.settings().member_id() == std::to_string(a));
  CHECK(change.settings().who_can_invite() == privacy::v1::INVITE_POLICY_EMAIL_REQUIRED);
  CHECK(change.settings().inmail_acceptance());  // the defaults are filled in
  context.TryCancel();
  while (stream->Read(&response)) {
  }

  privacy::v1::GetSettingsRequest get;
  get.set_member_id(std::to_string(a));
  privacy::v1::GetSettingsResponse got;
  REQUIRE_THAT(settings->GetSettings(TestService::Context(token).get(), get, &got), IsOk());
  CHECK(got.change_cursor() == 1);

  grpc::ClientContext member_context;
  member_context.AddMetadata("authorization", "Bearer " + f.Token(a));
  auto refused = settings->WatchChanges(&member_context, request);
  while (refused->Read(&response)) {
  }
  CHECK_THAT(refused->Finish(), StatusIs(Code::kPermissionDenied));
}

// A FeedFollower on identity's feed, applying member creations to a list.
struct Follower {
  IdentityFixture& f;
  prometheus::Registry registry;
  absl::Mutex mu;
  std::vector<std::string> handles ABSL_GUARDED_BY(mu);
  std::atomic<int> rebuilds{0};
  std::unique_ptr<FeedFollower> follower;

  // Its own channel: the service's address stays the same across a restart.
  std::shared_ptr<grpc::Channel> channel;

  Follower(IdentityFixture& fixture, std::optional<uint64_t> start)
      : f(fixture),
        channel(grpc::CreateChannel(f.identity.address(), grpc::InsecureChannelCredentials())) {
    FeedFollowerOptions options;
    options.feed = "identity";
    options.consumer = "test";
    options.retry_min = absl::Milliseconds(20);
    options.retry_max = absl::Milliseconds(100);
    follower = std::make_unique<FeedFollower>(
        options, start,
        [this](grpc::ClientContext* context) {
          context->AddMetadata("authorization", "Bearer " + f.admin);
        },
        [this](grpc::ClientContext* context, std::optional<uint64_t> after) {
          v1::WatchChangesRequest request;
          if (after.has_value()) request.set_after_cursor(*after);
          request.add_kinds(v1::CHANGE_KIND_MEMBER);
          auto stub = v1::IdentityService::NewStub(channel);
          auto stream = stub->WatchChanges(context, request);
          return follower->Follow<v1::WatchChangesResponse>(
              context, stream.get(), [this](const v1::WatchChangesResponse& response) {
                absl::MutexLock lock(&mu);
                for (const auto& c : response.changes()) {
                  handles.push_back(c.member().member().handle());
                }
                return absl::OkStatus();
              });
        },
        [this]() -> absl::StatusOr<std::optional<uint64_t>> {
          ++rebuilds;
          return std::optional<uint64_t>();  // from the head
        },
        registry);
    follower->Start();
  }

  std::vector<std::string> Handles() {
    absl::MutexLock lock(&mu);
    return handles;
  }

  // Polls until `cursor` is applied (a generous deadline: CI machines are slow).
  bool Reaches(uint64_t cursor) {
    for (int i = 0; i < 1000 && follower->Applied() < cursor; ++i)
      absl::SleepFor(absl::Milliseconds(10));
    return follower->Applied() >= cursor;
  }
};

TEST_CASE(
    "A follower resumes from its cursor across a restart of the feed's service, missing "
    "nothing and applying nothing twice") {
  IdentityFixture f;
  f.NewMember("m-one");
  Follower follower(f, 0);
  REQUIRE(follower.Reaches(1));
  f.identity.Stop();
  f.identity.Start();
  f.stub = v1::IdentityService::NewStub(f.identity.channel());
  f.NewMember("m-two");
  f.NewMember("m-three");
  REQUIRE(follower.Reaches(3));
  CHECK(follower.Handles() == std::vector<std::string>{"m-one", "m-two", "m-three"});
  CHECK(follower.rebuilds == 0);

  std::atomic<bool> reached{false};
  follower.follower->WhenApplied(3, absl::Seconds(5), [&](bool ok) { reached = ok; });
  CHECK(reached);
  for (int i = 0; i < 500 && !follower.follower->Live(); ++i)
    absl::SleepFor(absl::Milliseconds(10));
  CHECK(follower.follower->Live());
}

TEST_CASE("A follower whose cursor the feed no longer holds rebuilds, then follows from the head") {
  IdentityFixture f;
  f.NewMember("m-one");
  Follower follower(f, 50);  // ahead of this feed: as after a reset
  for (int i = 0; i < 1000 && follower.rebuilds == 0; ++i) absl::SleepFor(absl::Milliseconds(10));
  REQUIRE(follower.rebuilds == 1);
  f.NewMember("m-two");
  REQUIRE(follower.Reaches(2));
  CHECK(follower.Handles() == std::vector<std::string>{"m-two"});
}

TEST_CASE("A follower waiting for a cursor gives up when the feed is gone") {
  IdentityFixture f;
  f.NewMember();
  Follower follower(f, 0);
  REQUIRE(follower.Reaches(1));
  f.identity.Stop();
  std::atomic<int> answer{-1};
  follower.follower->WhenApplied(5, absl::Seconds(30), [&](bool ok) { answer = ok ? 1 : 0; });
  for (int i = 0; i < 1000 && answer < 0; ++i) absl::SleepFor(absl::Milliseconds(10));
  CHECK(answer == 0);
  CHECK_FALSE(follower.follower->Live());
}

}  // namespace
}  // namespace liaison::identity
