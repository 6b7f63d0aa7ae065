// Member ids. On the wire a member id is a string holding a decimal number
// from 1 to 2^63-1 without sign or leading zeros ("42"). In storage it is a
// fixed-width big-endian uint64, so a member's records sort together and a
// stable hash of the id can pick the member's shard.
#ifndef LIAISON_COMMON_IDS_H_
#define LIAISON_COMMON_IDS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace liaison {

using MemberId = uint64_t;

inline constexpr MemberId kMaxMemberId = (uint64_t{1} << 63) - 1;

// Parses a wire member id. `field` names the request field in the error.
// InvalidArgumentError with an actionable message for anything malformed.
absl::StatusOr<MemberId> ParseMemberId(absl::string_view text, absl::string_view field);

std::string FormatMemberId(MemberId id);

}  // namespace liaison

#endif  // LIAISON_COMMON_IDS_H_
