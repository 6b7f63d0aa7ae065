#include "common/auth.h"

#include <jwt.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
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

absl::StatusOr<Caller> TokenVerifier::Verify(absl::string_view authorization) const {
  if (authorization.empty()) {
    return absl::UnauthenticatedError(
        "missing credentials: send the header \"authorization: Bearer <token>\"");
  }
  constexpr absl::string_view kBearer = "Bearer ";
  if (!absl::StartsWithIgnoreCase(authorization, kBearer)) {
    return absl::UnauthenticatedError("the authorization header is not \"Bearer <token>\"");
  }
  std::string token(absl::StripAsciiWhitespace(authorization.substr(kBearer.size())));
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
  errno = 0;
  long nbf = jwt_get_grant_int(jwt.get(), "nbf");
  if (errno == 0 && now < nbf) return absl::UnauthenticatedError("token not valid yet (nbf)");
  const char* sub = jwt_get_grant(jwt.get(), "sub");
  if (sub == nullptr) return absl::UnauthenticatedError("invalid token: no \"sub\" claim");
  return CallerFromSubject(sub);
}

absl::StatusOr<Caller> TokenVerifier::Authorize(const grpc::ServerContextBase& context,
                                                Access access) const {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  absl::string_view header;
  if (it != metadata.end()) header = absl::string_view(it->second.data(), it->second.size());
  ASSIGN_OR_RETURN(Caller caller, Verify(header));
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
