#include "services/identity/identity_peers.h"

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace liaison::identity {
namespace {

constexpr absl::Duration kPeerTimeout = absl::Seconds(2);

}  // namespace

IdentityPeers::IdentityPeers(const ShardIdentity* shard, const ShardChannels* channels,
                             ServiceTokenSource* tokens)
    : shard_(shard), tokens_(tokens) {
  for (size_t i = 0; i < channels->size(); ++i) {
    stubs_.push_back(
        channels->At(i) == nullptr ? nullptr : v1::IdentityShardService::NewStub(channels->At(i)));
  }
}

v1::IdentityShardService::Stub* IdentityPeers::NameStub(absl::string_view name) const {
  return Stub(shard_->map().ShardOfPartition(PartitionOfName(name)));
}

absl::Status IdentityPeers::Failed(const grpc::ClientContext& context, const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::ALREADY_EXISTS:
      return absl::AlreadyExistsError(status.error_message());
    case grpc::StatusCode::NOT_FOUND:
      return absl::NotFoundError(status.error_message());
    case grpc::StatusCode::INVALID_ARGUMENT:
      return absl::InvalidArgumentError(status.error_message());
    default:
      if (RefusedAsWrongShard(context)) {
        return absl::UnavailableError(
            "the identity shards read different shard maps; retry once they agree");
      }
      return DependencyError("identity shard", status);
  }
}

absl::StatusOr<std::vector<v1::MemberFacts>> IdentityPeers::Facts(
    const std::vector<MemberId>& members, bool include_connections, FeedCursors* cursors) {
  std::vector<v1::MemberFacts> out(members.size());
  std::vector<std::vector<int>> parts = SplitByShard(shard_->map(), members);
  // A list holds up to 30,000 ids (240 KB): 8 stay well inside gRPC's
  // 4 MiB message limit.
  const size_t per_call = include_connections ? kMaxListsPerCall : kMaxFactsPerCall;
  for (size_t s = 0; s < parts.size(); ++s) {
    for (size_t begin = 0; begin < parts[s].size(); begin += per_call) {
      const size_t end = std::min(parts[s].size(), begin + per_call);
      v1::GetMemberFactsRequest request;
      request.set_include_connections(include_connections);
      for (size_t i = begin; i < end; ++i) {
        request.add_member_ids(FormatMemberId(members[parts[s][i]]));
      }
      v1::GetMemberFactsResponse response;
      RETURN_IF_ERROR(
          Call(Stub(s), &v1::IdentityShardService::Stub::GetMemberFacts, request, &response));
      if (response.facts_size() != static_cast<int>(end - begin)) {
        return absl::InternalError("an identity shard answered for other members than asked");
      }
      if (cursors != nullptr) {
        auto [it, first] = cursors->emplace(static_cast<uint32_t>(s), response.change_cursor());
        if (!first) it->second = std::min(it->second, response.change_cursor());
      }
      for (size_t i = begin; i < end; ++i) {
        out[parts[s][i]] = std::move(*response.mutable_facts(static_cast<int>(i - begin)));
      }
    }
  }
  return out;
}

template <typename Request, typename Response>
absl::Status IdentityPeers::Call(v1::IdentityShardService::Stub* stub,
                                 grpc::Status (v1::IdentityShardService::Stub::*method)(
                                     grpc::ClientContext*, const Request&, Response*),
                                 const Request& request, Response* response) {
  grpc::ClientContext context;
  tokens_->Prepare(&context, kPeerTimeout);
  grpc::Status status = (stub->*method)(&context, request, response);
  return status.ok() ? absl::OkStatus() : Failed(context, status);
}

namespace {

template <typename Request>
Request NameRequest(v1::NameKind kind, const std::string& name) {
  Request request;
  request.set_kind(kind);
  request.set_name(name);
  return request;
}

}  // namespace

absl::Status IdentityPeers::Claim(v1::NameKind kind, const std::string& name, MemberId member) {
  auto request = NameRequest<v1::ClaimNameRequest>(kind, name);
  request.set_member_id(FormatMemberId(member));
  v1::ClaimNameResponse response;
  return Call(NameStub(name), &v1::IdentityShardService::Stub::ClaimName, request, &response);
}

absl::StatusOr<MemberId> IdentityPeers::Lookup(v1::NameKind kind, const std::string& name) {
  v1::LookupNameResponse response;
  RETURN_IF_ERROR(Call(NameStub(name), &v1::IdentityShardService::Stub::LookupName,
                       NameRequest<v1::LookupNameRequest>(kind, name), &response));
  return ParseMemberId(response.member_id(), "member_id");
}

absl::Status IdentityPeers::Release(v1::NameKind kind, const std::string& name, MemberId member) {
  auto request = NameRequest<v1::ReleaseNameRequest>(kind, name);
  request.set_member_id(FormatMemberId(member));
  v1::ReleaseNameResponse response;
  return Call(NameStub(name), &v1::IdentityShardService::Stub::ReleaseName, request, &response);
}

absl::Status IdentityPeers::Apply(size_t shard, const v1::ApplyPeerWritesRequest& request) {
  v1::ApplyPeerWritesResponse response;
  return Call(Stub(shard), &v1::IdentityShardService::Stub::ApplyPeerWrites, request, &response);
}

}  // namespace liaison::identity
