// What one SendMessage costs the messaging store: entries written (deletes
// included), bytes written and point lookups, counted by RocksDB itself on
// a real store. A send between connections is the hot path; these pin its
// cost so that a new entry or lookup on it is a visible change.
#include <prometheus/registry.h>

#include <catch2/catch.hpp>

#include "common/clock.h"
#include "common/keys.h"
#include "common/store.h"
#include "services/messaging/event_cursor.h"
#include "services/messaging/event_hub.h"
#include "services/messaging/messaging_logic.h"
#include "services/messaging/messaging_store.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace liaison::messaging {
namespace {

using testing::IsOk;

struct Cost {
  uint64_t entries = 0;  // puts and deletes
  uint64_t bytes = 0;    // the batches' data
  uint64_t gets = 0;     // point lookups
  uint64_t seeks = 0;    // iterator seeks
};

class SendBench final {
 public:
  SendBench()
      : store_(Store::Open({dir_.path(), MessagingStore::Families()}).value()),
        messaging_(store_.get()),
        hub_(&messaging_),
        logic_(&messaging_, &clock_, {}, registry_, &hub_) {}

  EventHub& hub() { return hub_; }
  Store& store() { return *store_; }

  // Gives `member` `n` stored events (typing, as any event), so their next
  // ones are past the retention window as a long-standing member's are.
  void Prime(MemberId member, int n) {
    for (int i = 0; i < n; ++i) {
      rocksdb::WriteBatch batch;
      v1::StreamEventsResponse event;
      event.mutable_typing()->set_conversation_id("1");
      REQUIRE_THAT(hub_.Stage(&batch, member, event).status(), IsOk());
      REQUIRE_THAT(store_->Write(&batch, Durability::kBuffered), IsOk());
    }
  }

  // How many events of `member` the store holds.
  size_t StoredEvents(MemberId member) {
    size_t n = 0;
    auto it = store_->NewIterator(messaging_.events(), /*prefix_scan=*/true);
    const std::string prefix = keys::EventPrefix(member);
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) ++n;
    return n;
  }

  Cost Counters() const {
    return {store_->TickerCount(rocksdb::NUMBER_KEYS_WRITTEN),
            store_->TickerCount(rocksdb::BYTES_WRITTEN),
            store_->TickerCount(rocksdb::NUMBER_KEYS_READ) +
                store_->TickerCount(rocksdb::NUMBER_MULTIGET_KEYS_READ),
            store_->TickerCount(rocksdb::NUMBER_DB_SEEK)};
  }

  // One SendMessage by recipient_id between connections, as the handler
  // runs it (PrepareSend, then SendDirect on a writer), and what it cost.
  Cost Send(MemberId from, MemberId to, const std::string& id) {
    clock_.Advance(absl::Milliseconds(1));
    v1::SendMessageRequest request;
    request.set_recipient_id(std::to_string(to));
    request.set_body("Benchmark message 1, about the project plan.");
    request.set_client_message_id(id);
    MemberSendFacts facts;
    facts.relationship.set_member_id(std::to_string(from));
    facts.relationship.set_other_member_id(std::to_string(to));
    facts.relationship.set_degree(identity::v1::DEGREE_FIRST);
    const Cost before = Counters();
    v1::SendMessageResponse response;
    Caller caller;
    caller.member_id = from;
    auto target = logic_.PrepareSend(caller, request, &response);
    REQUIRE_THAT(target.status(), IsOk());
    REQUIRE_FALSE(target->answered);
    REQUIRE_THAT(logic_.SendDirect(caller, request, to, facts, &response), IsOk());
    const Cost after = Counters();
    return {after.entries - before.entries, after.bytes - before.bytes, after.gets - before.gets,
            after.seeks - before.seeks};
  }

