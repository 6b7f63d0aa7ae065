// Identity's time rules on the real binary, restarted days and months later
// on the same data (--clock-offset): the 21-day re-invite block after a
// withdrawal, the 48 hours between unblocking and blocking again, and the
// calendar month of invitation notes for basic members.
#include <catch2/catch.hpp>

#include "absl/time/civil_time.h"
#include "tests/system/later_support.h"

namespace liaison::testing {
namespace {

using identity::v1::IdentityService;
using Client = RetryingClient<IdentityService>;

// liaison-privacy (never restarted: no rule of its own runs on the clock)
// and liaison-identity, restartable.
struct IdentityLater {
  TempDir dir;
  std::string key = WriteKey(dir);
  RunningService privacy =
      StartService(LIAISON_PRIVACY_BIN, dir.Sub("privacy"), key, dir.Sub("privacy.log"));
  LaterService identity{LIAISON_IDENTITY_BIN,
                        dir,
                        "identity",
                        key,
                        {"--privacy-address", "127.0.0.1:" + std::to_string(privacy.grpc_port)}};

  // A client for one call or a few: none may stay connected across a
  // restart, or the restart waits for it in its drain.
  Client As(const std::string& member) const {
    return Client(identity.port(), MemberToken(member));
  }
  std::string NewBasicMember(const std::string& handle) const {
    Client admin(identity.port(), AdminToken());
    return NewMember(admin, handle, identity::v1::ACCOUNT_TIER_BASIC);
  }
};

grpc::Status Invite(Client from, const std::string& to, const std::string& note,
                    identity::v1::SendInvitationResponse* sent = nullptr) {
  identity::v1::SendInvitationRequest request;
  request.set_recipient_id(to);
  request.set_note(note);
  identity::v1::SendInvitationResponse ignored;
  if (sent == nullptr) sent = &ignored;
  return from.Retry([&](auto* c) { return from.stub->SendInvitation(c, request, sent); });
}

grpc::Status Block(Client from, const std::string& member) {
  identity::v1::BlockMemberRequest request;
  request.set_member_id(member);
  identity::v1::BlockMemberResponse response;
  return from.Retry([&](auto* c) { return from.stub->BlockMember(c, request, &response); });
}

TEST_CASE("A withdrawn invitation blocks re-inviting for 21 days, on restarts days later") {
  IdentityLater system;
  system.identity.StartAt("0");
  const std::string ann = system.NewBasicMember("ann");
  const std::string bob = system.NewBasicMember("bob");
  REQUIRE(Invite(system.As(ann), bob, "").ok());
  {
    Client as_ann = system.As(ann);
    identity::v1::WithdrawInvitationRequest withdraw;
    withdraw.set_recipient_id(bob);
    identity::v1::WithdrawInvitationResponse withdrawn;
    REQUIRE(as_ann
                .Retry([&](auto* c) {
                  return as_ann.stub->WithdrawInvitation(c, withdraw, &withdrawn);
                })
                .ok());
  }
  grpc::Status again = Invite(system.As(ann), bob, "");
  CHECK(again.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(Contains(again.error_message(), "you can invite them again from"));

  system.identity.StartAt("20d23h");
  again = Invite(system.As(ann), bob, "");
  INFO(again.error_message());
  CHECK(again.error_code() == grpc::StatusCode::FAILED_PRECONDITION);

  system.identity.StartAt("21d1h");
  identity::v1::SendInvitationResponse sent;
  again = Invite(system.As(ann), bob, "", &sent);
  INFO(again.error_message());
  REQUIRE(again.ok());
  CHECK(sent.invitation().recipient_id() == bob);
}

TEST_CASE("Blocking again needs 48 hours after unblocking, on restarts hours later") {
  IdentityLater system;
  system.identity.StartAt("0");
  const std::string cat = system.NewBasicMember("cat");
  const std::string dan = system.NewBasicMember("dan");
  REQUIRE(Block(system.As(cat), dan).ok());
  {
    Client as_cat = system.As(cat);
    identity::v1::UnblockMemberRequest unblock;
    unblock.set_member_id(dan);
    identity::v1::UnblockMemberResponse unblocked;
    REQUIRE(
        as_cat.Retry([&](auto* c) { return as_cat.stub->UnblockMember(c, unblock, &unblocked); })
            .ok());
  }
  grpc::Status again = Block(system.As(cat), dan);
  CHECK(again.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(Contains(again.error_message(), "you can block them again from"));

  system.identity.StartAt("47h");
  again = Block(system.As(cat), dan);
  INFO(again.error_message());
  CHECK(again.error_code() == grpc::StatusCode::FAILED_PRECONDITION);

  system.identity.StartAt("49h");
  REQUIRE(Block(system.As(cat), dan).ok());
  Client as_cat = system.As(cat);
  identity::v1::ListBlockedMembersRequest list;
  identity::v1::ListBlockedMembersResponse blocked;
  REQUIRE(as_cat.Retry([&](auto* c) { return as_cat.stub->ListBlockedMembers(c, list, &blocked); })
              .ok());
  REQUIRE(blocked.blocked_members_size() == 1);
  CHECK(blocked.blocked_members(0).member_id() == dan);
}

TEST_CASE("Basic members add notes to 5 invitations a calendar month, counted on a moved clock") {
  // Every step at a time of its own month, hours away from its edges, so
  // the test means the same whenever it runs.
  const absl::TimeZone utc = absl::UTCTimeZone();
  const absl::CivilMonth now = absl::ToCivilMonth(absl::Now(), utc);
  const absl::Time month_start = absl::FromCivil(now + 1, utc);
  const absl::Time next_month_start = absl::FromCivil(now + 2, utc);
  const absl::Time mid_month = month_start + absl::Hours(24 * 14 + 12);

  IdentityLater system;
  system.identity.StartAt(OffsetTo(mid_month));
  const std::string eve = system.NewBasicMember("eve");
  std::vector<std::string> others;
  for (int i = 0; i < 7; ++i)
    others.push_back(system.NewBasicMember("contact" + std::to_string(i)));
  for (int i = 0; i < 5; ++i) {
    identity::v1::SendInvitationResponse sent;
    grpc::Status status = Invite(system.As(eve), others[i], "We met at the conference", &sent);
    INFO(status.error_message());
    REQUIRE(status.ok());
    // Stored at the moved time, not at real time.
    CHECK(absl::AbsDuration(FromTimestamp(sent.invitation().create_time()) - mid_month) <
          absl::Minutes(5));
  }
  grpc::Status sixth = Invite(system.As(eve), others[5], "Hello again");
  CHECK(sixth.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  CHECK(Contains(sixth.error_message(), "5 invitations a month"));
  CHECK(Invite(system.As(eve), others[6], "").ok());  // without a note: no quota

  system.identity.StartAt(OffsetTo(next_month_start - absl::Hours(1)));
  sixth = Invite(system.As(eve), others[5], "Hello again");
  INFO(sixth.error_message());
  CHECK(sixth.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);

  system.identity.StartAt(OffsetTo(next_month_start + absl::Hours(1)));
  identity::v1::SendInvitationResponse sent;
  sixth = Invite(system.As(eve), others[5], "Hello again", &sent);
  INFO(sixth.error_message());
  REQUIRE(sixth.ok());
  CHECK(sent.invitation().note() == "Hello again");
}

}  // namespace
}  // namespace liaison::testing
