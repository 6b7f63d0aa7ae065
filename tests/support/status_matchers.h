// Catch2 matchers for statuses: CHECK_THAT(status, StatusIs(code)) and
// StatusIs(code, "substring of the message"), for absl::Status,
// absl::StatusOr and grpc::Status alike.
#ifndef LIAISON_TESTS_SUPPORT_STATUS_MATCHERS_H_
#define LIAISON_TESTS_SUPPORT_STATUS_MATCHERS_H_

#include <grpcpp/support/status.h>

#include <catch2/catch.hpp>
#include <sstream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"

namespace liaison::testing {

struct AnyStatus {
  int code;
  std::string message;
  AnyStatus(const absl::Status& s) : code(static_cast<int>(s.code())), message(s.message()) {}
  template <typename T>
  AnyStatus(const absl::StatusOr<T>& s) : AnyStatus(s.status()) {}
  AnyStatus(const grpc::Status& s)
      : code(static_cast<int>(s.error_code())), message(s.error_message()) {}
};

class StatusIsMatcher final : public Catch::MatcherBase<AnyStatus> {
 public:
  StatusIsMatcher(absl::StatusCode code, std::string substring)
      : code_(code), substring_(std::move(substring)) {}

  bool match(const AnyStatus& status) const override {
    return status.code == static_cast<int>(code_) && absl::StrContains(status.message, substring_);
  }
  std::string describe() const override {
    std::ostringstream out;
    out << "has code " << absl::StatusCodeToString(code_);
    if (!substring_.empty()) out << " and a message containing \"" << substring_ << "\"";
    return out.str();
  }

 private:
  absl::StatusCode code_;
  std::string substring_;
};

inline StatusIsMatcher StatusIs(absl::StatusCode code, std::string substring = "") {
  return StatusIsMatcher(code, std::move(substring));
}

inline StatusIsMatcher IsOk() { return StatusIsMatcher(absl::StatusCode::kOk, ""); }

}  // namespace liaison::testing

namespace Catch {
template <>
struct StringMaker<grpc::Status> {
  static std::string convert(const grpc::Status& s) {
    return absl::StatusCodeToString(static_cast<absl::StatusCode>(s.error_code())) + ": " +
           s.error_message();
  }
};
template <typename T>
struct StringMaker<absl::StatusOr<T>> {
  static std::string convert(const absl::StatusOr<T>& s) { return s.status().ToString(); }
};
template <>
struct StringMaker<liaison::testing::AnyStatus> {
  static std::string convert(const liaison::testing::AnyStatus& s) {
    return absl::StatusCodeToString(static_cast<absl::StatusCode>(s.code)) + ": " + s.message;
  }
};
}  // namespace Catch

#endif  // LIAISON_TESTS_SUPPORT_STATUS_MATCHERS_H_
