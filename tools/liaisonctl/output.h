// How liaisonctl prints: the response as JSON for scripts (--json), or short
// human lines and tables; and how it reads enum values and text from the
// command line.
#ifndef LIAISON_TOOLS_LIAISONCTL_OUTPUT_H_
#define LIAISON_TOOLS_LIAISONCTL_OUTPUT_H_

#include <google/protobuf/generated_enum_reflection.h>
#include <google/protobuf/message.h>
#include <google/protobuf/timestamp.pb.h>

#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace liaison::ctl {

// Prints `message` on stdout in the proto3 JSON mapping (lowerCamelCase
// names, enums by name, 64-bit integers as strings), fields at their default
// value included so scripts need not guess. Indented, or one line
// (`one_line`, for streams: one object per line).
void PrintJson(const google::protobuf::Message& message, bool one_line = false);

// An enum value without its type prefix, lowercase with dashes:
// ACCOUNT_TIER_PREMIUM_CAREER -> "premium-career".
std::string ShortName(const google::protobuf::EnumDescriptor* type, int value);
template <typename E>
std::string ShortName(E value) {
  return ShortName(google::protobuf::GetEnumDescriptor<E>(), static_cast<int>(value));
}

// Reads an enum value given as "premium-career", "PREMIUM_CAREER" or
// "ACCOUNT_TIER_PREMIUM_CAREER" (any case). UsageError naming `what` and
// the choices otherwise; the UNSPECIFIED value is never accepted.
absl::StatusOr<int> ParseEnum(const google::protobuf::EnumDescriptor* type, const std::string& text,
                              absl::string_view what);
template <typename E>
absl::StatusOr<E> ParseEnum(const std::string& text, absl::string_view what) {
  auto value = ParseEnum(google::protobuf::GetEnumDescriptor<E>(), text, what);
  if (!value.ok()) return value.status();
  return static_cast<E>(*value);
}
// The accepted short names, comma-separated (for --help).
std::string Choices(const google::protobuf::EnumDescriptor* type);

// Local time: "2024-05-01 10:02" (empty when unset), "10:02:11", and
// "5m ago" style for lists.
std::string FormatTime(const google::protobuf::Timestamp& ts);
std::string FormatClock(const google::protobuf::Timestamp& ts);
std::string Ago(const google::protobuf::Timestamp& ts);

// The first line of `text`, cut to `max` characters with "...".
std::string Snippet(absl::string_view text, size_t max);

// Reads a message body from the command line: the text itself, or all of
// stdin for "-".
absl::StatusOr<std::string> BodyText(const std::string& argument);

// Columns aligned by characters (not bytes); the last is not padded.
class Table final {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.empty(); }
  // The header and rows, or `when_empty` on a line of its own.
  void Print(std::ostream& out, absl::string_view when_empty) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// "name:  value" lines with the values aligned; empty values are skipped.
void PrintFields(std::ostream& out, const std::vector<std::pair<std::string, std::string>>& fields);

// Tells the user (on stderr, so stdout stays a clean table) how to get the
// next page of a list.
void PrintMoreHint(const std::string& next_page_token);

}  // namespace liaison::ctl

#endif  // LIAISON_TOOLS_LIAISONCTL_OUTPUT_H_
