// Moving partitions between shards' stores (common/reshard.h), on credits'
// layout: a partitioned ledger, an expiry index keyed by time first, and a
// feed cursor that belongs to the shard, not to a member.
#include "common/reshard.h"

#include <catch2/catch.hpp>

#include "services/credits/credit_store.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace liaison {
namespace {

using testing::StatusIs;
namespace keys = credits::keys;

ShardMap Map(const std::string& json) { return ShardMap::Parse(json, "test").value(); }

const ShardMap kTwo = Map(R"({"epoch":1,"shards":[{"partitions":"0-2047","credits":"a:1"},)"
                          R"({"partitions":"2048-4095","credits":"b:1"}]})");
const ShardMap kThree = Map(R"({"epoch":2,"shards":[{"partitions":"0-1364","credits":"a:1"},)"
                            R"({"partitions":"1365-2729","credits":"b:1"},)"
                            R"({"partitions":"2730-4095","credits":"c:1"}]})");
const std::vector<MovedFamily> kCredits = {{"ledger", 0}, {"expiry", 9}};
constexpr MemberId kMembers = 400;

struct Fixture {
  testing::TempDir dir;
  std::vector<std::unique_ptr<Store>> stores;
  std::vector<Store*> pointers;

  Fixture() {
    for (int i = 0; i < 3; ++i) {
      stores.push_back(
          Store::Open({dir.Sub("s" + std::to_string(i)), credits::CreditStore::Families()})
              .value());
      pointers.push_back(stores.back().get());
    }
    // Each member's account, an entry, a hold and its expiry, on their shard
    // of the two-shard map; and each shard's own feed cursor.
    for (MemberId m = 1; m <= kMembers; ++m) {
      Store* store = pointers[kTwo.ShardOf(m)];
      rocksdb::WriteBatch batch;
      batch.Put(store->Family("ledger"), keys::Account(m), "account");
      batch.Put(store->Family("ledger"), keys::Entry(m, 1), "entry");
      batch.Put(store->Family("ledger"), keys::Hold(m, "im"), "hold");
      batch.Put(store->Family("expiry"),
                keys::Expiry(absl::FromUnixSeconds(1000 + static_cast<int64_t>(m)), m, "im"), "");
      REQUIRE(store->Write(&batch, Durability::kSynced).ok());
    }
    for (int i = 0; i < 2; ++i) {
      rocksdb::WriteBatch batch;
      batch.Put(pointers[i]->Family("ledger"), keys::FeedCursor("identity"), "cursor");
      REQUIRE(pointers[i]->Write(&batch, Durability::kSynced).ok());
    }
  }

  bool Has(int shard, const std::string& family, const std::string& key) {
    return pointers[shard]->Get(pointers[shard]->Family(family), key).ok();
  }
};

TEST_CASE("Resharding moves every record to its member's new shard and nothing else") {
  Fixture f;
  auto report = MovePartitions(kTwo, kThree, f.pointers, kCredits);
  REQUIRE(report.ok());
  CHECK(report->partitions_moved == 683 + 1366);
  uint64_t expected = 0;
  for (MemberId m = 1; m <= kMembers; ++m) {
    const int owner = static_cast<int>(kThree.ShardOf(m));
    if (owner != static_cast<int>(kTwo.ShardOf(m))) expected += 4;
    for (int shard = 0; shard < 3; ++shard) {
      INFO("member " << m << ", shard " << shard);
      const bool here = shard == owner;
      CHECK(f.Has(shard, "ledger", keys::Account(m)) == here);
      CHECK(f.Has(shard, "ledger", keys::Entry(m, 1)) == here);
      CHECK(f.Has(shard, "ledger", keys::Hold(m, "im")) == here);
      CHECK(f.Has(shard, "expiry",
                  keys::Expiry(absl::FromUnixSeconds(1000 + static_cast<int64_t>(m)), m, "im")) ==
            here);
    }
  }
  CHECK(report->records_moved == expected);
  // The shards' own records stay.
  CHECK(f.Has(0, "ledger", keys::FeedCursor("identity")));
  CHECK(f.Has(1, "ledger", keys::FeedCursor("identity")));
  CHECK_FALSE(f.Has(2, "ledger", keys::FeedCursor("identity")));

  // Run again (as after a crash): nothing left to move, nothing lost.
  auto again = MovePartitions(kTwo, kThree, f.pointers, kCredits);
  REQUIRE(again.ok());
  CHECK(again->records_moved == 0);
  CHECK(f.Has(static_cast<int>(kThree.ShardOf(kMembers)), "ledger", keys::Account(kMembers)));
}

TEST_CASE("Resharding refuses a map that is not newer, or too few stores") {
  Fixture f;
  CHECK_THAT(MovePartitions(kThree, kTwo, f.pointers, kCredits),
             StatusIs(absl::StatusCode::kInvalidArgument, "must be above the old one's (2)"));
  CHECK_THAT(MovePartitions(kTwo, kThree, {f.pointers[0], f.pointers[1]}, kCredits),
             StatusIs(absl::StatusCode::kInvalidArgument, "give a store for each of the 3"));
  // Nothing moved.
  CHECK(f.Has(static_cast<int>(kTwo.ShardOf(kMembers)), "ledger", keys::Account(kMembers)));
}

}  // namespace
}  // namespace liaison
