// IdentityService's methods without gRPC: validation, authorization beyond
// the token kind, the rules of DESIGN.md §4, and one WriteBatch per change.
// Each returns the RPC's status (DESIGN.md §5) and fills the response.
//
// Methods that write are synced to disk before they return; the handler runs
// them on a worker pool. Read-modify-writes of a member's records hold that
// member's lock stripe (several members' stripes in a fixed order).
//
// Run as one of several shards (DESIGN.md §8), each method is called on the
// shard that owns the member it acts for (the handler forwards it there);
// what it reads of other shards' members it asks them for (IdentityPeers,
// blocking: such methods run on a pool), and the other side of a
// two-member change goes to its shard through the PeerOutbox.
#ifndef LIAISON_SERVICES_IDENTITY_IDENTITY_LOGIC_H_
#define LIAISON_SERVICES_IDENTITY_IDENTITY_LOGIC_H_

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <array>
#include <memory>
#include <vector>

#include "absl/random/random.h"
#include "absl/synchronization/mutex.h"
#include "common/auth.h"
#include "common/change_feed.h"
#include "common/clock.h"
#include "liaison/identity/v1/identity.pb.h"
#include "liaison/privacy/v1/privacy.pb.h"
#include "services/identity/identity_peers.h"
#include "services/identity/identity_store.h"
#include "services/identity/pair_write.h"
#include "services/identity/peer_outbox.h"

namespace liaison::identity {

class IdentityLogic final {
 public:
  // Every change is appended to `feed` (may be null: no feed) in its batch.
  // `outbox` null: this is the only shard.
  IdentityLogic(IdentityStore* store, const Clock* clock, prometheus::Registry& registry,
                ChangeFeed* feed = nullptr, PeerOutbox* outbox = nullptr);
  ~IdentityLogic();

  // Members (member_logic.cc).
  absl::Status CreateMember(const v1::CreateMemberRequest& request,
                            v1::CreateMemberResponse* response);
  absl::Status GetMember(const Caller& caller, const v1::GetMemberRequest& request,
                         v1::GetMemberResponse* response) const;
  absl::Status BatchGetMembers(const Caller& caller, const v1::BatchGetMembersRequest& request,
                               v1::BatchGetMembersResponse* response) const;
  absl::Status UpdateMember(const Caller& caller, const v1::UpdateMemberRequest& request,
                            v1::UpdateMemberResponse* response);
  absl::Status SetAccountTier(const v1::SetAccountTierRequest& request,
                              v1::SetAccountTierResponse* response);

  // Pages (page_logic.cc).
  absl::Status CreatePage(const Caller& caller, const v1::CreatePageRequest& request,
                          v1::CreatePageResponse* response);
  absl::Status GetPage(const Caller& caller, const v1::GetPageRequest& request,
                       v1::GetPageResponse* response) const;
  absl::Status FollowPage(const Caller& caller, const v1::FollowPageRequest& request);
  absl::Status UnfollowPage(const Caller& caller, const v1::UnfollowPageRequest& request);
  absl::Status ListPageFollowers(const Caller& caller, const v1::ListPageFollowersRequest& request,
                                 v1::ListPageFollowersResponse* response) const;
  absl::Status GetPageRelation(const Caller& caller, const v1::GetPageRelationRequest& request,
                               v1::GetPageRelationResponse* response) const;

  // Invitations (invitation_logic.cc). The recipient's id must be checked
  // first (ParseRecipient) so the handler can fetch their privacy settings.
  absl::StatusOr<MemberId> ParseInvitationRecipient(const Caller& caller,
                                                    const v1::SendInvitationRequest& request) const;
  absl::Status SendInvitation(const Caller& caller, const v1::SendInvitationRequest& request,
                              const privacy::v1::PrivacySettings& recipient_settings,
                              v1::SendInvitationResponse* response);
  absl::Status RespondToInvitation(const Caller& caller,
                                   const v1::RespondToInvitationRequest& request,
                                   v1::RespondToInvitationResponse* response);
  absl::Status WithdrawInvitation(const Caller& caller,
                                  const v1::WithdrawInvitationRequest& request);
  absl::Status ListInvitations(const Caller& caller, const v1::ListInvitationsRequest& request,
                               v1::ListInvitationsResponse* response) const;

