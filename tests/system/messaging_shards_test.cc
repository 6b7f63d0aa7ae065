// Messaging as two shards of real binaries, with two shards of every
// service it calls (DESIGN.md §8): a group whose members live on both
// shards, sends through either shard (forwarded to the conversation's
// home), each member reading from their own shard, streams relayed from
// the member's shard, and shards SIGKILLed in the middle of fan-out.
#include <signal.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "common/auth.h"
#include "common/keys.h"
#include "common/shard_map.h"
#include "common/shard_router.h"
#include "liaison/credits/v1/credits.grpc.pb.h"
#include "liaison/identity/v1/identity.grpc.pb.h"
#include "liaison/messaging/v1/messaging.grpc.pb.h"
#include "services/messaging/messaging_store.h"
#include "tests/support/shard_maps.h"
#include "tests/system/event_stream.h"
#include "tests/system/retrying_client.h"
#include "tests/system/system_support.h"

namespace liaison::testing {
namespace {

using identity::v1::IdentityService;
using messaging::v1::MessagingService;

// The load is the point here, not the abuse limits.
const std::vector<std::string> kLoadFlags = {"--messages-per-minute", "100000", "--message-burst",
                                             "100000"};

// Shards of everything (two, unless a layout says otherwise), data under a
// directory that may outlive them (shared with a later start on another
// map), and members made on each.
struct ShardedServices {
  ShardedServices() : ShardedServices(std::make_shared<TempDir>()) {}
  explicit ShardedServices(std::shared_ptr<TempDir> shared)
      : ShardedServices(shared, WriteShardedMap(*shared, 2)) {}
  ShardedServices(std::shared_ptr<TempDir> shared, ShardedLayout shards)
      : owned(std::move(shared)), layout(std::move(shards)) {}

  std::shared_ptr<TempDir> owned;
  ShardedLayout layout;
  const TempDir& dir = *owned;
  std::string key = WriteKey(dir);
  ShardedDependencies deps = StartShardedDependencies(dir, key, layout);
  std::vector<RunningService> messaging = StartMessagingShards(deps, dir, key, kLoadFlags);
  ShardMap map = ShardMap::Load(deps.map_file).value();
  TokenMinter minter{kSystemKey, Clock::Real()};

