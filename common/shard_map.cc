#include "common/shard_map.h"

#include <algorithm>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace liaison {
namespace {

using Range = std::pair<uint32_t, uint32_t>;

// The shard count a map may name: far more than any deployment needs, few
// enough that a map file stays small and every index fits the owner table.
constexpr size_t kMaxShards = 1024;
constexpr size_t kMaxMapBytes = 1 << 20;
constexpr size_t kMaxAddress = 255;

absl::Status Invalid(absl::string_view source, absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("shard map ", source, ": ", field, ": ", what));
}

absl::StatusOr<uint32_t> ParsePartition(absl::string_view text, absl::string_view source,
                                        absl::string_view field) {
  uint32_t value = 0;
  text = absl::StripAsciiWhitespace(text);
  if (text.empty() || !std::all_of(text.begin(), text.end(), absl::ascii_isdigit) ||
      !absl::SimpleAtoi(text, &value) || value >= kPartitions) {
    return Invalid(
        source, field,
        absl::StrCat("\"", text, "\" is not a partition; partitions are 0 to ", kPartitions - 1));
  }
  return value;
}

// "0-99,200,300-4095" -> sorted ranges.
absl::StatusOr<std::vector<Range>> ParseRanges(absl::string_view text, absl::string_view source,
                                               absl::string_view field) {
  std::vector<Range> ranges;
  if (absl::StripAsciiWhitespace(text).empty()) {
    return Invalid(source, field, "names no partitions; give ranges such as \"0-2047\"");
  }
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    std::vector<absl::string_view> ends = absl::StrSplit(part, absl::MaxSplits('-', 1));
    auto first = ParsePartition(ends[0], source, field);
    if (!first.ok()) return first.status();
    uint32_t last = *first;
    if (ends.size() == 2) {
      auto parsed = ParsePartition(ends[1], source, field);
      if (!parsed.ok()) return parsed.status();
      last = *parsed;
    }
    if (last < *first) {
      return Invalid(
          source, field,
          absl::StrCat("range \"", absl::StripAsciiWhitespace(part), "\" ends before it starts"));
    }
    ranges.emplace_back(*first, last);
  }
  // Sorted, and "0-9,10-19" kept as "0-19" (an overlap is left for the
  // owner check to name).
  std::sort(ranges.begin(), ranges.end());
  std::vector<Range> merged;
  for (const Range& r : ranges) {
    if (!merged.empty() && merged.back().second + 1 == r.first) {
      merged.back().second = r.second;
    } else {
      merged.push_back(r);
    }
  }
  return merged;
}

std::string FormatRanges(const std::vector<Range>& ranges) {
  return absl::StrJoin(ranges, ",", [](std::string* out, const Range& r) {
    absl::StrAppend(out, r.first);
    if (r.second != r.first) absl::StrAppend(out, "-", r.second);
  });
}

std::string* AddressField(ShardMap::Shard* shard, absl::string_view service) {
  if (service == "privacy") return &shard->privacy;
  if (service == "identity") return &shard->identity;
  if (service == "credits") return &shard->credits;
  if (service == "messaging") return &shard->messaging;
  return nullptr;
}

}  // namespace

uint32_t PartitionOf(MemberId member) {
  // SplitMix64's finalizer: sequential ids spread evenly over partitions.
  // Part of every stored key: never change it.
  uint64_t z = member + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return static_cast<uint32_t>(z % kPartitions);
}

uint32_t PartitionOfName(absl::string_view name) {
  uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a 64
  for (unsigned char c : name) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return PartitionOf(hash);
}

const std::string& ShardMap::Shard::Address(absl::string_view service) const {
  return *AddressField(const_cast<Shard*>(this), service);
}

ShardMap ShardMap::Single(Shard addresses) {
  ShardMap map;
  addresses.ranges = {{0, kPartitions - 1}};
  map.shards_.push_back(std::move(addresses));
  map.owner_.assign(kPartitions, 0);
  return map;
}

absl::StatusOr<ShardMap> ShardMap::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("shard map ", path, ": cannot read the file"));
  std::string text(kMaxMapBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxMapBytes) {
    return Invalid(path, "file", absl::StrCat("larger than ", kMaxMapBytes, " bytes"));
  }
  return Parse(text, path);
}

