// Who is calling. Every Liaison RPC carries `authorization: Bearer <JWT>`,
// HS256-signed with the deployment's key (read from a file). Claims: `sub`
// is a member id ("42") or a service name ("svc:messaging"); `exp` is
// required. Tokens are verified with libjwt; the acting member comes from
// the token only, never from a request field.
#ifndef LIAISON_COMMON_AUTH_H_
#define LIAISON_COMMON_AUTH_H_

#include <grpcpp/server_context.h>

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/ids.h"

namespace liaison {

struct Caller {
  enum class Kind { kMember, kService };
  Kind kind = Kind::kMember;
  MemberId member_id = 0;  // Set for members.
  std::string service;     // Set for services: the part after "svc:".

  bool is_member() const { return kind == Kind::kMember; }
  bool is_service() const { return kind == Kind::kService; }
};

// Which callers a method accepts.
enum class Access {
  kMember,           // Member tokens only (a member acting for themselves).
  kService,          // Internal: service tokens only.
  kMemberOrService,  // Either.
};

// Reads an HS256 signing key: the file's bytes without trailing whitespace.
// InvalidArgumentError if the file is unreadable or the key is shorter than
// 32 bytes (256 bits, as RFC 7518 requires for HS256).
absl::StatusOr<std::string> ReadSigningKey(const std::string& path);

// Thread-safe. A token whose signature and claims checked out is remembered
// (by the SHA-256 of its exact text) until it expires, so a client that
// sends the same token on every call pays for HMAC and the claims' JSON once:
// a remembered token still has its expiry (and nbf) checked against the clock
// on every call, and Authorize still checks its kind. Tokens that fail are
// never remembered. At most `cache_entries` tokens are remembered (the oldest
// are forgotten first); 0 turns the cache off.
class TokenVerifier final {
 public:
  static constexpr size_t kDefaultCacheEntries = 100'000;

  TokenVerifier(std::string key, const Clock* clock, size_t cache_entries = kDefaultCacheEntries);
  ~TokenVerifier();
  TokenVerifier(TokenVerifier&&) noexcept;
  TokenVerifier& operator=(TokenVerifier&&) noexcept;

  // Verifies an `authorization` header value. UnauthenticatedError (saying
  // what is wrong: missing, not a bearer token, bad signature, expired, ...)
  // unless it is a valid, unexpired HS256 token with a well-formed `sub`.
  absl::StatusOr<Caller> Verify(absl::string_view authorization) const;

  // Verifies the call's token and checks it against `access`:
  // UNAUTHENTICATED as above, PERMISSION_DENIED when the caller's kind is not
  // accepted by the method.
  absl::StatusOr<Caller> Authorize(const grpc::ServerContextBase& context, Access access) const;
  // The same for an `authorization` header value.
  absl::StatusOr<Caller> Authorize(absl::string_view authorization, Access access) const;

  // How many verified tokens are remembered now (for tests and metrics).
  size_t cached_tokens() const;

 private:
  class Cache;

  std::string key_;
  const Clock* clock_;
  std::unique_ptr<Cache> cache_;
};

class TokenMinter final {
 public:
  TokenMinter(std::string key, const Clock* clock) : key_(std::move(key)), clock_(clock) {}

  absl::StatusOr<std::string> MintMember(MemberId member, absl::Duration ttl) const;
  // `name` is the service's name, e.g. "messaging" (sub becomes "svc:messaging").
  absl::StatusOr<std::string> MintService(absl::string_view name, absl::Duration ttl) const;
  // Any subject, for tools and tests that need a token a verifier rejects.
  absl::StatusOr<std::string> Mint(absl::string_view subject, absl::Time expires) const;

 private:
  std::string key_;
  const Clock* clock_;
};

}  // namespace liaison

#endif  // LIAISON_COMMON_AUTH_H_
