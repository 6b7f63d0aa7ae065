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

// What an id names, for error messages: pages and conversations have ids of
// the member id format.
enum class IdKind { kMember, kPage, kConversation };

// Parses a wire id of `kind`. `field` names the request field in the error.
// InvalidArgumentError with an actionable message for anything malformed,
// naming the field and the kind of id it wants.
absl::StatusOr<uint64_t> ParseId(absl::string_view text, absl::string_view field, IdKind kind);

inline absl::StatusOr<MemberId> ParseMemberId(absl::string_view text, absl::string_view field) {
  return ParseId(text, field, IdKind::kMember);
}
inline absl::StatusOr<uint64_t> ParsePageId(absl::string_view text, absl::string_view field) {
  return ParseId(text, field, IdKind::kPage);
}
inline absl::StatusOr<uint64_t> ParseConversationId(absl::string_view text,
                                                    absl::string_view field) {
  return ParseId(text, field, IdKind::kConversation);
}

std::string FormatMemberId(MemberId id);

}  // namespace liaison

#endif  // LIAISON_COMMON_IDS_H_
