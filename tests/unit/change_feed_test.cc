// The change feed's store side: cursors, the head, reads, retention, restart.
#include "common/change_feed.h"

#include <catch2/catch.hpp>

#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace liaison {
namespace {

using testing::IsOk;
using testing::StatusIs;
using Code = absl::StatusCode;

const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);

struct Fixture {
  testing::TempDir dir;
  ManualClock clock{kStart};
  prometheus::Registry registry;
  std::unique_ptr<Store> store;
  std::unique_ptr<ChangeFeed> feed;

  Fixture() { Open(); }

  void Open() {
    store = Store::Open({dir.path(), {ChangeFeed::Family()}}).value();
    ChangeFeedOptions options;
    options.name = "test";
    options.retention = absl::Hours(24);
    feed = ChangeFeed::Open(store.get(), &clock, options, registry).value();
  }

  void Close() {
    feed.reset();
    REQUIRE(store->Close().ok());
    store.reset();
  }

  void Append(const std::string& record) {
    rocksdb::WriteBatch batch;
    REQUIRE_THAT(feed->Write(&batch, {record}), IsOk());
  }

  std::vector<std::string> RecordsAfter(uint64_t after, uint64_t* through = nullptr) {
    uint64_t ignored = 0;
    auto entries = feed->Read(after, 100, through != nullptr ? through : &ignored);
    REQUIRE_THAT(entries.status(), IsOk());
    std::vector<std::string> out;
    for (const auto& e : *entries) out.push_back(e.record);
    return out;
  }
};

TEST_CASE("The feed's head waits for the earliest write still under way") {
  Fixture f;
  rocksdb::WriteBatch first, second;
  auto a = f.feed->Stage(&first, {"a"});
  auto b = f.feed->Stage(&second, {"b1", "b2"});
  CHECK(a.cursors() == std::vector<uint64_t>{1});
  CHECK(b.cursors() == std::vector<uint64_t>{2, 3});
  // The later write commits first: nothing is visible, or a reader could
  // pass cursor 1 before it exists.
  REQUIRE_THAT(f.store->Write(&second, Durability::kSynced), IsOk());
  b.Done();
  CHECK(f.feed->Head() == 0);
  CHECK(f.RecordsAfter(0).empty());
  REQUIRE_THAT(f.store->Write(&first, Durability::kSynced), IsOk());
  a.Done();
  CHECK(f.feed->Head() == 3);
  CHECK(f.RecordsAfter(0) == std::vector<std::string>{"a", "b1", "b2"});
  CHECK(f.RecordsAfter(1) == std::vector<std::string>{"b1", "b2"});
}

TEST_CASE("A write that never committed leaves a gap the head moves past") {
  Fixture f;
  {
    rocksdb::WriteBatch dropped;
    auto staged = f.feed->Stage(&dropped, {"lost"});
  }  // never written
  f.Append("kept");
  CHECK(f.feed->Head() == 2);
  CHECK(f.RecordsAfter(0) == std::vector<std::string>{"kept"});
}

TEST_CASE("A read stops at its limit and says how far it got") {
  Fixture f;
  for (int i = 1; i <= 5; ++i) f.Append("r" + std::to_string(i));
  uint64_t through = 0;
  auto entries = f.feed->Read(1, 2, &through);
  REQUIRE_THAT(entries.status(), IsOk());
  REQUIRE(entries->size() == 2);
  CHECK((*entries)[0].cursor == 2);
  CHECK((*entries)[0].commit_time == kStart);
  CHECK(through == 3);
  CHECK(f.RecordsAfter(3, &through) == std::vector<std::string>{"r4", "r5"});
  CHECK(through == 5);
  CHECK(f.RecordsAfter(5, &through).empty());
  CHECK(through == 5);
}

TEST_CASE("Resuming ahead of the head is out of range: the feed was reset") {
  Fixture f;
  f.Append("x");
  CHECK_THAT(f.feed->CheckResume(1), IsOk());
  CHECK_THAT(f.feed->CheckResume(2), StatusIs(Code::kOutOfRange, "ahead"));
  uint64_t through = 0;
  CHECK_THAT(f.feed->Read(9, 10, &through).status(), StatusIs(Code::kOutOfRange));
}

TEST_CASE(
    "Changes past the retention are pruned, all but the newest, and resuming there is out "
    "of range") {
  Fixture f;
  f.Append("old1");
  f.Append("old2");
  f.clock.Advance(absl::Hours(20));
  f.Append("recent");
  f.clock.Advance(absl::Hours(5));  // old1, old2 are 25 h old; recent 5 h
  auto pruned = f.feed->Prune(100);
  REQUIRE_THAT(pruned.status(), IsOk());
  CHECK(*pruned == 2);
  CHECK_THAT(f.feed->CheckResume(0), StatusIs(Code::kOutOfRange, "rebuild from a snapshot"));
  CHECK_THAT(f.feed->CheckResume(1), StatusIs(Code::kOutOfRange));
  CHECK_THAT(f.feed->CheckResume(2), IsOk());
  CHECK(f.RecordsAfter(2) == std::vector<std::string>{"recent"});

  // Everything is old now, but the newest stays: the head survives a restart.
  f.clock.Advance(absl::Hours(100));
  REQUIRE_THAT(f.feed->Prune(100).status(), IsOk());
  CHECK(f.feed->Head() == 3);
  f.Close();
  f.Open();
  CHECK(f.feed->Head() == 3);
  CHECK_THAT(f.feed->CheckResume(3), IsOk());
  CHECK_THAT(f.feed->CheckResume(1), StatusIs(Code::kOutOfRange));
  f.Append("after restart");
  CHECK(f.feed->Head() == 4);
  CHECK(f.RecordsAfter(3) == std::vector<std::string>{"after restart"});
}

TEST_CASE("Pruning deletes at most its limit per pass") {
  Fixture f;
  for (int i = 0; i < 10; ++i) f.Append("r");
  f.clock.Advance(absl::Hours(48));
  CHECK(*f.feed->Prune(4) == 4);
  CHECK(*f.feed->Prune(4) == 4);
  CHECK(*f.feed->Prune(4) == 1);  // the newest stays
  CHECK(*f.feed->Prune(4) == 0);
}

}  // namespace
}  // namespace liaison
