#include "common/keys.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "common/shard_map.h"

namespace liaison {
namespace {

constexpr uint64_t kMaxMicros = std::numeric_limits<int64_t>::max();

uint64_t ToMicros(absl::Time t) {
  return static_cast<uint64_t>(std::max<int64_t>(0, absl::ToUnixMicros(t)));
}

}  // namespace

std::string KeyBuilder::PartitionPrefix(uint32_t partition) {
  return {static_cast<char>(partition >> 8), static_cast<char>(partition & 0xff)};
}

KeyBuilder KeyBuilder::ForPartition(uint32_t partition, char kind) {
  KeyBuilder key(0);
  key.key_ = PartitionPrefix(partition);
  key.U8(static_cast<uint8_t>(kind));
  return key;
}

KeyBuilder KeyBuilder::ForMember(char kind, uint64_t member) {
  return std::move(ForPartition(PartitionOf(member), kind).U64(member));
}

KeyBuilder KeyBuilder::ForName(char kind, absl::string_view name) {
  KeyBuilder key(0);
  key.key_ = PartitionPrefix(PartitionOfName(name));
  key.U8(static_cast<uint8_t>(kind)).Str(name);
  return key;
}

KeyBuilder& KeyBuilder::U8(uint8_t v) {
  key_.push_back(static_cast<char>(v));
  return *this;
}

KeyBuilder& KeyBuilder::U32(uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) key_.push_back(static_cast<char>(v >> shift));
  return *this;
}

KeyBuilder& KeyBuilder::U64(uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) key_.push_back(static_cast<char>(v >> shift));
  return *this;
}

KeyBuilder& KeyBuilder::Time(absl::Time t) { return U64(ToMicros(t)); }
KeyBuilder& KeyBuilder::TimeDesc(absl::Time t) { return U64Desc(ToMicros(t)); }

KeyBuilder& KeyBuilder::Str(absl::string_view s) {
  for (char c : s) {
    key_.push_back(c);
    if (c == '\0') key_.push_back('\xff');
  }
  key_.push_back('\0');
  key_.push_back('\x01');
  return *this;
}

bool KeyReader::Kind(char* kind) {
  if (rest_.empty()) return false;
  *kind = rest_[0];
  rest_.remove_prefix(1);
  return true;
}

bool KeyReader::U8(uint8_t* v) {
  if (rest_.empty()) return false;
  *v = static_cast<uint8_t>(rest_[0]);
  rest_.remove_prefix(1);
  return true;
}

bool KeyReader::U32(uint32_t* v) {
  if (rest_.size() < 4) return false;
  uint32_t out = 0;
  for (int i = 0; i < 4; ++i) out = (out << 8) | static_cast<uint8_t>(rest_[i]);
  rest_.remove_prefix(4);
  *v = out;
  return true;
}

bool KeyReader::U64(uint64_t* v) {
  if (rest_.size() < 8) return false;
  uint64_t out = 0;
  for (int i = 0; i < 8; ++i) out = (out << 8) | static_cast<uint8_t>(rest_[i]);
  rest_.remove_prefix(8);
  *v = out;
  return true;
}

bool KeyReader::U64Desc(uint64_t* v) {
  uint64_t raw;
  if (!U64(&raw)) return false;
  *v = ~raw;
  return true;
}

// KeyBuilder writes times as microseconds in [0, 2^63): eight bytes holding
// more are not a time, or two keys would read as the same one.
bool KeyReader::Time(absl::Time* t) {
  KeyReader next = *this;
  uint64_t micros;
  if (!next.U64(&micros) || micros > kMaxMicros) return false;
  *this = next;
  *t = absl::FromUnixMicros(static_cast<int64_t>(micros));
  return true;
}

bool KeyReader::TimeDesc(absl::Time* t) {
  KeyReader next = *this;
  uint64_t micros;
  if (!next.U64Desc(&micros) || micros > kMaxMicros) return false;
  *this = next;
  *t = absl::FromUnixMicros(static_cast<int64_t>(micros));
  return true;
}

bool KeyReader::Str(std::string* s) {
  std::string out;
  for (size_t i = 0; i < rest_.size(); ++i) {
    if (rest_[i] != '\0') {
      out.push_back(rest_[i]);
      continue;
    }
    if (i + 1 >= rest_.size()) return false;
    if (rest_[i + 1] == '\x01') {
      rest_.remove_prefix(i + 2);
      *s = std::move(out);
      return true;
    }
    if (rest_[i + 1] != '\xff') return false;
    out.push_back('\0');
    ++i;
  }
  return false;
}

}  // namespace liaison
