#include "common/auth.h"

#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/status.h"

namespace liaison {
namespace {

constexpr absl::string_view kServicePrefix = "svc:";
constexpr size_t kMinKeyBytes = 32;

struct JwtFree {
  void operator()(jwt_t* jwt) const { jwt_free(jwt); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtFree>;

bool IsServiceName(absl::string_view name) {
  if (name.empty() || name.size() > 63 || !absl::ascii_islower(name[0])) return false;
  for (char c : name) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '-') return false;
  }
  return true;
}

absl::StatusOr<Caller> CallerFromSubject(absl::string_view sub) {
  Caller caller;
  if (absl::StartsWith(sub, kServicePrefix)) {
    caller.kind = Caller::Kind::kService;
    caller.service = std::string(sub.substr(kServicePrefix.size()));
    if (!IsServiceName(caller.service)) {
      return absl::UnauthenticatedError("token subject is not a valid service name");
    }
    return caller;
  }
  auto member = ParseMemberId(sub, "token subject");
  if (!member.ok()) return absl::UnauthenticatedError(member.status().message());
  caller.member_id = *member;
  return caller;
}

}  // namespace

absl::StatusOr<std::string> ReadSigningKey(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return absl::InvalidArgumentError(absl::StrCat("cannot read the signing key file ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string key = buffer.str();
  while (!key.empty() && absl::ascii_isspace(static_cast<unsigned char>(key.back())))
    key.pop_back();
  if (key.size() < kMinKeyBytes) {
    return absl::InvalidArgumentError(absl::StrCat("the signing key in ", path, " is ", key.size(),
                                                   " bytes; HS256 needs at least ", kMinKeyBytes));
  }
  return key;
}

// Verified tokens by the SHA-256 of their text: a digest, unlike a 64-bit
// hash, cannot be matched by a different token, and costs the same 32 bytes
// whatever the token's length. Sharded so concurrent calls rarely meet on a
// mutex; each shard forgets its oldest entry (first in, first out) when full,
// so the cache never holds more than its capacity.
class TokenVerifier::Cache final {
 public:
  using Digest = std::array<unsigned char, SHA256_DIGEST_LENGTH>;
  struct Entry {
    int64_t expires = 0;                                       // exp, Unix seconds
    int64_t not_before = std::numeric_limits<int64_t>::min();  // nbf, if any
    Caller caller;
  };

  explicit Cache(size_t capacity)
      : shard_count_(std::min(capacity, kMaxShards)),
        per_shard_(capacity / shard_count_),
        shards_(new Shard[shard_count_]) {}

  // SHA256() looks the algorithm up on every call (OpenSSL 3), which costs
  // more than the hashing: fetch it once, and keep a context per thread.
  static Digest Hash(absl::string_view token) {
    static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    struct CtxFree {
      void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
    };
    thread_local std::unique_ptr<EVP_MD_CTX, CtxFree> ctx(EVP_MD_CTX_new());
    Digest digest;
    unsigned int size = 0;
    if (sha256 == nullptr || ctx == nullptr || !EVP_DigestInit_ex2(ctx.get(), sha256, nullptr) ||
        !EVP_DigestUpdate(ctx.get(), token.data(), token.size()) ||
        !EVP_DigestFinal_ex(ctx.get(), digest.data(), &size)) {
      std::abort();  // only on allocation failure or a broken libcrypto
    }
    return digest;
  }

  std::optional<Entry> Find(const Digest& digest) const {
    const Shard& shard = ShardOf(digest);
    absl::ReaderMutexLock lock(&shard.mu);
    auto it = shard.entries.find(digest);
    if (it == shard.entries.end()) return std::nullopt;
    return it->second;
  }

  void Insert(const Digest& digest, Entry entry) {
    Shard& shard = ShardOf(digest);
    absl::MutexLock lock(&shard.mu);
    // Two calls may verify the same new token at once: keep one entry.
    if (!shard.entries.emplace(digest, std::move(entry)).second) return;
    if (shard.order.size() < per_shard_) {
      shard.order.push_back(digest);
      return;
    }
    shard.entries.erase(shard.order[shard.oldest]);
    shard.order[shard.oldest] = digest;
    shard.oldest = (shard.oldest + 1) % per_shard_;
  }

  size_t size() const {
    size_t total = 0;
    for (size_t i = 0; i < shard_count_; ++i) {
      absl::ReaderMutexLock lock(&shards_[i].mu);
      total += shards_[i].entries.size();
    }
    return total;
  }

 private:
  static constexpr size_t kMaxShards = 16;

  // The digest is already uniform: its first bytes are the table's hash.
  struct DigestHash {
    size_t operator()(const Digest& digest) const {
      size_t hash;
      std::memcpy(&hash, digest.data(), sizeof(hash));
      return hash;
    }
  };
  struct Shard {
    mutable absl::Mutex mu;
    absl::flat_hash_map<Digest, Entry, DigestHash> entries ABSL_GUARDED_BY(mu);
    // Digests in insertion order, a ring once full; `oldest` is next to go.
    std::vector<Digest> order ABSL_GUARDED_BY(mu);
    size_t oldest ABSL_GUARDED_BY(mu) = 0;
  };

  // Bytes other than the table's hash pick the shard.
  const Shard& ShardOf(const Digest& digest) const {
    return shards_[digest[sizeof(size_t)] % shard_count_];
  }
  Shard& ShardOf(const Digest& digest) { return shards_[digest[sizeof(size_t)] % shard_count_]; }

  const size_t shard_count_;
  const size_t per_shard_;
  std::unique_ptr<Shard[]> shards_;
};

TokenVerifier::TokenVerifier(std::string key, const Clock* clock, size_t cache_entries)
    : key_(std::move(key)),
      clock_(clock),
      cache_(cache_entries > 0 ? std::make_unique<Cache>(cache_entries) : nullptr) {}

TokenVerifier::~TokenVerifier() = default;
TokenVerifier::TokenVerifier(TokenVerifier&&) noexcept = default;
TokenVerifier& TokenVerifier::operator=(TokenVerifier&&) noexcept = default;

size_t TokenVerifier::cached_tokens() const { return cache_ == nullptr ? 0 : cache_->size(); }

absl::StatusOr<Caller> TokenVerifier::Verify(absl::string_view authorization) const {
  if (authorization.empty()) {
    return absl::UnauthenticatedError(
        "missing credentials: send the header \"authorization: Bearer <token>\"");
  }
  constexpr absl::string_view kBearer = "Bearer ";
  if (!absl::StartsWithIgnoreCase(authorization, kBearer)) {
    return absl::UnauthenticatedError("the authorization header is not \"Bearer <token>\"");
  }
  const absl::string_view text = absl::StripAsciiWhitespace(authorization.substr(kBearer.size()));
  std::optional<Cache::Digest> digest;
  if (cache_ != nullptr) {
    digest = Cache::Hash(text);
    if (std::optional<Cache::Entry> hit = cache_->Find(*digest)) {
      // The signature and claims were checked when it was cached; time was not.
      const int64_t now = absl::ToUnixSeconds(clock_->Now());
      if (now >= hit->expires) return absl::UnauthenticatedError("token expired; mint a new one");
      if (now < hit->not_before) return absl::UnauthenticatedError("token not valid yet (nbf)");
      return std::move(hit->caller);
    }
  }
  std::string token(text);
  jwt_t* raw = nullptr;
  int rc = jwt_decode(&raw, token.c_str(), reinterpret_cast<const unsigned char*>(key_.data()),
                      static_cast<int>(key_.size()));
  JwtPtr jwt(raw);
  if (rc != 0 || jwt == nullptr) {
    return absl::UnauthenticatedError("invalid token: malformed or bad signature");
  }
  if (jwt_get_alg(jwt.get()) != JWT_ALG_HS256) {
    return absl::UnauthenticatedError("invalid token: only HS256 is accepted");
  }
  errno = 0;
  long exp = jwt_get_grant_int(jwt.get(), "exp");
  if (errno != 0) return absl::UnauthenticatedError("invalid token: no \"exp\" claim");
  const int64_t now = absl::ToUnixSeconds(clock_->Now());
  if (now >= exp) return absl::UnauthenticatedError("token expired; mint a new one");
  Cache::Entry entry;
  entry.expires = exp;
  errno = 0;
  long nbf = jwt_get_grant_int(jwt.get(), "nbf");
  if (errno == 0) {
    if (now < nbf) return absl::UnauthenticatedError("token not valid yet (nbf)");
    entry.not_before = nbf;
  }
  const char* sub = jwt_get_grant(jwt.get(), "sub");
  if (sub == nullptr) return absl::UnauthenticatedError("invalid token: no \"sub\" claim");
  ASSIGN_OR_RETURN(entry.caller, CallerFromSubject(sub));
  if (cache_ != nullptr) cache_->Insert(*digest, entry);
  return std::move(entry.caller);
}

absl::StatusOr<Caller> TokenVerifier::Authorize(const grpc::ServerContextBase& context,
                                                Access access) const {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  absl::string_view header;
  if (it != metadata.end()) header = absl::string_view(it->second.data(), it->second.size());
  return Authorize(header, access);
}

absl::StatusOr<Caller> TokenVerifier::Authorize(absl::string_view authorization,
                                                Access access) const {
  ASSIGN_OR_RETURN(Caller caller, Verify(authorization));
  if (access == Access::kService && !caller.is_service()) {
    return absl::PermissionDeniedError(
        "this method is internal: it needs a service token (sub \"svc:<name>\")");
  }
  if (access == Access::kMember && !caller.is_member()) {
    return absl::PermissionDeniedError(
        "this method acts for a member: it needs a member token, not a service token");
  }
  return caller;
}

absl::StatusOr<std::string> TokenMinter::Mint(absl::string_view subject, absl::Time expires) const {
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return absl::InternalError("jwt_new failed");
  JwtPtr jwt(raw);
  std::string sub(subject);
  if (jwt_add_grant(jwt.get(), "sub", sub.c_str()) != 0 ||
      jwt_add_grant_int(jwt.get(), "iat", absl::ToUnixSeconds(clock_->Now())) != 0 ||
      jwt_add_grant_int(jwt.get(), "exp", absl::ToUnixSeconds(expires)) != 0 ||
      jwt_set_alg(jwt.get(), JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(key_.data()),
                  static_cast<int>(key_.size())) != 0) {
    return absl::InternalError("cannot build the token");
  }
  char* encoded = jwt_encode_str(jwt.get());
  if (encoded == nullptr) return absl::InternalError("cannot encode the token");
  std::string token(encoded);
  std::free(encoded);
  return token;
}

absl::StatusOr<std::string> TokenMinter::MintMember(MemberId member, absl::Duration ttl) const {
  return Mint(FormatMemberId(member), clock_->Now() + ttl);
}

absl::StatusOr<std::string> TokenMinter::MintService(absl::string_view name,
                                                     absl::Duration ttl) const {
  if (!IsServiceName(name)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "service name \"", name, "\" must be 1-63 of [a-z0-9-], starting with a letter"));
  }
  return Mint(absl::StrCat(kServicePrefix, name), clock_->Now() + ttl);
}

}  // namespace liaison
