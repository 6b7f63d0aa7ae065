// The other shards of the identity service, as identity's rules need them
// when it runs as several (DESIGN.md §8): facts about their members, the
// directory that keeps handles and emails unique, and delivery of the other
// side of two-member changes. Calls block, within a deadline: the rules run
// on worker pools, never on gRPC's callback threads.
#ifndef LIAISON_SERVICES_IDENTITY_IDENTITY_PEERS_H_
#define LIAISON_SERVICES_IDENTITY_IDENTITY_PEERS_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/client.h"
#include "common/shard_map.h"
#include "common/shard_router.h"
#include "liaison/identity/v1/identity_shard.grpc.pb.h"

namespace liaison::identity {

// Feed cursors by identity shard index (GetRelationshipResponse.other_shard_cursors).
using FeedCursors = std::map<uint32_t, uint64_t>;

// Members GetMemberFacts answers for at once.
inline constexpr size_t kMaxFactsPerCall = 256;
// Members whose connections one GetMemberFacts call asks for.
inline constexpr size_t kMaxListsPerCall = 8;
// Writes ApplyPeerWrites takes at once.
inline constexpr int kMaxPeerWrites = 1000;

class IdentityPeers final {
 public:
  // `channels` has one channel per shard of the map `shard` follows; every
  // pointer must outlive this.
  IdentityPeers(const ShardIdentity* shard, const ShardChannels* channels,
                ServiceTokenSource* tokens);

  // Whether there are other shards at all.
  bool sharded() const { return shard_->map().size() > 1; }
  bool Owns(MemberId member) const { return shard_->Owns(member); }
  bool OwnsName(absl::string_view name) const {
    return shard_->map().ShardOfPartition(PartitionOfName(name)) == shard_->index();
  }
  size_t ShardOf(MemberId member) const { return shard_->map().ShardOf(member); }
  const ShardIdentity& shard() const { return *shard_; }

  // Facts about members other shards own, in order (asked shard by shard,
  // at most kMaxFactsPerCall a call). With `cursors`, each asked shard's
  // feed cursor the facts reflect at least (the lowest of its answers).
  absl::StatusOr<std::vector<v1::MemberFacts>> Facts(const std::vector<MemberId>& members,
                                                     bool include_connections,
                                                     FeedCursors* cursors = nullptr);
  // The directory, on the name's shard (another one).
  absl::Status Claim(v1::NameKind kind, const std::string& name, MemberId member);
  absl::StatusOr<MemberId> Lookup(v1::NameKind kind, const std::string& name);
  absl::Status Release(v1::NameKind kind, const std::string& name, MemberId member);
  // Delivers writes to `shard`.
  absl::Status Apply(size_t shard, const v1::ApplyPeerWritesRequest& request);

 private:
  v1::IdentityShardService::Stub* Stub(size_t shard) const { return stubs_[shard].get(); }
  v1::IdentityShardService::Stub* NameStub(absl::string_view name) const;
  // One blocking call within the peer deadline.
  template <typename Request, typename Response>
  absl::Status Call(v1::IdentityShardService::Stub* stub,
                    grpc::Status (v1::IdentityShardService::Stub::*method)(grpc::ClientContext*,
                                                                           const Request&,
                                                                           Response*),
                    const Request& request, Response* response);
  // What a failed call means here: ALREADY_EXISTS, NOT_FOUND and
  // INVALID_ARGUMENT as they are; a refusal as the wrong shard, or a shard down, UNAVAILABLE.
  static absl::Status Failed(const grpc::ClientContext& context, const grpc::Status& status);

  const ShardIdentity* shard_;
  ServiceTokenSource* tokens_;
  std::vector<std::unique_ptr<v1::IdentityShardService::Stub>> stubs_;
};

}  // namespace liaison::identity

#endif  // LIAISON_SERVICES_IDENTITY_IDENTITY_PEERS_H_
