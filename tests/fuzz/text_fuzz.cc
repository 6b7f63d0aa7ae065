// ValidateText against a reference model: the first two bytes choose the
// rule (limit, required, multi-line), the rest is the text. The model
// decodes with fuzz_support's table-driven UTF-8 decoder, trims, looks for
// control characters and counts code points; the product must agree on
// every input, return exactly the trimmed text, and be idempotent.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/match.h"
#include "common/text.h"
#include "tests/fuzz/fuzz_support.h"

namespace liaison::fuzz {
namespace {

bool IsTrimmed(uint32_t cp) { return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r'; }

bool IsControl(uint32_t cp) { return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0); }

size_t Utf8Length(uint32_t cp) { return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4; }

// The model's answer: the trimmed text, or nullopt for an error.
std::optional<std::string> Expected(absl::string_view text, const TextRule& rule) {
  auto cps = DecodeUtf8(text);
  if (!cps) return std::nullopt;
  size_t first = 0, last = cps->size();
  while (first < last && IsTrimmed((*cps)[first])) ++first;
  while (last > first && IsTrimmed((*cps)[last - 1])) --last;
  if (first == last) return rule.required ? std::nullopt : std::optional<std::string>("");
  size_t begin_byte = 0, end_byte = 0;
  for (size_t i = 0; i < last; ++i) {
    const uint32_t cp = (*cps)[i];
    if (i < first) begin_byte += Utf8Length(cp);
    end_byte += Utf8Length(cp);
    const bool allowed = rule.multiline && (cp == '\n' || cp == '\t');
    if (i >= first && IsControl(cp) && !allowed) return std::nullopt;
  }
  if (last - first > rule.max_code_points) return std::nullopt;
  return std::string(text.substr(begin_byte, end_byte - begin_byte));
}

}  // namespace
}  // namespace liaison::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using liaison::fuzz::DecodeUtf8;
  if (size < 2) return 0;
  liaison::TextRule rule{"fuzzed field", /*max_code_points=*/data[0], (data[1] & 1) != 0,
                         (data[1] & 2) != 0};
  const absl::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);

  const auto expected = liaison::fuzz::Expected(text, rule);
  const auto got = liaison::ValidateText(text, rule);
  FUZZ_CHECK(got.ok() == expected.has_value());
  if (!got.ok()) {
    FUZZ_CHECK(liaison::fuzz::IsClientError(got.status(), absl::StatusCode::kInvalidArgument));
    FUZZ_CHECK(absl::StrContains(got.status().message(), rule.field));
  } else {
    FUZZ_CHECK(*got == *expected);
    // Valid text is already in its final form.
    const auto again = liaison::ValidateText(*got, rule);
    FUZZ_CHECK(again.ok() && *again == *got);
  }
  // CodePoints counts what the decoder counts, for any well-formed text.
  if (const auto cps = DecodeUtf8(text)) FUZZ_CHECK(liaison::CodePoints(text) == cps->size());
  return 0;
}
