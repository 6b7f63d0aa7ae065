#include "common/auth.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <string>
#include <vector>

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

TEST_CASE("A remembered token still expires when the clock passes its exp") {
  ManualClock clock(kNow);
  TokenMinter minter(kKey, &clock);
  TokenVerifier verifier(kKey, &clock);
  std::string token = Bearer(minter.MintMember(7, absl::Seconds(60)).value());
  REQUIRE(verifier.Verify(token).ok());
  REQUIRE(verifier.cached_tokens() == 1);
  clock.Advance(absl::Seconds(59));
  CHECK(verifier.Verify(token).ok());
  clock.Advance(absl::Seconds(1));
  CHECK_THAT(verifier.Verify(token), StatusIs(absl::StatusCode::kUnauthenticated, "expired"));
  // Turning the clock back does not make an expired token fail forever: it
  // is judged against the clock on each call, cached or not.
  clock.Set(kNow);
  CHECK(verifier.Verify(token).ok());
}

TEST_CASE("A token one signature byte away from a remembered one is refused") {
  ManualClock clock(kNow);
  TokenMinter minter(kKey, &clock);
  TokenVerifier verifier(kKey, &clock);
  const std::string token = minter.MintMember(42, absl::Hours(1)).value();
  REQUIRE(verifier.Verify(Bearer(token)).ok());
  const size_t signature = token.rfind('.') + 1;
  // A character in the middle of the signature, and the last one.
  for (size_t at : {signature + (token.size() - signature) / 2, token.size() - 1}) {
    INFO(at);
    std::string forged = token;
    forged[at] = forged[at] == 'A' ? 'B' : 'A';
    CHECK_THAT(verifier.Verify(Bearer(forged)), StatusIs(absl::StatusCode::kUnauthenticated));
  }
  CHECK(verifier.cached_tokens() == 1);
  CHECK(verifier.Verify(Bearer(token)).value().member_id == 42);
}

TEST_CASE("Tokens that fail are never remembered") {
  ManualClock clock(kNow);
  TokenMinter minter(kKey, &clock);
  TokenMinter forger("another-key-that-is-long-enough-0123456789", &clock);
  TokenVerifier verifier(kKey, &clock);
  const std::string forged = Bearer(forger.MintMember(42, absl::Hours(1)).value());
  const std::string bad_subject =
      Bearer(minter.Mint("svc:Bad_Name", kNow + absl::Hours(1)).value());
  const std::string expired = Bearer(minter.Mint("42", kNow).value());
  for (int i = 0; i < 2; ++i) {
    CHECK_THAT(verifier.Verify(forged), StatusIs(absl::StatusCode::kUnauthenticated, "signature"));
    CHECK_THAT(verifier.Verify(bad_subject), StatusIs(absl::StatusCode::kUnauthenticated));
    CHECK_THAT(verifier.Verify(expired), StatusIs(absl::StatusCode::kUnauthenticated, "expired"));
  }
  CHECK(verifier.cached_tokens() == 0);
}

TEST_CASE("The verified-token cache stays within its bound under many distinct tokens") {
  ManualClock clock(kNow);
  TokenMinter minter(kKey, &clock);
  constexpr size_t kBound = 64;
  TokenVerifier verifier(kKey, &clock, kBound);
  std::vector<std::string> tokens;
  for (MemberId member = 1; member <= 1000; ++member) {
    tokens.push_back(Bearer(minter.MintMember(member, absl::Hours(1)).value()));
    REQUIRE(verifier.Verify(tokens.back()).value().member_id == member);
    REQUIRE(verifier.cached_tokens() <= kBound);
  }
  CHECK(verifier.cached_tokens() > 0);
  // Forgotten tokens are verified again, not refused.
  for (MemberId member = 1; member <= 1000; ++member) {
    CHECK(verifier.Verify(tokens[member - 1]).value().member_id == member);
  }
  CHECK(verifier.cached_tokens() <= kBound);

  TokenVerifier uncached(kKey, &clock, 0);
  CHECK(uncached.Verify(tokens.front()).ok());
  CHECK(uncached.cached_tokens() == 0);
}

TEST_CASE("Member and service access checks apply to remembered tokens") {
  ManualClock clock(kNow);
  TokenMinter minter(kKey, &clock);
  TokenVerifier verifier(kKey, &clock);
  const std::string member = Bearer(minter.MintMember(42, absl::Hours(1)).value());
  const std::string service = Bearer(minter.MintService("messaging", absl::Hours(1)).value());
  for (int round = 0; round < 2; ++round) {  // the second round is served from the cache
    INFO(round);
    CHECK(verifier.Authorize(member, Access::kMember).value().member_id == 42);
    CHECK(verifier.Authorize(member, Access::kMemberOrService).ok());
    CHECK_THAT(verifier.Authorize(member, Access::kService),
               StatusIs(absl::StatusCode::kPermissionDenied, "service token"));
    CHECK(verifier.Authorize(service, Access::kService).value().service == "messaging");
    CHECK(verifier.Authorize(service, Access::kMemberOrService).ok());
    CHECK_THAT(verifier.Authorize(service, Access::kMember),
               StatusIs(absl::StatusCode::kPermissionDenied, "member token"));
  }
  CHECK(verifier.cached_tokens() == 2);
}

}  // namespace
}  // namespace liaison
