// Credits' time rules on the real binaries, restarted days and months later
// on the same data (--clock-offset): the monthly refresh on the billing day
// and the rollover cap, and the 90-day InMail refund window (messaging and
// credits together).
#include <catch2/catch.hpp>

#include "liaison/messaging/v1/messaging.grpc.pb.h"
#include "tests/system/credits_support.h"

namespace liaison::testing {
namespace {

using identity::v1::IdentityService;
using messaging::v1::MessagingService;

TEST_CASE("Monthly credits arrive on the billing day and roll over up to the cap, months later") {
  TempDir dir;
  const std::string key = WriteKey(dir);
  RunningService identity =
      StartService(LIAISON_IDENTITY_BIN, dir.Sub("identity"), key, dir.Sub("identity.log"));
  LaterService credits(LIAISON_CREDITS_BIN, dir, "credits", key,
                       {"--identity-address", "127.0.0.1:" + std::to_string(identity.grpc_port)});
  credits.StartAt("0");
  RetryingClient<IdentityService> admin(identity.grpc_port, AdminToken());
  // PREMIUM_CAREER: 5 a month, at most 15 roll over.
  const std::string ida = NewMember(admin, "ida", identity::v1::ACCOUNT_TIER_PREMIUM_CAREER);
  credits::v1::Balance balance = BalanceOf(credits.port(), ida);
  CHECK(balance.monthly_available() == 5);
  CHECK(balance.rollover_cap() == 15);
  const absl::Time first_refresh = FromTimestamp(balance.next_refresh_time());
  const absl::Duration cycle = first_refresh - FromTimestamp(balance.billing_anchor_time());
  CHECK(cycle >= absl::Hours(24 * 28));
  CHECK(cycle <= absl::Hours(24 * 31));

  credits.StartAt(OffsetTo(first_refresh - absl::Hours(1)));
  balance = BalanceOf(credits.port(), ida);
  CHECK(balance.monthly_available() == 5);
  CHECK(FromTimestamp(balance.next_refresh_time()) == first_refresh);

  credits.StartAt(OffsetTo(first_refresh + absl::Hours(1)));
  balance = BalanceOf(credits.port(), ida);
  CHECK(balance.monthly_available() == 10);
  const absl::Time second_refresh = FromTimestamp(balance.next_refresh_time());
  CHECK(second_refresh > first_refresh + absl::Hours(24 * 27));

  // 15 is the cap: kept whole, nothing expires.
  credits.StartAt(OffsetTo(second_refresh + absl::Hours(1)));
  balance = BalanceOf(credits.port(), ida);
  CHECK(balance.monthly_available() == 15);
  const absl::Time third_refresh = FromTimestamp(balance.next_refresh_time());
  CHECK(CountEntries(LedgerOf(credits.port(), ida), credits::v1::ENTRY_TYPE_EXPIRE, "period:2") ==
        0);

  // 15 + 5 is over the cap: the month's 5 are granted, then 5 expire.
  credits.StartAt(OffsetTo(third_refresh + absl::Hours(1)));
  balance = BalanceOf(credits.port(), ida);
  CHECK(balance.monthly_available() == 15);
  const auto ledger = LedgerOf(credits.port(), ida);
  CHECK(CountEntries(ledger, credits::v1::ENTRY_TYPE_GRANT, "period:3") == 1);
  REQUIRE(CountEntries(ledger, credits::v1::ENTRY_TYPE_EXPIRE, "period:3") == 1);
  CHECK(ledger.front().type() == credits::v1::ENTRY_TYPE_EXPIRE);
  CHECK(ledger.front().monthly_delta() == -5);
  CHECK(ledger.front().monthly_after() == 15);
}

// Sends an InMail and returns its conversation id.
std::string SendInMail(int messaging_port, const std::string& from, const std::string& to,
                       const std::string& client_id) {
  RetryingClient<MessagingService> client(messaging_port, MemberToken(from));
  messaging::v1::SendInMailRequest request;
  request.set_recipient_id(to);
  request.set_subject("A role you may like");
  request.set_body("Would you have a few minutes this week?");
  request.set_client_message_id(client_id);
  messaging::v1::SendInMailResponse response;
  grpc::Status status =
      client.Retry([&](auto* c) { return client.stub->SendInMail(c, request, &response); });
  INFO(status.error_message());
  REQUIRE(status.ok());
  return response.conversation().conversation_id();
}

messaging::v1::InMailInfo Accept(int messaging_port, const std::string& recipient,
                                 const std::string& conversation) {
  RetryingClient<MessagingService> client(messaging_port, MemberToken(recipient));
  messaging::v1::RespondToInMailRequest request;
  request.set_conversation_id(conversation);
  request.set_answer(messaging::v1::IN_MAIL_ANSWER_ACCEPT);
  messaging::v1::RespondToInMailResponse response;
  grpc::Status status =
      client.Retry([&](auto* c) { return client.stub->RespondToInMail(c, request, &response); });
  INFO(status.error_message());
  REQUIRE(status.ok());
  return response.conversation().inmail();
}

TEST_CASE("An InMail answered within 90 days refunds its credit, and one answered later does not") {
  TempDir dir;
  const std::string key = WriteKey(dir);
  RunningService privacy =
      StartService(LIAISON_PRIVACY_BIN, dir.Sub("privacy"), key, dir.Sub("privacy.log"));
  const std::string privacy_address = "127.0.0.1:" + std::to_string(privacy.grpc_port);
  RunningService identity =
      StartService(LIAISON_IDENTITY_BIN, dir.Sub("identity"), key, dir.Sub("identity.log"),
                   {"--privacy-address", privacy_address});
  const std::string identity_address = "127.0.0.1:" + std::to_string(identity.grpc_port);
  // Credits and messaging both hold the window (messaging decides to ask for
  // the refund, credits checks it again), so both move on together.
  LaterService credits(LIAISON_CREDITS_BIN, dir, "credits", key,
                       {"--identity-address", identity_address});
  credits.StartAt("0");
  LaterService messaging(LIAISON_MESSAGING_BIN, dir, "messaging", key,
                         {"--identity-address", identity_address, "--privacy-address",
                          privacy_address, "--credits-address", credits.Address()});
  messaging.StartAt("0");
  const auto later = [&](const std::string& offset) {
    messaging.Stop();
    credits.StartAt(offset);
    messaging.StartAt(offset);
  };

  RetryingClient<IdentityService> admin(identity.grpc_port, AdminToken());
  const std::string sam = NewMember(admin, "sam", identity::v1::ACCOUNT_TIER_PREMIUM_BUSINESS);
  const std::string ria = NewMember(admin, "ria", identity::v1::ACCOUNT_TIER_BASIC);
  const std::string rex = NewMember(admin, "rex", identity::v1::ACCOUNT_TIER_BASIC);
  const std::string to_ria = SendInMail(messaging.port(), sam, ria, "inmail-ria");
  const std::string to_rex = SendInMail(messaging.port(), sam, rex, "inmail-rex");
  CHECK(BalanceOf(credits.port(), sam).available() == 13);

  later("89d23h");
  int64_t before = BalanceOf(credits.port(), sam).available();
  CHECK(Accept(messaging.port(), ria, to_ria).status() == messaging::v1::IN_MAIL_STATUS_ACCEPTED);
  CHECK(BalanceOf(credits.port(), sam).available() == before + 1);
  CHECK(CountEntries(LedgerOf(credits.port(), sam), credits::v1::ENTRY_TYPE_REFUND) == 1);

  later("90d1h");
  before = BalanceOf(credits.port(), sam).available();
  CHECK(Accept(messaging.port(), rex, to_rex).status() == messaging::v1::IN_MAIL_STATUS_ACCEPTED);
  CHECK(BalanceOf(credits.port(), sam).available() == before);
  CHECK(CountEntries(LedgerOf(credits.port(), sam), credits::v1::ENTRY_TYPE_REFUND) == 1);
}

}  // namespace
}  // namespace liaison::testing
