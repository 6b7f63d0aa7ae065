// Messaging as two shards, on real stores (DESIGN.md §8): a conversation's
// home orders its messages, each participant's mailbox is on their own
// shard, and what a change does to a mailbox elsewhere reaches it through
// the home's outbox (a real ShardOutbox; its send calls the other shard's
// ApplyDelivery, where the gRPC service will), once and in order.
#include <prometheus/registry.h>

#include <catch2/catch.hpp>

#include "common/clock.h"
#include "common/keys.h"
#include "services/messaging/deliveries.h"
#include "services/messaging/event_hub.h"
#include "services/messaging/messaging_logic.h"
#include "tests/support/shard_maps.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace liaison::messaging {
namespace {

using testing::IsOk;
using testing::StatusIs;
using Code = absl::StatusCode;

class Shard;

// Two messaging shards in one process, each with its own store.
class TwoShards final {
 public:
  TwoShards();
  Shard& operator[](size_t i) { return *shards_[i]; }
  ManualClock& clock() { return clock_; }
  // A member id whose mailbox is on `shard`, above `after`.
  MemberId MemberOn(size_t shard, MemberId after = 1000) const {
    MemberId m = after + 1;
    while (map_.ShardOf(m) != shard) ++m;
    return m;
  }
  // While a shard is down its deliveries fail (UNAVAILABLE) and wait.
  bool down[2] = {false, false};
  int sent = 0;  // delivery calls made

