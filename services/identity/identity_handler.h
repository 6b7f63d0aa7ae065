// gRPC in/out for liaison.identity.v1.IdentityService (callback API). Reads
// run on the callback thread, but for relationship queries, which run on a
// reader pool; writes (which wait for an fsync) run on the writer pool; SendInvitation first asks
// the privacy service, asynchronously, for the recipient's "who can invite me"; CreateMember
// answers once the privacy service knows the new member (PrivacyRegistrar), or failed to hear.
#ifndef LIAISON_SERVICES_IDENTITY_IDENTITY_HANDLER_H_
#define LIAISON_SERVICES_IDENTITY_IDENTITY_HANDLER_H_

#include "common/auth.h"
#include "common/change_feed.h"
#include "common/client.h"
#include "common/rpc.h"
#include "common/shard_router.h"
#include "common/worker_pool.h"
#include "liaison/identity/v1/identity.grpc.pb.h"
#include "liaison/privacy/v1/privacy.grpc.pb.h"
#include "services/identity/identity_logic.h"
#include "services/identity/privacy_registrar.h"

namespace liaison::identity {

class IdentityHandler final : public v1::IdentityService::CallbackService {
 public:
  // `shard` and `shards` route each call to the shard owning its member
  // (DESIGN.md §8); with one shard every call is served here.
  IdentityHandler(IdentityLogic* logic, const TokenVerifier* verifier, WorkerPool* writers,
                  WorkerPool* readers, privacy::v1::PrivacyService::Stub* privacy,
                  ServiceTokenSource* tokens, PrivacyRegistrar* registrar, ChangeFeed* feed,
                  const ShardIdentity* shard, const ShardStubs<v1::IdentityService>* shards)
      : logic_(logic),
        verifier_(verifier),
        writers_(writers),
        readers_(readers),
        privacy_(privacy),
        tokens_(tokens),
        registrar_(registrar),
        feed_(feed),
        sharded_(shard->map().size() > 1),
        forwarder_(shard, shards) {}

  grpc::ServerUnaryReactor* CreateMember(grpc::CallbackServerContext* context,
                                         const v1::CreateMemberRequest* request,
                                         v1::CreateMemberResponse* response) override;
  grpc::ServerUnaryReactor* GetMember(grpc::CallbackServerContext* context,
                                      const v1::GetMemberRequest* request,
                                      v1::GetMemberResponse* response) override;
  grpc::ServerUnaryReactor* BatchGetMembers(grpc::CallbackServerContext* context,
                                            const v1::BatchGetMembersRequest* request,
                                            v1::BatchGetMembersResponse* response) override;
  grpc::ServerUnaryReactor* UpdateMember(grpc::CallbackServerContext* context,
                                         const v1::UpdateMemberRequest* request,
                                         v1::UpdateMemberResponse* response) override;
  grpc::ServerUnaryReactor* SetAccountTier(grpc::CallbackServerContext* context,
                                           const v1::SetAccountTierRequest* request,
                                           v1::SetAccountTierResponse* response) override;
  grpc::ServerUnaryReactor* CreatePage(grpc::CallbackServerContext* context,
                                       const v1::CreatePageRequest* request,
                                       v1::CreatePageResponse* response) override;
  grpc::ServerUnaryReactor* GetPage(grpc::CallbackServerContext* context,
                                    const v1::GetPageRequest* request,
                                    v1::GetPageResponse* response) override;
  grpc::ServerUnaryReactor* FollowPage(grpc::CallbackServerContext* context,
                                       const v1::FollowPageRequest* request,
                                       v1::FollowPageResponse* response) override;
  grpc::ServerUnaryReactor* UnfollowPage(grpc::CallbackServerContext* context,
                                         const v1::UnfollowPageRequest* request,
                                         v1::UnfollowPageResponse* response) override;
  grpc::ServerUnaryReactor* ListPageFollowers(grpc::CallbackServerContext* context,
                                              const v1::ListPageFollowersRequest* request,
                                              v1::ListPageFollowersResponse* response) override;
  grpc::ServerUnaryReactor* GetPageRelation(grpc::CallbackServerContext* context,
                                            const v1::GetPageRelationRequest* request,
                                            v1::GetPageRelationResponse* response) override;
  grpc::ServerUnaryReactor* SendInvitation(grpc::CallbackServerContext* context,
                                           const v1::SendInvitationRequest* request,
                                           v1::SendInvitationResponse* response) override;
  grpc::ServerUnaryReactor* RespondToInvitation(grpc::CallbackServerContext* context,
                                                const v1::RespondToInvitationRequest* request,
                                                v1::RespondToInvitationResponse* response) override;
  grpc::ServerUnaryReactor* WithdrawInvitation(grpc::CallbackServerContext* context,
                                               const v1::WithdrawInvitationRequest* request,
                                               v1::WithdrawInvitationResponse* response) override;
  grpc::ServerUnaryReactor* ListInvitations(grpc::CallbackServerContext* context,
                                            const v1::ListInvitationsRequest* request,
                                            v1::ListInvitationsResponse* response) override;
  grpc::ServerUnaryReactor* ListConnections(grpc::CallbackServerContext* context,
                                            const v1::ListConnectionsRequest* request,
                                            v1::ListConnectionsResponse* response) override;
  grpc::ServerUnaryReactor* RemoveConnection(grpc::CallbackServerContext* context,
                                             const v1::RemoveConnectionRequest* request,
                                             v1::RemoveConnectionResponse* response) override;
  grpc::ServerUnaryReactor* ListMutualConnections(
      grpc::CallbackServerContext* context, const v1::ListMutualConnectionsRequest* request,
      v1::ListMutualConnectionsResponse* response) override;
  grpc::ServerUnaryReactor* GetRelationship(grpc::CallbackServerContext* context,
                                            const v1::GetRelationshipRequest* request,
                                            v1::GetRelationshipResponse* response) override;
  grpc::ServerUnaryReactor* BatchGetRelationships(
      grpc::CallbackServerContext* context, const v1::BatchGetRelationshipsRequest* request,
      v1::BatchGetRelationshipsResponse* response) override;
  grpc::ServerUnaryReactor* BlockMember(grpc::CallbackServerContext* context,
                                        const v1::BlockMemberRequest* request,
                                        v1::BlockMemberResponse* response) override;
  grpc::ServerUnaryReactor* UnblockMember(grpc::CallbackServerContext* context,
                                          const v1::UnblockMemberRequest* request,
                                          v1::UnblockMemberResponse* response) override;
  grpc::ServerUnaryReactor* ListBlockedMembers(grpc::CallbackServerContext* context,
                                               const v1::ListBlockedMembersRequest* request,
                                               v1::ListBlockedMembersResponse* response) override;
  grpc::ServerWriteReactor<v1::WatchChangesResponse>* WatchChanges(
      grpc::CallbackServerContext* context, const v1::WatchChangesRequest* request) override;

