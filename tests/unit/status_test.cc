#include "common/status.h"

#include <catch2/catch.hpp>

namespace liaison {
namespace {

absl::Status FailsWith(absl::Status s) {
  RETURN_IF_ERROR(s);
  return absl::OkStatus();
}

absl::StatusOr<int> Doubled(absl::StatusOr<int> v) {
  ASSIGN_OR_RETURN(int x, v);
  return 2 * x;
}

TEST_CASE("Status codes map one to one onto gRPC codes, with the message") {
  grpc::Status s = ToGrpcStatus(absl::FailedPreconditionError("no credits left"));
  CHECK(s.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(s.error_message() == "no credits left");
  CHECK(ToGrpcStatus(absl::OkStatus()).ok());
  for (int code = 1; code <= 16; ++code) {
    absl::Status in(static_cast<absl::StatusCode>(code), "m");
    CHECK(static_cast<int>(ToGrpcStatus(in).error_code()) == code);
    CHECK(FromGrpcStatus(ToGrpcStatus(in)).code() == in.code());
  }
}

TEST_CASE("Internal errors never reach the client with their details") {
  grpc::Status s = ToGrpcStatus(absl::InternalError("IO error: /var/lib/liaison/000012.sst"));
  CHECK(s.error_code() == grpc::StatusCode::INTERNAL);
  CHECK(s.error_message().find("/var/lib") == std::string::npos);
  CHECK(ToGrpcStatus(absl::DataLossError("Corruption: block checksum at /x/y.sst"))
            .error_message()
            .find("/x/y") == std::string::npos);
}

TEST_CASE("RETURN_IF_ERROR and ASSIGN_OR_RETURN pass errors up and values on") {
  CHECK(FailsWith(absl::OkStatus()).ok());
  CHECK(FailsWith(absl::AbortedError("retry")).code() == absl::StatusCode::kAborted);
  CHECK(Doubled(21).value() == 42);
  CHECK(Doubled(absl::NotFoundError("x")).status().code() == absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace liaison
