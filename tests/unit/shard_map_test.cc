// Partitions, the shard map file and its validation (common/shard_map.h).
#include "common/shard_map.h"

#include <catch2/catch.hpp>
#include <fstream>

#include "common/keys.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace liaison {
namespace {

using testing::StatusIs;
using Code = absl::StatusCode;

constexpr char kTwoShards[] = R"({
  "epoch": 3,
  "shards": [
    {"partitions": "0-2047", "privacy": "10.0.0.1:50054", "identity": "10.0.0.1:50051"},
    {"partitions": "2048-4000,4001-4095", "privacy": "10.0.0.2:50054",
     "identity": "10.0.0.2:50051"}
  ]
})";

absl::Status ParseError(const std::string& json) {
  return ShardMap::Parse(json, "test.json").status();
}

TEST_CASE("A member's partition never changes: the values every stored key depends on") {
  // Changing PartitionOf would strand every stored record: these values are
  // the contract (SplitMix64's finalizer mod 4096, worked out apart from
  // this code), not an implementation detail.
  CHECK(PartitionOf(0) == 3503);
  CHECK(PartitionOf(1) == 3265);
  CHECK(PartitionOf(2) == 1742);
  CHECK(PartitionOf(1000000) == 1511);
  CHECK(PartitionOf(kMaxMemberId) < kPartitions);
}

TEST_CASE("Sequential member ids spread evenly over the partitions") {
  std::vector<int> counts(kPartitions, 0);
  constexpr int kMembers = 1 << 20;  // 256 per partition on average
  for (MemberId m = 1; m <= kMembers; ++m) ++counts[PartitionOf(m)];
  const auto [low, high] = std::minmax_element(counts.begin(), counts.end());
  CHECK(*low > 256 / 2);
  CHECK(*high < 256 * 2);
}

TEST_CASE("A member-keyed record's key starts with its partition, then kind and id") {
  const std::string key = KeyBuilder::ForMember('s', 0x0102).key();
  REQUIRE(key.size() == 11);
  const uint32_t partition = PartitionOf(0x0102);
  CHECK(static_cast<uint8_t>(key[0]) == (partition >> 8));
  CHECK(static_cast<uint8_t>(key[1]) == (partition & 0xff));
  CHECK(key.substr(2) == std::string("s\0\0\0\0\0\0\x01\x02", 9));
  // Below every kind letter, so old-layout keys are told apart.
  CHECK(static_cast<uint8_t>(key[0]) < 0x10);
}

TEST_CASE("Without a map file there is one shard owning every member, epoch 0") {
  ShardMap map = ShardMap::Single({});
  CHECK(map.epoch() == 0);
  CHECK(map.size() == 1);
  CHECK(map.ShardOf(12345) == 0);
  CHECK(map.ShardOfPartition(kPartitions - 1) == 0);
  ShardIdentity shard(map, 0);
  CHECK(shard.Owns(1));
  CHECK(shard.CheckOwned(kMaxMemberId).ok());
}

TEST_CASE("A valid map: owners by partition, addresses by service") {
  auto map = ShardMap::Parse(kTwoShards, "test.json");
  REQUIRE(map.ok());
  CHECK(map->epoch() == 3);
  CHECK(map->size() == 2);
  CHECK(map->ShardOfPartition(0) == 0);
  CHECK(map->ShardOfPartition(2047) == 0);
  CHECK(map->ShardOfPartition(2048) == 1);
  CHECK(map->ShardOfPartition(4095) == 1);
  CHECK(map->shard(1).Address("privacy") == "10.0.0.2:50054");
  CHECK(map->shard(1).Address("messaging").empty());
  CHECK(map->CheckAddresses("identity").ok());
  CHECK_THAT(map->CheckAddresses("messaging"),
             StatusIs(Code::kInvalidArgument, "shards[0] has no \"messaging\" address"));
  // Every member goes to exactly the shard owning its partition.
  for (MemberId m = 1; m < 2000; ++m) {
    CHECK(map->ShardOf(m) == (PartitionOf(m) < 2048 ? 0u : 1u));
  }
}

