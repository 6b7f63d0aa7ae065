// The messaging store's layout by partition (DESIGN.md §8), on a real
// RocksDB: every key starts with the partition its records belong to, and a
// store written before partitions is rewritten in place at start, reading
// back the same through the store's own reads.
#include "services/messaging/messaging_store.h"

#include <catch2/catch.hpp>

#include "common/keys.h"
#include "common/shard_map.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace liaison::messaging {
namespace {

using testing::IsOk;

std::string Prefix(uint32_t partition) { return KeyBuilder::PartitionPrefix(partition); }

bool StartsWith(const std::string& key, uint32_t partition) {
  return key.compare(0, 2, Prefix(partition)) == 0;
}

TEST_CASE("A conversation id carries its home partition, and stays below 2^53") {
  for (uint32_t partition : {0u, 1u, 2047u, 4095u}) {
    for (uint64_t random : {uint64_t{1}, uint64_t{0x1FFFFFFFFFF}, ~uint64_t{0}}) {
      const ConversationId c = ConversationIn(partition, random);
      CHECK(ConversationPartition(c) == partition);
      CHECK(c < (uint64_t{1} << 53));
    }
  }
  // Ids from before (random below 2^53) name a partition too, by their top bits.
  CHECK(ConversationPartition(0x1F'0000'0000'0000) < kPartitions);
  CHECK(ConversationPartition(~uint64_t{0}) < kPartitions);
}

TEST_CASE("Messaging keys start with their partition") {
  const MemberId low = 1'234'567, high = 98'765'432'101;
  const ConversationId c = ConversationIn(77, 5);
  // A member's records: the member's.
  for (const std::string& key :
       {keys::State(high, c), keys::Inbox(high, v1::FOLDER_FOCUSED, absl::Now(), c),
        keys::InboxPrefix(high, v1::FOLDER_OTHER), keys::Sent(high, "x"),
        keys::Unanswered(high, low), keys::Reports(high), keys::Hidden(high, c, 3),
        keys::HiddenPrefix(high, c), keys::Event(high, 9), keys::EventPrefix(high)}) {
    CHECK(StartsWith(key, PartitionOf(high)));
  }
  // A pair's: the lower member's, whichever way round it is asked.
  CHECK(keys::Pair(high, low) == keys::Pair(low, high));
  CHECK(StartsWith(keys::Pair(high, low), PartitionOf(low)));
  CHECK(StartsWith(keys::PagePair(high, low), PartitionOf(high)));  // the page's
  // A conversation's: its home's, from the id.
  for (const std::string& key :
       {keys::Conversation(c), keys::Message(c, 1), keys::MessagePrefix(c)}) {
    CHECK(StartsWith(key, 77));
  }
  CHECK(keys::Message(c, 1).compare(0, keys::MessagePrefix(c).size(), keys::MessagePrefix(c)) == 0);
}

TEST_CASE("A messaging store written before partitions is upgraded in place and reads back") {
  testing::TempDir dir;
  auto store = Store::Open({dir.path(), MessagingStore::Families()}).value();
  MessagingStore m(store.get());
  const MemberId ana = 1'000'003, ben = 2'000'000'017;
  const ConversationId c = 0x0A'BCDE'F012'3456;  // a random id from before
  const absl::Time when = absl::FromUnixSeconds(1'800'000'000);

  // The old layout: the kind, then the member or conversation id.
  storage::v1::ConversationRecord record;
  record.mutable_conversation()->set_conversation_id(FormatMemberId(c));
  record.set_last_sequence(1);
  v1::Message message;
  message.set_body("hello");
  storage::v1::MemberState state;
  state.set_folder(v1::FOLDER_FOCUSED);
  storage::v1::SentRecord sent;
  sent.set_conversation_id(FormatMemberId(c));
  storage::v1::OutboxRecord outbox;
  outbox.set_inmail_id("im-1");
  rocksdb::WriteBatch old;
  old.Put(m.conversations(), KeyBuilder('C').U64(c).key(), record.SerializeAsString());
  old.Put(m.conversations(), KeyBuilder('M').U64(c).U64(1).key(),
          MessagingStore::EncodeMessage(message));
  old.Put(m.conversations(), KeyBuilder('P').U64(ana).U64(ben).key(), MessagingStore::EncodeId(c));
  old.Put(m.conversations(), KeyBuilder('G').U64(ben).U64(ana).key(), MessagingStore::EncodeId(c));
  for (MemberId who : {ana, ben}) {
    old.Put(m.members(), KeyBuilder('S').U64(who).U64(c).key(), state.SerializeAsString());
    old.Put(m.members(),
            KeyBuilder('I').U64(who).U8(v1::FOLDER_FOCUSED).TimeDesc(when).U64(c).key(), "");
    old.Put(m.events(), KeyBuilder('E').U64(who).U64(1).key(), "event");
  }
  old.Put(m.members(), KeyBuilder('K').U64(ana).Str("client-1").key(), sent.SerializeAsString());
  old.Put(m.members(), KeyBuilder('U').U64(ana).U64(ben).key(), MessagingStore::EncodeId(c));
  old.Put(m.members(), KeyBuilder('R').U64(ben).key(), "1");
  old.Put(m.members(), KeyBuilder('H').U64(ben).U64(c).U64(1).key(), "");
  old.Put(m.outbox(), keys::Outbox("im-1"), outbox.SerializeAsString());
  REQUIRE_THAT(store->Write(&old, Durability::kSynced), IsOk());

  auto moved = MessagingStore::UpgradeLayout(store.get());
  REQUIRE_THAT(moved.status(), IsOk());
  CHECK(*moved == 14);  // all but the outbox record

  // Everything reads back through today's keys.
  auto conversation = m.GetConversation(c);
  REQUIRE_THAT(conversation.status(), IsOk());
  CHECK(conversation->last_sequence() == 1);
  auto messages = m.Messages(c, 1, 10, 10);
  REQUIRE_THAT(messages.status(), IsOk());
  REQUIRE(messages->size() == 1);
  CHECK((*messages)[0].body() == "hello");
  CHECK(m.GetId(m.conversations(), keys::Pair(ben, ana)).value() == c);
  CHECK(m.GetId(m.conversations(), keys::PagePair(ben, ana)).value() == c);
  CHECK(m.GetId(m.members(), keys::Unanswered(ana, ben)).value() == c);
  for (MemberId who : {ana, ben}) {
    CHECK(m.GetState(who, c).value().folder() == v1::FOLDER_FOCUSED);
    auto inbox = m.Inbox(who, v1::FOLDER_FOCUSED, "", 10);
    REQUIRE_THAT(inbox.status(), IsOk());
    REQUIRE(inbox->size() == 1);
    CHECK((*inbox)[0].first == c);
    CHECK(store->Get(m.events(), keys::Event(who, 1)).value() == "event");
  }
  CHECK(m.GetSent(ana, "client-1").value().conversation_id() == FormatMemberId(c));
  CHECK(store->Get(m.members(), keys::Reports(ben)).value() == "1");
  CHECK(m.HiddenSequences(ben, c, 1, 5).value() == std::vector<int64_t>{1});
  auto pending = m.PendingOutbox(10);
  REQUIRE_THAT(pending.status(), IsOk());
  REQUIRE(pending->size() == 1);
  CHECK((*pending)[0].inmail_id() == "im-1");

  // No key of the old layout is left, and a second run moves nothing.
  for (auto* family : {m.conversations(), m.members(), m.events()}) {
    auto it = store->NewIterator(family, /*prefix_scan=*/false);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      INFO(it->key().ToString(true));
      CHECK(static_cast<unsigned char>(it->key()[0]) < 0x10);
    }
  }
  CHECK(MessagingStore::UpgradeLayout(store.get()).value() == 0);
}

}  // namespace
}  // namespace liaison::messaging
