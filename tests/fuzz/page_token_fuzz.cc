// Page tokens (common/pagination.h): a position survives EncodePageToken ->
// DecodePageToken for its list, a token of one list is refused by another,
// a made-up token is either refused with INVALID_ARGUMENT or decodes to a
// position that round-trips, and page sizes stay within 1..kMaxPageSize.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/match.h"
#include "common/pagination.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using liaison::DecodePageToken;
  using liaison::EncodePageToken;
  FuzzedDataProvider in(data, size);
  const std::string list = in.ConsumeRandomLengthString(16);
  const std::string other_list = in.ConsumeRandomLengthString(16);
  const std::string position = in.ConsumeRandomLengthString(64);
  const int requested = in.ConsumeIntegral<int>();
  const std::string token = in.ConsumeRemainingBytesAsString();

  const auto page_size = liaison::PageSize(requested);
  FUZZ_CHECK(page_size.ok() == (requested >= 0));
  if (page_size.ok()) {
    FUZZ_CHECK(*page_size >= 1 && *page_size <= liaison::kMaxPageSize);
    if (requested > 0 && requested <= liaison::kMaxPageSize) FUZZ_CHECK(*page_size == requested);
  }

  const auto first_page = DecodePageToken(list, "");
  FUZZ_CHECK(first_page.ok() && first_page->empty());

  if (!position.empty()) {
    const std::string encoded = EncodePageToken(list, position);
    const auto decoded = DecodePageToken(list, encoded);
    FUZZ_CHECK(decoded.ok() && *decoded == position);
    // List names are fixed words without ':'; between two of them a token
    // never crosses over.
    if (list != other_list && !absl::StrContains(list, ':') &&
        !absl::StrContains(other_list, ':')) {
      const auto crossed = DecodePageToken(other_list, encoded);
      FUZZ_CHECK(
          liaison::fuzz::IsClientError(crossed.status(), absl::StatusCode::kInvalidArgument));
    }
  }

  const auto made_up = DecodePageToken(list, token);
  if (made_up.ok()) {
    FUZZ_CHECK(!made_up->empty() || token.empty());
    if (!made_up->empty()) {
      const auto again = DecodePageToken(list, EncodePageToken(list, *made_up));
      FUZZ_CHECK(again.ok() && *again == *made_up);
    }
  } else {
    FUZZ_CHECK(liaison::fuzz::IsClientError(made_up.status(), absl::StatusCode::kInvalidArgument));
  }
  return 0;
}