TEST_CASE("A map written out reads back the same") {
  auto map = ShardMap::Parse(kTwoShards, "test.json");
  REQUIRE(map.ok());
  auto again = ShardMap::Parse(map->ToJson(), "again");
  REQUIRE(again.ok());
  CHECK(again->epoch() == 3);
  CHECK(again->shard(1).ranges == std::vector<std::pair<uint32_t, uint32_t>>{{2048, 4095}});
  CHECK(again->ToJson() == map->ToJson());
}

TEST_CASE("A map file is read from disk, and a missing one says so") {
  testing::TempDir dir;
  const std::string path = dir.path() + "/map.json";
  std::ofstream(path) << kTwoShards;
  auto map = ShardMap::Load(path);
  REQUIRE(map.ok());
  CHECK(map->size() == 2);
  CHECK_THAT(ShardMap::Load(dir.path() + "/none.json"),
             StatusIs(Code::kNotFound, "cannot read the file"));
}

TEST_CASE("Bad maps are refused with the field and what it wants") {
  CHECK_THAT(ParseError("not json"), StatusIs(Code::kInvalidArgument, "not a JSON object"));
  CHECK_THAT(ParseError("[1,2]"), StatusIs(Code::kInvalidArgument, "not a JSON object"));
  CHECK_THAT(ParseError(R"({"epoch":1,"shards":[{"partitions":"0-4095"}],"extra":1})"),
             StatusIs(Code::kInvalidArgument, "extra: unknown field"));
  CHECK_THAT(ParseError(R"({"shards":[{"partitions":"0-4095"}]})"),
             StatusIs(Code::kInvalidArgument, "epoch: give a whole number of at least 1"));
  CHECK_THAT(ParseError(R"({"epoch":0,"shards":[{"partitions":"0-4095"}]})"),
             StatusIs(Code::kInvalidArgument, "epoch: give a whole number of at least 1"));
  CHECK_THAT(ParseError(R"({"epoch":-1,"shards":[{"partitions":"0-4095"}]})"),
             StatusIs(Code::kInvalidArgument, "epoch"));
  CHECK_THAT(ParseError(R"({"epoch":"1","shards":[{"partitions":"0-4095"}]})"),
             StatusIs(Code::kInvalidArgument, "epoch"));
  CHECK_THAT(ParseError(R"({"epoch":1,"shards":[]})"),
             StatusIs(Code::kInvalidArgument, "shards: give a list of 1 to 1024 shards"));
  CHECK_THAT(ParseError(R"({"epoch":1,"shards":{}})"),
             StatusIs(Code::kInvalidArgument, "shards: give a list"));
  CHECK_THAT(ParseError(R"({"epoch":1,"shards":[7]})"),
             StatusIs(Code::kInvalidArgument, "shards[0]: not an object"));
  CHECK_THAT(ParseError(R"({"epoch":1,"shards":[{"privacy":"a:1"}]})"),
             StatusIs(Code::kInvalidArgument, "shards[0].partitions: missing"));
  CHECK_THAT(ParseError(R"({"epoch":1,"shards":[{"partitions":""}]})"),
             StatusIs(Code::kInvalidArgument, "shards[0].partitions: names no partitions"));
  CHECK_THAT(ParseError(R"({"epoch":1,"shards":[{"partitions":7}]})"),
             StatusIs(Code::kInvalidArgument, "shards[0].partitions: give ranges"));
  CHECK_THAT(
      ParseError(R"({"epoch":1,"shards":[{"partitions":"0-4096"}]})"),
      StatusIs(Code::kInvalidArgument, "\"4096\" is not a partition; partitions are 0 to 4095"));
  CHECK_THAT(ParseError(R"({"epoch":1,"shards":[{"partitions":"0-x"}]})"),
             StatusIs(Code::kInvalidArgument, "\"x\" is not a partition"));
  CHECK_THAT(ParseError(R"({"epoch":1,"shards":[{"partitions":"-5"}]})"),
             StatusIs(Code::kInvalidArgument, "\"\" is not a partition"));
  CHECK_THAT(ParseError(R"({"epoch":1,"shards":[{"partitions":"10-3,0-4095"}]})"),
             StatusIs(Code::kInvalidArgument, "range \"10-3\" ends before it starts"));
  CHECK_THAT(ParseError(R"({"epoch":1,"shards":[{"partitions":"0-2047"}]})"),
             StatusIs(Code::kInvalidArgument, "partition 2048 is owned by no shard"));
  CHECK_THAT(ParseError(R"({"epoch":1,"shards":[{"partitions":"0-2047"},
                                                 {"partitions":"2000-4095"}]})"),
             StatusIs(Code::kInvalidArgument,
                      "shards[1].partitions: partition 2000 is already owned by shards[0]"));
  CHECK_THAT(ParseError(R"({"epoch":1,"shards":[{"partitions":"0-4095","privacy":"nohost"}]})"),
             StatusIs(Code::kInvalidArgument, "shards[0].privacy: give the service's host:port"));
  CHECK_THAT(ParseError(R"({"epoch":1,"shards":[{"partitions":"0-4095","privacy":5}]})"),
             StatusIs(Code::kInvalidArgument, "shards[0].privacy"));
  CHECK_THAT(ParseError(R"({"epoch":1,"shards":[{"partitions":"0-4095","search":"a:1"}]})"),
             StatusIs(Code::kInvalidArgument, "shards[0].search: unknown field"));
  std::string many = R"({"epoch":1,"shards":[)";
  for (int i = 0; i < 1025; ++i) many += std::string(i ? "," : "") + R"({"partitions":"0"})";
  CHECK_THAT(ParseError(many + "]}"), StatusIs(Code::kInvalidArgument, "1 to 1024 shards"));
}

