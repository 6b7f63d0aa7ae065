#include "tools/liaisonctl/client.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/auth.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/shard_map.h"

namespace liaison::ctl {
namespace {

// Marks a status that came from a service, so it exits 1 with its code;
// anything else is local and exits 2.
constexpr char kRpcPayload[] = "liaisonctl/rpc";
constexpr char kDefaultKeyFile[] = ".liaison/signing.key";
// Long enough for a `watch` to start and a slow call to finish; short
// enough that a token copied out of a terminal is soon useless.
constexpr absl::Duration kMintedTokenLifetime = absl::Minutes(15);

bool AllDigits(absl::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// The member a token speaks for (its unverified `sub`), so lists can leave
// "you" out; empty for service tokens and anything unreadable.
std::string MemberSubject(const std::string& token) {
  std::vector<std::string> parts = absl::StrSplit(token, '.');
  std::string payload;
  if (parts.size() != 3 || !absl::WebSafeBase64Unescape(parts[1], &payload)) return "";
  auto claims = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (!claims.is_object() || !claims.contains("sub") || !claims["sub"].is_string()) return "";
  const std::string sub = claims["sub"];
  return AllDigits(sub) ? sub : "";
}

absl::StatusOr<std::string> ReadFile(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return UsageError(absl::StrCat("cannot read the ", what, " ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace

absl::Status UsageError(absl::string_view message) { return absl::InvalidArgumentError(message); }

int Report(const absl::Status& status) {
  if (status.ok()) return 0;
  const std::string message = absl::StrReplaceAll(status.message(), {{"\n", " "}});
  if (status.GetPayload(kRpcPayload).has_value()) {
    std::cerr << "liaisonctl: " << absl::StatusCodeToString(status.code()) << ": " << message
              << std::endl;
    return 1;
  }
  std::cerr << "liaisonctl: " << message << std::endl;
  return 2;
}

absl::Status Cli::RpcError(const char* service, const std::string& address,
                           const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  std::string message = status.error_message();
  // Transport failures name no one; say which service was being called.
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
      status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    message = absl::StrCat(service, " at ", address, ": ", message);
  }
  absl::Status out(static_cast<absl::StatusCode>(status.error_code()), message);
  out.SetPayload(kRpcPayload, absl::Cord("1"));
  return out;
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> Cli::NewChannel(const std::string& address) const {
  const Options& o = *options_;
  if (o.tls_ca_file.empty() && o.tls_cert_file.empty() && o.tls_key_file.empty()) {
    return grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  }
  if (o.tls_cert_file.empty() != o.tls_key_file.empty()) {
    return UsageError("--tls-cert-file and --tls-key-file go together");
  }
  grpc::SslCredentialsOptions ssl;
  if (!o.tls_ca_file.empty()) {
    auto ca = ReadFile(o.tls_ca_file, "CA file");
    if (!ca.ok()) return ca.status();
    ssl.pem_root_certs = *ca;
  }
  if (!o.tls_cert_file.empty()) {
    auto cert = ReadFile(o.tls_cert_file, "certificate file");
    if (!cert.ok()) return cert.status();
    auto key = ReadFile(o.tls_key_file, "key file");
    if (!key.ok()) return key.status();
    ssl.pem_cert_chain = *cert;
    ssl.pem_private_key = *key;
  }
  return grpc::CreateChannel(address, grpc::SslCredentials(ssl));
}

absl::StatusOr<absl::Duration> Cli::Timeout() const {
  absl::Duration timeout;
  if (!absl::ParseDuration(options_->timeout, &timeout) || timeout <= absl::ZeroDuration()) {
    return UsageError(absl::StrCat("--timeout \"", options_->timeout,
                                   "\" is not a positive duration such as 10s or 1m"));
  }
  return timeout;
}

void Cli::Prepare(grpc::ClientContext* context) const {
  context->AddMetadata("authorization", "Bearer " + token_);
}

absl::StatusOr<std::string> Cli::SigningKey() {
  if (key_.has_value()) return *key_;
  std::string path = options_->signing_key_file;
  if (path.empty()) {
    if (!std::filesystem::exists(kDefaultKeyFile)) {
      return UsageError(
          absl::StrCat("no signing key to mint a token with: give --signing-key-file (or set "
                       "LIAISON_SIGNING_KEY_FILE), or run where ",
                       kDefaultKeyFile, " exists"));
    }
    path = kDefaultKeyFile;
  }
  auto key = ReadSigningKey(path);
  if (!key.ok()) return UsageError(key.status().message());
  key_ = *key;
  return *key_;
}

absl::StatusOr<std::string> Cli::ServiceToken(const std::string& name) {
  auto key = SigningKey();
  if (!key.ok()) return key.status();
  auto token = TokenMinter(*key, Clock::Real()).MintService(name, kMintedTokenLifetime);
  if (!token.ok()) return UsageError(absl::StrCat("--as-service: ", token.status().message()));
  return token;
}

bool Cli::HaveKey() const {
  return !options_->signing_key_file.empty() || std::filesystem::exists(kDefaultKeyFile);
}

absl::StatusOr<std::string> Cli::LookupToken() {
  if (lookup_token_.empty()) {
    auto token = ServiceToken("liaisonctl");
    if (!token.ok()) return token.status();
    lookup_token_ = *token;
  }
  return lookup_token_;
}

absl::Status Cli::Authenticate(Actor actor) {
  absl::Status authenticated = AuthenticateAs(actor);
  if (!authenticated.ok()) return authenticated;
  return Route();
}

absl::Status Cli::Route() {
  if (options_->shard_map_file.empty()) return absl::OkStatus();
  auto map = ShardMap::Load(options_->shard_map_file);
  if (!map.ok()) return UsageError(map.status().message());
  MemberId member = 0;
  if (!acting_member_.empty()) (void)absl::SimpleAtoi(acting_member_, &member);
  const size_t shard = member == 0 ? 0 : map->ShardOf(member);
  if (NamesService(*map, "credits")) {
    routed_credits_ = map->shard(shard).credits;
    std::get<Endpoint<CreditsStub>>(endpoints_).address = &routed_credits_;
  }
  if (NamesService(*map, "privacy")) {
    routed_privacy_ = map->shard(shard).privacy;
    std::get<Endpoint<PrivacyStub>>(endpoints_).address = &routed_privacy_;
  }
  return absl::OkStatus();
}

absl::Status Cli::AuthenticateAs(Actor actor) {
  if (actor == Actor::kNone) return absl::OkStatus();
  const Options& o = *options_;
  // What the user named wins, in this order; see docs/liaisonctl.md.
  if (!o.token.empty()) {
    token_ = o.token;
    acting_member_ = MemberSubject(token_);
    return absl::OkStatus();
  }
  if (!o.as_member.empty()) {
    auto key = SigningKey();
    if (!key.ok()) return key.status();
    std::string id = o.as_member;
    if (!AllDigits(o.as_member)) {
      auto lookup_token = LookupToken();
      if (!lookup_token.ok()) return lookup_token.status();
      auto found =
          LookUpHandle(o.as_member[0] == '@' ? o.as_member.substr(1) : o.as_member, *lookup_token);
      if (!found.ok()) return found.status();
      id = *found;
    }
    auto member = ParseMemberId(id, "--as");
    if (!member.ok()) return UsageError(member.status().message());
    auto token = TokenMinter(*key, Clock::Real()).MintMember(*member, kMintedTokenLifetime);
    if (!token.ok()) return UsageError(token.status().message());
    token_ = *token;
    acting_member_ = id;
    return absl::OkStatus();
  }
  if (!o.as_service.empty()) {
    auto token = ServiceToken(o.as_service);
    if (!token.ok()) return token.status();
    token_ = *token;
    return absl::OkStatus();
  }
  const char* env = std::getenv("LIAISON_TOKEN");
  const bool have_env = env != nullptr && *env != '\0';
  const bool have_key = HaveKey();
  // Internal methods get a service token of their own before an exported
  // LIAISON_TOKEN, which is usually a member's.
  if (actor == Actor::kService && have_key) {
    auto token = ServiceToken("liaisonctl");
    if (!token.ok()) return token.status();
    token_ = *token;
    return absl::OkStatus();
  }
  if (have_env) {
    token_ = env;
    acting_member_ = MemberSubject(token_);
    return absl::OkStatus();
  }
  if (actor == Actor::kAny && have_key) {
    auto token = ServiceToken("liaisonctl");
    if (!token.ok()) return token.status();
    token_ = *token;
    return absl::OkStatus();
  }
  if (actor == Actor::kService) {
    return UsageError(
        "this command calls an internal method: give a signing key (--signing-key-file or "
        "LIAISON_SIGNING_KEY_FILE) to mint a service token, or --token <service token>");
  }
  return UsageError(
      "who is acting? give --as <member> (mints a token from the signing key), --token <jwt>, "
      "or set LIAISON_TOKEN");
}

absl::StatusOr<std::string> Cli::LookUpHandle(const std::string& handle, const std::string& token) {
  identity::v1::GetMemberRequest request;
  request.set_handle(handle);
  identity::v1::GetMemberResponse response;
  absl::Status status = CallWith(token, &IdentityStub::GetMember, request, &response);
  if (!status.ok()) return status;
  member_labels_[response.member().member_id()] = "@" + response.member().handle();
  return response.member().member_id();
}

absl::StatusOr<std::string> Cli::ResolveMember(const std::string& text) {
  if (text.empty() || text == "@") return UsageError("a member id or handle is empty");
  if (AllDigits(text)) {
    auto id = ParseMemberId(text, "member id");
    if (!id.ok()) return UsageError(id.status().message());
    return text;
  }
  const std::string handle = text[0] == '@' ? text.substr(1) : text;
  auto found = LookUpHandle(handle, token_);
  // A member hidden by a block (e.g. to unblock them) is still found by
  // handle when a signing key can vouch for the lookup.
  if (absl::IsNotFound(found.status()) && HaveKey()) {
    auto lookup_token = LookupToken();
    if (!lookup_token.ok()) return found;
    return LookUpHandle(handle, *lookup_token);
  }
  return found;
}

absl::StatusOr<std::vector<std::string>> Cli::ResolveMembers(
    const std::vector<std::string>& texts) {
  std::vector<std::string> ids;
  for (const std::string& text : texts) {
    auto id = ResolveMember(text);
    if (!id.ok()) return id.status();
    ids.push_back(*id);
  }
  return ids;
}

void Cli::PrefetchMembers(const std::vector<std::string>& ids) {
  std::vector<std::string> wanted;
  for (const std::string& id : ids) {
    if (id.empty() || member_labels_.contains(id)) continue;
    member_labels_[id] = id;  // until found (also drops duplicates)
    wanted.push_back(id);
  }
  constexpr size_t kBatch = 100;  // BatchGetMembers' limit
  for (size_t i = 0; i < wanted.size(); i += kBatch) {
    identity::v1::BatchGetMembersRequest request;
    for (size_t j = i; j < wanted.size() && j < i + kBatch; ++j) request.add_member_ids(wanted[j]);
    identity::v1::BatchGetMembersResponse response;
    if (!Call(&IdentityStub::BatchGetMembers, request, &response).ok()) continue;
    for (const auto& m : response.members()) member_labels_[m.member_id()] = "@" + m.handle();
  }
}

std::string Cli::MemberLabel(const std::string& id) {
  if (id.empty()) return "";
  if (!member_labels_.contains(id)) PrefetchMembers({id});
  return member_labels_[id];
}

std::string Cli::PageLabel(const std::string& id) {
  if (id.empty()) return "";
  auto it = page_labels_.find(id);
  if (it != page_labels_.end()) return it->second;
  identity::v1::GetPageRequest request;
  request.set_page_id(id);
  identity::v1::GetPageResponse response;
  std::string label = "page " + id;
  if (Call(&IdentityStub::GetPage, request, &response).ok()) label = response.page().name();
  page_labels_[id] = label;
  return label;
}

std::string Cli::NewClientId() {
  std::random_device seed;
  std::mt19937_64 random((uint64_t{seed()} << 32) ^ seed());
  return absl::StrCat("ctl-", absl::Hex(random(), absl::kZeroPad16));
}

}  // namespace liaison::ctl
