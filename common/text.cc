#include "common/text.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace liaison {
namespace {

// Decodes one code point at `i`; returns its length, or 0 if the bytes there
// are not well-formed UTF-8 (overlong forms and surrogates included).
size_t DecodeUtf8(absl::string_view s, size_t i, uint32_t* cp) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t b0 = byte(i);
  size_t len;
  uint32_t min;
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  } else if ((b0 & 0xE0) == 0xC0) {
    len = 2, min = 0x80, *cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, min = 0x800, *cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, min = 0x10000, *cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    *cp = (*cp << 6) | (byte(i + k) & 0x3F);
  }
  if (*cp < min || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF)) return 0;
  return len;
}

bool IsSpace(uint32_t cp) { return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r'; }

}  // namespace

size_t CodePoints(absl::string_view utf8) {
  size_t n = 0;
  for (char c : utf8) n += (static_cast<uint8_t>(c) & 0xC0) != 0x80;
  return n;
}

absl::StatusOr<std::string> ValidateText(absl::string_view text, const TextRule& rule) {
  // Well-formed UTF-8 first, finding where the text proper starts and ends.
  size_t first = text.size(), last = 0;
  for (size_t i = 0; i < text.size();) {
    uint32_t cp = 0;
    const size_t len = DecodeUtf8(text, i, &cp);
    if (len == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(rule.field, " is not valid UTF-8 (at byte ", i, ")"));
    }
    if (!IsSpace(cp)) {
      if (first == text.size()) first = i;
      last = i + len;
    }
    i += len;
  }
  if (first == text.size()) {
    if (rule.required) return absl::InvalidArgumentError(absl::StrCat(rule.field, " is empty"));
    return std::string();
  }
  // Surrounding whitespace is trimmed; inside, no control characters but
  // newline and tab, and those only in multi-line text.
  const absl::string_view trimmed = text.substr(first, last - first);
  size_t count = 0;
  for (size_t i = 0; i < trimmed.size(); ++count) {
    uint32_t cp = 0;
    i += DecodeUtf8(trimmed, i, &cp);
    const bool allowed_whitespace = rule.multiline && (cp == '\n' || cp == '\t');
    if ((cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0)) && !allowed_whitespace) {
      return absl::InvalidArgumentError(
          absl::StrCat(rule.field, " contains a control character (U+",
                       absl::AsciiStrToUpper(absl::StrCat(absl::Hex(cp, absl::kZeroPad4))), ")",
                       rule.multiline ? "; only newline and tab are allowed" : ""));
    }
  }
  if (count > rule.max_code_points) {
    return absl::InvalidArgumentError(absl::StrCat(
        rule.field, " is ", count, " characters; the limit is ", rule.max_code_points));
  }
  return std::string(trimmed);
}

}  // namespace liaison
