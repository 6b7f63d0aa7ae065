#include "services/messaging/event_cursor.h"

#include <catch2/catch.hpp>

#include "tests/support/status_matchers.h"

namespace liaison::messaging {
namespace {

using testing::StatusIs;

TEST_CASE("An event cursor reads back as the number it was made from") {
  for (uint64_t cursor : {uint64_t{1}, uint64_t{42}, ~uint64_t{0}}) {
    CHECK(ParseEventCursor(FormatEventCursor(cursor)).value() == cursor);
  }
  CHECK(ParseEventCursor("").value() == 0);
  CHECK(ParseEventCursor("0").value() == 0);
}

TEST_CASE("Only the exact text of a cursor is accepted, not what SimpleAtoi would read") {
  for (const char* bad : {" 5", "5 ", "+5", "-5", "05", "00", "5\n", "0x5", "1e3", "five",
                          "18446744073709551616", "99999999999999999999"}) {
    INFO(bad);
    CHECK_THAT(ParseEventCursor(bad), StatusIs(absl::StatusCode::kInvalidArgument, "cursor"));
  }
}

}  // namespace
}  // namespace liaison::messaging