 private:
  testing::TempDir dir_;
  ManualClock clock_{absl::FromUnixSeconds(1'800'000'000)};
  prometheus::Registry registry_;
  std::unique_ptr<Store> store_;
  MessagingStore messaging_;
  EventHub hub_;
  MessagingLogic logic_;
};

uint64_t CursorOf(const v1::StreamEventsResponse& event) {
  return ParseEventCursor(event.cursor()).value();
}

TEST_CASE("A send between connections writes few store entries and reads few keys") {
  SendBench bench;
  // Long-standing members: every new event of theirs is past the window.
  bench.Prime(1, EventHub::kRetained + 1);
  bench.Prime(2, EventHub::kRetained + 1);
  const Cost first = bench.Send(1, 2, "m1");
  const Cost reply = bench.Send(2, 1, "m2");
  const Cost warm = bench.Send(1, 2, "m3");
  INFO("first: " << first.entries << " entries, " << first.bytes << " bytes, " << first.gets
                 << " gets, " << first.seeks << " seeks");
  INFO("reply: " << reply.entries << " entries, " << reply.bytes << " bytes, " << reply.gets
                 << " gets, " << reply.seeks << " seeks");
  INFO("warm:  " << warm.entries << " entries, " << warm.bytes << " bytes, " << warm.gets
                 << " gets, " << warm.seeks << " seeks");
  // The conversation starts: its pair record, the message, the
  // conversation record, the idempotency record, and for each member their
  // state, inbox index entry and event.
  CHECK(first.entries == 10);
  // Then: the message, the conversation record, the idempotency record, and
  // for each member their state, their inbox entry moved (delete + put) and
  // their event. Trimming old events is one range delete per member every
  // EventHub::kTrimEvery of their events, not a delete per event.
  CHECK(reply.entries == 11);
  CHECK(warm.entries == 11);
  // The idempotency record (before and under the lock), the conversation,
  // both members' states; the pair is remembered after the first send.
  CHECK(reply.gets == 5);
  CHECK(warm.gets == 5);
  // And no scan.
  CHECK(warm.seeks == 0);
}

TEST_CASE(
    "Events older than the newest thousand of a member are trimmed in ranges and never replayed") {
  SendBench bench;
  const uint64_t n = EventHub::kRetained + EventHub::kTrimEvery + EventHub::kTrimEvery / 2;
  bench.Prime(7, static_cast<int>(n));
  bench.Prime(8, 3);
  // Trimmed at the last multiple of kTrimEvery; what came since waits.
  CHECK(bench.StoredEvents(7) == EventHub::kRetained + EventHub::kTrimEvery / 2);
  CHECK(bench.StoredEvents(8) == 3);
  // A replay from before the window starts at its oldest event, the newest
  // kRetained, in order, and gives none of another member's.
  auto all = bench.hub().ReadStored(7, 1);
  REQUIRE(all.size() == EventHub::kRetained);
  CHECK(CursorOf(all.front()) == n - EventHub::kRetained + 1);
  CHECK(CursorOf(all.back()) == n);
  for (size_t i = 1; i < all.size(); ++i) CHECK(CursorOf(all[i]) == CursorOf(all[i - 1]) + 1);
  // From inside the window: from there on.
  auto recent = bench.hub().ReadStored(7, n - 9);
  REQUIRE(recent.size() == 10);
  CHECK(CursorOf(recent.front()) == n - 9);
  CHECK(bench.hub().ReadStored(7, n + 1).empty());
  CHECK(bench.hub().ReadStored(8, 1).size() == 3);
}

TEST_CASE("A stored message leaves out what its key says, and older records with it still read") {
  testing::TempDir dir;
  auto store = Store::Open({dir.path(), MessagingStore::Families()}).value();
  MessagingStore messages(store.get());
  v1::Message message;
  message.set_conversation_id("4242");
  message.set_sequence(2);
  message.set_sender_id("7");
  message.set_body("Hello");
  v1::Message bare;
  REQUIRE(bare.ParseFromString(MessagingStore::EncodeMessage(message)));
  CHECK(bare.conversation_id().empty());
  CHECK(bare.sequence() == 0);
  // Sequence 1 as an older binary stored it, 2 as this one does.
  v1::Message old = message;
  old.set_sequence(1);
  rocksdb::WriteBatch batch;
  batch.Put(messages.conversations(), keys::Message(4242, 1), old.SerializeAsString());
  batch.Put(messages.conversations(), keys::Message(4242, 2),
            MessagingStore::EncodeMessage(message));
  REQUIRE_THAT(store->Write(&batch, Durability::kSynced), IsOk());
  auto got = messages.GetMessage(4242, 2);
  REQUIRE_THAT(got.status(), IsOk());
  CHECK(got->conversation_id() == "4242");
  CHECK(got->sequence() == 2);
  CHECK(got->body() == "Hello");
  auto both = messages.Messages(4242, 1, 2, 10);
  REQUIRE_THAT(both.status(), IsOk());
  REQUIRE(both->size() == 2);
  for (int64_t i = 0; i < 2; ++i) {
    CHECK((*both)[i].conversation_id() == "4242");
    CHECK((*both)[i].sequence() == i + 1);
    CHECK((*both)[i].sender_id() == "7");
  }
  auto descending = messages.Messages(4242, 2, 1, 1);
  REQUIRE_THAT(descending.status(), IsOk());
  REQUIRE(descending->size() == 1);
  CHECK(descending->front().sequence() == 2);
}

}  // namespace
}  // namespace liaison::messaging
