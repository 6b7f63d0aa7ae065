// Bearer tokens (common/auth.h). Four kinds of input, chosen by the first
// byte:
//  0. any header value: refused with UNAUTHENTICATED, never anything else;
//  1. a token minted with the key for a fuzzed subject and expiry: accepted
//     exactly when the subject is a member id or "svc:<name>" and it has not
//     expired, naming that caller; a verifier with another key refuses it;
//  2. a valid token with bytes changed, cut or added: if it still verifies
//     it names the same caller (no mutation changes who is calling);
//  3. a token in another algorithm ("none", HS384, HS512) or with a made-up
//     signature: always refused.
#include <fuzzer/FuzzedDataProvider.h>
#include <jwt.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/auth.h"
#include "common/clock.h"
#include "tests/fuzz/fuzz_support.h"

namespace liaison::fuzz {
namespace {

constexpr char kKey[] = "fuzzing-key-0123456789abcdef0123456789";
const absl::Time kNow = absl::FromUnixSeconds(1800000000);

const Clock& FixedClock() {
  static const auto* clock = new ManualClock(kNow);
  return *clock;
}

const TokenVerifier& Verifier() {
  static const auto* verifier = new TokenVerifier(kKey, &FixedClock());
  return *verifier;
}

const TokenMinter& Minter() {
  static const auto* minter = new TokenMinter(kKey, &FixedClock());
  return *minter;
}

bool SameCaller(const Caller& a, const Caller& b) {
  return a.kind == b.kind && a.member_id == b.member_id && a.service == b.service;
}

// The model of a valid subject: a member id (decimal, 1..2^63-1, canonical)
// or "svc:" and a name of 1-63 of [a-z0-9-] starting with a letter.
std::optional<Caller> ModelCaller(absl::string_view sub) {
  Caller caller;
  if (absl::ConsumePrefix(&sub, "svc:")) {
    if (sub.empty() || sub.size() > 63 || !absl::ascii_islower(sub[0])) return std::nullopt;
    for (char c : sub) {
      if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '-') return std::nullopt;
    }
    caller.kind = Caller::Kind::kService;
    caller.service = std::string(sub);
    return caller;
  }
  if (sub.empty() || sub.size() > 19 || sub[0] < '1' || sub[0] > '9') return std::nullopt;
  for (char c : sub) {
    if (!absl::ascii_isdigit(c)) return std::nullopt;
  }
  if (sub.size() == 19 && sub > "9223372036854775807") return std::nullopt;
  caller.member_id = std::strtoull(std::string(sub).c_str(), nullptr, 10);
  return caller;
}

void CheckRefused(const absl::StatusOr<Caller>& result) {
  FUZZ_CHECK(IsClientError(result.status(), absl::StatusCode::kUnauthenticated));
}

std::string Subject(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange<int>(0, 2)) {
    case 0:
      return absl::StrCat(in.ConsumeIntegral<uint64_t>());
    case 1:
      return absl::StrCat("svc:", in.ConsumeRandomLengthString(70));
    default:
      return in.ConsumeRandomLengthString(40);
  }
}

void CheckAnyHeader(FuzzedDataProvider& in) {
  const std::string header = in.ConsumeRemainingBytesAsString();
  const auto result = Verifier().Verify(header);
  if (!result.ok()) return CheckRefused(result);
  FUZZ_CHECK(absl::StartsWithIgnoreCase(header, "bearer "));
  FUZZ_CHECK(result->is_service() ? ModelCaller("svc:" + result->service).has_value()
                                  : result->member_id >= 1 && result->member_id <= kMaxMemberId);
}