  // Connections and relationships (network_logic.cc).
  absl::Status ListConnections(const Caller& caller, const v1::ListConnectionsRequest& request,
                               v1::ListConnectionsResponse* response) const;
  absl::Status RemoveConnection(const Caller& caller, const v1::RemoveConnectionRequest& request);
  absl::Status ListMutualConnections(const Caller& caller,
                                     const v1::ListMutualConnectionsRequest& request,
                                     v1::ListMutualConnectionsResponse* response) const;
  absl::Status GetRelationship(const Caller& caller, const v1::GetRelationshipRequest& request,
                               v1::GetRelationshipResponse* response) const;
  absl::Status BatchGetRelationships(const Caller& caller,
                                     const v1::BatchGetRelationshipsRequest& request,
                                     v1::BatchGetRelationshipsResponse* response) const;

  // Blocks (network_logic.cc).
  absl::Status BlockMember(const Caller& caller, const v1::BlockMemberRequest& request);
  absl::Status UnblockMember(const Caller& caller, const v1::UnblockMemberRequest& request);
  absl::Status ListBlockedMembers(const Caller& caller,
                                  const v1::ListBlockedMembersRequest& request,
                                  v1::ListBlockedMembersResponse* response) const;

  // What other shards ask (peer_logic.cc; IdentityShardService).
  absl::Status ApplyPeerWrites(const v1::ApplyPeerWritesRequest& request);
  absl::Status GetMemberFacts(const v1::GetMemberFactsRequest& request,
                              v1::GetMemberFactsResponse* response) const;
  absl::Status ClaimName(const v1::ClaimNameRequest& request);
  absl::Status LookupName(const v1::LookupNameRequest& request,
                          v1::LookupNameResponse* response) const;
  absl::Status ReleaseName(const v1::ReleaseNameRequest& request);

  // Where `member`'s records live: here (always, with one shard).
  bool Owns(MemberId member) const { return peers_ == nullptr || peers_->Owns(member); }

 private:
  // Holds the lock stripes of the given ids (members or pages) until destroyed.
  class Locked;

  // Connection lists wherever they live: this shard's from the store,
  // others' from their shards.
  class Graph;