absl::StatusOr<ShardMap> ShardMap::Parse(absl::string_view text, absl::string_view source) {
  nlohmann::json json = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    return Invalid(source, "file", "not a JSON object; see DESIGN.md §8 for the format");
  }
  for (const auto& [key, value] : json.items()) {
    if (key != "epoch" && key != "shards") {
      return Invalid(source, key, "unknown field; a map has \"epoch\" and \"shards\"");
    }
  }
  ShardMap map;
  const auto epoch = json.find("epoch");
  if (epoch == json.end() || !epoch->is_number_unsigned()) {
    return Invalid(source, "epoch", "give a whole number of at least 1");
  }
  map.epoch_ = epoch->get<uint64_t>();
  if (map.epoch_ < 1) return Invalid(source, "epoch", "give a whole number of at least 1");
  const auto shards = json.find("shards");
  if (shards == json.end() || !shards->is_array() || shards->empty() ||
      shards->size() > kMaxShards) {
    return Invalid(source, "shards", absl::StrCat("give a list of 1 to ", kMaxShards, " shards"));
  }
  map.owner_.assign(kPartitions, std::numeric_limits<uint16_t>::max());
  for (size_t i = 0; i < shards->size(); ++i) {
    const auto& entry = (*shards)[i];
    const std::string field = absl::StrCat("shards[", i, "]");
    if (!entry.is_object()) return Invalid(source, field, "not an object");
    Shard shard;
    for (const auto& [key, value] : entry.items()) {
      const std::string name = absl::StrCat(field, ".", key);
      if (key == "partitions") {
        if (!value.is_string()) return Invalid(source, name, "give ranges such as \"0-2047\"");
        auto ranges = ParseRanges(value.get<std::string>(), source, name);
        if (!ranges.ok()) return ranges.status();
        shard.ranges = *std::move(ranges);
        continue;
      }
      std::string* address = AddressField(&shard, key);
      if (address == nullptr) {
        return Invalid(source, name,
                       "unknown field; a shard has \"partitions\" and the host:port of "
                       "\"privacy\", \"identity\", \"credits\" and \"messaging\"");
      }
      if (!value.is_string() || value.get<std::string>().empty() ||
          value.get<std::string>().size() > kMaxAddress ||
          value.get<std::string>().find(':') == std::string::npos) {
        return Invalid(source, name, "give the service's host:port");
      }
      *address = value.get<std::string>();
    }
    if (shard.ranges.empty()) {
      return Invalid(source, field + ".partitions", "missing; give ranges such as \"0-2047\"");
    }
    for (const auto& [first, last] : shard.ranges) {
      for (uint32_t p = first; p <= last; ++p) {
        if (map.owner_[p] != std::numeric_limits<uint16_t>::max()) {
          return Invalid(source, field + ".partitions",
                         absl::StrCat("partition ", p, " is already owned by shards[",
                                      map.owner_[p], "]; each partition has one owner"));
        }
        map.owner_[p] = static_cast<uint16_t>(i);
      }
    }
    map.shards_.push_back(std::move(shard));
  }
  for (uint32_t p = 0; p < kPartitions; ++p) {
    if (map.owner_[p] == std::numeric_limits<uint16_t>::max()) {
      return Invalid(source, "shards",
                     absl::StrCat("partition ", p,
                                  " is owned by no shard; the shards must "
                                  "cover 0 to ",
                                  kPartitions - 1));
    }
  }
  return map;
}

absl::Status ShardMap::CheckAddresses(absl::string_view service) const {
  for (size_t i = 0; i < shards_.size(); ++i) {
    if (shards_[i].Address(service).empty()) {
      return absl::InvalidArgumentError(absl::StrCat("shard map (epoch ", epoch_, "): shards[", i,
                                                     "] has no \"", service, "\" address"));
    }
  }
  return absl::OkStatus();
}

std::string ShardMap::ToJson() const {
  nlohmann::json json;
  json["epoch"] = epoch_;
  json["shards"] = nlohmann::json::array();
  for (const Shard& shard : shards_) {
    nlohmann::json entry;
    entry["partitions"] = FormatRanges(shard.ranges);
    for (const char* service : kShardedServices) {
      if (!shard.Address(service).empty()) entry[service] = shard.Address(service);
    }
    json["shards"].push_back(std::move(entry));
  }
  return json.dump(2);
}

absl::Status ShardIdentity::CheckOwned(MemberId member) const {
  const size_t owner = map_.ShardOf(member);
  if (owner == index_) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("member ", member, " is in partition ", PartitionOf(member), ", owned by shard ",
                   owner, " in shard map epoch ", map_.epoch(), ", not by this shard (", index_,
                   "); route by the map of that epoch"));
}

bool NamesService(const ShardMap& map, absl::string_view service) {
  for (size_t i = 0; i < map.size(); ++i) {
    if (!map.shard(i).Address(service).empty()) return true;
  }
  return false;
}

absl::StatusOr<int> ShardIndexFromHostname(absl::string_view hostname) {
  const size_t dash = hostname.rfind('-');
  const absl::string_view ordinal =
      dash == absl::string_view::npos ? absl::string_view() : hostname.substr(dash + 1);
  int index = 0;
  if (ordinal.empty() || ordinal.size() > 4 ||
      !std::all_of(ordinal.begin(), ordinal.end(), absl::ascii_isdigit) ||
      !absl::SimpleAtoi(ordinal, &index)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--shard-index-from-hostname: the host name \"", hostname,
                     "\" does not end in -N (a StatefulSet pod's name, e.g. privacy-1)"));
  }
  return index;
}

absl::Status CheckShardIndex(const ShardMap& map, int index) {
  if (index < 0 || static_cast<size_t>(index) >= map.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--shard-index: ", index, " is not a shard of the map (epoch ", map.epoch(),
                     "), which has shards 0 to ", map.size() - 1));
  }
  return absl::OkStatus();
}

}  // namespace liaison
