// Opaque page tokens and page sizes, one way for every list. A token is the
// position to resume after, tagged with the list it belongs to, so a token
// from one list (or a made-up one) is INVALID_ARGUMENT elsewhere.
#ifndef LIAISON_COMMON_PAGINATION_H_
#define LIAISON_COMMON_PAGINATION_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace liaison {

inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 1000;

// 0 -> the default; above the maximum -> the maximum; negative -> error.
absl::StatusOr<int> PageSize(int requested);

std::string EncodePageToken(absl::string_view list, absl::string_view position);

// The position inside a token EncodePageToken made for `list`; empty for an
// empty token (the first page).
absl::StatusOr<std::string> DecodePageToken(absl::string_view list, absl::string_view token);

}  // namespace liaison

#endif  // LIAISON_COMMON_PAGINATION_H_
