// What every fuzz harness shares: FUZZ_CHECK, which stops the run on a
// broken property (libFuzzer then saves the input as a crash artifact), and
// reference models written apart from the code under test, so a harness
// compares two implementations instead of trusting one.
#ifndef LIAISON_TESTS_FUZZ_FUZZ_SUPPORT_H_
#define LIAISON_TESTS_FUZZ_FUZZ_SUPPORT_H_

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

#define FUZZ_CHECK(condition)                                                               \
  do {                                                                                      \
    if (!(condition)) {                                                                     \
      std::fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                         \
    }                                                                                       \
  } while (0)

namespace liaison::fuzz {

// The code points of well-formed UTF-8, by the table of well-formed byte
// sequences in the Unicode Standard (§3.9, table 3-7); nullopt otherwise.
inline std::optional<std::vector<uint32_t>> DecodeUtf8(absl::string_view s) {
  std::vector<uint32_t> out;
  const auto at = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  for (size_t i = 0; i < s.size();) {
    const uint8_t b = at(i);
    // The first byte decides the length and the range of the second byte.
    size_t len;
    uint8_t lo = 0x80, hi = 0xBF;
    if (b <= 0x7F) {
      out.push_back(b);
      ++i;
      continue;
    } else if (b >= 0xC2 && b <= 0xDF) {
      len = 2;
    } else if (b == 0xE0) {
      len = 3, lo = 0xA0;
    } else if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) {
      len = 3;
    } else if (b == 0xED) {
      len = 3, hi = 0x9F;
    } else if (b == 0xF0) {
      len = 4, lo = 0x90;
    } else if (b >= 0xF1 && b <= 0xF3) {
      len = 4;
    } else if (b == 0xF4) {
      len = 4, hi = 0x8F;
    } else {
      return std::nullopt;
    }
    if (s.size() - i < len || at(i + 1) < lo || at(i + 1) > hi) return std::nullopt;
    uint32_t cp = b & (0xFF >> (len + 1));
    for (size_t k = 1; k < len; ++k) {
      if (k > 1 && (at(i + k) < 0x80 || at(i + k) > 0xBF)) return std::nullopt;
      cp = (cp << 6) | (at(i + k) & 0x3F);
    }
    out.push_back(cp);
    i += len;
  }
  return out;
}

// What every error a client may see must be: a known code and a non-empty
// message that is valid UTF-8 (it travels in logs and in the status).
inline bool IsClientError(const absl::Status& status, absl::StatusCode code) {
  return status.code() == code && !status.message().empty() &&
         DecodeUtf8(status.message()).has_value();
}

}  // namespace liaison::fuzz

#endif  // LIAISON_TESTS_FUZZ_FUZZ_SUPPORT_H_
