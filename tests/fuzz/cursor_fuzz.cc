// StreamEvents cursors (services/messaging/event_cursor.h) on any text:
// accepted exactly when the text is empty or the decimal form of a uint64
// without sign, spaces or leading zeros, and then it formats back to
// itself; every uint64 survives FormatEventCursor -> ParseEventCursor.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "services/messaging/event_cursor.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

// 2^64-1 has 20 digits; a 20-digit text is in range when it sorts at or
// below it.
bool ModelAccepts(absl::string_view text) {
  if (text.empty() || text == "0") return true;
  if (text.size() > 20 || text[0] < '1' || text[0] > '9') return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return text.size() < 20 || text <= "18446744073709551615";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using liaison::messaging::FormatEventCursor;
  using liaison::messaging::ParseEventCursor;
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = ParseEventCursor(text);
  FUZZ_CHECK(parsed.ok() == ModelAccepts(text));
  if (parsed.ok()) {
    FUZZ_CHECK(text.empty() ? *parsed == 0 : FormatEventCursor(*parsed) == text);
  } else {
    FUZZ_CHECK(liaison::fuzz::IsClientError(parsed.status(), absl::StatusCode::kInvalidArgument));
  }
  if (size >= sizeof(uint64_t)) {
    uint64_t cursor;
    std::memcpy(&cursor, data, sizeof cursor);
    const auto back = ParseEventCursor(FormatEventCursor(cursor));
    FUZZ_CHECK(back.ok() && *back == cursor);
  }
  return 0;
}
