// Typed key fields for the key harnesses: a value of each KeyBuilder field
// type drawn from fuzz input, appended to a key, read back with KeyReader,
// and compared in the order the encoding must preserve.
#ifndef LIAISON_TESTS_FUZZ_KEY_FIELDS_H_
#define LIAISON_TESTS_FUZZ_KEY_FIELDS_H_

#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/keys.h"

namespace liaison::fuzz {

enum class Type : uint8_t { kU8, kU32, kU64, kU64Desc, kTime, kTimeDesc, kStr, kMaxValue = kStr };

struct Field {
  Type type = Type::kU8;
  uint64_t number = 0;  // numbers; times as stored (microseconds, clamped)
  absl::Time time;      // times as given to the builder
  std::string text;     // strings
};

// A value of `type`, with the value the key must hold for it.
inline Field MakeField(Type type, FuzzedDataProvider& in) {
  Field f;
  f.type = type;
  switch (type) {
    case Type::kU8:
      f.number = in.ConsumeIntegral<uint8_t>();
      break;
    case Type::kU32:
      f.number = in.ConsumeIntegral<uint32_t>();
      break;
    case Type::kU64:
    case Type::kU64Desc:
      f.number = in.ConsumeIntegral<uint64_t>();
      break;
    case Type::kTime:
    case Type::kTimeDesc: {
      // Nanoseconds either side of the epoch: stored as whole microseconds,
      // rounded down, and clamped at the epoch.
      const int64_t nanos = in.ConsumeIntegral<int64_t>();
      f.time = absl::FromUnixNanos(nanos);
      const int64_t micros = nanos / 1000 - (nanos % 1000 < 0 ? 1 : 0);
      f.number = static_cast<uint64_t>(std::max<int64_t>(0, micros));
      break;
    }
    case Type::kStr:
      f.text = in.ConsumeRandomLengthString(24);
      break;
  }
  return f;
}

inline void Append(KeyBuilder& key, const Field& f) {
  switch (f.type) {
    case Type::kU8:
      key.U8(static_cast<uint8_t>(f.number));
      break;
    case Type::kU32:
      key.U32(static_cast<uint32_t>(f.number));
      break;
    case Type::kU64:
      key.U64(f.number);
      break;
    case Type::kU64Desc:
      key.U64Desc(f.number);
      break;
    case Type::kTime:
      key.Time(f.time);
      break;
    case Type::kTimeDesc:
      key.TimeDesc(f.time);
      break;
    case Type::kStr:
      key.Str(f.text);
      break;
  }
}

// Reads a field of `f.type` into `out`; false when the reader refused.
inline bool Read(KeyReader& reader, Type type, Field* out) {
  out->type = type;
  uint8_t u8;
  uint32_t u32;
  absl::Time t;
  switch (type) {
    case Type::kU8:
      return reader.U8(&u8) && (out->number = u8, true);
    case Type::kU32:
      return reader.U32(&u32) && (out->number = u32, true);
    case Type::kU64:
      return reader.U64(&out->number);
    case Type::kU64Desc:
      return reader.U64Desc(&out->number);
    case Type::kTime:
    case Type::kTimeDesc:
      if (!(type == Type::kTime ? reader.Time(&t) : reader.TimeDesc(&t))) return false;
      out->time = t;
      out->number = static_cast<uint64_t>(absl::ToUnixMicros(t));
      return true;
    case Type::kStr:
      return reader.Str(&out->text);
  }
  return false;
}

inline bool SameValue(const Field& a, const Field& b) {
  return a.type == Type::kStr ? a.text == b.text : a.number == b.number;
}

// <0, 0, >0 as the value order of two fields of one type.
inline int CompareValues(const Field& a, const Field& b) {
  int c = a.type == Type::kStr ? a.text.compare(b.text)
                               : (a.number < b.number   ? -1
                                  : a.number > b.number ? 1
                                                        : 0);
  c = c < 0 ? -1 : c > 0 ? 1 : 0;
  return a.type == Type::kU64Desc || a.type == Type::kTimeDesc ? -c : c;
}

inline int Sign(int c) { return c < 0 ? -1 : c > 0 ? 1 : 0; }

inline std::string Build(char kind, const std::vector<Field>& fields) {
  KeyBuilder key(kind);
  for (const Field& f : fields) Append(key, f);
  return std::move(key).key();
}

}  // namespace liaison::fuzz

#endif  // LIAISON_TESTS_FUZZ_KEY_FIELDS_H_