  std::string Token(const std::string& member) {
    return minter.MintMember(std::stoull(member), absl::Hours(1)).value();
  }
  // A member whose shard is `shard` (identity's shard creates members it owns).
  std::string MemberOn(size_t shard, const std::string& handle,
                       identity::v1::AccountTier tier = identity::v1::ACCOUNT_TIER_BASIC) {
    RetryingClient<IdentityService> people(deps.identity[shard].grpc_port,
                                           minter.MintService("admin", absl::Hours(1)).value());
    const std::string id = NewMember(people, handle, tier);
    REQUIRE(map.ShardOf(std::stoull(id)) == shard);
    return id;
  }
  // `a` invites `b` (through identity shard 0) and `b` accepts (retried: the
  // invitation reaches b's shard within a delivery).
  void Connect(const std::string& a, const std::string& b) {
    RetryingClient<IdentityService> as_a(deps.identity[0].grpc_port, Token(a));
    identity::v1::SendInvitationRequest invite;
    invite.set_recipient_id(b);
    identity::v1::SendInvitationResponse invited;
    REQUIRE(
        as_a.Retry([&](auto* c) { return as_a.stub->SendInvitation(c, invite, &invited); }).ok());
    RetryingClient<IdentityService> as_b(deps.identity[0].grpc_port, Token(b));
    identity::v1::RespondToInvitationRequest accept;
    accept.set_sender_id(a);
    accept.set_response(identity::v1::INVITATION_RESPONSE_ACCEPT);
    grpc::Status status;
    for (int i = 0; i < 100; ++i) {
      identity::v1::RespondToInvitationResponse done;
      status =
          as_b.Retry([&](auto* c) { return as_b.stub->RespondToInvitation(c, accept, &done); });
      if (status.ok()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    INFO(status.error_message());
    REQUIRE(status.ok());
  }
  int PortOf(const std::string& member) {
    return messaging[map.ShardOf(std::stoull(member))].grpc_port;
  }
  // A group of `creator` and `members`, created through messaging shard `via`.
  std::string Group(const std::string& creator, const std::vector<std::string>& members, size_t via,
                    std::string* served_by = nullptr) {
    auto stub = MessagingService::NewStub(RetryingChannel(messaging[via].grpc_port));
    messaging::v1::SendMessageRequest send;
    for (const auto& m : members) send.mutable_new_group()->add_member_ids(m);
    send.mutable_new_group()->set_name("Across shards");
    send.set_body("kick-off");
    send.set_client_message_id("g0");
    messaging::v1::SendMessageResponse sent;
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + Token(creator));
    grpc::Status status = stub->SendMessage(&context, send, &sent);
    INFO(status.error_message());
    REQUIRE(status.ok());
    if (served_by != nullptr) *served_by = ShardHeader(context);
    return sent.conversation().conversation_id();
  }
  // The messages `member` reads through their own shard, oldest first, once
  // there are `n` (or after about 10 s).
  std::vector<messaging::v1::Message> Read(const std::string& member, const std::string& c,
                                           size_t n) {
    RetryingClient<MessagingService> client(PortOf(member), Token(member));
    messaging::v1::ListMessagesRequest list;
    list.set_conversation_id(c);
    list.set_direction(messaging::v1::DIRECTION_NEWER);
    list.set_page_size(100);
    std::vector<messaging::v1::Message> out;
    for (int i = 0; i < 200; ++i) {
      messaging::v1::ListMessagesResponse page;
      grpc::Status status =
          client.Retry([&](auto* ctx) { return client.stub->ListMessages(ctx, list, &page); });
      INFO(status.error_message());
      REQUIRE(status.ok());
      out.assign(page.messages().begin(), page.messages().end());
      if (out.size() >= n) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return out;
  }
  void StopAll() {
    for (auto* group : {&messaging, &deps.credits, &deps.identity, &deps.privacy}) {
      for (RunningService& s : *group) {
        s.process->Signal(SIGTERM);
        CHECK(s.process->Wait() == 0);
      }
    }
  }
};

// Every member's copy, in sequence order, with the bodies `want`.
void CheckSameOrder(const std::map<std::string, std::vector<messaging::v1::Message>>& seen,
                    const std::vector<std::string>* want = nullptr) {
  const std::vector<messaging::v1::Message>* first = nullptr;
  for (const auto& [member, messages] : seen) {
    INFO("member " << member);
    for (size_t i = 0; i < messages.size(); ++i) {
      CHECK(messages[i].sequence() == static_cast<int64_t>(i + 1));  // no gap, no duplicate
    }
    if (want != nullptr) {
      std::vector<std::string> bodies;
      for (const auto& m : messages) bodies.push_back(m.body());
      CHECK(bodies == *want);
    }
    if (first == nullptr) {
      first = &messages;
      continue;
    }
    REQUIRE(messages.size() == first->size());
    for (size_t i = 0; i < messages.size(); ++i) {
      CHECK(messages[i].body() == (*first)[i].body());
      CHECK(messages[i].sender_id() == (*first)[i].sender_id());
    }
  }
}

TEST_CASE("Two messaging shards: a group across them, sends through either, one order for all") {
  ShardedServices s;
  const std::string ana = s.MemberOn(0, "ana"), dan = s.MemberOn(0, "dan");
  const std::string ben = s.MemberOn(1, "ben"), cai = s.MemberOn(1, "cai");
  for (const auto& other : {dan, ben, cai}) s.Connect(ana, other);

  // Ana's group is homed on her shard, 0; created through shard 1, which
  // forwards it there (the answer says who served it).
  std::string served_by;
  const std::string group = s.Group(ana, {dan, ben, cai}, 1, &served_by);
  CHECK(served_by == "0/1");

  // Everyone writes at once, each send through either shard.
  const std::vector<std::string> members = {ana, dan, ben, cai};
  constexpr int kEach = 8;
  std::vector<std::thread> writers;
  std::atomic<int> failed{0};
  for (size_t m = 0; m < members.size(); ++m) {
    writers.emplace_back([&, m] {
      for (int k = 0; k < kEach; ++k) {
        RetryingClient<MessagingService> client(s.messaging[(m + k) % 2].grpc_port,
                                                s.Token(members[m]));
        messaging::v1::SendMessageRequest send;
        send.set_conversation_id(group);
        send.set_body("from " + std::to_string(m) + " #" + std::to_string(k));
        send.set_client_message_id("m" + std::to_string(k));
        messaging::v1::SendMessageResponse sent;
        if (!client.Retry([&](auto* c) { return client.stub->SendMessage(c, send, &sent); }).ok()) {
          ++failed;
        }
      }
    });
  }
  for (auto& t : writers) t.join();
  CHECK(failed == 0);

  // Each member reads the same messages, in the same order, from their own
  // shard, with each writer's messages in the order they were sent.
  const size_t total = 1 + members.size() * kEach;
  std::map<std::string, std::vector<messaging::v1::Message>> seen;
  for (const auto& m : members) {
    seen[m] = s.Read(m, group, total);
    CHECK(seen[m].size() == total);
  }
  CheckSameOrder(seen);
  std::map<std::string, int> next;  // per writer, the next #k expected
  for (const auto& message : seen[ana]) {
    if (message.body() == "kick-off") continue;
    const std::string writer = message.body().substr(0, message.body().find(" #"));
    CHECK(message.body() == writer + " #" + std::to_string(next[writer]++));
  }

  // Ben's events, replayed through shard 0 (relayed from his shard, 1):
  // every message once, in order.
  EventStream bens(s.messaging[0].grpc_port, s.Token(ben), "0");
  auto events = bens.AwaitUntil([&](const auto& got) {
    size_t n = 0;
    for (const auto& e : got) n += e.has_new_message();
    return n >= total;
  });
  std::vector<int64_t> sequences;
  for (const auto& e : events) {
    if (e.has_new_message()) sequences.push_back(e.new_message().message().sequence());
  }
  REQUIRE(sequences.size() == total);
  for (size_t i = 0; i < sequences.size(); ++i) CHECK(sequences[i] == static_cast<int64_t>(i + 1));

  // Ben's inbox through either shard: the same, read from his.
  for (RunningService& shard : s.messaging) {
    RetryingClient<MessagingService> client(shard.grpc_port, s.Token(ben));
    messaging::v1::ListConversationsRequest list;
    list.set_folder(messaging::v1::FOLDER_FOCUSED);
    messaging::v1::ListConversationsResponse inbox;
    REQUIRE(client.Retry([&](auto* c) { return client.stub->ListConversations(c, list, &inbox); })
                .ok());
    REQUIRE(inbox.conversations_size() == 1);
    CHECK(inbox.conversations(0).conversation_id() == group);
    CHECK(inbox.conversations(0).last_message().sequence() == static_cast<int64_t>(total));
  }

  // Ben writes again, through either shard: the group's home (0) answers,
  // with the conversation as Ben sees it on his own shard (1): his folder,
  // his message read, nothing unread.
  for (size_t via = 0; via < 2; ++via) {
    INFO("through shard " << via);
    RetryingClient<MessagingService> client(s.messaging[via].grpc_port, s.Token(ben));
    messaging::v1::SendMessageRequest send;
    send.set_conversation_id(group);
    send.set_body("Ben again, through " + std::to_string(via));
    send.set_client_message_id("again-" + std::to_string(via));
    messaging::v1::SendMessageResponse sent;
    REQUIRE(client.Retry([&](auto* c) { return client.stub->SendMessage(c, send, &sent); }).ok());
    const auto& state = sent.conversation().state();
    CHECK(state.folder() == messaging::v1::FOLDER_FOCUSED);
    CHECK(state.read_sequence() == sent.message().sequence());
    CHECK(state.unread_count() == 0);
    CHECK(sent.conversation().last_message().sequence() == sent.message().sequence());
  }

  // Ana's typing (her shard, 0) reaches Ben's stream on his (1), live.
  {
    EventStream live(s.PortOf(ben), s.Token(ben));
    RetryingClient<MessagingService> as_ana(s.messaging[0].grpc_port, s.Token(ana));
    messaging::v1::SendTypingIndicatorRequest typing;
    typing.set_conversation_id(group);
    messaging::v1::SendTypingIndicatorResponse typed;
    REQUIRE(
        as_ana.Retry([&](auto* c) { return as_ana.stub->SendTypingIndicator(c, typing, &typed); })
            .ok());
    auto got = live.AwaitUntil([](const auto& events) {
      for (const auto& e : events) {
        if (e.has_typing()) return true;
      }
      return false;
    });
    bool from_ana = false;
    for (const auto& e : got) from_ana |= e.has_typing() && e.typing().member_id() == ana;
    CHECK(from_ana);
  }

  // A call already forwarded once that reaches a shard not owning its
  // member is refused, naming the epoch (the two shards read different maps).
  auto stub = MessagingService::NewStub(RetryingChannel(s.messaging[0].grpc_port));
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + s.Token(ben));
  context.AddMetadata(kForwardedHeader, "1");
  messaging::v1::ListConversationsRequest list;
  list.set_folder(messaging::v1::FOLDER_FOCUSED);
  messaging::v1::ListConversationsResponse ignored;
  grpc::Status refused = stub->ListConversations(&context, list, &ignored);
  CHECK(refused.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK_THAT(refused.error_message(), Catch::Contains("epoch 1"));
  CHECK(RefusedAsWrongShard(context));

  // Shard 0 shutting down ends the stream it relays for Ben at once, telling
  // him to reconnect (with his cursor, elsewhere), rather than hold its
  // drain until his own shard's stream ends.
  {
    grpc::ClientContext streaming;
    streaming.AddMetadata("authorization", "Bearer " + s.Token(ben));
    auto reader = stub->StreamEvents(&streaming, messaging::v1::StreamEventsRequest());
    reader->WaitForInitialMetadata();
    s.messaging[0].process->Signal(SIGTERM);
    messaging::v1::StreamEventsResponse event;
    while (reader->Read(&event)) {
    }
    grpc::Status ended = reader->Finish();
    CHECK(ended.error_code() == grpc::StatusCode::UNAVAILABLE);
    CHECK_THAT(ended.error_message(), Catch::Contains("reconnect with your last cursor"));
    CHECK(s.messaging[0].process->Wait() == 0);
    s.messaging.erase(s.messaging.begin());  // stopped
  }
  s.StopAll();
}

TEST_CASE(
    "A messaging shard SIGKILLed in the middle of fan-out loses, duplicates and reorders nothing") {
  ShardedServices s;
  const std::string ana = s.MemberOn(0, "ana"), dan = s.MemberOn(0, "dan");
  const std::string ben = s.MemberOn(1, "ben"), cai = s.MemberOn(1, "cai");
  for (const auto& other : {dan, ben, cai}) s.Connect(ana, other);
  const std::string group = s.Group(ana, {dan, ben, cai}, 0);

  // Ana sends one message after another into the group (homed on her
  // shard, 0), retrying each with its client_message_id until answered,
  // while the shard holding Ben's and Cai's mailboxes is killed and the
  // home itself is killed, each in the middle of deliveries.
  constexpr int kSends = 60;
  std::atomic<int> acked{0};
  std::mutex mu;
  std::vector<std::string> failures;  // sends never answered OK
  std::thread sender([&] {
    RetryingClient<MessagingService> client(s.messaging[0].grpc_port, s.Token(ana));
    for (int k = 0; k < kSends; ++k) {
      messaging::v1::SendMessageRequest send;
      send.set_conversation_id(group);
      send.set_body("m" + std::to_string(k));
      send.set_client_message_id("m" + std::to_string(k));
      messaging::v1::SendMessageResponse sent;
      grpc::Status status;
      for (int attempt = 0; attempt < 20; ++attempt) {
        status = client.Retry([&](auto* c) { return client.stub->SendMessage(c, send, &sent); });
        if (status.ok()) break;
      }
      if (!status.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        failures.push_back("m" + std::to_string(k) + ": " + status.error_message());
      }
      ++acked;
    }
  });
  auto kill_when = [&](int after, size_t shard, const std::string& log) {
    while (acked < after) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    KillAndRestart(&s.messaging[shard], LIAISON_MESSAGING_BIN,
                   s.dir.Sub(MessagingShardName(s.deps, shard)), s.key, s.dir.Sub(log),
                   MessagingShardFlags(s.deps, shard, kLoadFlags));
  };
  kill_when(10, 1, "messaging-1-restarted.log");
  kill_when(30, 0, "messaging-0-restarted.log");
  kill_when(45, 1, "messaging-1-restarted-again.log");
  sender.join();
  CHECK(failures.empty());
  for (const auto& failure : failures) WARN(failure);

  std::vector<std::string> want = {"kick-off"};
  for (int k = 0; k < kSends; ++k) want.push_back("m" + std::to_string(k));
  std::map<std::string, std::vector<messaging::v1::Message>> seen;
  for (const auto& m : {ana, dan, ben, cai}) seen[m] = s.Read(m, group, want.size());
  CheckSameOrder(seen, &want);

  // Cai's stored events hold every message once, in order.
  EventStream cais(s.PortOf(cai), s.Token(cai), "0");
  auto events = cais.AwaitUntil([&](const auto& got) {
    size_t n = 0;
    for (const auto& e : got) n += e.has_new_message();
    return n >= want.size();
  });
  std::vector<std::string> bodies;
  for (const auto& e : events) {
    if (e.has_new_message()) bodies.push_back(e.new_message().message().body());
  }
  CHECK(bodies == want);
  s.StopAll();
}

// `member` sends `body` with client message id `id` through their own
// shard into conversation `c`; the answer.
grpc::Status Send(ShardedServices& s, const std::string& member, const std::string& c,
                  const std::string& body, const std::string& id,
                  messaging::v1::SendMessageResponse* sent) {
  RetryingClient<MessagingService> client(s.PortOf(member), s.Token(member));
  messaging::v1::SendMessageRequest send;
  send.set_conversation_id(c);
  send.set_body(body);
  send.set_client_message_id(id);
  return client.Retry([&](auto* ctx) { return client.stub->SendMessage(ctx, send, sent); });
}

// `from` writes `body` to `to` (client message id: the body) through their
// own shard; the 1:1 conversation's id.
std::string StartChat(ShardedServices& s, const std::string& from, const std::string& to,
                      const std::string& body) {
  RetryingClient<MessagingService> client(s.PortOf(from), s.Token(from));
  messaging::v1::SendMessageRequest send;
  send.set_recipient_id(to);
  send.set_body(body);
  send.set_client_message_id(body);
  messaging::v1::SendMessageResponse sent;
  grpc::Status status =
      client.Retry([&](auto* c) { return client.stub->SendMessage(c, send, &sent); });
  INFO(status.error_message());
  REQUIRE(status.ok());
  return sent.conversation().conversation_id();
}

// `from` InMails `to` through their own shard.
grpc::Status InMail(ShardedServices& s, const std::string& from, const std::string& to,
                    const std::string& subject, const std::string& id,
                    messaging::v1::SendInMailResponse* mailed) {
  RetryingClient<MessagingService> client(s.PortOf(from), s.Token(from));
  messaging::v1::SendInMailRequest mail;
  mail.set_recipient_id(to);
  mail.set_subject(subject);
  mail.set_body("Open to offers?");
  mail.set_client_message_id(id);
  return client.Retry([&](auto* c) { return client.stub->SendInMail(c, mail, mailed); });
}

// The conversations in `member`'s inbox, every folder, through their shard.
std::set<std::string> InboxOf(ShardedServices& s, const std::string& member) {
  RetryingClient<MessagingService> client(s.PortOf(member), s.Token(member));
  std::set<std::string> ids;
  for (auto folder : {messaging::v1::FOLDER_FOCUSED, messaging::v1::FOLDER_OTHER,
                      messaging::v1::FOLDER_INMAIL, messaging::v1::FOLDER_REQUESTS}) {
    messaging::v1::ListConversationsRequest list;
    list.set_folder(folder);
    list.set_page_size(50);
    messaging::v1::ListConversationsResponse page;
    REQUIRE(
        client.Retry([&](auto* c) { return client.stub->ListConversations(c, list, &page); }).ok());
    for (const auto& c : page.conversations()) ids.insert(c.conversation_id());
  }
  return ids;
}

int64_t AvailableCredits(ShardedServices& s, const std::string& member) {
  RetryingClient<credits::v1::CreditService> client(s.deps.credits[0].grpc_port, s.Token(member));
  credits::v1::GetBalanceResponse balance;
  REQUIRE(client
              .Retry([&](auto* c) {
                return client.stub->GetBalance(c, credits::v1::GetBalanceRequest{}, &balance);
              })
              .ok());
  return balance.balance().available();
}

TEST_CASE(
    "liaison-reshard grows every service from 2 shards to 3, and every conversation reads back") {
  auto dir = std::make_shared<TempDir>();
  // The map it grows to: partitions 1365-2047 move from shard 0 to 1,
  // 2730-4095 from 1 to a new shard 2.
  const ShardMap three = ShardMap::Parse(R"({"epoch": 2, "shards": [
          {"partitions": "0-1364", "messaging": "127.0.0.1:1"},
          {"partitions": "1365-2729", "messaging": "127.0.0.1:2"},
          {"partitions": "2730-4095", "messaging": "127.0.0.1:3"}]})",
                                         "test")
                             .value();
  std::string two_map, ana, bo, cy, di, rex, chat, pair, group, inmail;
  std::vector<std::string> chat_bodies = {"a1", "d1", "a2"}, pair_bodies = {"b1", "c1"};
  std::vector<std::string> group_bodies = {"kick-off", "g1", "g2"};
  int64_t sent_a2 = 0;
  {
    ShardedServices s(dir);
    two_map = s.deps.map_file;
    // One member for each way a partition goes: stays on 0, 0 to 1, stays
    // on 1, 1 to 2 (Rex, a recruiter, too).
    auto member = [&](size_t now, size_t then, const std::string& handle,
                      identity::v1::AccountTier tier = identity::v1::ACCOUNT_TIER_BASIC) {
      for (int i = 0;; ++i) {
        const std::string id = s.MemberOn(now, handle + std::to_string(i), tier);
        if (three.ShardOf(std::stoull(id)) == then) return id;
        REQUIRE(i < 60);
      }
    };
    ana = member(0, 0, "ana");
    bo = member(0, 1, "bo");
    cy = member(1, 1, "cy");
    di = member(1, 2, "di");
    rex = member(1, 2, "rex", identity::v1::ACCOUNT_TIER_RECRUITER_LITE);
    for (const auto& other : {bo, cy, di}) s.Connect(ana, other);
    s.Connect(bo, cy);

    // Ana and Di chat, Bo and Cy chat; Ana's group with all three, which
    // Cy leaves (keeping what was said before).
    group = s.Group(ana, {bo, cy, di}, 1);
    messaging::v1::SendMessageResponse sent;
    chat = StartChat(s, ana, di, "a1");
    REQUIRE(Send(s, di, chat, "d1", "d1", &sent).ok());
    REQUIRE(Send(s, ana, chat, "a2", "a2", &sent).ok());
    sent_a2 = sent.message().sequence();
    pair = StartChat(s, bo, cy, "b1");
    REQUIRE(Send(s, cy, pair, "c1", "c1", &sent).ok());
    REQUIRE(Send(s, di, group, "g1", "g1", &sent).ok());
    REQUIRE(Send(s, cy, group, "g2", "g2", &sent).ok());
    RetryingClient<MessagingService> as_cy(s.PortOf(cy), s.Token(cy));
    messaging::v1::LeaveConversationRequest leave;
    leave.set_conversation_id(group);
    messaging::v1::LeaveConversationResponse left;
    REQUIRE(
        as_cy.Retry([&](auto* c) { return as_cy.stub->LeaveConversation(c, leave, &left); }).ok());

    // Rex InMails Ana (once his credits arrived); she has not answered.
    messaging::v1::SendInMailResponse mailed;
    grpc::Status status;
    for (int i = 0; i < 200; ++i) {
      status = InMail(s, rex, ana, "A role", "r1", &mailed);
      if (status.ok()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    INFO(status.error_message());
    REQUIRE(status.ok());
    inmail = mailed.conversation().conversation_id();
    CHECK(AvailableCredits(s, rex) == 29);

    // Every copy is where it should be before the services stop (nothing
    // left in an outbox).
    for (const auto& m : {ana, di}) CHECK(s.Read(m, chat, 3).size() == 3);
    for (const auto& m : {bo, cy}) CHECK(s.Read(m, pair, 2).size() == 2);
    for (const auto& m : {ana, bo, cy, di}) CHECK(s.Read(m, group, 3).size() == 3);
    CHECK(s.Read(ana, inmail, 1).size() == 1);
    s.StopAll();
  }

  const ShardedLayout layout = WriteShardedMap(*dir, 3, 2);
  auto run = [&](const std::string& service) {
    std::vector<std::string> argv = {LIAISON_RESHARD_BIN, "--service", service,
                                     "--from-map",        two_map,     "--to-map",
                                     layout.map_file};
    for (int i = 0; i < 3; ++i) {
      argv.insert(argv.end(), {"--data-dir", dir->Sub(service + "-" + std::to_string(i))});
    }
    return RunCommand(argv);
  };
  auto reshard = [&](const std::string& service) {
    auto result = run(service);
    INFO(service << ": " << result.output);
    REQUIRE(result.exit_code == 0);
    return nlohmann::json::parse(result.output);
  };
  for (const char* service : {"privacy", "identity", "credits"}) reshard(service);
  // A delivery still in shard 0's outbox (as after a crash while shard 1
  // was down) names its shard by the old map: nothing moves.
  auto leave_delivery = [&](bool waiting) {
    auto store =
        Store::Open({dir->Sub("messaging-0"), messaging::MessagingStore::Families()}).value();
    const std::string key = KeyBuilder(messaging::keys::kDeliveryKind).U64(1).key();
    rocksdb::WriteBatch batch;
    if (waiting) {
      batch.Put(store->Family("outbox"), key, "");
    } else {
      batch.Delete(store->Family("outbox"), key);
    }
    REQUIRE(store->Write(&batch, Durability::kSynced).ok());
    REQUIRE(store->Close().ok());
  };
  leave_delivery(true);
  auto refused = run("messaging");
  CHECK(refused.exit_code == 1);
  CHECK(Contains(refused.output, "holds 1 deliveries to other shards"));
  CHECK(Contains(refused.output, "nothing was moved"));
  leave_delivery(false);
  auto report = reshard("messaging");
  CHECK(report["partitions_moved"] == 683 + 1366);
  CHECK(report["records_moved"].get<int>() > 0);
  // Di's new shard needs a copy of Ana's group (homed on Ana's shard, 0).
  CHECK(report["conversation_copies_made"].get<int>() >= 1);
  auto again = reshard("messaging");
  CHECK(again["records_moved"] == 0);
  CHECK(again["conversation_copies_made"] == 0);
  CHECK(again["conversation_copies_dropped"] == 0);

  ShardedServices s(dir, layout);
  REQUIRE(s.messaging.size() == 3);
  for (const auto& [m, shard] : std::map<std::string, size_t>{{ana, 0}, {bo, 1}, {cy, 1}, {di, 2}})
    REQUIRE(s.map.ShardOf(std::stoull(m)) == shard);
  // Each member's inbox and conversations, from their new shard.
  CHECK(InboxOf(s, ana) == std::set<std::string>{chat, group, inmail});
  CHECK(InboxOf(s, bo) == std::set<std::string>{pair, group});
  CHECK(InboxOf(s, di) == std::set<std::string>{chat, group});
  auto bodies = [](const std::vector<messaging::v1::Message>& messages) {
    std::vector<std::string> out;
    for (const auto& m : messages) out.push_back(m.body());
    return out;
  };
  for (const auto& m : {ana, di}) CHECK(bodies(s.Read(m, chat, 3)) == chat_bodies);
  for (const auto& m : {bo, cy}) CHECK(bodies(s.Read(m, pair, 2)) == pair_bodies);
  // Cy left the group: what was said before stays his, on his shard.
  CHECK(bodies(s.Read(cy, group, 3)) == group_bodies);

  // A retried send is still answered once, by the conversation's new home.
  messaging::v1::SendMessageResponse sent;
  REQUIRE(Send(s, ana, chat, "a2", "a2", &sent).ok());
  CHECK(sent.message().sequence() == sent_a2);
  // The conversations go on in one order for everyone.
  REQUIRE(Send(s, di, chat, "d2", "d2", &sent).ok());
  CHECK(sent.message().sequence() == 4);
  chat_bodies.push_back("d2");
  REQUIRE(Send(s, bo, group, "g3", "g3", &sent).ok());
  std::map<std::string, std::vector<messaging::v1::Message>> seen;
  for (const auto& m : {ana, di}) seen[m] = s.Read(m, chat, 4);
  CheckSameOrder(seen, &chat_bodies);
  seen.clear();
  group_bodies.push_back("g3");
  for (const auto& m : {ana, bo, di}) seen[m] = s.Read(m, group, 4);
  CheckSameOrder(seen, &group_bodies);

  // Rex's InMail is still unanswered at its new home: no second one; Ana
  // accepts it from her shard and his credit comes back.
  messaging::v1::SendInMailResponse mailed;
  grpc::Status second = InMail(s, rex, ana, "Again", "r2", &mailed);
  CHECK(second.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  RetryingClient<MessagingService> as_ana(s.PortOf(ana), s.Token(ana));
  messaging::v1::RespondToInMailRequest answer;
  answer.set_conversation_id(inmail);
  answer.set_answer(messaging::v1::IN_MAIL_ANSWER_ACCEPT);
  answer.set_body("Tell me more");
  answer.set_client_message_id("a3");
  messaging::v1::RespondToInMailResponse answered;
  grpc::Status accepted =
      as_ana.Retry([&](auto* c) { return as_ana.stub->RespondToInMail(c, answer, &answered); });
  INFO(accepted.error_message());
  REQUIRE(accepted.ok());
  int64_t credits = 0;
  for (int i = 0; i < 200 && credits != 30; ++i) {
    credits = AvailableCredits(s, rex);
    if (credits != 30) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(credits == 30);
  CHECK(bodies(s.Read(rex, inmail, 2)).back() == "Tell me more");
  s.StopAll();
}

}  // namespace
}  // namespace liaison::testing
