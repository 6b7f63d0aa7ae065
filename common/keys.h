// Order-preserving key encoding for RocksDB. Every store builds its keys with
// KeyBuilder and reads them back with KeyReader, so byte order == logical
// order: numbers are fixed-width big-endian, "descending" numbers are stored
// bit-inverted (newest first), and strings are escaped (0x00 -> 0x00 0xFF)
// and terminated by 0x00 0x01 so a shorter string sorts before its
// extensions and a string can sit in the middle of a key.
#ifndef LIAISON_COMMON_KEYS_H_
#define LIAISON_COMMON_KEYS_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace liaison {

class KeyBuilder final {
 public:
  // `kind` is the record-kind prefix byte.
  explicit KeyBuilder(char kind) { key_.push_back(kind); }
  // A member-keyed record: the member's partition (2 bytes, big-endian,
  // so a partition is one contiguous key range: DESIGN.md §8), the kind,
  // then the member id. Partitions are below 0x1000, so such a key's first
  // byte is below 0x10 and never a kind letter.
  static KeyBuilder ForMember(char kind, uint64_t member);
  // A record of a directory kept unique by name (a handle, an email): the
  // name's partition (PartitionOfName), the kind, then the name.
  static KeyBuilder ForName(char kind, absl::string_view name);
  // The 2 bytes every key of `partition` starts with (ForMember's layout).
  static std::string PartitionPrefix(uint32_t partition);
  // PartitionPrefix(partition), then the kind: a record of `partition` kept
  // under another id (e.g. a conversation, in its home member's partition).
  static KeyBuilder ForPartition(uint32_t partition, char kind);

  KeyBuilder& U8(uint8_t v);
  KeyBuilder& U32(uint32_t v);
  KeyBuilder& U64(uint64_t v);
  // Sorts larger values first.
  KeyBuilder& U64Desc(uint64_t v) { return U64(~v); }
  // Microseconds since the Unix epoch; times before it clamp to 0.
  KeyBuilder& Time(absl::Time t);
  KeyBuilder& TimeDesc(absl::Time t);
  KeyBuilder& Str(absl::string_view s);

  const std::string& key() const& { return key_; }
  std::string key() && { return std::move(key_); }

 private:
  std::string key_;
};

// Reads a key built by KeyBuilder, in the same order. Each Read returns false
// (and leaves the output untouched) when the key does not hold that field.
class KeyReader final {
 public:
  explicit KeyReader(absl::string_view key) : rest_(key) {}

  bool Kind(char* kind);
  bool U8(uint8_t* v);
  bool U32(uint32_t* v);
  bool U64(uint64_t* v);
  bool U64Desc(uint64_t* v);
  bool Time(absl::Time* t);
  bool TimeDesc(absl::Time* t);
  bool Str(std::string* s);
  bool AtEnd() const { return rest_.empty(); }

 private:
  absl::string_view rest_;
};

}  // namespace liaison

#endif  // LIAISON_COMMON_KEYS_H_
