#include "common/store.h"

#include <prometheus/text_serializer.h>

#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
#include "common/keys.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace liaison {
namespace {

using testing::StatusIs;

std::unique_ptr<Store> OpenStore(const std::string& path) {
  return Store::Open({path, {{"things", 0}, {"scans", 9}}}).value();
}

TEST_CASE("A missing key is NotFound, never an empty value") {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  CHECK_THAT(store->Get(store->Family("things"), "nope"), StatusIs(absl::StatusCode::kNotFound));
  rocksdb::WriteBatch batch;
  batch.Put(store->Family("things"), "empty", "");
  REQUIRE(store->Write(&batch, Durability::kBuffered).ok());
  auto empty = store->Get(store->Family("things"), "empty");
  REQUIRE(empty.ok());
  CHECK(empty->empty());
}

TEST_CASE("A write batch commits all its records, and they survive reopening") {
  testing::TempDir dir;
  {
    auto store = OpenStore(dir.path());
    rocksdb::WriteBatch batch;
    batch.Put(store->Family("things"), "a", "1");
    batch.Put(store->Family("scans"), "b", "2");
    REQUIRE(store->Write(&batch, Durability::kSynced).ok());
    REQUIRE(store->Close().ok());
    CHECK(store->Close().ok());  // idempotent
  }
  auto store = OpenStore(dir.path());
  CHECK(store->Get(store->Family("things"), "a").value() == "1");
  CHECK(store->Get(store->Family("scans"), "b").value() == "2");
  CHECK(store->Family("unknown") == nullptr);
}

TEST_CASE("MultiGet answers each key in order") {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  rocksdb::WriteBatch batch;
  batch.Put(store->Family("things"), "x", "1");
  batch.Put(store->Family("things"), "z", "3");
  REQUIRE(store->Write(&batch, Durability::kBuffered).ok());
  auto values = store->MultiGet(store->Family("things"), {"z", "y", "x"});
  REQUIRE(values.size() == 3);
  CHECK(values[0].value() == "3");
  CHECK_THAT(values[1], StatusIs(absl::StatusCode::kNotFound));
  CHECK(values[2].value() == "1");
}

TEST_CASE("A prefix scan stays within the seek key's prefix") {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  auto* scans = store->Family("scans");
  rocksdb::WriteBatch batch;
  for (uint64_t member : {1, 2, 3}) {
    for (uint32_t i = 0; i < 3; ++i) {
      batch.Put(scans, KeyBuilder('c').U64(member).U32(i).key(), "v");
    }
  }
  REQUIRE(store->Write(&batch, Durability::kBuffered).ok());
  auto it = store->NewIterator(scans, /*prefix_scan=*/true);
  std::string prefix = KeyBuilder('c').U64(2).key();
  int seen = 0;
  for (it->Seek(prefix); it->Valid(); it->Next()) {
    CHECK(it->key().starts_with(prefix));
    ++seen;
  }
  CHECK(seen == 3);
}

TEST_CASE("The store's gauges are exported and go quiet once it is closed") {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  rocksdb::WriteBatch batch;
  batch.Put(store->Family("things"), "a", std::string(1000, 'x'));
  REQUIRE(store->Write(&batch, Durability::kBuffered).ok());
  auto collector = store->MetricsCollector();
  std::string text = prometheus::TextSerializer().Serialize(collector->Collect());
  CHECK(text.find("liaison_rocksdb_memtable_bytes") != std::string::npos);
  CHECK(text.find("liaison_rocksdb_live_data_bytes") != std::string::npos);
  CHECK(text.find("liaison_rocksdb_block_cache_usage_bytes") != std::string::npos);
  CHECK(text.find("liaison_rocksdb_pending_compaction_bytes") != std::string::npos);
  CHECK(store->IntProperty("rocksdb.cur-size-all-mem-tables") > 1000);
  REQUIRE(store->Close().ok());
  CHECK(store->IntProperty("rocksdb.cur-size-all-mem-tables") == 0);
  CHECK_FALSE(collector->Collect().empty());
}

TEST_CASE("CompactAll merges every table into one level and leaves no compaction pending") {
  testing::TempDir dir;
  for (int round = 0; round < 3; ++round) {  // each Close flushes a table of the same keys
    auto store = OpenStore(dir.path());
    rocksdb::WriteBatch batch;
    for (int i = 0; i < 1000; ++i) {
      batch.Put(store->Family("things"), absl::StrCat("key-", i), absl::StrCat(round, "-", i));
    }
    REQUIRE(store->Write(&batch, Durability::kUnlogged).ok());
    REQUIRE(store->Close().ok());
  }
  auto store = OpenStore(dir.path());
  const uint64_t before = store->IntProperty("rocksdb.total-sst-files-size");
  REQUIRE(store->CompactAll().ok());
  // The three overwritten copies of each key are now one.
  CHECK(store->IntProperty("rocksdb.total-sst-files-size") < before / 2);
  CHECK(store->IntProperty("rocksdb.compaction-pending") == 0);
  CHECK(store->IntProperty("rocksdb.estimate-pending-compaction-bytes") == 0);
  CHECK(store->Get(store->Family("things"), "key-999").value() == "2-999");
}

TEST_CASE("A store another process holds open cannot be opened twice") {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  auto second = Store::Open({dir.path(), {{"things", 0}, {"scans", 9}}});
  CHECK_THAT(second, StatusIs(absl::StatusCode::kInternal, "cannot open the store"));
}

}  // namespace
}  // namespace liaison
