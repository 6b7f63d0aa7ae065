// What liaison-reshard does for messaging after partitions moved
// (services/messaging/reshard.h), on real stores: home-written records go
// to their conversation's new home, copies to the shards whose members need
// them and away from those that no longer do; and what stops it first.
#include <catch2/catch.hpp>

#include "common/keys.h"
#include "services/messaging/messaging_store.h"
#include "services/messaging/reshard.h"
#include "tests/support/temp_dir.h"

namespace liaison::messaging {
namespace {

ShardMap Map(const std::string& json) { return ShardMap::Parse(json, "test").value(); }

const ShardMap kOne = Map(R"({"epoch":1,"shards":[{"partitions":"0-4095","messaging":"a:1"}]})");
const ShardMap kTwo = Map(R"({"epoch":2,"shards":[{"partitions":"0-2047","messaging":"a:1"},)"
                          R"({"partitions":"2048-4095","messaging":"b:1"}]})");

// The first member id from `after` on whose shard in kTwo is `shard`.
MemberId MemberOn(size_t shard, MemberId after = 1) {
  while (kTwo.ShardOf(after) != shard) ++after;
  return after;
}

struct Stores {
  testing::TempDir dir;
  std::vector<std::unique_ptr<Store>> owned;
  std::vector<Store*> stores;

