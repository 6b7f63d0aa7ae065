#include "services/messaging/event_cursor.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace liaison::messaging {

std::string FormatEventCursor(uint64_t cursor) { return absl::StrCat(cursor); }

absl::StatusOr<uint64_t> ParseEventCursor(absl::string_view text) {
  if (text.empty()) return 0;
  // SimpleAtoi alone would take " 5" or "+5": only the canonical text is a
  // cursor this stream sent.
  bool canonical = text.size() == 1 || text[0] != '0';
  for (char c : text) canonical = canonical && absl::ascii_isdigit(static_cast<unsigned char>(c));
  uint64_t cursor = 0;
  if (!canonical || !absl::SimpleAtoi(text, &cursor)) {
    return absl::InvalidArgumentError(
        "cursor is not one this stream sent; pass the last event's cursor unchanged, or none");
  }
  return cursor;
}

}  // namespace liaison::messaging
