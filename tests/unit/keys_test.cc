#include "common/keys.h"

#include <catch2/catch.hpp>
#include <limits>

namespace liaison {
namespace {

TEST_CASE("Numbers in keys sort in numeric order") {
  const uint64_t values[] = {0, 1, 255, 256, 65535, 1ull << 32, (1ull << 63) - 1, ~0ull};
  for (size_t i = 0; i + 1 < std::size(values); ++i) {
    CHECK(KeyBuilder('k').U64(values[i]).key() < KeyBuilder('k').U64(values[i + 1]).key());
    CHECK(KeyBuilder('k').U64Desc(values[i]).key() > KeyBuilder('k').U64Desc(values[i + 1]).key());
  }
  CHECK(KeyBuilder('k').U32(9).key() < KeyBuilder('k').U32(10).key());
}

TEST_CASE("Times in keys sort chronologically, descending times newest first") {
  absl::Time early = absl::FromUnixSeconds(1000);
  absl::Time late = absl::FromUnixSeconds(1001);
  CHECK(KeyBuilder('t').Time(early).key() < KeyBuilder('t').Time(late).key());
  CHECK(KeyBuilder('t').TimeDesc(late).key() < KeyBuilder('t').TimeDesc(early).key());
}

TEST_CASE("Strings in keys sort like the strings, prefixes first, NUL bytes included") {
  auto key = [](absl::string_view s) { return KeyBuilder('s').Str(s).U8(0xff).key(); };
  CHECK(key("ab") < key("abc"));
  CHECK(key("abc") < key("abd"));
  CHECK(key("") < key(std::string(1, '\0')));
  CHECK(key(std::string("a\0b", 3)) < key("a\x01"));
}

TEST_CASE("A key reads back field by field") {
  absl::Time t = absl::FromUnixMicros(1234567890123456);
  std::string nul("x\0y", 3);
  std::string key = KeyBuilder('m').U64(42).Str(nul).U32(7).TimeDesc(t).U8(3).U64Desc(5).key();
  KeyReader reader(key);
  char kind;
  uint64_t id, desc;
  std::string s;
  uint32_t n;
  absl::Time read_time;
  uint8_t byte;
  REQUIRE(reader.Kind(&kind));
  REQUIRE(reader.U64(&id));
  REQUIRE(reader.Str(&s));
  REQUIRE(reader.U32(&n));
  REQUIRE(reader.TimeDesc(&read_time));
  REQUIRE(reader.U8(&byte));
  REQUIRE(reader.U64Desc(&desc));
  CHECK(reader.AtEnd());
  CHECK(kind == 'm');
  CHECK(id == 42);
  CHECK(s == nul);
  CHECK(n == 7);
  CHECK(read_time == t);
  CHECK(byte == 3);
  CHECK(desc == 5);
}

TEST_CASE("A reader refuses a field the key does not hold") {
  std::string key = KeyBuilder('m').U32(1).key();
  KeyReader reader(key);
  char kind;
  uint64_t v = 99;
  REQUIRE(reader.Kind(&kind));
  CHECK_FALSE(reader.U64(&v));
  CHECK(v == 99);
  std::string unterminated = "abc";
  std::string s;
  CHECK_FALSE(KeyReader(unterminated).Str(&s));
}

TEST_CASE("Eight bytes past the largest time a builder writes are not read as a time") {
  // KeyBuilder writes microseconds in [0, 2^63); before, 2^63 and above read
  // back as times before 1970, so two different keys held the same time.
  const absl::Time unchanged = absl::FromUnixSeconds(7);
  for (const std::string& key : {KeyBuilder('t').U64(uint64_t{1} << 63).key(),
                                 KeyBuilder('t').U64(~uint64_t{0}).key()}) {
    KeyReader reader(absl::string_view(key).substr(1));
    absl::Time t = unchanged;
    CHECK_FALSE(reader.Time(&t));
    CHECK(t == unchanged);
    // The refused field is still there to read as what it is.
    uint64_t raw;
    CHECK(reader.U64(&raw));
  }
  const std::string desc = KeyBuilder('t').U64Desc(uint64_t{1} << 63).key();
  absl::Time t = unchanged;
  CHECK_FALSE(KeyReader(absl::string_view(desc).substr(1)).TimeDesc(&t));
  CHECK(t == unchanged);
  // The largest time a builder writes still reads back.
  const absl::Time latest = absl::FromUnixMicros(std::numeric_limits<int64_t>::max());
  const std::string key = KeyBuilder('t').Time(latest).TimeDesc(latest).key();
  KeyReader reader(absl::string_view(key).substr(1));
  absl::Time a, b;
  CHECK((reader.Time(&a) && reader.TimeDesc(&b) && a == latest && b == latest));
}

}  // namespace
}  // namespace liaison
