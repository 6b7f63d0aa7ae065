// PrivacyService through a real in-process gRPC server (free port, real
// stub, real RocksDB in a temp dir).
#include <catch2/catch.hpp>
#include <thread>

#include "liaison/privacy/v1/privacy.grpc.pb.h"
#include "services/privacy/privacy_module.h"
#include "services/privacy/privacy_settings.h"
#include "services/privacy/privacy_store.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_service.h"

namespace liaison::privacy {
namespace {

using testing::IsOk;
using testing::StatusIs;
using testing::TestService;
using Code = absl::StatusCode;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

struct Fixture {
  testing::TempDir dir;
  ManualClock clock{kNow};
  TestService service{PrivacyServiceSpec(), dir.path(), &clock};
  std::unique_ptr<v1::PrivacyService::Stub> stub = v1::PrivacyService::NewStub(service.channel());

  grpc::Status Get(const std::string& token, const std::string& member_id,
                   v1::PrivacySettings* out = nullptr) {
    v1::GetSettingsRequest request;
    request.set_member_id(member_id);
    v1::GetSettingsResponse response;
    grpc::Status status = stub->GetSettings(TestService::Context(token).get(), request, &response);
    if (out != nullptr) *out = response.settings();
    return status;
  }

  grpc::Status Update(const std::string& token, const v1::UpdateSettingsRequest& request,
                      v1::PrivacySettings* out = nullptr) {
    v1::UpdateSettingsResponse response;
    grpc::Status status =
        stub->UpdateSettings(TestService::Context(token).get(), request, &response);
    if (out != nullptr) *out = response.settings();
    return status;
  }

  // What identity does for every member it creates.
  grpc::Status Register(const std::vector<std::string>& ids, const std::string& token = "") {
    v1::RegisterMembersRequest request;
    for (const std::string& id : ids) request.add_member_ids(id);
    v1::RegisterMembersResponse response;
    return stub->RegisterMembers(
        TestService::Context(token.empty() ? service.ServiceToken("identity") : token).get(),
        request, &response);
  }

  bool Stored(MemberId member) {
    return service.store()
        ->Get(service.store()->Family("settings"), PrivacyStore::Key(member))
        .ok();
  }

