// Two shards of PrivacyService, in-process on loopback ports a shard map
// names: a call reaching the wrong shard is forwarded once to the owner,
// batches are split among the shards and answered in order, and each
// shard stores only its own members (DESIGN.md §8).
#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
#include "common/shard_router.h"
#include "liaison/privacy/v1/privacy.grpc.pb.h"
#include "services/privacy/privacy_module.h"
#include "services/privacy/privacy_store.h"
#include "tests/support/process.h"
#include "tests/support/shard_maps.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_service.h"

namespace liaison::privacy {
namespace {

using testing::FreePort;
using testing::ShardHeader;
using testing::StatusIs;
using testing::TestService;
using Code = absl::StatusCode;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

// The first member ids past `from` owned by `shard`.
MemberId OnShard(const ShardMap& map, size_t shard, MemberId from = 1) {
  while (map.ShardOf(from) != shard) ++from;
  return from;
}

struct Fixture {
  testing::TempDir dir0, dir1;
  ManualClock clock{kNow};
  int port0 = FreePort();
  int port1 = FreePort();
  ShardMap map = testing::TwoShards("privacy", port0, port1, 5);
  TestService shard0{PrivacyServiceSpec(), dir0.path(), &clock, ShardIdentity(map, 0), port0};
  TestService shard1{PrivacyServiceSpec(), dir1.path(), &clock, ShardIdentity(map, 1), port1};
  std::unique_ptr<v1::PrivacyService::Stub> stub0 = v1::PrivacyService::NewStub(shard0.channel());
  std::unique_ptr<v1::PrivacyService::Stub> stub1 = v1::PrivacyService::NewStub(shard1.channel());
  MemberId a = OnShard(map, 0);  // owned by shard 0
  MemberId b = OnShard(map, 1);  // owned by shard 1

  std::string Service() { return shard0.ServiceToken("identity"); }

  grpc::Status Register(v1::PrivacyService::Stub* stub, const std::vector<MemberId>& members) {
    v1::RegisterMembersRequest request;
    for (MemberId m : members) request.add_member_ids(FormatMemberId(m));
    v1::RegisterMembersResponse response;
    return stub->RegisterMembers(TestService::Context(Service()).get(), request, &response);
  }

