#include "services/privacy/privacy_store.h"

#include <catch2/catch.hpp>

#include "common/keys.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace liaison::privacy {
namespace {

using testing::StatusIs;

struct Fixture {
  testing::TempDir dir;
  std::unique_ptr<Store> store = Store::Open({dir.path(), PrivacyStore::Families()}).value();
  PrivacyStore settings{store.get()};
};

TEST_CASE("A member who never chose anything has no record") {
  Fixture f;
  CHECK_THAT(f.settings.Load(7), StatusIs(absl::StatusCode::kNotFound));
}

TEST_CASE("Saved choices load back, one member's apart from another's") {
  Fixture f;
  v1::PrivacySettings choices;
  choices.set_open_profile(true);
  REQUIRE(f.settings.Save(7, choices, choices).ok());
  auto loaded = f.settings.Load(7);
  REQUIRE(loaded.ok());
  CHECK(loaded->has_open_profile());
  CHECK_FALSE(loaded->has_inmail_acceptance());
  CHECK_THAT(f.settings.Load(8), StatusIs(absl::StatusCode::kNotFound));
}

TEST_CASE("Saving no choices deletes the record") {
  Fixture f;
  v1::PrivacySettings choices;
  choices.set_focused_inbox(false);
  REQUIRE(f.settings.Save(7, choices, choices).ok());
  REQUIRE(f.settings.Save(7, v1::PrivacySettings(), v1::PrivacySettings()).ok());
  CHECK_THAT(f.settings.Load(7), StatusIs(absl::StatusCode::kNotFound));
  CHECK_THAT(f.store->Get(f.store->Family("settings"), PrivacyStore::Key(7)),
             StatusIs(absl::StatusCode::kNotFound));
}

TEST_CASE("LoadMany answers each member in order") {
  Fixture f;
  v1::PrivacySettings choices;
  choices.set_notify_by_email(false);
  REQUIRE(f.settings.Save(2, choices, choices).ok());
  auto loaded = f.settings.LoadMany({1, 2, 2});
  REQUIRE(loaded.size() == 3);
  CHECK_THAT(loaded[0], StatusIs(absl::StatusCode::kNotFound));
  CHECK_FALSE(loaded[1]->notify_by_email());
  CHECK_FALSE(loaded[2]->notify_by_email());
}

TEST_CASE("A record that does not parse is DATA_LOSS, not defaults") {
  Fixture f;
  rocksdb::WriteBatch batch;
  batch.Put(f.store->Family("settings"), PrivacyStore::Key(9), "\xff\xff\xff");
  REQUIRE(f.store->Write(&batch, Durability::kBuffered).ok());
  CHECK_THAT(f.settings.Load(9), StatusIs(absl::StatusCode::kDataLoss));
}

TEST_CASE("Keys are the partition, the kind byte and the big-endian member id") {
  // The member's partition first (KeyBuilder::ForMember), then kind and id.
  const std::string partition = KeyBuilder::ForMember('s', 0x0102).key().substr(0, 2);
  CHECK(PrivacyStore::Key(0x0102) == partition + std::string("s\0\0\0\0\0\0\x01\x02", 9));
  CHECK(PrivacyStore::MemberKey(0x0102) == partition + std::string("m\0\0\0\0\0\0\x01\x02", 9));
}

TEST_CASE("A store written before partitions is rewritten into today's layout, once") {
  Fixture f;
  auto* family = f.store->Family("settings");
  v1::PrivacySettings choices;
  choices.set_open_profile(true);
  rocksdb::WriteBatch batch;
  // The keys of the layout before partitions: kind, then member id.
  for (MemberId m = 1; m <= 2500; ++m) {
    batch.Put(family, KeyBuilder('m').U64(m).key(), "");
    if (m % 2 == 0) batch.Put(family, KeyBuilder('s').U64(m).key(), choices.SerializeAsString());
  }
  REQUIRE(f.store->Write(&batch, Durability::kSynced).ok());
  auto moved = PrivacyStore::UpgradeLayout(f.store.get());
  REQUIRE(moved.ok());
  CHECK(*moved == 2500 + 1250);
  CHECK(f.settings.IsMember(2499).value());
  CHECK(f.settings.Load(2500).value().open_profile());
  CHECK_THAT(f.settings.Load(2499), StatusIs(absl::StatusCode::kNotFound));
  CHECK_FALSE(f.store->Get(family, KeyBuilder('m').U64(7).key()).ok());
  // Nothing left to move the second time.
  CHECK(PrivacyStore::UpgradeLayout(f.store.get()).value() == 0);
  CHECK(f.settings.IsMember(7).value());
}

TEST_CASE("An upgrade refuses a settings key too short to hold a member") {
  Fixture f;
  rocksdb::WriteBatch batch;
  batch.Put(f.store->Family("settings"), std::string("s\x01\x02"), "");
  REQUIRE(f.store->Write(&batch, Durability::kSynced).ok());
  CHECK_THAT(PrivacyStore::UpgradeLayout(f.store.get()),
             StatusIs(absl::StatusCode::kDataLoss, "too short to hold a member id"));
}

TEST_CASE("Registered members exist, again and again, apart from their settings") {
  Fixture f;
  CHECK_FALSE(f.settings.IsMember(7).value());
  REQUIRE(f.settings.AddMembers({7, 9, 7}).ok());
  REQUIRE(f.settings.AddMembers({7}).ok());
  CHECK(f.settings.IsMember(7).value());
  CHECK(f.settings.IsMember(9).value());
  CHECK_FALSE(f.settings.IsMember(8).value());
  // Being a member is no choice: settings still read as never changed.
  CHECK_THAT(f.settings.Load(7), StatusIs(absl::StatusCode::kNotFound));
  v1::PrivacySettings choices;
  choices.set_open_profile(true);
  REQUIRE(f.settings.Save(8, choices, choices).ok());
  CHECK_FALSE(f.settings.IsMember(8).value());
}

}  // namespace
}  // namespace liaison::privacy