  void Restart() {
    service.Stop();
    service.Start();
    stub = v1::PrivacyService::NewStub(service.channel());
  }
};

v1::UpdateSettingsRequest TurnOffInMail() {
  v1::UpdateSettingsRequest request;
  request.mutable_settings()->set_inmail_acceptance(false);
  request.mutable_update_mask()->add_paths("inmail_acceptance");
  return request;
}

TEST_CASE("A new member reads the defaults and nothing is written") {
  Fixture f;
  v1::PrivacySettings settings;
  REQUIRE_THAT(f.Get(f.service.MemberToken(42), "", &settings), IsOk());
  CHECK(settings.member_id() == "42");
  CHECK(settings.inmail_acceptance());
  CHECK(settings.who_can_invite() == v1::INVITE_POLICY_EVERYONE);
  CHECK(settings.active_status_visibility() == v1::ACTIVE_STATUS_VISIBILITY_CONNECTIONS);
  CHECK_FALSE(f.Stored(42));
  // Naming oneself explicitly is the same.
  CHECK_THAT(f.Get(f.service.MemberToken(42), "42"), IsOk());
}

TEST_CASE("A member changes a setting, reads it back, and it survives a restart") {
  Fixture f;
  REQUIRE_THAT(f.Register({"42"}), IsOk());
  const std::string token = f.service.MemberToken(42);
  v1::PrivacySettings settings;
  REQUIRE_THAT(f.Update(token, TurnOffInMail(), &settings), IsOk());
  CHECK_FALSE(settings.inmail_acceptance());
  CHECK(settings.focused_inbox());
  CHECK(settings.member_id() == "42");
  f.Restart();
  REQUIRE_THAT(f.Get(token, "", &settings), IsOk());
  CHECK_FALSE(settings.inmail_acceptance());
  CHECK(settings.notify_by_email());
}

TEST_CASE("Resetting the only changed setting removes the member's record") {
  Fixture f;
  REQUIRE_THAT(f.Register({"42"}), IsOk());
  const std::string token = f.service.MemberToken(42);
  REQUIRE_THAT(f.Update(token, TurnOffInMail()), IsOk());
  CHECK(f.Stored(42));
  v1::UpdateSettingsRequest reset;
  reset.mutable_update_mask()->add_paths("inmail_acceptance");
  v1::PrivacySettings settings;
  REQUIRE_THAT(f.Update(token, reset, &settings), IsOk());
  CHECK(settings.inmail_acceptance());
  CHECK_FALSE(f.Stored(42));
}

TEST_CASE("Every setting can be changed through the API") {
  Fixture f;
  REQUIRE_THAT(f.Register({"5"}), IsOk());
  v1::UpdateSettingsRequest request;
  auto* s = request.mutable_settings();
  s->set_inmail_acceptance(false);
  s->set_open_profile(true);
  s->set_messages_from_second_degree(true);
  s->set_read_receipts_and_typing(false);
  s->set_focused_inbox(false);
  s->set_who_can_invite(v1::INVITE_POLICY_EMAIL_REQUIRED);
  s->set_active_status_visibility(v1::ACTIVE_STATUS_VISIBILITY_NO_ONE);
  s->set_sponsored_messages(false);
  s->set_notify_by_email(false);
  for (const std::string& name : SettingNames()) request.mutable_update_mask()->add_paths(name);
  v1::PrivacySettings out;
  REQUIRE_THAT(f.Update(f.service.MemberToken(5), request, &out), IsOk());
  out.clear_member_id();
  CHECK(out.SerializeAsString() == request.settings().SerializeAsString());
}

TEST_CASE("Calls without a valid token are UNAUTHENTICATED and store nothing") {
  Fixture f;
  CHECK_THAT(f.Get("", ""), StatusIs(Code::kUnauthenticated, "missing credentials"));
  auto expired = f.service.minter().MintMember(42, absl::Minutes(1)).value();
  f.clock.Advance(absl::Minutes(2));
  CHECK_THAT(f.Update(expired, TurnOffInMail()), StatusIs(Code::kUnauthenticated, "expired"));
  TokenMinter forger("some-other-key-with-enough-bytes-0123456789", &f.clock);
  auto forged = forger.MintMember(42, absl::Hours(1)).value();
  CHECK_THAT(f.Update(forged, TurnOffInMail()), StatusIs(Code::kUnauthenticated));
  CHECK_THAT(f.Update("garbage", TurnOffInMail()), StatusIs(Code::kUnauthenticated));
  CHECK_FALSE(f.Stored(42));
}

TEST_CASE("A member cannot read or change someone else's settings") {
  Fixture f;
  REQUIRE_THAT(f.Register({"42", "666"}), IsOk());
  const std::string mallory = f.service.MemberToken(666);
  CHECK_THAT(f.Get(mallory, "42"), StatusIs(Code::kPermissionDenied, "only their own"));
  auto request = TurnOffInMail();
  request.set_member_id("42");
  CHECK_THAT(f.Update(mallory, request), StatusIs(Code::kPermissionDenied));
  CHECK_FALSE(f.Stored(42));
  CHECK_FALSE(f.Stored(666));
}

TEST_CASE("Services read any member's settings but cannot change them") {
  Fixture f;
  REQUIRE_THAT(f.Register({"42", "43"}), IsOk());
  REQUIRE_THAT(f.Update(f.service.MemberToken(42), TurnOffInMail()), IsOk());
  const std::string svc = f.service.ServiceToken("messaging");
  v1::PrivacySettings settings;
  REQUIRE_THAT(f.Get(svc, "42", &settings), IsOk());
  CHECK_FALSE(settings.inmail_acceptance());
  CHECK_THAT(f.Get(svc, ""), StatusIs(Code::kInvalidArgument, "member_id is required"));
  auto request = TurnOffInMail();
  request.set_member_id("43");
  CHECK_THAT(f.Update(svc, request), StatusIs(Code::kPermissionDenied));
  CHECK_FALSE(f.Stored(43));
}

TEST_CASE("Malformed updates are INVALID_ARGUMENT and store nothing") {
  Fixture f;
  REQUIRE_THAT(f.Register({"42"}), IsOk());
  const std::string token = f.service.MemberToken(42);
  auto unknown_path = TurnOffInMail();
  unknown_path.mutable_update_mask()->add_paths("favourite_colour");
  CHECK_THAT(f.Update(token, unknown_path),
             StatusIs(Code::kInvalidArgument, "\"favourite_colour\" is not a setting"));
  auto empty_mask = TurnOffInMail();
  empty_mask.clear_update_mask();
  CHECK_THAT(f.Update(token, empty_mask), StatusIs(Code::kInvalidArgument, "update_mask is empty"));
  v1::UpdateSettingsRequest bad_enum;
  bad_enum.mutable_settings()->set_who_can_invite(static_cast<v1::InvitePolicy>(7));
  bad_enum.mutable_update_mask()->add_paths("who_can_invite");
  CHECK_THAT(f.Update(token, bad_enum), StatusIs(Code::kInvalidArgument, "not a valid choice"));
  v1::UpdateSettingsRequest unspecified;
  unspecified.mutable_settings()->set_who_can_invite(v1::INVITE_POLICY_UNSPECIFIED);
  unspecified.mutable_update_mask()->add_paths("who_can_invite");
  CHECK_THAT(f.Update(token, unspecified), StatusIs(Code::kInvalidArgument));
  auto bad_member = TurnOffInMail();
  bad_member.set_member_id("forty-two");
  CHECK_THAT(f.Update(token, bad_member), StatusIs(Code::kInvalidArgument, "member_id"));
  CHECK_THAT(f.Get(token, "-1"), StatusIs(Code::kInvalidArgument, "member_id"));
  CHECK_FALSE(f.Stored(42));
}

TEST_CASE("BatchGetSettings answers services in request order, duplicates included") {
  Fixture f;
  REQUIRE_THAT(f.Register({"2"}), IsOk());
  REQUIRE_THAT(f.Update(f.service.MemberToken(2), TurnOffInMail()), IsOk());
  v1::BatchGetSettingsRequest request;
  for (const char* id : {"1", "2", "3", "2"}) request.add_member_ids(id);
  v1::BatchGetSettingsResponse response;
  auto context = TestService::Context(f.service.ServiceToken("identity"));
  REQUIRE_THAT(f.stub->BatchGetSettings(context.get(), request, &response), IsOk());
  REQUIRE(response.settings_size() == 4);
  CHECK(response.settings(0).member_id() == "1");
  CHECK(response.settings(0).inmail_acceptance());
  CHECK(response.settings(1).member_id() == "2");
  CHECK_FALSE(response.settings(1).inmail_acceptance());
  CHECK(response.settings(2).inmail_acceptance());
  CHECK_FALSE(response.settings(3).inmail_acceptance());
}

TEST_CASE("BatchGetSettings is internal and validates its ids") {
  Fixture f;
  v1::BatchGetSettingsRequest request;
  request.add_member_ids("1");
  v1::BatchGetSettingsResponse response;
  CHECK_THAT(f.stub->BatchGetSettings(TestService::Context(f.service.MemberToken(1)).get(), request,
                                      &response),
             StatusIs(Code::kPermissionDenied, "service token"));
  const std::string svc = f.service.ServiceToken("identity");
  v1::BatchGetSettingsRequest empty;
  CHECK_THAT(f.stub->BatchGetSettings(TestService::Context(svc).get(), empty, &response),
             StatusIs(Code::kInvalidArgument, "member_ids is empty"));
  v1::BatchGetSettingsRequest bad;
  bad.add_member_ids("1");
  bad.add_member_ids("x");
  CHECK_THAT(f.stub->BatchGetSettings(TestService::Context(svc).get(), bad, &response),
             StatusIs(Code::kInvalidArgument, "member_ids[1]"));
  v1::BatchGetSettingsRequest at_limit;
  for (int i = 1; i <= kMaxBatch; ++i) at_limit.add_member_ids(std::to_string(i));
  CHECK_THAT(f.stub->BatchGetSettings(TestService::Context(svc).get(), at_limit, &response),
             IsOk());
  CHECK(response.settings_size() == kMaxBatch);
  at_limit.add_member_ids("1001");
  CHECK_THAT(f.stub->BatchGetSettings(TestService::Context(svc).get(), at_limit, &response),
             StatusIs(Code::kInvalidArgument, "1001 entries; the limit is 1000"));
}

TEST_CASE("Concurrent updates of different settings by one member are all kept") {
  Fixture f;
  REQUIRE_THAT(f.Register({"42"}), IsOk());
  const std::string token = f.service.MemberToken(42);
  std::vector<std::thread> threads;
  const std::vector<std::string> names = {"inmail_acceptance", "read_receipts_and_typing",
                                          "focused_inbox", "sponsored_messages", "notify_by_email"};
  for (const std::string& name : names) {
    threads.emplace_back([&f, &token, name] {
      v1::UpdateSettingsRequest request;
      const auto* field = v1::PrivacySettings::descriptor()->FindFieldByName(name);
      v1::PrivacySettings::GetReflection()->SetBool(request.mutable_settings(), field, false);
      request.mutable_update_mask()->add_paths(name);
      CHECK_THAT(f.Update(token, request), IsOk());
    });
  }
  for (auto& t : threads) t.join();
  v1::PrivacySettings settings;
  REQUIRE_THAT(f.Get(token, "", &settings), IsOk());
  CHECK_FALSE(settings.inmail_acceptance());
  CHECK_FALSE(settings.read_receipts_and_typing());
  CHECK_FALSE(settings.focused_inbox());
  CHECK_FALSE(settings.sponsored_messages());
  CHECK_FALSE(settings.notify_by_email());
}

TEST_CASE("A token for a member nobody registered changes nothing") {
  Fixture f;
  REQUIRE_THAT(f.Register({"42"}), IsOk());
  const std::string ghost = f.service.MemberToken(77);
  CHECK_THAT(f.Update(ghost, TurnOffInMail()),
             StatusIs(Code::kFailedPrecondition, "member 77 (the token's subject) does not exist"));
  auto named = TurnOffInMail();
  named.set_member_id("77");
  CHECK_THAT(f.Update(ghost, named), StatusIs(Code::kFailedPrecondition, "does not exist"));
  CHECK_FALSE(f.Stored(77));
  // Reads still answer the defaults, for anyone, and write nothing.
  v1::PrivacySettings settings;
  REQUIRE_THAT(f.Get(ghost, "", &settings), IsOk());
  CHECK(settings.inmail_acceptance());
  CHECK_FALSE(f.Stored(77));
  CHECK_FALSE(f.service.store()
                  ->Get(f.service.store()->Family("settings"), PrivacyStore::MemberKey(77))
                  .ok());
}

TEST_CASE("Registering members is idempotent, durable, and lets them change settings") {
  Fixture f;
  const std::string token = f.service.MemberToken(9);
  REQUIRE_THAT(f.Update(token, TurnOffInMail()), StatusIs(Code::kFailedPrecondition));
  REQUIRE_THAT(f.Register({"9", "9", "10"}), IsOk());
  REQUIRE_THAT(f.Register({"9"}), IsOk());
  v1::PrivacySettings settings;
  REQUIRE_THAT(f.Update(token, TurnOffInMail(), &settings), IsOk());
  CHECK_FALSE(settings.inmail_acceptance());
  // Registering again keeps the member's choices.
  REQUIRE_THAT(f.Register({"9"}), IsOk());
  REQUIRE_THAT(f.Get(token, "", &settings), IsOk());
  CHECK_FALSE(settings.inmail_acceptance());
  f.Restart();
  CHECK_THAT(f.Update(f.service.MemberToken(10), TurnOffInMail()), IsOk());
  CHECK_THAT(f.Update(f.service.MemberToken(11), TurnOffInMail()),
             StatusIs(Code::kFailedPrecondition));
}

TEST_CASE("RegisterMembers is internal and refuses bad ids and batches, registering nobody") {
  Fixture f;
  CHECK_THAT(f.Register({"1"}, f.service.MemberToken(1)),
             StatusIs(Code::kPermissionDenied, "service token"));
  CHECK_THAT(f.Register({"1"}, "garbage"), StatusIs(Code::kUnauthenticated));
  CHECK_THAT(f.Register({}), StatusIs(Code::kInvalidArgument, "member_ids is empty"));
  CHECK_THAT(f.Register({"1", "x"}), StatusIs(Code::kInvalidArgument, "member_ids[1]"));
  CHECK_THAT(f.Register({"1", "0"}), StatusIs(Code::kInvalidArgument, "member_ids[1]"));
  CHECK_THAT(f.Register({"1", "-3"}), StatusIs(Code::kInvalidArgument, "member_ids[1]"));
  CHECK_THAT(f.Register({"1", ""}), StatusIs(Code::kInvalidArgument, "member_ids[1]"));
  std::vector<std::string> too_many;
  for (int i = 1; i <= kMaxBatch + 1; ++i) too_many.push_back(std::to_string(i));
  CHECK_THAT(f.Register(too_many),
             StatusIs(Code::kInvalidArgument, "1001 entries; the limit is 1000"));
  // Every refused call registered nobody, not even its good ids.
  CHECK_THAT(f.Update(f.service.MemberToken(1), TurnOffInMail()),
             StatusIs(Code::kFailedPrecondition));
  too_many.pop_back();
  REQUIRE_THAT(f.Register(too_many), IsOk());
  CHECK_THAT(f.Update(f.service.MemberToken(1000), TurnOffInMail()), IsOk());
}

}  // namespace
}  // namespace liaison::privacy
