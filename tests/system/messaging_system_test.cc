// The four real binaries together, driven with buf curl and liaisonctl
// tokens: two members connect and chat, a recruiter InMails a stranger who
// accepts and replies, the credit comes back, and a block ends a chat.
#include <signal.h>

#include <catch2/catch.hpp>

#include "tests/system/system_support.h"

namespace liaison::testing {
namespace {

const std::string kIdentity = "liaison.identity.v1.IdentityService/";
const std::string kMessaging = "liaison.messaging.v1.MessagingService/";

nlohmann::json Ok(const CommandResult& result) {
  INFO(result.output);
  REQUIRE(result.exit_code == 0);
  return nlohmann::json::parse(result.output);
}

TEST_CASE("The four services together: connect, chat, InMail, answer, refund, block") {
  TempDir dir;
  const std::string key = WriteKey(dir);
  RunningService privacy =
      StartService(LIAISON_PRIVACY_BIN, dir.Sub("privacy"), key, dir.Sub("p.log"));
  const std::string privacy_at = "127.0.0.1:" + std::to_string(privacy.grpc_port);
  RunningService identity = StartService(LIAISON_IDENTITY_BIN, dir.Sub("identity"), key,
                                         dir.Sub("i.log"), {"--privacy-address", privacy_at});
  const std::string identity_at = "127.0.0.1:" + std::to_string(identity.grpc_port);
  RunningService credits = StartService(LIAISON_CREDITS_BIN, dir.Sub("credits"), key,
                                        dir.Sub("c.log"), {"--identity-address", identity_at});
  RunningService messaging =
      StartService(LIAISON_MESSAGING_BIN, dir.Sub("messaging"), key, dir.Sub("m.log"),
                   {"--identity-address", identity_at, "--privacy-address", privacy_at,
                    "--credits-address", "127.0.0.1:" + std::to_string(credits.grpc_port)});
  const std::string admin = CtlToken(key, {"--service", "admin"});

  std::map<std::string, std::string> id, token;
  for (const char* handle : {"ana", "ben", "rex", "sam"}) {
    auto member = Ok(CallRpc(identity, kIdentity + "CreateMember", admin,
                             nlohmann::json{{"handle", handle},
                                            {"displayName", handle},
                                            {"email", std::string(handle) + "@example.com"}}
                                 .dump()));
    id[handle] = member["member"]["memberId"];
    token[handle] = CtlToken(key, {id[handle]});
  }
  Ok(CallRpc(
      identity, kIdentity + "SetAccountTier", admin,
      nlohmann::json{{"memberId", id["rex"]}, {"tier", "ACCOUNT_TIER_RECRUITER_LITE"}}.dump()));

  // Ana and Ben connect and chat.
  Ok(CallRpc(identity, kIdentity + "SendInvitation", token["ana"],
             nlohmann::json{{"recipientId", id["ben"]}}.dump()));
  Ok(CallRpc(
      identity, kIdentity + "RespondToInvitation", token["ben"],
      nlohmann::json{{"senderId", id["ana"]}, {"response", "INVITATION_RESPONSE_ACCEPT"}}.dump()));
  auto sent = Ok(CallRpc(
      messaging, kMessaging + "SendMessage", token["ana"],
      nlohmann::json{
          {"recipientIds", {id["ben"]}}, {"body", "Lunch tomorrow?"}, {"clientMessageId", "a1"}}
          .dump()));
  const std::string chat = sent["conversation"]["conversationId"];
  Ok(CallRpc(messaging, kMessaging + "SendMessage", token["ben"],
             nlohmann::json{{"conversationId", chat}, {"body", "Sure!"}, {"clientMessageId", "b1"}}
                 .dump()));
  auto inbox = Ok(CallRpc(messaging, kMessaging + "ListConversations", token["ana"],
                          R"({"folder":"FOLDER_FOCUSED"})"));
  CHECK(inbox["conversations"][0]["lastMessage"]["body"] == "Sure!");
  CHECK(inbox["conversations"][0]["state"]["unreadCount"] == "1");

  // Rex, a recruiter, InMails Sam, a stranger; Sam accepts and replies.
  auto inmail = Ok(CallRpc(messaging, kMessaging + "SendInMail", token["rex"],
                           nlohmann::json{{"recipientId", id["sam"]},
                                          {"subject", "A role for you"},
                                          {"body", "Are you open to offers?"},
                                          {"clientMessageId", "r1"}}
                               .dump()));
  CHECK(inmail["conversation"]["inmail"]["status"] == "IN_MAIL_STATUS_PENDING");
  auto balance = Ok(CallRpc(credits, "liaison.credits.v1.CreditService/GetBalance", token["rex"]));
  CHECK(balance["balance"]["available"] == "29");
  auto sams = Ok(CallRpc(messaging, kMessaging + "ListConversations", token["sam"],
                         R"({"folder":"FOLDER_INMAIL"})"));
  CHECK(sams["conversations"][0]["inmail"]["subject"] == "A role for you");
  Ok(CallRpc(messaging, kMessaging + "RespondToInMail", token["sam"],
             nlohmann::json{{"conversationId", inmail["conversation"]["conversationId"]},
                            {"answer", "IN_MAIL_ANSWER_ACCEPT"},
                            {"body", "Yes, tell me more"},
                            {"clientMessageId", "s1"}}
                 .dump()));
  balance = Ok(CallRpc(credits, "liaison.credits.v1.CreditService/GetBalance", token["rex"]));
  CHECK(balance["balance"]["available"] == "30");  // the credit came back

  // Ben blocks Ana: the chat is closed.
  Ok(CallRpc(identity, kIdentity + "BlockMember", token["ben"],
             nlohmann::json{{"memberId", id["ana"]}}.dump()));
  auto refused = CallRpc(
      messaging, kMessaging + "SendMessage", token["ana"],
      nlohmann::json{{"conversationId", chat}, {"body", "Hello?"}, {"clientMessageId", "a2"}}
          .dump());
  CHECK(Contains(refused.output, "\"code\": \"permission_denied\""));

  const std::string exposition = ScrapeAndCheck(messaging, dir.Sub("metrics.txt"));
  CHECK(Contains(exposition, "liaison_messages_sent_total{kind=\"inmail\"} 1"));
  CHECK(MetricFamilies(exposition) ==
        ReadLines(std::string(LIAISON_SOURCE_DIR) + "/tests/golden/messaging_metrics.txt"));

  for (RunningService* s : {&messaging, &credits, &identity, &privacy}) {
    s->process->Signal(SIGTERM);
    CHECK(s->process->Wait() == 0);
  }
}

}  // namespace
}  // namespace liaison::testing
