// Messaging's read model across the real binaries (issue #12): with identity
// SIGKILLed, sends between connections messaging knows still go, a send to
// someone it never asked about is UNAVAILABLE (not a wrong refusal), and once
// identity is back the feed follower reconnects and a new block reaches
// messaging's decisions.
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "common/auth.h"
#include "liaison/identity/v1/identity.grpc.pb.h"
#include "liaison/messaging/v1/messaging.grpc.pb.h"
#include "tests/support/eventually.h"
#include "tests/system/retrying_client.h"
#include "tests/system/system_support.h"

namespace liaison::testing {
namespace {

using identity::v1::IdentityService;
using messaging::v1::MessagingService;

// liaison_feed_consumer_live for messaging's follower of `feed`, from /metrics.
bool FeedLive(const RunningService& messaging, const std::string& feed) {
  auto scraped =
      RunCommand({LIAISON_CURL, "-sf",
                  "http://127.0.0.1:" + std::to_string(messaging.metrics_port) + "/metrics"});
  return Contains(scraped.output,
                  "liaison_feed_consumer_live{consumer=\"messaging\",feed=\"" + feed + "\"} 1");
}

TEST_CASE("With identity SIGKILLed messaging sends between known connections, then follows again") {
  TempDir dir;
  const std::string key = WriteKey(dir);
  MessagingDependencies deps = StartMessagingDependencies(dir, key);
  std::vector<std::string> flags = deps.MessagingFlags();
  flags.insert(flags.end(), {"--messages-per-minute", "100000", "--message-burst", "100000"});
  RunningService messaging = StartService(LIAISON_MESSAGING_BIN, dir.Sub("messaging"), key,
                                          dir.Sub("messaging.log"), flags);
  INFO(messaging.process->Log());

  TokenMinter minter(kSystemKey, Clock::Real());
  RetryingClient<IdentityService> people(deps.identity.grpc_port,
                                         minter.MintService("admin", absl::Hours(1)).value());
  const std::string ana = NewMember(people, "ana", identity::v1::ACCOUNT_TIER_BASIC);
  const std::string ben = NewMember(people, "ben", identity::v1::ACCOUNT_TIER_BASIC);
  const std::string cy = NewMember(people, "cyd", identity::v1::ACCOUNT_TIER_BASIC);
  auto member = [&](const std::string& id) {
    return minter.MintMember(std::stoull(id), absl::Hours(1)).value();
  };
  RetryingClient<IdentityService> as_ana(deps.identity.grpc_port, member(ana));
  RetryingClient<IdentityService> as_ben(deps.identity.grpc_port, member(ben));
  identity::v1::SendInvitationRequest invite;
  invite.set_recipient_id(ben);
  identity::v1::SendInvitationResponse invited;
  REQUIRE(
      as_ana.Retry([&](auto* c) { return as_ana.stub->SendInvitation(c, invite, &invited); }).ok());
  identity::v1::RespondToInvitationRequest accept;
  accept.set_sender_id(ana);
  accept.set_response(identity::v1::INVITATION_RESPONSE_ACCEPT);
  identity::v1::RespondToInvitationResponse accepted;
  REQUIRE(
      as_ben.Retry([&](auto* c) { return as_ben.stub->RespondToInvitation(c, accept, &accepted); })
          .ok());

  RetryingClient<MessagingService> from_ana(messaging.grpc_port, member(ana));
  RetryingClient<MessagingService> from_ben(messaging.grpc_port, member(ben));
  int sent = 0;
  auto send = [&](RetryingClient<MessagingService>& from, const std::string& to) {
    messaging::v1::SendMessageRequest request;
    request.set_recipient_id(to);
    request.set_body("message " + std::to_string(++sent));
    request.set_client_message_id("m" + std::to_string(sent));
    messaging::v1::SendMessageResponse response;
    return from.Once([&](auto* c) { return from.stub->SendMessage(c, request, &response); });
  };

  // Warm: both feeds followed, each direction asked once.
  REQUIRE(Eventually(
      [&] { return FeedLive(messaging, "identity") && FeedLive(messaging, "privacy"); }));
  REQUIRE(send(from_ana, ben).ok());
  REQUIRE(send(from_ben, ana).ok());

  const int identity_port = deps.identity.grpc_port;
  deps.identity.process->Signal(SIGKILL);
  CHECK(deps.identity.process->Wait() == 128 + SIGKILL);
  for (int i = 0; i < 5; ++i) {
    grpc::Status forward = send(from_ana, ben);
    INFO(forward.error_message());
    CHECK(forward.ok());
    grpc::Status back = send(from_ben, ana);
    INFO(back.error_message());
    CHECK(back.ok());
  }
  // Nothing known of ana and cy: no answer rather than a wrong refusal.
  grpc::Status unknown = send(from_ana, cy);
  INFO(unknown.error_message());
  CHECK(unknown.error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK_FALSE(FeedLive(messaging, "identity"));

  deps.identity = StartService(
      LIAISON_IDENTITY_BIN, dir.Sub("identity"), key, dir.Sub("identity-2.log"),
      {"--privacy-address", "127.0.0.1:" + std::to_string(deps.privacy.grpc_port)}, identity_port);
  REQUIRE(deps.identity.grpc_port == identity_port);
  CHECK(Eventually([&] { return FeedLive(messaging, "identity"); }));

  // A block made after the restart reaches messaging, whoever sends.
  identity::v1::BlockMemberRequest block;
  block.set_member_id(ana);
  identity::v1::BlockMemberResponse blocked;
  REQUIRE(as_ben.Retry([&](auto* c) { return as_ben.stub->BlockMember(c, block, &blocked); }).ok());
  CHECK(Eventually(
      [&] { return send(from_ana, ben).error_code() == grpc::StatusCode::PERMISSION_DENIED; }));
  CHECK(send(from_ben, ana).error_code() == grpc::StatusCode::PERMISSION_DENIED);
}

}  // namespace
}  // namespace liaison::testing
