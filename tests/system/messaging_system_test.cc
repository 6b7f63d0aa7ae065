// The four real binaries together, driven with buf curl and liaisonctl
// tokens: two members connect and chat while one of them follows a live
// StreamEvents (a real gRPC client), a recruiter InMails a stranger who
// accepts and replies, the credit comes back, three chat as a group, and a
// block ends a chat.
#include <signal.h>

#include <catch2/catch.hpp>
#include <mutex>
#include <thread>

#include "common/shard_map.h"
#include "liaison/messaging/v1/messaging.grpc.pb.h"
#include "tests/system/event_stream.h"
#include "tests/system/retrying_client.h"
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

// The same story with one shard of each service and with two of every
// service: members are created on alternate identity shards, so with two
// the chat, the InMail and its refund, the group and the block cross
// shards; every call goes to shard 0, which forwards (a stream: relays),
// but Ben's second event stream, which goes to his own messaging shard.
TEST_CASE("The four services together: connect, chat, InMail, answer, refund, group, block") {
  const int shards = GENERATE(1, 2);
  INFO(shards << " shard(s)");
  TempDir dir;
  const std::string key = WriteKey(dir);
  ShardedDependencies deps = StartShardedDependencies(dir, key, shards);
  RunningService& identity = deps.identity[0];
  RunningService& credits = deps.credits[0];
  std::vector<RunningService> messagings = StartMessagingShards(deps, dir, key);
  RunningService& messaging = messagings[0];
  // Where a member's event stream is served.
  auto stream_port = [&](const std::string& member) {
    if (deps.map_file.empty()) return messaging.grpc_port;
    const size_t shard = ShardMap::Load(deps.map_file).value().ShardOf(std::stoull(member));
    return messagings[shard].grpc_port;
  };
  const std::string admin = CtlToken(key, {"--service", "admin"});

  std::map<std::string, std::string> id, token;
  int created = 0;
  for (const char* handle : {"ana", "ben", "cat", "rex", "sam"}) {
    const RunningService& creator = deps.identity[created++ % shards];
    auto member = Ok(CallRpc(creator, kIdentity + "CreateMember", admin,
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

  // Ana connects with Ben and with Cat. (An invitation reaches another
  // shard's recipient within a delivery: the answer may be retried.)
  for (const char* other : {"ben", "cat"}) {
    Ok(CallRpc(identity, kIdentity + "SendInvitation", token["ana"],
               nlohmann::json{{"recipientId", id[other]}}.dump()));
    CommandResult accepted;
    for (int attempt = 0; attempt < 100; ++attempt) {
      accepted = CallRpc(
          identity, kIdentity + "RespondToInvitation", token[other],
          nlohmann::json{{"senderId", id["ana"]}, {"response", "INVITATION_RESPONSE_ACCEPT"}}
              .dump());
      if (accepted.exit_code == 0 || shards == 1) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    Ok(accepted);
  }
  // Ben follows his events live (through shard 0, which relays them from
  // his own shard); Ana and Ben chat.
  auto bens_events = std::make_unique<EventStream>(messaging.grpc_port, token["ben"]);
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
  // Ana reads it: Ben gets the read receipt (both have receipts on by default).
  Ok(CallRpc(messaging, kMessaging + "MarkConversationRead", token["ana"],
             nlohmann::json{{"conversationId", chat}}.dump()));
  auto events = bens_events->Await(3);
  REQUIRE(events.size() >= 3);
  CHECK(events[0].new_message().message().body() == "Lunch tomorrow?");
  CHECK(events[0].new_message().message().sender_id() == id["ana"]);
  CHECK(events[1].new_message().message().body() == "Sure!");
  CHECK(events[2].read_receipt().reader_id() == id["ana"]);
  CHECK(events[2].read_receipt().read_sequence() == 2);
  const std::string last_cursor = events[2].cursor();
  CHECK_FALSE(last_cursor.empty());
  bens_events.reset();  // Ben goes offline...

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

  // Ana starts a group with Ben and Cat (both her connections); Cat answers.
  auto group = Ok(CallRpc(messaging, kMessaging + "SendMessage", token["ana"],
                          nlohmann::json{{"recipientIds", {id["ben"], id["cat"]}},
                                         {"groupName", "Offsite"},
                                         {"body", "Friday at 10?"},
                                         {"clientMessageId", "a3"}}
                              .dump()));
  CHECK(group["conversation"]["kind"] == "CONVERSATION_KIND_GROUP");
  CHECK(group["conversation"]["participantIds"].size() == 3);
  const std::string offsite = group["conversation"]["conversationId"];
  Ok(CallRpc(messaging, kMessaging + "SendMessage", token["cat"],
             nlohmann::json{
                 {"conversationId", offsite}, {"body", "Works for me"}, {"clientMessageId", "c1"}}
                 .dump()));
  auto thread = Ok(CallRpc(messaging, kMessaging + "ListMessages", token["ben"],
                           nlohmann::json{{"conversationId", offsite}}.dump()));
  REQUIRE(thread["messages"].size() == 2);
  CHECK(thread["messages"][0]["body"] == "Works for me");  // newest first
  // ...and comes back with his last cursor: what he missed is replayed.
  bens_events = std::make_unique<EventStream>(stream_port(id["ben"]), token["ben"], last_cursor);
  CHECK(bens_events->AwaitMessages(2) == std::vector<std::string>{"Friday at 10?", "Works for me"});

  // Ben blocks Ana: the chat is closed. Messaging hears of the block on
  // identity's change feed, within milliseconds: a send may slip through
  // before that, none after.
  Ok(CallRpc(identity, kIdentity + "BlockMember", token["ben"],
             nlohmann::json{{"memberId", id["ana"]}}.dump()));
  CommandResult refused;
  for (int attempt = 0; attempt < 100; ++attempt) {
    refused = CallRpc(messaging, kMessaging + "SendMessage", token["ana"],
                      nlohmann::json{{"conversationId", chat},
                                     {"body", "Hello?"},
                                     {"clientMessageId", "a2-" + std::to_string(attempt)}}
                          .dump());
    if (refused.exit_code != 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(Contains(refused.output, "\"code\": \"permission_denied\""));

  // The InMail was sent once, on its home shard. Every family is exposed
  // (one a shard has not used yet, such as sends, on the other).
  int inmails = 0, delivered = 0;
  std::set<std::string> families;
  for (RunningService& m : messagings) {
    const std::string exposition = ScrapeAndCheck(m, dir.Sub("metrics.txt"));
    inmails += Contains(exposition, "liaison_messages_sent_total{kind=\"inmail\"} 1");
    delivered +=
        !Contains(exposition, "liaison_messaging_deliveries_total{outcome=\"delivered\"} 0\n");
    families.merge(MetricFamilies(exposition));
  }
  CHECK(inmails == 1);
  // With two shards, changes crossed between them (from one shard or both,
  // as the members' ids fell).
  if (shards > 1) CHECK(delivered >= 1);
  if (shards == 1) CHECK(delivered == 0);
  CHECK(families ==
        ReadLines(std::string(LIAISON_SOURCE_DIR) + "/tests/golden/messaging_metrics.txt"));

  for (RunningService& m : messagings) {
    m.process->Signal(SIGTERM);
    CHECK(m.process->Wait() == 0);
  }
  for (auto* group : {&deps.credits, &deps.identity, &deps.privacy}) {
    for (RunningService& s : *group) {
      s.process->Signal(SIGTERM);
      CHECK(s.process->Wait() == 0);
    }
  }
}

}  // namespace
}  // namespace liaison::testing