 private:
  // The member a call acts for: the caller (0 for a service), the one a
  // member_id field names (the caller when empty), a page. 0: serve here,
  // where validation says what is wrong.
  static MemberId ByCaller(const Caller& caller);
  static MemberId ByName(const Caller& caller, const std::string& member_id);
  static MemberId ByPage(const std::string& page_id);
  // The pool for logic that reads other shards' members (blocking calls);
  // null (the callback thread) when there are none.
  WorkerPool* RemoteReads() const { return sharded_ ? readers_ : nullptr; }

  // Serves a call on the shard owning `route(caller)`: forwards it there
  // with `forward(stub, context, request, response, done)`, or runs
  // `logic(caller)` here, on `pool` (null: on the callback thread).
  template <typename Request, typename Response, typename Route, typename Forward, typename Logic>
  grpc::ServerUnaryReactor* Routed(grpc::CallbackServerContext* context, Access access,
                                   const Request* request, Response* response, Route route,
                                   Forward forward, WorkerPool* pool, Logic logic) {
    return ServeUnaryAsync(
        context, *verifier_, access, [&](const Caller& caller, grpc::ServerUnaryReactor* reactor) {
          const MemberId member = route(caller);
          if (member != 0 && forwarder_.Forward(context, reactor, member,
                                                [&](auto* stub, auto* outgoing, auto done) {
                                                  forward(stub, outgoing, request, response,
                                                          std::move(done));
                                                })) {
            return;
          }
          if (pool == nullptr) {
            reactor->Finish(ToGrpcStatus(logic(caller)));
            return;
          }
          FinishOnPool(context, reactor, *pool,
                       [caller, logic]() mutable { return logic(caller); });
        });
  }

  IdentityLogic* logic_;
  const TokenVerifier* verifier_;
  WorkerPool* writers_;
  WorkerPool* readers_;
  privacy::v1::PrivacyService::Stub* privacy_;
  ServiceTokenSource* tokens_;
  PrivacyRegistrar* registrar_;
  ChangeFeed* feed_;
  bool sharded_;
  ShardForwarder<v1::IdentityService> forwarder_;
};

}  // namespace liaison::identity

#endif  // LIAISON_SERVICES_IDENTITY_IDENTITY_HANDLER_H_
