#include "services/identity/identity_handler.h"

#include <memory>

#include "common/rpc.h"
#include "common/status.h"
#include "services/identity/identity_changes.h"

namespace liaison::identity {
namespace {

constexpr absl::Duration kPrivacyTimeout = absl::Seconds(2);

}  // namespace

MemberId IdentityHandler::ByCaller(const Caller& caller) {
  return caller.is_member() ? caller.member_id : 0;
}

MemberId IdentityHandler::ByName(const Caller& caller, const std::string& member_id) {
  if (member_id.empty()) return ByCaller(caller);
  auto member = ParseMemberId(member_id, "member_id");
  return member.ok() ? *member : 0;
}

MemberId IdentityHandler::ByPage(const std::string& page_id) {
  auto page = liaison::ParsePageId(page_id, "page_id");
  return page.ok() ? *page : 0;
}

grpc::ServerUnaryReactor* IdentityHandler::CreateMember(grpc::CallbackServerContext* context,
                                                        const v1::CreateMemberRequest* request,
                                                        v1::CreateMemberResponse* response) {
  return ServeUnaryAsync(
      context, *verifier_, Access::kService,
      [this, request, response](const Caller&, grpc::ServerUnaryReactor* reactor) {
        writers_->Post([this, request, response, reactor] {
          absl::Status created = logic_->CreateMember(*request, response);
          if (!created.ok()) {
            reactor->Finish(ToGrpcStatus(created));
            return;
          }
          // Answered once privacy knows the member, so the client may change
          // settings at once; if privacy fails, the member exists all the
          // same and the registrar's loop tells privacy later.
          const MemberId member = std::stoull(response->member().member_id());
          registrar_->RegisterCreated(member, [reactor] { reactor->Finish(grpc::Status::OK); });
        });
      });
}

// The forwarding half of every routed method (one line each below).
#define LIAISON_FORWARD(Method)                                              \
  [](auto* stub, auto* outgoing, auto* request, auto* response, auto done) { \
    stub->async()->Method(outgoing, request, response, std::move(done));     \
  }

grpc::ServerUnaryReactor* IdentityHandler::GetMember(grpc::CallbackServerContext* context,
                                                     const v1::GetMemberRequest* request,
                                                     v1::GetMemberResponse* response) {
  // By id: on the member's shard. By handle: on the caller's (blocks are
  // on its side), or anywhere for a service.
  return Routed(
      context, Access::kMemberOrService, request, response,
      [request](const Caller& caller) {
        return request->member_id().empty() ? ByCaller(caller)
                                            : ByName(caller, request->member_id());
      },
      LIAISON_FORWARD(GetMember), RemoteReads(),
      [this, request, response](const Caller& caller) {
        const uint64_t cursor = feed_->Head();  // before the read: the answer reflects at least it
        RETURN_IF_ERROR(logic_->GetMember(caller, *request, response));
        if (caller.is_service()) response->set_change_cursor(cursor);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* IdentityHandler::BatchGetMembers(
    grpc::CallbackServerContext* context, const v1::BatchGetMembersRequest* request,
    v1::BatchGetMembersResponse* response) {
  return Routed(context, Access::kMemberOrService, request, response, ByCaller,
                LIAISON_FORWARD(BatchGetMembers), RemoteReads(),
                [this, request, response](const Caller& caller) {
                  const uint64_t cursor = feed_->Head();
                  RETURN_IF_ERROR(logic_->BatchGetMembers(caller, *request, response));
                  if (caller.is_service()) response->set_change_cursor(cursor);
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* IdentityHandler::UpdateMember(grpc::CallbackServerContext* context,
                                                        const v1::UpdateMemberRequest* request,
                                                        v1::UpdateMemberResponse* response) {
  return Routed(context, Access::kMember, request, response, ByCaller,
                LIAISON_FORWARD(UpdateMember), writers_,
                [this, request, response](const Caller& caller) {
                  return logic_->UpdateMember(caller, *request, response);
                });
}

grpc::ServerUnaryReactor* IdentityHandler::SetAccountTier(grpc::CallbackServerContext* context,
                                                          const v1::SetAccountTierRequest* request,
                                                          v1::SetAccountTierResponse* response) {
  return Routed(
      context, Access::kService, request, response,
      [request](const Caller& caller) { return ByName(caller, request->member_id()); },
      LIAISON_FORWARD(SetAccountTier), writers_,
      [this, request, response](const Caller&) {
        return logic_->SetAccountTier(*request, response);
      });
}

grpc::ServerUnaryReactor* IdentityHandler::CreatePage(grpc::CallbackServerContext* context,
                                                      const v1::CreatePageRequest* request,
                                                      v1::CreatePageResponse* response) {
  // On the creator's shard, which gives the page an id of its own.
  return Routed(context, Access::kMember, request, response, ByCaller, LIAISON_FORWARD(CreatePage),
                writers_, [this, request, response](const Caller& caller) {
                  return logic_->CreatePage(caller, *request, response);
                });
}

grpc::ServerUnaryReactor* IdentityHandler::GetPage(grpc::CallbackServerContext* context,
                                                   const v1::GetPageRequest* request,
                                                   v1::GetPageResponse* response) {
  return Routed(
      context, Access::kMemberOrService, request, response,
      [request](const Caller&) { return ByPage(request->page_id()); }, LIAISON_FORWARD(GetPage),
      nullptr,
      [this, request, response](const Caller& caller) {
        return logic_->GetPage(caller, *request, response);
      });
}

grpc::ServerUnaryReactor* IdentityHandler::FollowPage(grpc::CallbackServerContext* context,
                                                      const v1::FollowPageRequest* request,
                                                      v1::FollowPageResponse* response) {
  return Routed(
      context, Access::kMember, request, response,
      [request](const Caller&) { return ByPage(request->page_id()); }, LIAISON_FORWARD(FollowPage),
      writers_,
      [this, request](const Caller& caller) { return logic_->FollowPage(caller, *request); });
}

grpc::ServerUnaryReactor* IdentityHandler::UnfollowPage(grpc::CallbackServerContext* context,
                                                        const v1::UnfollowPageRequest* request,
                                                        v1::UnfollowPageResponse* response) {
  return Routed(
      context, Access::kMember, request, response,
      [request](const Caller&) { return ByPage(request->page_id()); },
      LIAISON_FORWARD(UnfollowPage), writers_,
      [this, request](const Caller& caller) { return logic_->UnfollowPage(caller, *request); });
}

grpc::ServerUnaryReactor* IdentityHandler::ListPageFollowers(
    grpc::CallbackServerContext* context, const v1::ListPageFollowersRequest* request,
    v1::ListPageFollowersResponse* response) {
  return Routed(
      context, Access::kMemberOrService, request, response,
      [request](const Caller&) { return ByPage(request->page_id()); },
      LIAISON_FORWARD(ListPageFollowers), nullptr,
      [this, request, response](const Caller& caller) {
        return logic_->ListPageFollowers(caller, *request, response);
      });
}

grpc::ServerUnaryReactor* IdentityHandler::GetPageRelation(
    grpc::CallbackServerContext* context, const v1::GetPageRelationRequest* request,
    v1::GetPageRelationResponse* response) {
  return Routed(
      context, Access::kMemberOrService, request, response,
      [request](const Caller&) { return ByPage(request->page_id()); },
      LIAISON_FORWARD(GetPageRelation), RemoteReads(),
      [this, request, response](const Caller& caller) {
        return logic_->GetPageRelation(caller, *request, response);
      });
}

grpc::ServerUnaryReactor* IdentityHandler::RespondToInvitation(
    grpc::CallbackServerContext* context, const v1::RespondToInvitationRequest* request,
    v1::RespondToInvitationResponse* response) {
  return Routed(context, Access::kMember, request, response, ByCaller,
                LIAISON_FORWARD(RespondToInvitation), writers_,
                [this, request, response](const Caller& caller) {
                  return logic_->RespondToInvitation(caller, *request, response);
                });
}

grpc::ServerUnaryReactor* IdentityHandler::WithdrawInvitation(
    grpc::CallbackServerContext* context, const v1::WithdrawInvitationRequest* request,
    v1::WithdrawInvitationResponse* response) {
  return Routed(context, Access::kMember, request, response, ByCaller,
                LIAISON_FORWARD(WithdrawInvitation), writers_,
                [this, request](const Caller& caller) {
                  return logic_->WithdrawInvitation(caller, *request);
                });
}

grpc::ServerUnaryReactor* IdentityHandler::ListInvitations(
    grpc::CallbackServerContext* context, const v1::ListInvitationsRequest* request,
    v1::ListInvitationsResponse* response) {
  return Routed(context, Access::kMember, request, response, ByCaller,
                LIAISON_FORWARD(ListInvitations), nullptr,
                [this, request, response](const Caller& caller) {
                  return logic_->ListInvitations(caller, *request, response);
                });
}

grpc::ServerUnaryReactor* IdentityHandler::ListConnections(
    grpc::CallbackServerContext* context, const v1::ListConnectionsRequest* request,
    v1::ListConnectionsResponse* response) {
  // A list of up to 30,000 connections is read: off the callback thread.
  return Routed(
      context, Access::kMemberOrService, request, response,
      [request](const Caller& caller) { return ByName(caller, request->member_id()); },
      LIAISON_FORWARD(ListConnections), readers_,
      [this, request, response](const Caller& caller) {
        return logic_->ListConnections(caller, *request, response);
      });
}

grpc::ServerUnaryReactor* IdentityHandler::RemoveConnection(
    grpc::CallbackServerContext* context, const v1::RemoveConnectionRequest* request,
    v1::RemoveConnectionResponse* response) {
  return Routed(context, Access::kMember, request, response, ByCaller,
                LIAISON_FORWARD(RemoveConnection), writers_, [this, request](const Caller& caller) {
                  return logic_->RemoveConnection(caller, *request);
                });
}

grpc::ServerUnaryReactor* IdentityHandler::ListMutualConnections(
    grpc::CallbackServerContext* context, const v1::ListMutualConnectionsRequest* request,
    v1::ListMutualConnectionsResponse* response) {
  // Two lists of up to 30,000 connections are read and intersected.
  return Routed(context, Access::kMember, request, response, ByCaller,
                LIAISON_FORWARD(ListMutualConnections), readers_,
                [this, request, response](const Caller& caller) {
                  return logic_->ListMutualConnections(caller, *request, response);
                });
}

grpc::ServerUnaryReactor* IdentityHandler::GetRelationship(
    grpc::CallbackServerContext* context, const v1::GetRelationshipRequest* request,
    v1::GetRelationshipResponse* response) {
  // Degree search can read many lists: keep it off the callback threads.
  return Routed(
      context, Access::kMemberOrService, request, response,
      [request](const Caller& caller) { return ByName(caller, request->member_id()); },
      LIAISON_FORWARD(GetRelationship), readers_,
      [this, request, response](const Caller& caller) {
        const uint64_t cursor = feed_->Head();
        RETURN_IF_ERROR(logic_->GetRelationship(caller, *request, response));
        if (caller.is_service()) response->set_change_cursor(cursor);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* IdentityHandler::BatchGetRelationships(
    grpc::CallbackServerContext* context, const v1::BatchGetRelationshipsRequest* request,
    v1::BatchGetRelationshipsResponse* response) {
  // Degree search can read many lists: keep it off the callback threads.
  return Routed(
      context, Access::kMemberOrService, request, response,
      [request](const Caller& caller) { return ByName(caller, request->member_id()); },
      LIAISON_FORWARD(BatchGetRelationships), readers_,
      [this, request, response](const Caller& caller) {
        const uint64_t cursor = feed_->Head();
        RETURN_IF_ERROR(logic_->BatchGetRelationships(caller, *request, response));
        if (caller.is_service()) response->set_change_cursor(cursor);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* IdentityHandler::BlockMember(grpc::CallbackServerContext* context,
                                                       const v1::BlockMemberRequest* request,
                                                       v1::BlockMemberResponse* response) {
  return Routed(
      context, Access::kMember, request, response, ByCaller, LIAISON_FORWARD(BlockMember), writers_,
      [this, request](const Caller& caller) { return logic_->BlockMember(caller, *request); });
}

grpc::ServerUnaryReactor* IdentityHandler::UnblockMember(grpc::CallbackServerContext* context,
                                                         const v1::UnblockMemberRequest* request,
                                                         v1::UnblockMemberResponse* response) {
  return Routed(context, Access::kMember, request, response, ByCaller,
                LIAISON_FORWARD(UnblockMember), writers_, [this, request](const Caller& caller) {
                  return logic_->UnblockMember(caller, *request);
                });
}

grpc::ServerUnaryReactor* IdentityHandler::ListBlockedMembers(
    grpc::CallbackServerContext* context, const v1::ListBlockedMembersRequest* request,
    v1::ListBlockedMembersResponse* response) {
  return Routed(
      context, Access::kMemberOrService, request, response,
      [request](const Caller& caller) { return ByName(caller, request->member_id()); },
      LIAISON_FORWARD(ListBlockedMembers), nullptr,
      [this, request, response](const Caller& caller) {
        return logic_->ListBlockedMembers(caller, *request, response);
      });
}

grpc::ServerUnaryReactor* IdentityHandler::SendInvitation(grpc::CallbackServerContext* context,
                                                          const v1::SendInvitationRequest* request,
                                                          v1::SendInvitationResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<Caller> caller = verifier_->Authorize(*context, Access::kMember);
  if (caller.ok() && forwarder_.Forward(context, reactor, caller->member_id,
                                        [&](auto* stub, auto* outgoing, auto done) {
                                          stub->async()->SendInvitation(outgoing, request, response,
                                                                        done);
                                        })) {
    return reactor;
  }
  absl::StatusOr<MemberId> recipient =
      caller.ok() ? logic_->ParseInvitationRecipient(*caller, *request) : caller.status();
  if (!recipient.ok()) {
    reactor->Finish(ToGrpcStatus(recipient.status()));
    return reactor;
  }
  // The privacy call is asynchronous: no thread waits for it.
  auto fetch = std::make_shared<
      OutgoingCall<privacy::v1::GetSettingsRequest, privacy::v1::GetSettingsResponse>>();
  tokens_->Prepare(&fetch->context, kPrivacyTimeout);
  fetch->request.set_member_id(FormatMemberId(*recipient));
  privacy_->async()->GetSettings(
      &fetch->context, &fetch->request, &fetch->response,
      [this, reactor, request, response, fetch, caller = *caller](grpc::Status status) {
        if (!status.ok()) {
          reactor->Finish(ToGrpcStatus(DependencyError("privacy", status)));
          return;
        }
        writers_->Post([this, reactor, request, response, fetch, caller] {
          reactor->Finish(ToGrpcStatus(
              logic_->SendInvitation(caller, *request, fetch->response.settings(), response)));
        });
      });
  return reactor;
}

grpc::ServerWriteReactor<v1::WatchChangesResponse>* IdentityHandler::WatchChanges(
    grpc::CallbackServerContext* context, const v1::WatchChangesRequest* request) {
  using Stream = FeedStream<v1::WatchChangesResponse>;
  absl::StatusOr<Caller> caller = verifier_->Authorize(*context, Access::kService);
  absl::StatusOr<std::vector<v1::ChangeKind>> kinds =
      caller.ok() ? WatchedKinds(*request) : caller.status();
  if (!kinds.ok()) return Stream::Refuse(ToGrpcStatus(kinds.status()));
  std::optional<uint64_t> after;
  if (request->has_after_cursor()) after = request->after_cursor();
  return Stream::Open(feed_, readers_, after,
                      [kinds = *std::move(kinds)](std::vector<FeedEntry> entries,
                                                  v1::WatchChangesResponse* response) {
                        FillChanges(kinds, std::move(entries), response);
                      });
}

#undef LIAISON_FORWARD

}  // namespace liaison::identity