void CheckMinted(FuzzedDataProvider& in) {
  const std::string subject = Subject(in);
  // Mostly near now, sometimes anywhere.
  const int64_t offset =
      in.ConsumeBool() ? in.ConsumeIntegralInRange<int64_t>(-5, 5)
                       : in.ConsumeIntegralInRange<int64_t>(-(int64_t{1} << 40), int64_t{1} << 40);
  const auto token = Minter().Mint(subject, kNow + absl::Seconds(offset));
  // libjwt takes the subject as a C string and writes JSON: invalid UTF-8
  // cannot be minted, and a NUL ends the subject early (Mint's callers never
  // pass one). Anything else mints.
  if (!token.ok()) {
    FUZZ_CHECK(absl::StrContains(subject, '\0') || !DecodeUtf8(subject).has_value());
    return;
  }
  if (absl::StrContains(subject, '\0')) return;
  static constexpr const char* kPrefixes[] = {"Bearer ", "bearer ", "BEARER ", "Bearer \t"};
  const std::string header = absl::StrCat(kPrefixes[in.ConsumeIntegralInRange<int>(0, 3)], *token,
                                          in.ConsumeBool() ? " " : "");
  const auto result = Verifier().Verify(header);
  const auto expected = ModelCaller(subject);
  FUZZ_CHECK(result.ok() == (expected.has_value() && offset > 0));
  if (!result.ok()) return CheckRefused(result);
  FUZZ_CHECK(SameCaller(*result, *expected));

  std::string other_key = in.ConsumeRandomLengthString(64);
  if (other_key.size() >= 32 && other_key != kKey) {
    CheckRefused(TokenVerifier(other_key, &FixedClock()).Verify(header));
  }
}

void CheckMutated(FuzzedDataProvider& in) {
  const auto token =
      Minter().MintMember(in.ConsumeIntegralInRange<MemberId>(1, kMaxMemberId), absl::Hours(1));
  FUZZ_CHECK(token.ok());
  const auto original = Verifier().Verify("Bearer " + *token);
  FUZZ_CHECK(original.ok());
  std::string mutated = *token;
  while (in.remaining_bytes() > 0) {
    const size_t at = in.ConsumeIntegralInRange<size_t>(0, mutated.size());
    switch (in.ConsumeIntegralInRange<int>(0, 2)) {
      case 0:
        if (at < mutated.size()) mutated[at] = in.ConsumeIntegral<char>();
        break;
      case 1:
        mutated.insert(at, 1, in.ConsumeIntegral<char>());
        break;
      case 2:
        mutated.erase(at, in.ConsumeIntegralInRange<size_t>(1, 8));
        break;
    }
  }
  const auto result = Verifier().Verify("Bearer " + mutated);
  if (!result.ok()) return CheckRefused(result);
  FUZZ_CHECK(SameCaller(*result, *original));
}

void CheckOtherAlgorithms(FuzzedDataProvider& in) {
  const std::string payload = absl::StrCat(R"({"sub":")", in.ConsumeIntegralInRange<int>(1, 999),
                                           R"(","exp":)", absl::ToUnixSeconds(kNow) + 3600, "}");
  std::string token;
  const int kind = in.ConsumeIntegralInRange<int>(0, 2);
  if (kind < 2) {
    // HS384 / HS512 with the right key: well signed, but not HS256.
    jwt_t* raw = nullptr;
    FUZZ_CHECK(jwt_new(&raw) == 0);
    FUZZ_CHECK(jwt_add_grants_json(raw, payload.c_str()) == 0);
    FUZZ_CHECK(jwt_set_alg(raw, kind == 0 ? JWT_ALG_HS384 : JWT_ALG_HS512,
                           reinterpret_cast<const unsigned char*>(kKey), sizeof kKey - 1) == 0);
    char* encoded = jwt_encode_str(raw);
    FUZZ_CHECK(encoded != nullptr);
    token = encoded;
    std::free(encoded);
    jwt_free(raw);
  } else {
    // Made by hand: any alg, any signature bytes.
    static constexpr const char* kAlgs[] = {"none", "HS256", "HS384", "RS256", "", "hs256"};
    std::string header = absl::StrCat(R"({"alg":")", kAlgs[in.ConsumeIntegralInRange<int>(0, 5)],
                                      R"(","typ":"JWT"})");
    std::string part;
    absl::WebSafeBase64Escape(header, &token);
    absl::WebSafeBase64Escape(payload, &part);
    absl::StrAppend(&token, ".", part, ".");
    absl::WebSafeBase64Escape(in.ConsumeRandomLengthString(64), &part);
    absl::StrAppend(&token, part);
  }
  CheckRefused(Verifier().Verify("Bearer " + token));
}

}  // namespace
}  // namespace liaison::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0:
      liaison::fuzz::CheckAnyHeader(in);
      break;
    case 1:
      liaison::fuzz::CheckMinted(in);
      break;
    case 2:
      liaison::fuzz::CheckMutated(in);
      break;
    case 3:
      liaison::fuzz::CheckOtherAlgorithms(in);
      break;
  }
  return 0;
}
