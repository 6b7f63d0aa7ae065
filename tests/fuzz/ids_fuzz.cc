// Wire ids (member, page, conversation) on any text, against a model of
// the wire form (a decimal number from 1 to 2^63-1, no sign, spaces or
// leading zeros): an accepted id formats back to exactly the text it came
// from, every kind accepts the same texts, and every id in range survives
// FormatMemberId -> ParseMemberId.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "common/ids.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

// 2^63-1 has 19 digits; a 19-digit text is in range when it sorts at or
// below it (same length, so text order is number order).
bool ModelAccepts(absl::string_view text) {
  if (text.empty() || text.size() > 19 || text[0] < '1' || text[0] > '9') return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return text.size() < 19 || text <= "9223372036854775807";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = liaison::ParseMemberId(text, "member_id");
  FUZZ_CHECK(parsed.ok() == ModelAccepts(text));
  if (parsed.ok()) {
    FUZZ_CHECK(*parsed >= 1 && *parsed <= liaison::kMaxMemberId);
    FUZZ_CHECK(liaison::FormatMemberId(*parsed) == text);
  } else {
    FUZZ_CHECK(liaison::fuzz::IsClientError(parsed.status(), absl::StatusCode::kInvalidArgument));
  }
  // Page and conversation ids have the same form: the same texts, the same
  // numbers; only the error's words differ, and they name the field.
  const std::pair<absl::StatusOr<uint64_t>, const char*> others[] = {
      {liaison::ParsePageId(text, "page_id"), "page_id"},
      {liaison::ParseConversationId(text, "conversation_id"), "conversation_id"}};
  for (const auto& [other, field] : others) {
    FUZZ_CHECK(other.ok() == parsed.ok());
    if (other.ok()) FUZZ_CHECK(*other == *parsed);
    if (!other.ok()) {
      FUZZ_CHECK(liaison::fuzz::IsClientError(other.status(), absl::StatusCode::kInvalidArgument));
      FUZZ_CHECK(absl::StrContains(other.status().message(), field));
    }
  }

  // The first eight bytes as a number: in range, it round-trips; 0 and
  // anything above 2^63-1 is refused.
  if (size >= sizeof(uint64_t)) {
    uint64_t id;
    std::memcpy(&id, data, sizeof id);
    const auto back = liaison::ParseMemberId(liaison::FormatMemberId(id), "other_member_id");
    const bool in_range = id >= 1 && id <= liaison::kMaxMemberId;
    FUZZ_CHECK(back.ok() == in_range);
    if (in_range) FUZZ_CHECK(*back == id);
  }
  return 0;
}
