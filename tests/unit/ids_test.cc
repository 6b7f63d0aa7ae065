#include "common/ids.h"

#include <catch2/catch.hpp>

#include "tests/support/status_matchers.h"

namespace liaison {
namespace {

using testing::StatusIs;

TEST_CASE("Member ids parse from decimal strings from 1 to 2^63-1") {
  CHECK(ParseMemberId("1", "member_id").value() == 1);
  CHECK(ParseMemberId("42", "member_id").value() == 42);
  CHECK(ParseMemberId("9223372036854775807", "member_id").value() == kMaxMemberId);
  CHECK(FormatMemberId(42) == "42");
}

TEST_CASE("Malformed member ids are INVALID_ARGUMENT naming the field") {
  for (const char* bad : {"0", "01", "-1", "+1", " 1", "1 ", "abc", "1.5", "9223372036854775808",
                          "18446744073709551616", "99999999999999999999"}) {
    INFO(bad);
    CHECK_THAT(ParseMemberId(bad, "recipient_id"),
               StatusIs(absl::StatusCode::kInvalidArgument, "recipient_id"));
  }
  CHECK_THAT(ParseMemberId("", "member_id"),
             StatusIs(absl::StatusCode::kInvalidArgument, "member_id is empty"));
}

}  // namespace
}  // namespace liaison
