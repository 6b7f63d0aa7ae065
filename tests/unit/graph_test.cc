#include "services/identity/graph.h"

#include <catch2/catch.hpp>
#include <map>

#include "tests/support/status_matchers.h"

namespace liaison::identity {
namespace {

using testing::StatusIs;

// An undirected graph in memory.
class FakeGraph final : public NeighborSource {
 public:
  void Connect(MemberId a, MemberId b) {
    adjacency_[a].Insert(b, 0);
    adjacency_[b].Insert(a, 0);
  }
  absl::StatusOr<std::vector<MemberId>> Neighbors(MemberId m) const override {
    auto it = adjacency_.find(m);
    return it == adjacency_.end() ? std::vector<MemberId>() : it->second.ids;
  }
  absl::StatusOr<std::vector<std::vector<MemberId>>> NeighborsOfMany(
      const std::vector<MemberId>& members) const override {
    ++batches;
    std::vector<std::vector<MemberId>> out;
    for (MemberId m : members) out.push_back(*Neighbors(m));
    for (const auto& list : out) ids_read += static_cast<int64_t>(list.size());
    return out;
  }
  mutable int batches = 0;
  mutable int64_t ids_read = 0;

 private:
  std::map<MemberId, Adjacency> adjacency_;
};

TEST_CASE("An adjacency list stays sorted with times alongside") {
  Adjacency a;
  CHECK(a.Insert(30, 3));
  CHECK(a.Insert(10, 1));
  CHECK(a.Insert(20, 2));
  CHECK_FALSE(a.Insert(20, 9));
  CHECK(a.ids == std::vector<MemberId>{10, 20, 30});
  CHECK(a.since == std::vector<uint32_t>{1, 2, 3});
  CHECK(a.Contains(20));
  CHECK(a.Erase(20));
  CHECK_FALSE(a.Erase(20));
  CHECK_FALSE(a.Contains(20));
  CHECK(a.since == std::vector<uint32_t>{1, 3});
}

TEST_CASE("Adjacency lists round-trip through their encoding, and garbage is DATA_LOSS") {
  Adjacency a;
  a.Insert((uint64_t{1} << 53) - 1, 4000000000u);
  a.Insert(1, 7);
  std::string bytes = EncodeAdjacency(a);
  CHECK(bytes.size() == 5 + 2 * 12);
  auto back = DecodeAdjacency(bytes);
  REQUIRE(back.ok());
  CHECK(back->ids == a.ids);
  CHECK(back->since == a.since);
  CHECK(AdjacencyCount(bytes).value() == 2);
  CHECK(DecodeAdjacencyIds(bytes).value() == a.ids);
  CHECK(DecodeAdjacency(EncodeAdjacency(Adjacency())).value().ids.empty());
  CHECK_THAT(DecodeAdjacency(bytes.substr(0, bytes.size() - 1)),
             StatusIs(absl::StatusCode::kDataLoss));
  CHECK_THAT(DecodeAdjacency("\x02\0\0\0\0"), StatusIs(absl::StatusCode::kDataLoss));
  CHECK_THAT(DecodeAdjacency(""), StatusIs(absl::StatusCode::kDataLoss));
}

TEST_CASE("Intersections agree whether they merge or gallop") {
  std::vector<MemberId> small = {3, 500, 999, 4000};
  std::vector<MemberId> large;
  for (MemberId i = 0; i < 5000; i += 3) large.push_back(i);  // multiples of 3
  std::vector<MemberId> expected = {3, 999};
  CHECK(Intersection(small, large) == expected);  // gallops (ratio >= 16)
  CHECK(Intersection(large, small) == expected);
  CHECK(CountIntersection(small, large) == 2);
  std::vector<MemberId> similar = {0, 1, 3, 4, 6, 8, 9};
  CHECK(Intersection(similar, {3, 6, 7, 9, 10}) == std::vector<MemberId>{3, 6, 9});  // merges
  CHECK(Intersects(small, large));
  CHECK_FALSE(Intersects({1, 2}, {3, 4}));
  CHECK_FALSE(Intersects({}, large));
}

TEST_CASE("Degrees: self, first, second with mutual count, third, out of network") {
  FakeGraph g;
  // 1-2-3-4-5, 1-6-3, 7 alone
  g.Connect(1, 2);
  g.Connect(2, 3);
  g.Connect(3, 4);
  g.Connect(4, 5);
  g.Connect(1, 6);
  g.Connect(6, 3);
  auto degree = [&](MemberId a, MemberId b) { return ComputeDegree(g, a, b).value(); };
  CHECK(degree(1, 1).degree == v1::DEGREE_SELF);
  CHECK(degree(1, 2).degree == v1::DEGREE_FIRST);
  CHECK(degree(1, 3).degree == v1::DEGREE_SECOND);
  CHECK(degree(1, 3).mutual_connections == 2);
  CHECK(degree(1, 4).degree == v1::DEGREE_THIRD);
  CHECK(degree(4, 1).degree == v1::DEGREE_THIRD);
  CHECK(degree(1, 5).degree == v1::DEGREE_OUT_OF_NETWORK);
  CHECK(degree(1, 7).degree == v1::DEGREE_OUT_OF_NETWORK);
  CHECK(degree(2, 6).degree == v1::DEGREE_SECOND);
  CHECK(degree(2, 6).mutual_connections == 2);  // 1 and 3
}

TEST_CASE("A 3rd-degree search reads neighbor lists in batches and stops at the first hit") {
  FakeGraph g;
  // a has 200 connections; only the last links to a connection of b.
  const MemberId a = 1, b = 2, bridge = 3;
  for (MemberId x = 1000; x < 1200; ++x) g.Connect(a, x);
  g.Connect(b, bridge);
  for (MemberId y = 5000; y < 5300; ++y) g.Connect(bridge, y);  // make b's side larger
  g.Connect(b, 4);
  g.Connect(b, 6);
  g.Connect(1199, 4);
  CHECK(ComputeDegree(g, a, b).value().degree == v1::DEGREE_THIRD);
  // b's side (3 lists) is the smaller one, so it is expanded in a single batch.
  CHECK(g.batches == 1);
  g.batches = 0;
  FakeGraph far;
  for (MemberId x = 1000; x < 1200; ++x) far.Connect(a, x);
  for (MemberId y = 3000; y < 3300; ++y) far.Connect(b, y);
  CHECK(ComputeDegree(far, a, b).value().degree == v1::DEGREE_OUT_OF_NETWORK);
  CHECK(far.batches == 6);  // 200 lists: 8, 16, 32, 64, 64, then the last 16
}

TEST_CASE("A 3rd-degree search reads no more than its budget of ids, whatever the graph") {
  // Both sides have 300 connections, each of a's with 1,000 of their own:
  // 300,000 ids to read for a full search, and no link to find.
  FakeGraph g;
  const MemberId a = 1, b = 2;
  for (MemberId x = 0; x < 300; ++x) {
    g.Connect(a, 10'000 + x);
    g.Connect(b, 20'000 + x);
    for (MemberId y = 0; y < 1000; ++y) g.Connect(10'000 + x, 1'000'000 + x * 1000 + y);
  }
  auto result = ComputeDegree(g, a, b, /*third_degree_budget=*/20'000);
  REQUIRE(result.ok());
  CHECK(result->degree == v1::DEGREE_OUT_OF_NETWORK);
  // The budget, plus at most the batch that crossed it (64 lists of 1,001).
  CHECK(g.ids_read >= 20'000);
  CHECK(g.ids_read <= 20'000 + 64 * 1001);
  // A link past the budget is not looked for: out of network, as documented.
  g.Connect(10'299, 20'299);
  g.ids_read = 0;
  CHECK(ComputeDegree(g, a, b, 20'000)->degree == v1::DEGREE_OUT_OF_NETWORK);
  // With the default budget the whole graph fits, and the link is found.
  CHECK(ComputeDegree(g, a, b)->degree == v1::DEGREE_THIRD);
  // A budget of nothing reads nothing.
  g.ids_read = 0;
  CHECK(ComputeDegree(g, a, b, 0)->degree == v1::DEGREE_OUT_OF_NETWORK);
  CHECK(g.ids_read == 0);
}

}  // namespace
}  // namespace liaison::identity
