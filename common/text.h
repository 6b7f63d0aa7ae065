// User text, validated the same way everywhere (DESIGN.md §4 "Messages"):
// valid UTF-8, trimmed, no control characters but newline and tab (and those
// only where a field allows several lines), length in Unicode code points.
#ifndef LIAISON_COMMON_TEXT_H_
#define LIAISON_COMMON_TEXT_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace liaison {

struct TextRule {
  const char* field;       // Named in errors: "InMail subject", "note".
  size_t max_code_points;  // Inclusive.
  bool required = true;    // Empty (after trimming) is an error.
  bool multiline = false;  // Newline and tab allowed.
};

// Returns the trimmed text, or InvalidArgumentError saying what is wrong and
// what the limit is ("note is 201 characters; the limit is 200").
absl::StatusOr<std::string> ValidateText(absl::string_view text, const TextRule& rule);

// Number of code points in valid UTF-8.
size_t CodePoints(absl::string_view utf8);

}  // namespace liaison

#endif  // LIAISON_COMMON_TEXT_H_
