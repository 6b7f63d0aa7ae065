// StreamEvents cursors. Every stored event carries its member's next cursor,
// the decimal text of a per-member sequence number (1, 2, ...); a client
// that reconnects passes the last one it saw, unchanged. An empty cursor
// (or "0") asks for new events only.
#ifndef LIAISON_SERVICES_MESSAGING_EVENT_CURSOR_H_
#define LIAISON_SERVICES_MESSAGING_EVENT_CURSOR_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace liaison::messaging {

std::string FormatEventCursor(uint64_t cursor);

// The number in a cursor FormatEventCursor made, or 0 for an empty one.
// InvalidArgumentError for anything else: signs, spaces, leading zeros and
// values past 2^64-1 included, so every accepted text is exactly what
// FormatEventCursor gives for its number.
absl::StatusOr<uint64_t> ParseEventCursor(absl::string_view text);

}  // namespace liaison::messaging

#endif  // LIAISON_SERVICES_MESSAGING_EVENT_CURSOR_H_
