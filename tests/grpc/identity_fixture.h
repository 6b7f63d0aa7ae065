// Identity through real in-process servers: a privacy service and an
// identity service that calls it, each on its own RocksDB, sharing a manual
// clock.
#ifndef LIAISON_TESTS_GRPC_IDENTITY_FIXTURE_H_
#define LIAISON_TESTS_GRPC_IDENTITY_FIXTURE_H_

#include <catch2/catch.hpp>
#include <string>

#include "liaison/identity/v1/identity.grpc.pb.h"
#include "liaison/privacy/v1/privacy.grpc.pb.h"
#include "services/identity/identity_module.h"
#include "services/privacy/privacy_module.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_service.h"

namespace liaison::identity {

using testing::IsOk;
using testing::StatusIs;
using testing::TestService;
using Code = absl::StatusCode;

inline const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);  // 2027-01-15

struct IdentityFixture {
  testing::TempDir dir;
  ManualClock clock{kStart};
  TestService privacy{privacy::PrivacyServiceSpec(), dir.Sub("privacy"), &clock};
  TestService identity{IdentityServiceSpec(Config()), dir.Sub("identity"), &clock};
  std::unique_ptr<v1::IdentityService::Stub> stub =
      v1::IdentityService::NewStub(identity.channel());
  // Long-lived, so tests can move the clock by months.
  const std::string admin = identity.minter().MintService("admin", absl::Hours(24 * 800)).value();
  int created = 0;

  std::string Token(MemberId id) { return identity.MemberToken(id); }

  // Registrations with privacy retried within a test's patience.
  IdentityConfig Config() const {
    IdentityConfig config;
    config.privacy_address = privacy.address();
    config.registration.interval = absl::Milliseconds(20);
    config.registration.max_backoff = absl::Milliseconds(200);
    return config;
  }

  // A new member with a unique handle; returns its id.
  MemberId NewMember(const std::string& name = "") {
    v1::CreateMemberRequest request;
    const int n = ++created;
    request.set_handle(name.empty() ? "member-" + std::to_string(n) : name);
    request.set_display_name("Member " + std::to_string(n));
    request.set_email(request.handle() + "@example.com");
    v1::CreateMemberResponse response;
    grpc::Status status = stub->CreateMember(TestService::Context(admin).get(), request, &response);
    REQUIRE_THAT(status, IsOk());
    return std::stoull(response.member().member_id());
  }

  void SetTier(MemberId id, v1::AccountTier tier) {
    v1::SetAccountTierRequest request;
    request.set_member_id(std::to_string(id));
    request.set_tier(tier);
    v1::SetAccountTierResponse response;
    REQUIRE_THAT(stub->SetAccountTier(TestService::Context(admin).get(), request, &response),
                 IsOk());
  }

  grpc::Status Invite(MemberId from, MemberId to, const std::string& note = "",
                      const std::string& email = "", bool* connected = nullptr) {
    v1::SendInvitationRequest request;
    request.set_recipient_id(std::to_string(to));
    request.set_note(note);
    request.set_recipient_email(email);
    v1::SendInvitationResponse response;
    grpc::Status status =
        stub->SendInvitation(TestService::Context(Token(from)).get(), request, &response);
    if (connected != nullptr) *connected = response.connected();
    return status;
  }

  grpc::Status Respond(MemberId recipient, MemberId sender, v1::InvitationResponse answer) {
    v1::RespondToInvitationRequest request;
    request.set_sender_id(std::to_string(sender));
    request.set_response(answer);
    v1::RespondToInvitationResponse response;
    return stub->RespondToInvitation(TestService::Context(Token(recipient)).get(), request,
                                     &response);
  }

  void Connect(MemberId a, MemberId b) {
    REQUIRE_THAT(Invite(a, b), IsOk());
    REQUIRE_THAT(Respond(b, a, v1::INVITATION_RESPONSE_ACCEPT), IsOk());
  }

  grpc::Status Relationship(const std::string& token, MemberId a, MemberId b,
                            v1::Relationship* out) {
    v1::GetRelationshipRequest request;
    if (a != 0) request.set_member_id(std::to_string(a));
    request.set_other_member_id(std::to_string(b));
    v1::GetRelationshipResponse response;
    grpc::Status status =
        stub->GetRelationship(TestService::Context(token).get(), request, &response);
    *out = response.relationship();
    return status;
  }

  v1::Relationship RelationshipAsService(MemberId a, MemberId b) {
    v1::Relationship r;
    REQUIRE_THAT(Relationship(admin, a, b, &r), IsOk());
    return r;
  }

  grpc::Status Block(MemberId blocker, MemberId blocked) {
    v1::BlockMemberRequest request;
    request.set_member_id(std::to_string(blocked));
    v1::BlockMemberResponse response;
    return stub->BlockMember(TestService::Context(Token(blocker)).get(), request, &response);
  }

  grpc::Status Unblock(MemberId blocker, MemberId blocked) {
    v1::UnblockMemberRequest request;
    request.set_member_id(std::to_string(blocked));
    v1::UnblockMemberResponse response;
    return stub->UnblockMember(TestService::Context(Token(blocker)).get(), request, &response);
  }

  grpc::Status GetMember(const std::string& token, MemberId id, v1::Member* out = nullptr) {
    v1::GetMemberRequest request;
    request.set_member_id(std::to_string(id));
    v1::GetMemberResponse response;
    grpc::Status status = stub->GetMember(TestService::Context(token).get(), request, &response);
    if (out != nullptr) *out = response.member();
    return status;
  }

  std::vector<v1::Invitation> Invitations(MemberId member, v1::InvitationDirection direction) {
    v1::ListInvitationsRequest request;
    request.set_direction(direction);
    v1::ListInvitationsResponse response;
    REQUIRE_THAT(
        stub->ListInvitations(TestService::Context(Token(member)).get(), request, &response),
        IsOk());
    return {response.invitations().begin(), response.invitations().end()};
  }

  void SetInvitePolicy(MemberId member, privacy::v1::InvitePolicy policy) {
    auto settings = privacy::v1::PrivacyService::NewStub(privacy.channel());
    privacy::v1::UpdateSettingsRequest request;
    request.mutable_settings()->set_who_can_invite(policy);
    request.mutable_update_mask()->add_paths("who_can_invite");
    privacy::v1::UpdateSettingsResponse response;
    REQUIRE_THAT(
        settings->UpdateSettings(TestService::Context(Token(member)).get(), request, &response),
        IsOk());
  }

  IdentityStore Store() { return IdentityStore(identity.store()); }
};

}  // namespace liaison::identity

#endif  // LIAISON_TESTS_GRPC_IDENTITY_FIXTURE_H_
