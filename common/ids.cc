#include "common/ids.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace liaison {

namespace {

const char* KindName(IdKind kind) {
  switch (kind) {
    case IdKind::kMember:
      return "member";
    case IdKind::kPage:
      return "page";
    case IdKind::kConversation:
      return "conversation";
  }
  return "member";
}

}  // namespace

absl::StatusOr<uint64_t> ParseId(absl::string_view text, absl::string_view field, IdKind kind) {
  const char* name = KindName(kind);
  if (text.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " is empty; give a ", name, " id such as \"42\""));
  }
  bool digits_only = text.size() <= 19;
  for (char c : text)
    digits_only = digits_only && absl::ascii_isdigit(static_cast<unsigned char>(c));
  uint64_t id = 0;
  if (!digits_only || text[0] == '0' || !absl::SimpleAtoi(text, &id) || id > kMaxMemberId) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " \"", absl::CHexEscape(text.substr(0, 40)), "\" is not a ", name,
                     " id; ", name, " ids are decimal numbers from 1 to ", kMaxMemberId,
                     " without sign, spaces or leading zeros"));
  }
  return id;
}

std::string FormatMemberId(MemberId id) { return absl::StrCat(id); }

}  // namespace liaison
