#include "services/identity/graph.h"

#include <algorithm>
#include <cstring>

#include "common/status.h"

namespace liaison::identity {
namespace {

constexpr uint8_t kAdjacencyVersion = 1;
constexpr size_t kHeaderBytes = 5;
// Neighbor lists read per batched lookup while searching for a 3rd degree:
// small at first (a hit often comes early), doubling up to the maximum.
constexpr size_t kFirstExpandBatch = 8;
constexpr size_t kMaxExpandBatch = 64;

template <typename T>
void Append(std::string* out, T value) {
  char bytes[sizeof(T)];
  for (size_t i = 0; i < sizeof(T); ++i) bytes[i] = static_cast<char>(value >> (8 * i));
  out->append(bytes, sizeof(T));
}

template <typename T>
T Read(const char* p) {
  T value = 0;
  for (size_t i = 0; i < sizeof(T); ++i)
    value |= static_cast<T>(static_cast<uint8_t>(p[i])) << (8 * i);
  return value;
}

absl::StatusOr<uint32_t> CheckedCount(absl::string_view bytes) {
  if (bytes.size() < kHeaderBytes || static_cast<uint8_t>(bytes[0]) != kAdjacencyVersion) {
    return absl::DataLossError("adjacency record has an unknown format");
  }
  const uint32_t count = Read<uint32_t>(bytes.data() + 1);
  if (bytes.size() != kHeaderBytes + size_t{count} * 12) {
    return absl::DataLossError("adjacency record has the wrong size");
  }
  return count;
}

// Smallest index >= lo with v[index] >= target, galloping from lo.
size_t Gallop(const std::vector<MemberId>& v, size_t lo, MemberId target) {
  size_t step = 1, hi = lo;
  while (hi < v.size() && v[hi] < target) {
    lo = hi + 1;
    hi += step;
    step *= 2;
  }
  return std::lower_bound(v.begin() + lo, v.begin() + std::min(hi, v.size()), target) - v.begin();
}

// Calls on_match for each common element; stops when it returns false.
template <typename OnMatch>
void ForEachCommon(const std::vector<MemberId>& a, const std::vector<MemberId>& b,
                   OnMatch on_match) {
  const auto& small = a.size() <= b.size() ? a : b;
  const auto& large = a.size() <= b.size() ? b : a;
  if (small.empty()) return;
  if (large.size() / small.size() >= 16) {
    size_t j = 0;
    for (MemberId x : small) {
      j = Gallop(large, j, x);
      if (j == large.size()) return;
      if (large[j] == x && !on_match(x)) return;
    }
    return;
  }
  size_t i = 0, j = 0;
  while (i < small.size() && j < large.size()) {
    if (small[i] < large[j]) {
      ++i;
    } else if (large[j] < small[i]) {
      ++j;
    } else {
      if (!on_match(small[i])) return;
      ++i, ++j;
    }
  }
}

}  // namespace

bool Adjacency::Contains(MemberId other) const {
  return std::binary_search(ids.begin(), ids.end(), other);
}

bool Adjacency::Insert(MemberId other, uint32_t since_seconds) {
  auto it = std::lower_bound(ids.begin(), ids.end(), other);
  if (it != ids.end() && *it == other) return false;
  const auto index = it - ids.begin();
  ids.insert(it, other);
  since.insert(since.begin() + index, since_seconds);
  return true;
}

bool Adjacency::Erase(MemberId other) {
  auto it = std::lower_bound(ids.begin(), ids.end(), other);
  if (it == ids.end() || *it != other) return false;
  since.erase(since.begin() + (it - ids.begin()));
  ids.erase(it);
  return true;
}

std::string EncodeAdjacency(const Adjacency& adjacency) {
  std::string out;
  out.reserve(kHeaderBytes + adjacency.ids.size() * 12);
  out.push_back(static_cast<char>(kAdjacencyVersion));
  Append<uint32_t>(&out, static_cast<uint32_t>(adjacency.ids.size()));
  for (MemberId id : adjacency.ids) Append<uint64_t>(&out, id);
  for (uint32_t t : adjacency.since) Append<uint32_t>(&out, t);
  return out;
}

absl::StatusOr<uint32_t> AdjacencyCount(absl::string_view bytes) { return CheckedCount(bytes); }

absl::StatusOr<std::vector<MemberId>> DecodeAdjacencyIds(absl::string_view bytes) {
  ASSIGN_OR_RETURN(uint32_t count, CheckedCount(bytes));
  std::vector<MemberId> ids(count);
  const char* p = bytes.data() + kHeaderBytes;
  if (count == 0) return ids;  // data() may be null, and memcpy may not be given null
  if constexpr (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__) {
    std::memcpy(ids.data(), p, 8 * size_t{count});  // the encoding is the host's layout
  } else {
    for (uint32_t i = 0; i < count; ++i) ids[i] = Read<uint64_t>(p + 8 * size_t{i});
  }
  return ids;
}

absl::StatusOr<Adjacency> DecodeAdjacency(absl::string_view bytes) {
  Adjacency adjacency;
  ASSIGN_OR_RETURN(adjacency.ids, DecodeAdjacencyIds(bytes));
  const char* p = bytes.data() + kHeaderBytes + 8 * adjacency.ids.size();
  adjacency.since.resize(adjacency.ids.size());
  for (size_t i = 0; i < adjacency.ids.size(); ++i) adjacency.since[i] = Read<uint32_t>(p + 4 * i);
  return adjacency;
}

int64_t CountIntersection(const std::vector<MemberId>& a, const std::vector<MemberId>& b) {
  int64_t n = 0;
  ForEachCommon(a, b, [&n](MemberId) {
    ++n;
    return true;
  });
  return n;
}

bool Intersects(const std::vector<MemberId>& a, const std::vector<MemberId>& b) {
  bool found = false;
  ForEachCommon(a, b, [&found](MemberId) {
    found = true;
    return false;
  });
  return found;
}

std::vector<MemberId> Intersection(const std::vector<MemberId>& a, const std::vector<MemberId>& b) {
  std::vector<MemberId> out;
  ForEachCommon(a, b, [&out](MemberId x) {
    out.push_back(x);
    return true;
  });
  return out;
}

absl::StatusOr<DegreeResult> ComputeDegree(const NeighborSource& source, MemberId a, MemberId b,
                                           int64_t third_degree_budget, bool count_mutual) {
  DegreeResult result;
  if (a == b) {
    result.degree = v1::DEGREE_SELF;
    return result;
  }
  ASSIGN_OR_RETURN(std::vector<MemberId> na, source.Neighbors(a));
  const bool connected = std::binary_search(na.begin(), na.end(), b);
  if (connected && !count_mutual) {
    // b's list (up to 30,000 ids for a hub) is only needed for the count.
    result.degree = v1::DEGREE_FIRST;
    return result;
  }
  ASSIGN_OR_RETURN(std::vector<MemberId> nb, source.Neighbors(b));
  bool share_one = false;
  if (count_mutual) {
    result.mutual_connections = CountIntersection(na, nb);
    share_one = result.mutual_connections > 0;
  } else {
    share_one = Intersects(na, nb);  // stops at the first
  }
  if (connected) {
    result.degree = v1::DEGREE_FIRST;
  } else if (share_one) {
    result.degree = v1::DEGREE_SECOND;
  } else {
    // 3rd degree: some connection x of one side is connected to a connection
    // of the other. Expand the smaller side, a batch of lists at a time, and
    // stop at the first hit or once the budget of ids read is spent.
    const auto& expand = na.size() <= nb.size() ? na : nb;
    const auto& target = na.size() <= nb.size() ? nb : na;
    result.degree = v1::DEGREE_OUT_OF_NETWORK;
    size_t batch_size = kFirstExpandBatch;
    int64_t budget = third_degree_budget;
    for (size_t start = 0; start < expand.size() && !target.empty() && budget > 0;
         start += batch_size, batch_size = std::min(batch_size * 2, kMaxExpandBatch)) {
      std::vector<MemberId> batch(expand.begin() + start,
                                  expand.begin() + std::min(expand.size(), start + batch_size));
      ASSIGN_OR_RETURN(auto lists, source.NeighborsOfMany(batch));
      for (const auto& list : lists) budget -= static_cast<int64_t>(list.size());
      if (std::any_of(lists.begin(), lists.end(),
                      [&target](const auto& list) { return Intersects(list, target); })) {
        result.degree = v1::DEGREE_THIRD;
        break;
      }
    }
  }
  return result;
}

}  // namespace liaison::identity