 private:
  ManualClock clock_{absl::FromUnixSeconds(1'800'000'000)};
  ShardMap map_ = testing::TwoShards("messaging", 1, 2, 1);
  std::unique_ptr<Shard> shards_[2];
};

class Shard final {
 public:
  Shard(TwoShards* all, size_t index, const ShardMap& map)
      : store_(Store::Open({dir_.path(), MessagingStore::Families()}).value()),
        messaging_(store_.get()),
        identity_(map, index),
        hub_(&messaging_),
        outbox_(
            &messaging_, &identity_,
            [all, index](size_t to, const std::vector<DeliveryOutbox::Sequenced>& deliveries) {
              ++all->sent;
              if (all->down[to]) return absl::UnavailableError("shard down");
              std::vector<MessagingLogic::SequencedDelivery> applied;
              for (const auto& [sequence, d] : deliveries) applied.emplace_back(sequence, &d);
              return (*all)[to].logic().ApplyDeliveries(static_cast<uint32_t>(index), applied);
            },
            registry_),
        logic_(&messaging_, &all->clock(), {}, registry_, &hub_, &outbox_) {
    outbox_.Stop();  // the tests pass the queue themselves
  }

  MessagingLogic& logic() { return logic_; }
  EventHub& hub() { return hub_; }
  DeliveryOutbox& outbox() { return outbox_; }
  Store& store() { return *store_; }

  std::vector<v1::Conversation> Inbox(MemberId member) {
    v1::ListConversationsRequest request;
    request.set_folder(v1::FOLDER_FOCUSED);
    v1::ListConversationsResponse response;
    REQUIRE_THAT(logic_.ListConversations(As(member), request, &response), IsOk());
    return {response.conversations().begin(), response.conversations().end()};
  }
  // Every message `member` reads here, oldest first (page by page).
  std::vector<std::string> Bodies(MemberId member, const std::string& conversation) {
    std::vector<std::string> out;
    v1::ListMessagesRequest request;
    request.set_conversation_id(conversation);
    request.set_direction(v1::DIRECTION_NEWER);
    request.set_page_size(100);
    while (true) {
      v1::ListMessagesResponse response;
      REQUIRE_THAT(logic_.ListMessages(As(member), request, &response), IsOk());
      for (const auto& m : response.messages()) out.push_back(m.body());
      if (!response.has_more() || response.messages().empty()) return out;
      request.set_after_sequence(response.messages().rbegin()->sequence());
    }
  }
  size_t Events(MemberId member) { return hub_.ReadStored(member, 1).size(); }

  static Caller As(MemberId member) {
    Caller caller;
    caller.member_id = member;
    return caller;
  }

 private:
  testing::TempDir dir_;
  prometheus::Registry registry_;
  std::unique_ptr<Store> store_;
  MessagingStore messaging_;
  ShardIdentity identity_;
  EventHub hub_;
  DeliveryOutbox outbox_;
  MessagingLogic logic_;
};

TwoShards::TwoShards() {
  for (size_t i = 0; i < 2; ++i) shards_[i] = std::make_unique<Shard>(this, i, map_);
}

MemberSendFacts Connected(MemberId from, MemberId to) {
  MemberSendFacts facts;
  facts.relationship.set_member_id(FormatMemberId(from));
  facts.relationship.set_other_member_id(FormatMemberId(to));
  facts.relationship.set_degree(identity::v1::DEGREE_FIRST);
  return facts;
}

// A send as the handler runs it at the conversation's home.
v1::SendMessageResponse Send(Shard& home, MemberId from, MemberId to, const std::string& body,
                             const std::string& id) {
  v1::SendMessageRequest request;
  request.set_recipient_id(FormatMemberId(to));
  request.set_body(body);
  request.set_client_message_id(id);
  v1::SendMessageResponse response;
  auto target = home.logic().PrepareSend(Shard::As(from), request, &response);
  REQUIRE_THAT(target.status(), IsOk());
  if (!target->answered) {
    REQUIRE_THAT(
        home.logic().SendDirect(Shard::As(from), request, to, Connected(from, to), &response),
        IsOk());
  }
  return response;
}

TEST_CASE("A 1:1 across two messaging shards reaches each member's own shard, in order") {
  TwoShards shards;
  const MemberId ana = shards.MemberOn(0), ben = shards.MemberOn(1, ana);
  REQUIRE(ana < ben);  // their 1:1's home is ana's shard, 0
  auto first = Send(shards[0], ana, ben, "hello Ben", "m1");
  const std::string c = first.message().conversation_id();

  // Committed at the home with ana's mailbox; ben's waits in the outbox.
  CHECK(shards[0].Inbox(ana).size() == 1);
  CHECK(shards[1].Inbox(ben).empty());
  CHECK(DeliveryOutbox::Waiting(&shards[0].store()).value() == 1);
  REQUIRE(shards[0].outbox().Pass().value() == 1);
  CHECK(DeliveryOutbox::Waiting(&shards[0].store()).value() == 0);

  // Ben's shard alone serves his inbox and the conversation.
  auto inbox = shards[1].Inbox(ben);
  REQUIRE(inbox.size() == 1);
  CHECK(inbox[0].conversation_id() == c);
  CHECK(inbox[0].state().unread_count() == 1);
  CHECK(inbox[0].last_message().body() == "hello Ben");
  CHECK(shards[1].Bodies(ben, c) == std::vector<std::string>{"hello Ben"});
  CHECK(shards[1].Events(ben) == 1);
  CHECK(shards[1].Events(ana) == 0);  // ana's mailbox is not there

  // While ben's shard is down, two more wait and then arrive in order.
  shards.down[1] = true;
  Send(shards[0], ana, ben, "second", "m2");
  Send(shards[0], ana, ben, "third", "m3");
  CHECK_THAT(shards[0].outbox().Pass().status(), StatusIs(Code::kUnavailable));
  CHECK(shards[1].Bodies(ben, c).size() == 1);
  shards.down[1] = false;
  REQUIRE(shards[0].outbox().Pass().value() == 2);
  CHECK(shards[1].Bodies(ben, c) == std::vector<std::string>{"hello Ben", "second", "third"});
  CHECK(shards[1].Inbox(ben)[0].state().unread_count() == 3);
  CHECK(shards[1].Events(ben) == 3);

  // Ben's reply is ordered at the home; his read position moves on his shard.
  auto reply = Send(shards[0], ben, ana, "hi Ana", "r1");
  CHECK(reply.message().sequence() == 4);
  REQUIRE(shards[0].outbox().Pass().value() == 1);
  CHECK(shards[1].Inbox(ben)[0].state().unread_count() == 0);
  CHECK(shards[0].Inbox(ana)[0].state().unread_count() == 1);
  const std::vector<std::string> all = {"hello Ben", "second", "third", "hi Ana"};
  CHECK(shards[0].Bodies(ana, c) == all);
  CHECK(shards[1].Bodies(ben, c) == all);
}

TEST_CASE("A delivery sent again, or older than one applied, changes nothing") {
  TwoShards shards;
  const MemberId ana = shards.MemberOn(0), ben = shards.MemberOn(1, ana);
  Send(shards[0], ana, ben, "one", "m1");
  // Capture the record before the queue sends it.
  storage::v1::MailboxDelivery first;
  uint64_t first_sequence = 0;
  {
    auto it = shards[0].store().NewIterator(shards[0].store().Family("outbox"), false);
    it->Seek(std::string(1, keys::kDeliveryKind));
    REQUIRE(it->Valid());
    KeyReader reader(absl::string_view(it->key().data(), it->key().size()));
    char kind;
    REQUIRE(reader.Kind(&kind));
    REQUIRE(reader.U64(&first_sequence));
    REQUIRE(first.ParseFromArray(it->value().data() + 4, static_cast<int>(it->value().size()) - 4));
  }
  REQUIRE(shards[0].outbox().Pass().value() == 1);
  Send(shards[0], ana, ben, "two", "m2");
  REQUIRE(shards[0].outbox().Pass().value() == 1);
  const size_t events = shards[1].Events(ben);
  // The first again (a lost acknowledgement): skipped, the second stays.
  CHECK_THAT(shards[1].logic().ApplyDelivery(0, first_sequence, first), IsOk());
  CHECK(shards[1].Events(ben) == events);
  auto inbox = shards[1].Inbox(ben);
  REQUIRE(inbox.size() == 1);
  CHECK(inbox[0].last_message().body() == "two");
  CHECK(inbox[0].state().unread_count() == 2);
}

TEST_CASE("A group across shards: one delivery per shard and message, not one per member") {
  TwoShards shards;
  const MemberId ana = shards.MemberOn(0), ben = shards.MemberOn(1, ana),
                 cai = shards.MemberOn(1, ben), dan = shards.MemberOn(0, ana);
  v1::SendMessageRequest request;
  request.set_body("kick-off");
  request.set_client_message_id("g1");
  for (MemberId m : {ben, cai, dan}) request.add_recipient_ids(FormatMemberId(m));
  std::vector<identity::v1::Relationship> relationships;
  for (MemberId m : {ben, cai, dan}) relationships.push_back(Connected(ana, m).relationship);
  v1::SendMessageResponse response;
  REQUIRE_THAT(shards[0].logic().SendGroup(Shard::As(ana), request, {ben, cai, dan}, "plan",
                                           relationships, &response),
               IsOk());
  const std::string c = response.message().conversation_id();
  CHECK(DeliveryOutbox::Waiting(&shards[0].store()).value() == 1);
  shards.sent = 0;
  REQUIRE(shards[0].outbox().Pass().value() == 1);
  CHECK(shards.sent == 1);
  for (MemberId m : {ben, cai}) {
    INFO("member " << m);
    REQUIRE(shards[1].Inbox(m).size() == 1);
    CHECK(shards[1].Inbox(m)[0].name() == "plan");
    CHECK(shards[1].Bodies(m, c) == std::vector<std::string>{"kick-off"});
  }
  CHECK(shards[0].Inbox(dan).size() == 1);
  CHECK(shards[0].Inbox(ben).empty());  // ben's mailbox is on shard 1 only

  // Renaming at the home: a conversation_changed event reaches shard 1.
  v1::RenameConversationRequest rename;
  rename.set_conversation_id(c);
  rename.set_name("launch");
  v1::RenameConversationResponse renamed;
  REQUIRE_THAT(shards[0].logic().RenameConversation(Shard::As(dan), rename, &renamed), IsOk());
  const size_t before = shards[1].Events(cai);
  REQUIRE(shards[0].outbox().Pass().value() == 1);
  CHECK(shards[1].Events(cai) == before + 1);
  CHECK(shards[1].Inbox(cai)[0].name() == "launch");
}

TEST_CASE(
    "A malformed delivery, or one for another shard's member, is refused and stores nothing") {
  TwoShards shards;
  const MemberId ana = shards.MemberOn(0), ben = shards.MemberOn(1, ana);
  Send(shards[0], ana, ben, "one", "m1");
  storage::v1::MailboxDelivery good;
  {
    auto it = shards[0].store().NewIterator(shards[0].store().Family("outbox"), false);
    it->Seek(std::string(1, keys::kDeliveryKind));
    REQUIRE(it->Valid());
    REQUIRE(good.ParseFromArray(it->value().data() + 4, static_cast<int>(it->value().size()) - 4));
  }
  Shard& to = shards[1];
  auto refused = [&](storage::v1::MailboxDelivery d, Code code, const std::string& names) {
    INFO(d.ShortDebugString());
    CHECK_THAT(to.logic().ApplyDelivery(0, 7, d), StatusIs(code));
    auto status = to.logic().ApplyDelivery(0, 7, d);
    CHECK_THAT(std::string(status.message()), Catch::Contains(names));
  };
  auto d = good;
  d.set_conversation_id("x");
  refused(d, Code::kInvalidArgument, "delivery.conversation_id");
  d = good;
  d.set_conversation_id("12");
  refused(d, Code::kInvalidArgument, "delivery.record");
  d = good;
  d.clear_steps();
  d.clear_messages();
  refused(d, Code::kInvalidArgument, "delivery.steps");
  d = good;
  for (int i = 0; i < MessagingLogic::kMaxDeliverySteps; ++i) *d.add_steps() = good.steps(0);
  refused(d, Code::kInvalidArgument, "delivery.steps");
  d = good;
  d.mutable_steps(0)->set_member_id("-1");
  refused(d, Code::kInvalidArgument, "delivery.steps.member_id");
  d = good;
  d.mutable_steps(0)->set_member_id(FormatMemberId(ana));
  refused(d, Code::kFailedPrecondition, "not on this shard");
  d = good;
  d.mutable_steps(0)->clear_step();
  refused(d, Code::kInvalidArgument, "no kind");
  d = good;
  d.mutable_steps(0)->mutable_arrived()->set_sequence(9);
  refused(d, Code::kInvalidArgument, "delivery.messages does not hold");
  d = good;
  d.mutable_messages(0)->set_sequence(5);
  refused(d, Code::kInvalidArgument, "delivery.messages");
  d = good;
  d.clear_record();
  d.clear_messages();
  d.mutable_steps(0)->mutable_read_receipt()->set_reader_id(FormatMemberId(ana));
  refused(d, Code::kFailedPrecondition, "not on this shard");  // no copy of it here yet
  CHECK(to.Inbox(ben).empty());
  CHECK(to.Events(ben) == 0);
  // Several at once: one malformed refuses them all, named by its place,
  // and so do sequences out of order, or too many.
  d = good;
  d.set_conversation_id("x");
  auto batch = to.logic().ApplyDeliveries(0, {{7, &good}, {8, &d}});
  CHECK_THAT(batch, StatusIs(Code::kInvalidArgument));
  CHECK_THAT(std::string(batch.message()), Catch::Contains("deliveries[1]: "));
  batch = to.logic().ApplyDeliveries(0, {{8, &good}, {7, &good}});
  CHECK_THAT(batch, StatusIs(Code::kInvalidArgument));
  CHECK_THAT(std::string(batch.message()), Catch::Contains("deliveries[1].sequence"));
  std::vector<MessagingLogic::SequencedDelivery> many;
  for (uint64_t i = 1; i <= MessagingLogic::kMaxDeliveriesPerCall + 1; ++i) {
    many.emplace_back(i, &good);
  }
  CHECK_THAT(to.logic().ApplyDeliveries(0, many), StatusIs(Code::kInvalidArgument));
  CHECK_THAT(to.logic().ApplyDeliveries(0, {}), StatusIs(Code::kInvalidArgument));
  CHECK(to.Inbox(ben).empty());
  CHECK(to.Events(ben) == 0);
  // The good one still applies: nothing above marked sequence 7 applied.
  CHECK_THAT(to.logic().ApplyDelivery(0, 7, good), IsOk());
  CHECK(to.Inbox(ben).size() == 1);
}

TEST_CASE("Deliveries waiting for one shard go in one call, applied in order") {
  TwoShards shards;
  const MemberId ana = shards.MemberOn(0), ben = shards.MemberOn(1, ana);
  for (int i = 1; i <= 5; ++i) {
    Send(shards[0], ana, ben, "m" + std::to_string(i), "m" + std::to_string(i));
  }
  CHECK(DeliveryOutbox::Waiting(&shards[0].store()).value() == 5);
  shards.sent = 0;
  REQUIRE(shards[0].outbox().Pass().value() == 5);
  CHECK(shards.sent == 1);
  auto inbox = shards[1].Inbox(ben);
  REQUIRE(inbox.size() == 1);
  CHECK(inbox[0].last_message().body() == "m5");
  CHECK(inbox[0].state().unread_count() == 5);
  CHECK(shards[1].Bodies(ben, inbox[0].conversation_id()) ==
        std::vector<std::string>{"m1", "m2", "m3", "m4", "m5"});
  CHECK(shards[1].Events(ben) == 5);
}

}  // namespace
}  // namespace liaison::messaging

namespace liaison::messaging {
namespace {

TEST_CASE(
    "A live event from another shard is refused unless it is typing for this shard's members") {
  TwoShards shards;
  const MemberId ana = shards.MemberOn(0), ben = shards.MemberOn(1, ana);
  v1::StreamEventsResponse typing;
  typing.mutable_typing()->set_conversation_id("12");
  typing.mutable_typing()->set_member_id(FormatMemberId(ana));
  auto ids = [](std::vector<std::string> v) {
    google::protobuf::RepeatedPtrField<std::string> out;
    for (auto& s : v) *out.Add() = s;
    return out;
  };
  MessagingLogic& to = shards[1].logic();
  CHECK_THAT(to.PublishLive(ids({}), typing), StatusIs(Code::kInvalidArgument));
  std::vector<std::string> many(MessagingLogic::kMaxLiveMembers + 1, FormatMemberId(ben));
  CHECK_THAT(to.PublishLive(ids(many), typing), StatusIs(Code::kInvalidArgument));
  CHECK_THAT(to.PublishLive(ids({"ben"}), typing), StatusIs(Code::kInvalidArgument));
  CHECK_THAT(to.PublishLive(ids({FormatMemberId(ana)}), typing),
             StatusIs(Code::kFailedPrecondition));
  v1::StreamEventsResponse stored;
  stored.mutable_new_message()->mutable_message()->set_body("not live");
  CHECK_THAT(to.PublishLive(ids({FormatMemberId(ben)}), stored), StatusIs(Code::kInvalidArgument));
  CHECK_THAT(to.PublishLive(ids({FormatMemberId(ben)}), typing), IsOk());
  CHECK(shards[1].Events(ben) == 0);  // nothing stored
}

}  // namespace
}  // namespace liaison::messaging

namespace liaison::messaging {
namespace {

TEST_CASE("A newcomer, or an InMail's recipient, reads the whole conversation on their own shard") {
  TwoShards shards;
  const MemberId ana = shards.MemberOn(0), dan = shards.MemberOn(0, ana),
                 ben = shards.MemberOn(1, dan);
  // A group of two on shard 0, with more history than one delivery carries.
  v1::SendMessageRequest create;
  create.set_body("m0");
  create.set_client_message_id("g0");
  create.add_recipient_ids(FormatMemberId(dan));
  v1::SendMessageResponse created;
  REQUIRE_THAT(shards[0].logic().SendGroup(Shard::As(ana), create, {dan}, "team",
                                           {Connected(ana, dan).relationship}, &created),
               IsOk());
  const std::string group = created.message().conversation_id();
  std::vector<std::string> want = {"m0"};
  for (int k = 1; k <= 150; ++k) {
    v1::SendMessageRequest send;
    send.set_conversation_id(group);
    send.set_body("m" + std::to_string(k));
    send.set_client_message_id("m" + std::to_string(k));
    v1::SendMessageResponse sent;
    std::string refund;
    REQUIRE_THAT(shards[0].logic().SendToConversation(Shard::As(ana), send, std::stoull(group),
                                                      nullptr, &sent, &refund),
                 IsOk());
    want.push_back(send.body());
  }
  CHECK(DeliveryOutbox::Waiting(&shards[0].store()).value() == 0);  // all on shard 0
  // Ben, on shard 1, joins: the history goes there before his step.
  v1::AddParticipantsRequest add;
  add.set_conversation_id(group);
  add.add_member_ids(FormatMemberId(ben));
  v1::AddParticipantsResponse added;
  REQUIRE_THAT(shards[0].logic().AddParticipants(Shard::As(ana), add,
                                                 {Connected(ana, ben).relationship}, &added),
               IsOk());
  CHECK(DeliveryOutbox::Waiting(&shards[0].store()).value() == 3);  // 100 + 51 + the step
  REQUIRE(shards[0].outbox().Pass().value() == 3);
  CHECK(shards[1].Bodies(ben, group) == want);
  REQUIRE(shards[1].Inbox(ben).size() == 1);

  // An InMail from ana to a member on shard 1, stored and then delivered
  // at its home (ana's shard: the pair's lower member's).
  const MemberId sam = shards.MemberOn(1, ben);
  v1::SendInMailRequest inmail;
  inmail.set_recipient_id(FormatMemberId(sam));
  inmail.set_subject("A role");
  inmail.set_body("Interested?");
  inmail.set_client_message_id("i1");
  v1::SendInMailResponse written;
  REQUIRE_THAT(shards[0].logic().WriteInMail(Shard::As(ana), inmail, sam, &written), IsOk());
  REQUIRE_THAT(shards[0].logic().Deliver(MessagingLogic::InMailId(ana, "i1")), IsOk());
  REQUIRE(shards[0].outbox().Pass().value() >= 1);
  CHECK(shards[1].Bodies(sam, written.conversation().conversation_id()) ==
        std::vector<std::string>{"Interested?"});
}

}  // namespace
}  // namespace liaison::messaging