  Stores() {
    for (int i = 0; i < 2; ++i) {
      owned.push_back(
          Store::Open({dir.Sub("s" + std::to_string(i)), MessagingStore::Families()}).value());
      stores.push_back(owned.back().get());
    }
  }
  void Put(size_t shard, const std::string& family, const std::string& key,
           const std::string& value = "") {
    rocksdb::WriteBatch batch;
    batch.Put(stores[shard]->Family(family), key, value);
    REQUIRE(stores[shard]->Write(&batch, Durability::kSynced).ok());
  }
  // A conversation's record and `messages` messages.
  void PutConversation(size_t shard, ConversationId c, int messages) {
    Put(shard, "conversations", keys::Conversation(c), "record");
    for (int s = 1; s <= messages; ++s) {
      v1::Message message;
      message.set_body("message " + std::to_string(s));
      Put(shard, "conversations", keys::Message(c, s), MessagingStore::EncodeMessage(message));
    }
  }
  bool Has(size_t shard, const std::string& family, const std::string& key) {
    return stores[shard]->Get(stores[shard]->Family(family), key).ok();
  }
  size_t Messages(size_t shard, ConversationId c) {
    return MessagingStore(stores[shard]).Messages(c, 1, 1000, 1000).value().size();
  }
};

std::string Sent(ConversationId c) {
  storage::v1::SentRecord sent;
  sent.set_conversation_id(std::to_string(c));
  sent.set_sequence(1);
  return sent.SerializeAsString();
}

TEST_CASE("Rehome sends home-written records to their conversation's home") {
  Stores s;
  const MemberId sender = MemberOn(0), recipient = MemberOn(1);
  // Conversations homed on shard 1 and on shard 0 in kTwo.
  const ConversationId away = ConversationIn(3000, 7), here = ConversationIn(10, 8);
  // Written while one shard held everything: all on shard 0.
  s.Put(0, "members", keys::Sent(sender, "k-away"), Sent(away));
  s.Put(0, "members", keys::Sent(sender, "k-here"), Sent(here));
  s.Put(0, "members", keys::Unanswered(sender, recipient), MessagingStore::EncodeId(away));
  s.PutConversation(0, away, 1);
  s.PutConversation(0, here, 1);

  auto report = Rehome(kTwo, s.stores);
  REQUIRE(report.ok());
  CHECK(report->records_moved == 2);
  CHECK(s.Has(1, "members", keys::Sent(sender, "k-away")));
  CHECK_FALSE(s.Has(0, "members", keys::Sent(sender, "k-away")));
  CHECK(s.Has(0, "members", keys::Sent(sender, "k-here")));
  CHECK(s.Has(1, "members", keys::Unanswered(sender, recipient)));
  CHECK_FALSE(s.Has(0, "members", keys::Unanswered(sender, recipient)));
  // No member of shard 1 has a state in `away`: shard 0's copy is not
  // needed there any more (its home's would be, moved by MovePartitions).
  CHECK(report->copies_dropped == 1);
  CHECK_FALSE(s.Has(0, "conversations", keys::Conversation(away)));
  CHECK(s.Messages(0, away) == 0);
  CHECK(s.Has(0, "conversations", keys::Conversation(here)));

  auto again = Rehome(kTwo, s.stores);
  REQUIRE(again.ok());
  CHECK(again->records_moved == 0);
  CHECK(again->copies_made == 0);
  CHECK(again->copies_dropped == 0);
}

TEST_CASE("Rehome gives each shard a copy of exactly the conversations its members are in") {
  Stores s;
  const MemberId ana = MemberOn(0), ben = MemberOn(1);
  const ConversationId shared = ConversationIn(10, 1);    // home: shard 0; Ben is in it
  const ConversationId stale = ConversationIn(20, 2);     // home: shard 0; no one on 1 now
  const ConversationId theirs = ConversationIn(3000, 3);  // home: shard 1
  s.PutConversation(0, shared, 5);
  s.PutConversation(0, stale, 2);
  s.PutConversation(1, stale, 2);
  s.PutConversation(1, theirs, 3);
  s.Put(0, "members", keys::State(ana, shared), "state");
  s.Put(1, "members", keys::State(ben, shared), "state");
  s.Put(0, "members", keys::State(ana, stale), "state");
  s.Put(1, "members", keys::State(ben, theirs), "state");

  auto report = Rehome(kTwo, s.stores);
  REQUIRE(report.ok());
  CHECK(report->copies_made == 1);
  CHECK(report->copies_dropped == 1);
  CHECK(s.Has(1, "conversations", keys::Conversation(shared)));
  CHECK(s.Messages(1, shared) == 5);  // the whole conversation, from its home
  CHECK_FALSE(s.Has(1, "conversations", keys::Conversation(stale)));
  CHECK(s.Messages(1, stale) == 0);
  CHECK(s.Messages(0, stale) == 2);  // its home keeps it
  CHECK(s.Messages(1, theirs) == 3);
  CHECK_FALSE(s.Has(0, "conversations", keys::Conversation(theirs)));

  // A member's state in a conversation its home does not hold is data loss,
  // named, not a copy made of nothing.
  const ConversationId lost = ConversationIn(30, 4);
  s.Put(1, "members", keys::State(ben, lost), "state");
  auto refused = Rehome(kTwo, s.stores);
  CHECK(refused.status().code() == absl::StatusCode::kDataLoss);
  CHECK(refused.status().message().find("no record at its home") != std::string::npos);
}

TEST_CASE("Unfinished outbox work and split pair lookups are counted before anything moves") {
  Stores s;
  auto none = Unfinished(s.stores[0]);
  REQUIRE(none.ok());
  CHECK(none->inmail_steps + none->deliveries == 0);
  s.Put(0, "outbox", keys::Outbox("im-1"), "step");
  s.Put(0, "outbox", KeyBuilder(keys::kDeliveryKind).U64(5).key(), "delivery");
  s.Put(0, "outbox", KeyBuilder(keys::kDeliveryKind).U64(6).key(), "delivery");
  s.Put(0, "outbox", KeyBuilder(keys::kSetAsideDeliveryKind).U64(1).key(), "refused");
  auto work = Unfinished(s.stores[0]);
  REQUIRE(work.ok());
  CHECK(work->inmail_steps == 1);
  CHECK(work->deliveries == 2);  // set-aside ones are an operator's, not a shard's

  // A pair whose conversation id (from before ids named their home) lies in
  // a partition another shard of kTwo owns than the lower member's.
  const MemberId a = MemberOn(0), b = MemberOn(0, a + 1);
  s.Put(0, "conversations", keys::Pair(a, b), MessagingStore::EncodeId(ConversationIn(4000, 9)));
  s.Put(0, "conversations", keys::Pair(a, b + 1000000),
        MessagingStore::EncodeId(ConversationIn(PartitionOf(std::min(a, b + 1000000)), 9)));
  CHECK(SplitLookups(kTwo, s.stores[0]).value() == 1);
  CHECK(SplitLookups(kOne, s.stores[0]).value() == 0);
}

}  // namespace
}  // namespace liaison::messaging