  // The caller's own member record; FailedPreconditionError if the token
  // names a member that does not exist.
  absl::StatusOr<v1::Member> Self(const Caller& caller) const;
  // A member's record wherever it lives; NotFoundError if absent. With
  // `cursors`, the feed cursor of each other shard read (FeedCursors).
  absl::StatusOr<v1::Member> AnyMember(MemberId id, FeedCursors* cursors = nullptr) const;
  std::vector<absl::StatusOr<v1::Member>> AnyMembers(const std::vector<MemberId>& ids,
                                                     FeedCursors* cursors = nullptr) const;
  absl::StatusOr<uint32_t> ConnectionCount(MemberId id) const;
  // The directory: whether `holder`, who holds `name` since `claimed`, still
  // does (a claim whose member was never created lapses after a minute).
  absl::StatusOr<bool> StillHolds(v1::NameKind kind, const std::string& name,
                                  const IdentityStore::NameHolder& holder) const;
  // Claims `name` for `member`: on this shard into `batch` (the caller
  // holds the directory lock), on the name's shard at once otherwise.
  absl::Status Claim(v1::NameKind kind, const std::string& name, MemberId member,
                     rocksdb::WriteBatch* batch);
  // A handle or an email.
  struct Name {
    v1::NameKind kind;
    std::string name;
  };
  // Claims those of `names` in this shard's directory (`here`: into
  // `batch`, under the directory lock) or in other shards' (appended to
  // `remote` once claimed; never under the lock). ALREADY_EXISTS says which.
  absl::Status ClaimNames(const std::vector<Name>& names, MemberId member, bool here,
                          rocksdb::WriteBatch* batch, std::vector<Name>* remote);
  // Gives up names in other shards' directories (a failure is logged: the
  // claim lapses).
  void ReleaseRemote(const std::vector<Name>& names, MemberId member);
  // CreateMember and UpdateMember under the directory lock.
  absl::Status CreateMemberHere(const v1::CreateMemberRequest& request, MemberId id,
                                const std::vector<Name>& names, const std::string& display_name,
                                const std::string& headline, v1::CreateMemberResponse* response);
  absl::Status UpdateMemberHere(const Caller& caller, const v1::UpdateMemberRequest& request,
                                const std::string& display_name, const std::string& headline,
                                const std::string& email_key, std::vector<Name>* release_later,
                                v1::UpdateMemberResponse* response);
  // FAILED_PRECONDITION for a name another shard's directory holds.
  absl::Status CheckNameHere(const std::string& name) const;
  absl::StatusOr<MemberId> LookupAnywhere(v1::NameKind kind, const std::string& name) const;
  // A member the caller may see: NotFoundError if absent or blocked either
  // way (for member callers). `field` names the request field.
  absl::StatusOr<v1::Member> Visible(const Caller& caller, MemberId id, const char* field) const;
  absl::StatusOr<bool> BlockedEitherWay(MemberId a, MemberId b) const;
  // Email and billing anchor only for the member themselves and services.
  static v1::Member Redact(const Caller& caller, v1::Member member);
  // A random id in [1, 2^53) (exact in any JSON number) this shard owns
  // whose record key, key(id) in the members family, is free.
  absl::StatusOr<uint64_t> NewId(std::string (*key)(uint64_t));
  // The target of a "member_id, empty means me" field; services must name one.
  absl::StatusOr<MemberId> SelfOrNamed(const Caller& caller, const std::string& member_id,
                                       const char* field) const;

  // Adds or removes the connection a-b in `write` (adjacency of both), and
  // its change for the feed in `changes`. `a` is the member acting:
  // `removed` says whether a was connected to b.
  absl::Status Connect(PairWrite* write, MemberId a, MemberId b, std::vector<v1::Change>* changes);
  absl::Status Disconnect(PairWrite* write, MemberId a, MemberId b, bool* removed,
                          std::vector<v1::Change>* changes);
  // Deletes a pending invitation and its indexes, on both sides.
  absl::Status DeleteInvitation(PairWrite* write, const v1::Invitation& invitation, MemberId sender,
                                MemberId recipient);
  absl::Status CheckConnectionRoom(MemberId a, MemberId b) const;
  // `count_mutual` false leaves mutual_connection_count 0 (cheaper).
  // `known_b`: b's record, if the caller has read it already; otherwise it
  // is read, and its shard's cursor added to `cursors`.
  absl::StatusOr<v1::Relationship> Relate(const Caller& caller, MemberId a, const v1::Member& am,
                                          MemberId b, bool count_mutual,
                                          const v1::Member* known_b = nullptr,
                                          FeedCursors* cursors = nullptr) const;

  // Writes the batch with `changes` appended to the feed, synced.
  absl::Status Commit(rocksdb::WriteBatch* batch, const std::vector<v1::Change>& changes = {});
  absl::Status Commit(PairWrite* write, const std::vector<v1::Change>& changes = {});
  void Count(const char* event);

  IdentityStore* store_;
  const Clock* clock_;
  ChangeFeed* feed_;
  PeerOutbox* outbox_;
  IdentityPeers* peers_;  // null with one shard
  std::unique_ptr<Graph> graph_;
  prometheus::Family<prometheus::Counter>& events_;
  mutable std::array<absl::Mutex, 1024> stripes_;
  absl::Mutex random_mu_;
  absl::BitGen random_ ABSL_GUARDED_BY(random_mu_);
  // The last peer write applied from each other shard (their order, once
  // each); its mu() serializes applying them.
  AppliedMarks peer_applied_;
};

}  // namespace liaison::identity

#endif  // LIAISON_SERVICES_IDENTITY_IDENTITY_LOGIC_H_
