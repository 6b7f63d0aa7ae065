// The connection graph's rules, free of storage: a member's adjacency list
// (sorted ids with connect times), its compact encoding, and degree and
// mutual-connection computation over any source of adjacency lists.
#ifndef LIAISON_SERVICES_IDENTITY_GRAPH_H_
#define LIAISON_SERVICES_IDENTITY_GRAPH_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/ids.h"
#include "liaison/identity/v1/identity.pb.h"

namespace liaison::identity {

// One member's connections, sorted by member id; connect times are Unix
// seconds, parallel to ids.
struct Adjacency {
  std::vector<MemberId> ids;
  std::vector<uint32_t> since;

  bool Contains(MemberId other) const;
  // Inserts keeping order; false if already there.
  bool Insert(MemberId other, uint32_t since_seconds);
  // False if it was not there.
  bool Erase(MemberId other);
};

// Encoding: version byte 1, u32 count, count u64 ids, count u32 times, all
// little-endian. Ids are contiguous so intersections read them in one pass.
std::string EncodeAdjacency(const Adjacency& adjacency);
// DataLossError for anything EncodeAdjacency did not produce.
absl::StatusOr<Adjacency> DecodeAdjacency(absl::string_view bytes);
// The ids alone (what degree computation needs).
absl::StatusOr<std::vector<MemberId>> DecodeAdjacencyIds(absl::string_view bytes);
// The count, read from the header.
absl::StatusOr<uint32_t> AdjacencyCount(absl::string_view bytes);

// Where degree computation reads adjacency lists from.
class NeighborSource {
 public:
  virtual ~NeighborSource() = default;
  // Sorted ids; empty for a member without connections.
  virtual absl::StatusOr<std::vector<MemberId>> Neighbors(MemberId member) const = 0;
  // The lists of several members, in order (one batched read).
  virtual absl::StatusOr<std::vector<std::vector<MemberId>>> NeighborsOfMany(
      const std::vector<MemberId>& members) const = 0;
};

struct DegreeResult {
  v1::Degree degree = v1::DEGREE_UNSPECIFIED;
  int64_t mutual_connections = 0;
};

// How many member ids a 3rd-degree search may read from neighbor lists
// (about 8 MB): the bound on one relationship's work, whatever the graph.
inline constexpr int64_t kThirdDegreeSearchIds = int64_t{1} << 20;

// Degree of b from a: SELF, FIRST (connected), SECOND (share a connection),
// THIRD (a connection of a is connected to a connection of b), else
// OUT_OF_NETWORK; with the number of shared connections unless
// `count_mutual` is false (then 0: a FIRST answer reads only a's list, and a
// SECOND one stops at the first shared connection). The 3rd-degree search
// stops once it has read `third_degree_budget` ids (plus at most one batch of
// lists): a link it did not reach by then counts as OUT_OF_NETWORK.
absl::StatusOr<DegreeResult> ComputeDegree(const NeighborSource& source, MemberId a, MemberId b,
                                           int64_t third_degree_budget = kThirdDegreeSearchIds,
                                           bool count_mutual = true);

// |a ∩ b| for sorted lists; gallops through the longer one when sizes differ.
int64_t CountIntersection(const std::vector<MemberId>& a, const std::vector<MemberId>& b);
bool Intersects(const std::vector<MemberId>& a, const std::vector<MemberId>& b);
// The intersection itself, in order.
std::vector<MemberId> Intersection(const std::vector<MemberId>& a, const std::vector<MemberId>& b);

}  // namespace liaison::identity

#endif  // LIAISON_SERVICES_IDENTITY_GRAPH_H_
