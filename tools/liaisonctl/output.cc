#include "tools/liaisonctl/output.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <iostream>
#include <iterator>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "tools/liaisonctl/client.h"

namespace liaison::ctl {
namespace {

// Every Liaison enum starts with <TYPE>_UNSPECIFIED = 0; its prefix is the
// type's own.
std::string Prefix(const google::protobuf::EnumDescriptor* type) {
  const std::string& zero = type->FindValueByNumber(0)->name();
  return zero.substr(0, zero.size() - std::string("UNSPECIFIED").size());
}

size_t Width(absl::string_view text) {
  // Code points: close enough to columns for names and snippets.
  size_t n = 0;
  for (char c : text) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

}  // namespace

void PrintJson(const google::protobuf::Message& message, bool one_line) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = !one_line;
  options.always_print_primitive_fields = true;
  std::string json;
  // Only a message with an unknown Any could fail; ours have none.
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!json.empty() && json.back() == '\n') json.pop_back();
  std::cout << json << std::endl;
}

std::string ShortName(const google::protobuf::EnumDescriptor* type, int value) {
  const auto* v = type->FindValueByNumber(value);
  if (v == nullptr) return absl::StrCat(value);
  std::string name = v->name();
  const std::string prefix = Prefix(type);
  if (absl::StartsWith(name, prefix)) name = name.substr(prefix.size());
  return absl::StrReplaceAll(absl::AsciiStrToLower(name), {{"_", "-"}});
}

std::string Choices(const google::protobuf::EnumDescriptor* type) {
  std::vector<std::string> names;
  for (int i = 0; i < type->value_count(); ++i) {
    if (type->value(i)->number() != 0) names.push_back(ShortName(type, type->value(i)->number()));
  }
  return absl::StrJoin(names, ", ");
}

absl::StatusOr<int> ParseEnum(const google::protobuf::EnumDescriptor* type, const std::string& text,
                              absl::string_view what) {
  std::string name = absl::StrReplaceAll(absl::AsciiStrToUpper(text), {{"-", "_"}});
  const std::string prefix = Prefix(type);
  if (!absl::StartsWith(name, prefix)) name = prefix + name;
  const auto* v = type->FindValueByName(name);
  if (v == nullptr || v->number() == 0) {
    return UsageError(absl::StrCat("unknown ", what, " \"", text, "\"; one of: ", Choices(type)));
  }
  return v->number();
}

std::string FormatTime(const google::protobuf::Timestamp& ts) {
  if (ts.seconds() == 0 && ts.nanos() == 0) return "";
  return absl::FormatTime("%Y-%m-%d %H:%M", FromTimestamp(ts), absl::LocalTimeZone());
}

std::string FormatClock(const google::protobuf::Timestamp& ts) {
  return absl::FormatTime("%H:%M:%S", FromTimestamp(ts), absl::LocalTimeZone());
}

std::string Ago(const google::protobuf::Timestamp& ts) {
  if (ts.seconds() == 0 && ts.nanos() == 0) return "";
  const absl::Duration age = absl::Now() - FromTimestamp(ts);
  if (age < absl::Minutes(1)) return "just now";
  if (age < absl::Hours(1)) return absl::StrCat(absl::ToInt64Minutes(age), "m ago");
  if (age < absl::Hours(24)) return absl::StrCat(absl::ToInt64Hours(age), "h ago");
  if (age < absl::Hours(24 * 7)) return absl::StrCat(absl::ToInt64Hours(age) / 24, "d ago");
  return absl::FormatTime("%Y-%m-%d", FromTimestamp(ts), absl::LocalTimeZone());
}

std::string Snippet(absl::string_view text, size_t max) {
  bool cut = false;
  const size_t newline = text.find('\n');
  if (newline != absl::string_view::npos) {
    text = text.substr(0, newline);
    cut = true;
  }
  std::string out;
  size_t n = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const bool starts_char = (static_cast<unsigned char>(text[i]) & 0xC0) != 0x80;
    if (starts_char && ++n > max) {
      cut = true;
      break;
    }
    out.push_back(text[i] == '\t' ? ' ' : text[i]);
  }
  return cut ? out + "..." : out;
}

absl::StatusOr<std::string> BodyText(const std::string& argument) {
  if (argument != "-") return argument;
  std::string text(std::istreambuf_iterator<char>(std::cin), {});
  // A shell's trailing newline is not part of the message.
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

void Table::Print(std::ostream& out, absl::string_view when_empty) const {
  if (rows_.empty()) {
    out << when_empty << "\n";
    return;
  }
  std::vector<size_t> widths(header_.size(), 0);
  auto measure = [&widths](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], Width(row[i]));
    }
  };
  measure(header_);
  for (const auto& row : rows_) measure(row);
  auto print = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - Width(row[i]) + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();  // an empty last column
    out << line << "\n";
  };
  print(header_);
  for (const auto& row : rows_) print(row);
}

void PrintFields(std::ostream& out,
                 const std::vector<std::pair<std::string, std::string>>& fields) {
  size_t width = 0;
  for (const auto& [name, value] : fields) {
    if (!value.empty()) width = std::max(width, name.size());
  }
  for (const auto& [name, value] : fields) {
    if (value.empty()) continue;
    out << name << ":" << std::string(width - name.size() + 2, ' ') << value << "\n";
  }
}

void PrintMoreHint(const std::string& next_page_token) {
  if (next_page_token.empty()) return;
  std::cerr << "(more: add --page-token " << next_page_token << ")" << std::endl;
}

}  // namespace liaison::ctl
