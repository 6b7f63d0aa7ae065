// The shard outbox on a real store (common/shard_outbox.h): records go out
// in their sequence order per destination, a batch written late is never
// overtaken by a later one, a down shard's records wait while the others'
// go on, a record no shard takes is set aside, and the receiving end
// applies each sequence once.
#include "common/shard_outbox.h"

#include <prometheus/registry.h>

#include <catch2/catch.hpp>

#include "common/keys.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace liaison {
namespace {

using testing::IsOk;

struct Sent {
  size_t shard;
  uint64_t sequence;
  std::string value;
};

// A queue whose records name their shard in their first byte ('0'..'9'; any
// other byte cannot be delivered), sent into `sent` unless the shard is down.
class Queue final {
 public:
  explicit Queue(ShardOutboxOptions options = {})
      : store_(Store::Open({dir_.path(), {{"outbox", 0}}}).value()),
        outbox_(
            "test_outbox", "Test records.", {store_.get(), store_->Family("outbox"), 'P', 'D'},
            [](const std::string& value) -> absl::StatusOr<size_t> {
              if (value.empty() || value[0] < '0' || value[0] > '9') {
                return absl::DataLossError("no shard");
              }
              return static_cast<size_t>(value[0] - '0');
            },
            [this](size_t shard, const std::vector<ShardOutbox::Record>& records) {
              ++sends;
              if (down.count(shard) > 0) return absl::UnavailableError("down");
              for (const auto& r : records) {
                if (r.value == "2 refused") return absl::InvalidArgumentError("refused");
              }
              for (const auto& r : records) sent.push_back({shard, r.sequence, r.value});
              return absl::OkStatus();
            },
            registry_, /*deliver=*/false, options) {}

  // Commits `values` in one batch.
  void Commit(const std::vector<std::string>& values) {
    rocksdb::WriteBatch batch;
    ShardOutbox::Reservation reserved;
    for (const auto& v : values) REQUIRE_THAT(outbox_.Enqueue(&batch, v, &reserved), IsOk());
    REQUIRE_THAT(store_->Write(&batch, Durability::kSynced), IsOk());
  }
  std::vector<std::string> Values() const {
    std::vector<std::string> out;
    for (const auto& s : sent) out.push_back(s.value);
    return out;
  }

  ShardOutbox& outbox() { return outbox_; }
  Store& store() { return *store_; }
  std::set<size_t> down;
  std::vector<Sent> sent;
  int sends = 0;  // calls of Send

