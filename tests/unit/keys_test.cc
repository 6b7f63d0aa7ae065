#include "common/keys.h"

#include <catch2/catch.hpp>

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

}  // namespace
}  // namespace liaison
