#include "common/auth.h"

#include <catch2/catch.hpp>
#include <fstream>

#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace liaison {
namespace {

using testing::StatusIs;

const std::string kKey = "unit-test-signing-key-0123456789abcdef";
const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

std::string Bearer(const std::string& token) { return "Bearer " + token; }

TEST_CASE("A member token verifies to that member") {
  ManualClock clock(kNow);
  TokenMinter minter(kKey, &clock);
  TokenVerifier verifier(kKey, &clock);
  auto caller = verifier.Verify(Bearer(minter.MintMember(42, absl::Minutes(5)).value()));
  REQUIRE(caller.ok());
  CHECK(caller->is_member());
  CHECK(caller->member_id == 42);
}

TEST_CASE("A service token verifies to that service") {
  ManualClock clock(kNow);
  TokenMinter minter(kKey, &clock);
  TokenVerifier verifier(kKey, &clock);
  auto caller = verifier.Verify(Bearer(minter.MintService("messaging", absl::Minutes(5)).value()));
  REQUIRE(caller.ok());
  CHECK(caller->is_service());
  CHECK(caller->service == "messaging");
}

TEST_CASE("A token is accepted until the second it expires") {
  ManualClock clock(kNow);
  TokenMinter minter(kKey, &clock);
  TokenVerifier verifier(kKey, &clock);
  std::string token = Bearer(minter.MintMember(7, absl::Seconds(60)).value());
  clock.Advance(absl::Seconds(59));
  CHECK(verifier.Verify(token).ok());
  clock.Advance(absl::Seconds(1));
  CHECK_THAT(verifier.Verify(token), StatusIs(absl::StatusCode::kUnauthenticated, "expired"));
}

TEST_CASE("Missing, malformed and forged tokens are UNAUTHENTICATED") {
  ManualClock clock(kNow);
  TokenVerifier verifier(kKey, &clock);
  TokenMinter forger("another-key-that-is-long-enough-0123456789", &clock);
  TokenMinter minter(kKey, &clock);
  CHECK_THAT(verifier.Verify(""), StatusIs(absl::StatusCode::kUnauthenticated, "missing"));
  CHECK_THAT(verifier.Verify("Basic dXNlcjpwYXNz"),
             StatusIs(absl::StatusCode::kUnauthenticated, "Bearer"));
  CHECK_THAT(verifier.Verify("Bearer not.a.jwt"), StatusIs(absl::StatusCode::kUnauthenticated));
  CHECK_THAT(verifier.Verify(Bearer(forger.MintMember(42, absl::Hours(1)).value())),
             StatusIs(absl::StatusCode::kUnauthenticated, "signature"));
  // A valid token with one character of its signature changed.
  std::string token = minter.MintMember(42, absl::Hours(1)).value();
  token.back() = token.back() == 'A' ? 'B' : 'A';
  CHECK_THAT(verifier.Verify(Bearer(token)), StatusIs(absl::StatusCode::kUnauthenticated));
  // alg "none": {"alg":"none","typ":"JWT"}.{"sub":"42","exp":4000000000}.
  CHECK_THAT(verifier.Verify("Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0."
                             "eyJzdWIiOiI0MiIsImV4cCI6NDAwMDAwMDAwMH0."),
             StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_CASE("Tokens with a bad subject are UNAUTHENTICATED") {
  ManualClock clock(kNow);
  TokenMinter minter(kKey, &clock);
  TokenVerifier verifier(kKey, &clock);
  for (const char* sub : {"0", "alice", "svc:", "svc:Bad_Name", "-3"}) {
    INFO(sub);
    CHECK_THAT(verifier.Verify(Bearer(minter.Mint(sub, kNow + absl::Hours(1)).value())),
               StatusIs(absl::StatusCode::kUnauthenticated));
  }
}

TEST_CASE("Signing keys shorter than 32 bytes are refused") {
  testing::TempDir dir;
  std::ofstream(dir.Sub("short")) << "too-short\n";
  std::ofstream(dir.Sub("good")) << kKey << "\n";
  CHECK_THAT(ReadSigningKey(dir.Sub("short")),
             StatusIs(absl::StatusCode::kInvalidArgument, "at least 32"));
  CHECK_THAT(ReadSigningKey(dir.Sub("missing")), StatusIs(absl::StatusCode::kInvalidArgument));
  CHECK(ReadSigningKey(dir.Sub("good")).value() == kKey);
}

TEST_CASE("Service names in minted tokens are validated") {
  ManualClock clock(kNow);
  TokenMinter minter(kKey, &clock);
  CHECK_THAT(minter.MintService("Bad Name", absl::Hours(1)),
             StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace liaison
