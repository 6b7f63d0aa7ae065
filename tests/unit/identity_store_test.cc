#include "services/identity/identity_store.h"

#include <catch2/catch.hpp>
#include <set>

#include "common/keys.h"
#include "common/shard_map.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace liaison::identity {
namespace {

using testing::StatusIs;

struct Fixture {
  testing::TempDir dir;
  std::unique_ptr<Store> store = Store::Open({dir.path(), IdentityStore::Families()}).value();
  IdentityStore ids{store.get()};

  void Put(rocksdb::ColumnFamilyHandle* family, const std::string& key, const std::string& value) {
    rocksdb::WriteBatch batch;
    batch.Put(family, key, value);
    REQUIRE(store->Write(&batch, Durability::kSynced).ok());
  }
  bool Has(rocksdb::ColumnFamilyHandle* family, const std::string& key) {
    return ids.Exists(family, key).value();
  }
};

v1::Invitation Invite(MemberId sender, MemberId recipient) {
  v1::Invitation invitation;
  invitation.set_sender_id(FormatMemberId(sender));
  invitation.set_recipient_id(FormatMemberId(recipient));
  invitation.set_note("hello");
  return invitation;
}

TEST_CASE("Identity keys start with their first id's partition, names with the name's") {
  const std::string member = keys::Member(0x0102);
  CHECK(member.substr(0, 2) == KeyBuilder::PartitionPrefix(PartitionOf(0x0102)));
  CHECK(member.substr(2) == std::string("m\0\0\0\0\0\0\x01\x02", 9));
  CHECK(keys::KindOf(member) == 'm');
  CHECK(keys::IsMemberKeyed(member));
  CHECK_FALSE(keys::IsMemberKeyed(keys::RegistrationBackfill()));
  const std::string handle = keys::Handle("ada");
  CHECK(handle.substr(0, 2) == KeyBuilder::PartitionPrefix(PartitionOfName("ada")));
  CHECK(keys::KindOf(handle) == 'h');
  // Each side of a two-member record is on its own member's partition.
  CHECK(keys::Invitation(5, 9).substr(0, 2) == keys::Member(5).substr(0, 2));
  CHECK(keys::Received(9, 5).substr(0, 2) == keys::Member(9).substr(0, 2));
  CHECK(keys::BlockedBy(9, 5).substr(0, 2) == keys::Member(9).substr(0, 2));
  CHECK(keys::RefusedBy(5, 9).substr(0, 2) == keys::Member(5).substr(0, 2));
  MemberId read = 0;
  char kind = 0;
  const std::string block = keys::Block(5, 9);
  KeyReader reader = keys::Reader(block);
  CHECK((reader.Kind(&kind) && reader.U64(&read) && kind == 'b' && read == 5));
}

TEST_CASE("Names spread over partitions: the hash is stable") {
  // Part of every stored name key: these must never change.
  CHECK(PartitionOfName("") == PartitionOf(0xcbf29ce484222325ULL));
  CHECK(PartitionOfName("ada") == PartitionOfName("ada"));
  std::set<uint32_t> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(PartitionOfName("member-" + std::to_string(i)));
  CHECK(seen.size() > 750);  // 1,000 names into 4,096 partitions: few collide
}

TEST_CASE("An identity store written before partitions is rewritten, both sides added, once") {
  Fixture f;
  v1::Member ada;
  ada.set_member_id("5");
  ada.set_handle("ada");
  // The layout before partitions: kind byte, then the fields.
  f.Put(f.ids.members(), KeyBuilder('m').U64(5).key(), ada.SerializeAsString());
  f.Put(f.ids.members(), KeyBuilder('h').Str("ada").key(), IdentityStore::EncodeCounter(5));
  f.Put(f.ids.members(), KeyBuilder('e').Str("ada@example.com").key(),
        IdentityStore::EncodeCounter(5));
  Adjacency adjacency;
  adjacency.Insert(9, 100);
  f.Put(f.ids.graph(), KeyBuilder('a').U64(5).key(), EncodeAdjacency(adjacency));
  f.Put(f.ids.social(), KeyBuilder('v').U64(5).U64(7).key(), Invite(5, 7).SerializeAsString());
  f.Put(f.ids.social(), KeyBuilder('x').U64(9).U64(5).key(), "");
  f.Put(f.ids.social(), KeyBuilder('b').U64(5).U64(11).key(),
        IdentityStore::EncodeTime(absl::Now()));
  f.Put(f.ids.outbox(), KeyBuilder('r').U64(5).key(), "");
  // A backfill half done, in member-id order: walked again.
  f.Put(f.ids.outbox(), keys::RegistrationBackfill(), IdentityStore::EncodeCounter(3));

  auto moved = IdentityStore::UpgradeLayout(f.store.get());
  REQUIRE(moved.ok());
  // 3 second sides added, 2 names moved (a put and a delete each), the
  // cursor cleared, then 6 member-keyed records moved.
  CHECK(*moved == 3 + 4 + 1 + 6);
  CHECK(f.ids.GetMember(5).value().handle() == "ada");
  CHECK(f.ids.MemberByHandle("ada").value() == 5);
  CHECK(f.ids.MemberByEmail("ada@example.com").value() == 5);
  CHECK(f.ids.GetAdjacency(5).value().Contains(9));
  CHECK(f.ids.GetInvitation(5, 7).value().note() == "hello");
  CHECK(f.ids.GetReceivedInvitation(7, 5).value().note() == "hello");
  CHECK(f.Has(f.ids.social(), keys::DontKnow(9, 5)));
  CHECK(f.Has(f.ids.social(), keys::RefusedBy(5, 9)));
  CHECK(f.Has(f.ids.social(), keys::Block(5, 11)));
  CHECK(f.Has(f.ids.social(), keys::BlockedBy(11, 5)));
  CHECK(f.Has(f.ids.outbox(), keys::Registration(5)));
  CHECK_FALSE(f.Has(f.ids.outbox(), keys::RegistrationBackfill()));
  CHECK_FALSE(f.Has(f.ids.members(), KeyBuilder('h').Str("ada").key()));
  CHECK_FALSE(f.Has(f.ids.social(), KeyBuilder('v').U64(5).U64(7).key()));
  // Nothing left the second time.
  CHECK(IdentityStore::UpgradeLayout(f.store.get()).value() == 0);
}

TEST_CASE("An upgrade keeps a finished backfill finished") {
  Fixture f;
  f.Put(f.ids.outbox(), keys::RegistrationBackfill(), IdentityStore::EncodeCounter(kBackfillDone));
  CHECK(IdentityStore::UpgradeLayout(f.store.get()).value() == 0);
  CHECK(f.Has(f.ids.outbox(), keys::RegistrationBackfill()));
}

TEST_CASE("An upgrade refuses a two-member key too short to hold both ids") {
  Fixture f;
  f.Put(f.ids.social(), KeyBuilder('b').U64(5).key(), "");
  CHECK_THAT(IdentityStore::UpgradeLayout(f.store.get()),
             StatusIs(absl::StatusCode::kDataLoss, "does not parse"));
}

TEST_CASE("Undelivered peer writes are counted: those waiting, not those set aside") {
  Fixture f;
  CHECK(IdentityStore::UndeliveredPeerWrites(f.store.get()).value() == 0);
  f.Put(f.ids.outbox(), keys::PeerWrites(7), "first");
  f.Put(f.ids.outbox(), keys::PeerWrites(9), "second");
  f.Put(f.ids.outbox(), KeyBuilder('D').U64(3).key(), "set aside");
  f.Put(f.ids.outbox(), keys::Registration(5), "");
  CHECK(IdentityStore::UndeliveredPeerWrites(f.store.get()).value() == 2);
}

}  // namespace
}  // namespace liaison::identity