 private:
  testing::TempDir dir_;
  prometheus::Registry registry_;
  std::unique_ptr<Store> store_;
  ShardOutbox outbox_;
};

TEST_CASE("Outbox records go out in commit order, each once, and leave the queue") {
  Queue q;
  q.Commit({"0 a", "1 b"});
  q.Commit({"0 c"});
  REQUIRE(q.outbox().Pass().value() == 3);
  // Each shard's in commit order (between shards there is no order to keep).
  CHECK(q.Values() == std::vector<std::string>{"0 a", "0 c", "1 b"});
  CHECK(q.sent[0].sequence < q.sent[1].sequence);
  CHECK(q.sent[0].sequence < q.sent[2].sequence);
  CHECK(q.sent[2].sequence < q.sent[1].sequence);
  CHECK(q.sends == 3);  // one record a send, by default
  CHECK(ShardOutbox::Waiting(&q.store(), q.store().Family("outbox"), 'P').value() == 0);
  CHECK(q.outbox().Pass().value() == 0);  // nothing again
}

TEST_CASE("A record whose batch is written late is not overtaken by a later one") {
  Queue q;
  rocksdb::WriteBatch first, second;
  ShardOutbox::Reservation first_held, second_held;
  REQUIRE_THAT(q.outbox().Enqueue(&first, "0 first", &first_held), IsOk());
  REQUIRE_THAT(q.outbox().Enqueue(&second, "0 second", &second_held), IsOk());
  // The second batch commits first: it waits for the first.
  REQUIRE_THAT(q.store().Write(&second, Durability::kSynced), IsOk());
  second_held.Release();
  CHECK(q.outbox().Pass().value() == 0);
  REQUIRE_THAT(q.store().Write(&first, Durability::kSynced), IsOk());
  first_held.Release();
  CHECK(q.outbox().Pass().value() == 2);
  CHECK(q.Values() == std::vector<std::string>{"0 first", "0 second"});
  // A batch that failed to be written only leaves a gap.
  {
    rocksdb::WriteBatch lost;
    ShardOutbox::Reservation held;
    REQUIRE_THAT(q.outbox().Enqueue(&lost, "0 lost", &held), IsOk());
  }
  q.Commit({"0 after"});
  CHECK(q.outbox().Pass().value() == 1);
  CHECK(q.Values().back() == "0 after");
}

TEST_CASE("A down shard's records wait in order while the others' go on") {
  Queue q;
  q.down = {1};
  q.Commit({"1 a", "0 b", "1 c", "0 d"});
  CHECK(q.outbox().Pass().value() == 2);
  CHECK(q.Values() == std::vector<std::string>{"0 b", "0 d"});
  q.down.clear();
  CHECK(q.outbox().Pass().value() == 2);
  CHECK(q.Values() == std::vector<std::string>{"0 b", "0 d", "1 a", "1 c"});
  // Only one shard's, when asked.
  q.Commit({"0 e", "1 f"});
  CHECK(q.outbox().Pass(1).value() == 1);
  CHECK(q.Values().back() == "1 f");
  CHECK(q.outbox().Pass().value() == 1);
  CHECK(q.Values().back() == "0 e");
}

TEST_CASE("A record no shard will take is set aside rather than block the queue") {
  Queue q;
  q.Commit({"x unreadable", "2 refused", "0 fine"});
  CHECK(q.outbox().Pass().value() == 1);
  CHECK(q.Values() == std::vector<std::string>{"0 fine"});
  CHECK(ShardOutbox::Waiting(&q.store(), q.store().Family("outbox"), 'P').value() == 0);
  CHECK(ShardOutbox::Waiting(&q.store(), q.store().Family("outbox"), 'D').value() == 2);
}

TEST_CASE("A shard's records go together, within per_send and its bytes, and a refused one alone") {
  ShardOutboxOptions options;
  options.per_send = 3;
  options.bytes_per_send = 12;
  Queue q(options);
  q.Commit({"0 a", "1 b", "0 c", "0 d", "0 e", "1 f"});
  REQUIRE(q.outbox().Pass().value() == 6);
  CHECK(q.Values() == std::vector<std::string>{"0 a", "0 c", "0 d", "0 e", "1 b", "1 f"});
  CHECK(q.sends == 3);  // 0 a-c-d, 0 e, 1 b-f
  // 3 bytes each: three fit in 12; a longer record goes in a send of its own.
  q.sent.clear();
  q.sends = 0;
  q.Commit({"0 g", "0 a record longer than twelve", "0 h"});
  REQUIRE(q.outbox().Pass().value() == 3);
  CHECK(q.Values() == std::vector<std::string>{"0 g", "0 a record longer than twelve", "0 h"});
  CHECK(q.sends == 3);
  // A send refused as invalid: its records go again one by one, and only
  // the refused one is set aside.
  options.bytes_per_send = 100;
  Queue r(options);
  r.Commit({"2 ok", "2 refused", "2 fine"});
  CHECK(r.outbox().Pass().value() == 2);
  CHECK(r.Values() == std::vector<std::string>{"2 ok", "2 fine"});
  CHECK(r.sends == 4);
  CHECK(ShardOutbox::Waiting(&r.store(), r.store().Family("outbox"), 'D').value() == 1);
  CHECK(ShardOutbox::Waiting(&r.store(), r.store().Family("outbox"), 'P').value() == 0);
}

TEST_CASE("The receiving end applies each source's sequence once, never an older one") {
  testing::TempDir dir;
  auto store = Store::Open({dir.path(), {{"outbox", 0}}}).value();
  AppliedMarks marks(store.get(), store->Family("outbox"), 'Q');
  CHECK_FALSE(marks.Applied(3, 10).value());
  rocksdb::WriteBatch batch;
  REQUIRE_THAT(marks.Mark(&batch, 3, 10), IsOk());
  REQUIRE_THAT(store->Write(&batch, Durability::kSynced), IsOk());
  CHECK(marks.Applied(3, 10).value());
  CHECK(marks.Applied(3, 9).value());
  CHECK_FALSE(marks.Applied(3, 11).value());
  CHECK_FALSE(marks.Applied(4, 10).value());  // another source's own order
  CHECK_FALSE(marks.Applied(3, 0).value());   // not from a queue: always applied
}

}  // namespace
}  // namespace liaison
