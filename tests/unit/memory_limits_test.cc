#include "common/memory_limits.h"

#include <catch2/catch.hpp>

#include "tests/support/status_matchers.h"

namespace liaison {
namespace {

using testing::StatusIs;

TEST_CASE("gRPC's memory quota must hold twice the largest message allowed") {
  grpc::ServerBuilder builder;
  CHECK(ApplyGrpcMemoryQuota(64, 4 << 20, &builder).ok());
  CHECK(ApplyGrpcMemoryQuota(8, 4 << 20, &builder).ok());
  CHECK_THAT(ApplyGrpcMemoryQuota(8, (4 << 20) + 1, &builder),
             StatusIs(absl::StatusCode::kInvalidArgument, "--grpc-memory-mb (8 MiB)"));
  CHECK_THAT(ApplyGrpcMemoryQuota(64, 64 << 20, &builder),
             StatusIs(absl::StatusCode::kInvalidArgument, "--max-message-bytes (67108864 bytes)"));
}

TEST_CASE("The heap trimmer stops when destroyed") {
  // A period far longer than the test: destruction must not wait for it.
  HeapTrimmer trimmer(size_t{16} << 20, absl::Hours(1));
}

}  // namespace
}  // namespace liaison