  bool Registered(TestService& shard, MemberId member) {
    return shard.store()
        ->Get(shard.store()->Family("settings"), PrivacyStore::MemberKey(member))
        .ok();
  }
  bool Stored(TestService& shard, MemberId member) {
    return shard.store()->Get(shard.store()->Family("settings"), PrivacyStore::Key(member)).ok();
  }
};

v1::UpdateSettingsRequest TurnOffInMail() {
  v1::UpdateSettingsRequest request;
  request.mutable_settings()->set_inmail_acceptance(false);
  request.mutable_update_mask()->add_paths("inmail_acceptance");
  return request;
}

TEST_CASE("Sharded privacy: registering members splits them among their shards") {
  Fixture f;
  const MemberId a2 = OnShard(f.map, 0, f.a + 1);
  REQUIRE(f.Register(f.stub1.get(), {f.a, f.b, a2}).ok());
  CHECK(f.Registered(f.shard0, f.a));
  CHECK(f.Registered(f.shard0, a2));
  CHECK_FALSE(f.Registered(f.shard0, f.b));
  CHECK(f.Registered(f.shard1, f.b));
  CHECK_FALSE(f.Registered(f.shard1, f.a));
}

TEST_CASE("Sharded privacy: a member's change sent to the wrong shard lands on theirs") {
  Fixture f;
  REQUIRE(f.Register(f.stub0.get(), {f.a, f.b}).ok());
  auto context = TestService::Context(f.shard0.MemberToken(f.b));
  v1::UpdateSettingsResponse response;
  grpc::Status status = f.stub0->UpdateSettings(context.get(), TurnOffInMail(), &response);
  REQUIRE(status.ok());
  CHECK(response.settings().member_id() == FormatMemberId(f.b));
  CHECK_FALSE(response.settings().inmail_acceptance());
  // The owner served it, and says so.
  CHECK(ShardHeader(*context) == "1/5");
  CHECK(f.Stored(f.shard1, f.b));
  CHECK_FALSE(f.Stored(f.shard0, f.b));

  // Read back through either shard.
  for (auto* stub : {f.stub0.get(), f.stub1.get()}) {
    v1::GetSettingsRequest get;
    get.set_member_id(FormatMemberId(f.b));
    v1::GetSettingsResponse got;
    auto read = TestService::Context(f.Service());
    REQUIRE(stub->GetSettings(read.get(), get, &got).ok());
    CHECK_FALSE(got.settings().inmail_acceptance());
    CHECK(ShardHeader(*read) == "1/5");
  }
}

TEST_CASE("Sharded privacy: a call served where it arrives names that shard") {
  Fixture f;
  v1::GetSettingsRequest get;
  get.set_member_id(FormatMemberId(f.a));
  v1::GetSettingsResponse got;
  auto context = TestService::Context(f.Service());
  REQUIRE(f.stub0->GetSettings(context.get(), get, &got).ok());
  CHECK(ShardHeader(*context) == "0/5");
}

TEST_CASE("Sharded privacy: a batch of both shards' members answers in the request's order") {
  Fixture f;
  REQUIRE(f.Register(f.stub0.get(), {f.a, f.b}).ok());
  v1::UpdateSettingsResponse ignored;
  REQUIRE(f.stub0
              ->UpdateSettings(TestService::Context(f.shard0.MemberToken(f.b)).get(),
                               TurnOffInMail(), &ignored)
              .ok());
  v1::BatchGetSettingsRequest request;
  const std::vector<MemberId> order = {f.b, f.a, f.b, OnShard(f.map, 0, f.a + 1)};
  for (MemberId m : order) request.add_member_ids(FormatMemberId(m));
  for (auto* stub : {f.stub0.get(), f.stub1.get()}) {
    v1::BatchGetSettingsResponse response;
    REQUIRE(
        stub->BatchGetSettings(TestService::Context(f.Service()).get(), request, &response).ok());
    REQUIRE(response.settings_size() == 4);
    for (int i = 0; i < 4; ++i) {
      CHECK(response.settings(i).member_id() == FormatMemberId(order[i]));
    }
    CHECK_FALSE(response.settings(0).inmail_acceptance());
    CHECK(response.settings(1).inmail_acceptance());
    CHECK_FALSE(response.settings(2).inmail_acceptance());
  }
}

TEST_CASE("Sharded privacy: bad input is refused before any forwarding") {
  Fixture f;
  v1::BatchGetSettingsRequest request;
  request.add_member_ids(FormatMemberId(f.b));
  request.add_member_ids("not-a-member");
  v1::BatchGetSettingsResponse response;
  CHECK_THAT(f.stub0->BatchGetSettings(TestService::Context(f.Service()).get(), request, &response),
             StatusIs(Code::kInvalidArgument, "member_ids[1]"));
  v1::GetSettingsRequest get;
  get.set_member_id("-3");
  v1::GetSettingsResponse got;
  CHECK_THAT(f.stub0->GetSettings(TestService::Context(f.Service()).get(), get, &got),
             StatusIs(Code::kInvalidArgument, "member_id"));
  // A member may not read another's settings, wherever the other lives.
  get.set_member_id(FormatMemberId(f.b));
  CHECK_THAT(f.stub0->GetSettings(TestService::Context(f.shard0.MemberToken(f.a)).get(), get, &got),
             StatusIs(Code::kPermissionDenied));
  // No token: refused where it arrives.
  CHECK_THAT(f.stub0->GetSettings(TestService::Context("").get(), get, &got),
             StatusIs(Code::kUnauthenticated));
}

TEST_CASE("Sharded privacy: a forwarded call is never forwarded again") {
  Fixture f;
  // As if another shard, reading an older map, sent shard 0 a call for b.
  v1::GetSettingsRequest get;
  get.set_member_id(FormatMemberId(f.b));
  v1::GetSettingsResponse got;
  auto context = TestService::Context(f.Service());
  context->AddMetadata(kForwardedHeader, "1");
  CHECK_THAT(f.stub0->GetSettings(context.get(), get, &got),
             StatusIs(Code::kFailedPrecondition, "owned by shard 1 in shard map epoch 5"));
  // Marked so, for callers that must not read it as "no such data".
  CHECK(RefusedAsWrongShard(*context));
  v1::BatchGetSettingsRequest batch;
  batch.add_member_ids(FormatMemberId(f.a));
  batch.add_member_ids(FormatMemberId(f.b));
  v1::BatchGetSettingsResponse response;
  auto batch_context = TestService::Context(f.Service());
  batch_context->AddMetadata(kForwardedHeader, "1");
  CHECK_THAT(f.stub0->BatchGetSettings(batch_context.get(), batch, &response),
             StatusIs(Code::kFailedPrecondition, "not by this shard (0)"));
  CHECK(RefusedAsWrongShard(*batch_context));
  // A refusal of the member's own making carries no such mark.
  v1::GetSettingsRequest bad;
  bad.set_member_id("0");
  auto plain = TestService::Context(f.Service());
  CHECK_FALSE(f.stub0->GetSettings(plain.get(), bad, &got).ok());
  CHECK_FALSE(RefusedAsWrongShard(*plain));
}

TEST_CASE("Sharded privacy: with the owner down, a forwarded call says so and nothing is kept") {
  Fixture f;
  REQUIRE(f.Register(f.stub0.get(), {f.a}).ok());
  f.shard1.Stop();
  auto context = TestService::Context(f.shard0.MemberToken(f.b));
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  v1::UpdateSettingsResponse response;
  grpc::Status status = f.stub0->UpdateSettings(context.get(), TurnOffInMail(), &response);
  CHECK((status.error_code() == grpc::StatusCode::UNAVAILABLE ||
         status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED));
  CHECK_FALSE(f.Stored(f.shard0, f.b));
  // The shard itself keeps serving its own members.
  v1::GetSettingsRequest get;
  get.set_member_id(FormatMemberId(f.a));
  v1::GetSettingsResponse got;
  CHECK(f.stub0->GetSettings(TestService::Context(f.Service()).get(), get, &got).ok());
}

}  // namespace
}  // namespace liaison::privacy
