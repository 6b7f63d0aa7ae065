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