TEST_CASE("A map says which services it shards") {
  auto map = ShardMap::Parse(kTwoShards, "test.json");
  REQUIRE(map.ok());
  CHECK(NamesService(*map, "privacy"));
  CHECK_FALSE(NamesService(*map, "messaging"));
}

TEST_CASE("A StatefulSet pod's host name gives its shard index") {
  CHECK(ShardIndexFromHostname("privacy-0").value() == 0);
  CHECK(ShardIndexFromHostname("liaison-credits-12").value() == 12);
  for (const char* bad : {"privacy", "privacy-", "privacy-x1", "privacy-+1", "privacy-99999", ""}) {
    INFO(bad);
    CHECK_THAT(ShardIndexFromHostname(bad), StatusIs(Code::kInvalidArgument, "does not end in -N"));
  }
}

TEST_CASE("A shard index must be one of the map's shards") {
  auto map = ShardMap::Parse(kTwoShards, "test.json");
  REQUIRE(map.ok());
  CHECK(CheckShardIndex(*map, 0).ok());
  CHECK(CheckShardIndex(*map, 1).ok());
  CHECK_THAT(CheckShardIndex(*map, 2),
             StatusIs(Code::kInvalidArgument, "--shard-index: 2 is not a shard of the map"));
  CHECK_THAT(CheckShardIndex(*map, -1), StatusIs(Code::kInvalidArgument, "--shard-index"));
}

TEST_CASE("A shard refuses members it does not own, naming owner, partition and epoch") {
  auto map = ShardMap::Parse(kTwoShards, "test.json");
  REQUIRE(map.ok());
  ShardIdentity first(*map, 0);
  MemberId elsewhere = 1;
  while (map->ShardOf(elsewhere) != 1) ++elsewhere;
  CHECK_FALSE(first.Owns(elsewhere));
  CHECK_THAT(first.CheckOwned(elsewhere),
             StatusIs(Code::kFailedPrecondition, "owned by shard 1 in shard map epoch 3"));
  ShardIdentity second(*map, 1);
  CHECK(second.CheckOwned(elsewhere).ok());
}

}  // namespace
}  // namespace liaison
