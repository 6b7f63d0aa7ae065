#include "common/text.h"

#include <catch2/catch.hpp>

#include "common/pagination.h"
#include "tests/support/status_matchers.h"

namespace liaison {
namespace {

using testing::StatusIs;
const TextRule kNote{"note", 5, false, true};
const TextRule kName{"name", 5};

TEST_CASE("Text is trimmed and measured in code points, at the limit and one past it") {
  CHECK(ValidateText("  hello \n", kName).value() == "hello");
  CHECK(ValidateText("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", kName).value().size() == 10);
  CHECK(ValidateText("\xf0\x9f\x98\x80"
                     "abcd",
                     kName)
            .ok());  // emoji + 4 = 5
  CHECK_THAT(ValidateText("abcdef", kName),
             StatusIs(absl::StatusCode::kInvalidArgument, "name is 6 characters; the limit is 5"));
  CHECK(CodePoints("\xf0\x9f\x98\x80") == 1);
}

TEST_CASE("Empty text is an error only where text is required") {
  CHECK_THAT(ValidateText(" \t ", kName),
             StatusIs(absl::StatusCode::kInvalidArgument, "name is empty"));
  CHECK(ValidateText("", kNote).value().empty());
}

TEST_CASE("Control characters are refused - newline and tab only in multi-line text") {
  CHECK(ValidateText("a\nb\tc", kNote).ok());
  CHECK_THAT(ValidateText("a\nb", kName), StatusIs(absl::StatusCode::kInvalidArgument, "U+000A"));
  CHECK_THAT(ValidateText("a\rb", kNote), StatusIs(absl::StatusCode::kInvalidArgument, "U+000D"));
  CHECK_THAT(ValidateText(std::string("a\0b", 3), kNote),
             StatusIs(absl::StatusCode::kInvalidArgument, "U+0000"));
  CHECK_THAT(ValidateText("a\x7f", kNote), StatusIs(absl::StatusCode::kInvalidArgument, "U+007F"));
  CHECK_THAT(ValidateText("a\xc2\x85", kNote),
             StatusIs(absl::StatusCode::kInvalidArgument, "U+0085"));
}

TEST_CASE("Malformed UTF-8 is refused") {
  for (const char* bad :
       {"\xff", "\xc3", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "a\x80"}) {
    INFO(bad);
    CHECK_THAT(ValidateText(bad, kNote), StatusIs(absl::StatusCode::kInvalidArgument, "UTF-8"));
  }
}

TEST_CASE("Page sizes default, clamp, and refuse negatives") {
  CHECK(PageSize(0).value() == kDefaultPageSize);
  CHECK(PageSize(7).value() == 7);
  CHECK(PageSize(kMaxPageSize + 1).value() == kMaxPageSize);
  CHECK_THAT(PageSize(-1), StatusIs(absl::StatusCode::kInvalidArgument, "page_size is -1"));
}

TEST_CASE("Page tokens round-trip for their own list only") {
  const std::string token = EncodePageToken("connections", std::string("\0\x01pos", 5));
  CHECK(DecodePageToken("connections", token).value() == std::string("\0\x01pos", 5));
  CHECK(DecodePageToken("connections", "").value().empty());
  CHECK_THAT(DecodePageToken("blocked", token), StatusIs(absl::StatusCode::kInvalidArgument));
  CHECK_THAT(DecodePageToken("connections", "!!not base64!!"),
             StatusIs(absl::StatusCode::kInvalidArgument, "page_token"));
}

}  // namespace
}  // namespace liaison
