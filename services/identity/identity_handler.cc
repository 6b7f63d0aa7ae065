#include "services/identity/identity_handler.h"

#include <memory>

#include "common/rpc.h"
#include "common/status.h"
#include "services/identity/identity_changes.h"

namespace liaison::identity {
namespace {

constexpr absl::Duration kPrivacyTimeout = absl::Seconds(2);

}  // namespace

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

grpc::ServerUnaryReactor* IdentityHandler::GetMember(grpc::CallbackServerContext* context,
                                                     const v1::GetMemberRequest* request,
                                                     v1::GetMemberResponse* response) {
  return ServeUnary(context, *verifier_, Access::kMemberOrService, [&](const Caller& caller) {
    const uint64_t cursor = feed_->Head();  // before the read: the answer reflects at least it
    RETURN_IF_ERROR(logic_->GetMember(caller, *request, response));
    if (caller.is_service()) response->set_change_cursor(cursor);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IdentityHandler::BatchGetMembers(
    grpc::CallbackServerContext* context, const v1::BatchGetMembersRequest* request,
    v1::BatchGetMembersResponse* response) {
  return ServeUnary(context, *verifier_, Access::kMemberOrService, [&](const Caller& caller) {
    const uint64_t cursor = feed_->Head();
    RETURN_IF_ERROR(logic_->BatchGetMembers(caller, *request, response));
    if (caller.is_service()) response->set_change_cursor(cursor);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IdentityHandler::UpdateMember(grpc::CallbackServerContext* context,
                                                        const v1::UpdateMemberRequest* request,
                                                        v1::UpdateMemberResponse* response) {
  return ServeUnaryOnPool(context, *verifier_, Access::kMember, *writers_,
                          [this, request, response](const Caller& caller) {
                            (void)caller;
                            (void)response;
                            return logic_->UpdateMember(caller, *request, response);
                          });
}

grpc::ServerUnaryReactor* IdentityHandler::SetAccountTier(grpc::CallbackServerContext* context,
                                                          const v1::SetAccountTierRequest* request,
                                                          v1::SetAccountTierResponse* response) {
  return ServeUnaryOnPool(context, *verifier_, Access::kService, *writers_,
                          [this, request, response](const Caller& caller) {
                            (void)caller;
                            (void)response;
                            return logic_->SetAccountTier(*request, response);
                          });
}

grpc::ServerUnaryReactor* IdentityHandler::CreatePage(grpc::CallbackServerContext* context,
                                                      const v1::CreatePageRequest* request,
                                                      v1::CreatePageResponse* response) {
  return ServeUnaryOnPool(context, *verifier_, Access::kMember, *writers_,
                          [this, request, response](const Caller& caller) {
                            (void)caller;
                            (void)response;
                            return logic_->CreatePage(caller, *request, response);
                          });
}

grpc::ServerUnaryReactor* IdentityHandler::GetPage(grpc::CallbackServerContext* context,
                                                   const v1::GetPageRequest* request,
                                                   v1::GetPageResponse* response) {
  return ServeUnary(context, *verifier_, Access::kMemberOrService, [&](const Caller& caller) {
    (void)caller;
    return logic_->GetPage(caller, *request, response);
  });
}

grpc::ServerUnaryReactor* IdentityHandler::FollowPage(grpc::CallbackServerContext* context,
                                                      const v1::FollowPageRequest* request,
                                                      v1::FollowPageResponse* response) {
  return ServeUnaryOnPool(context, *verifier_, Access::kMember, *writers_,
                          [this, request, response](const Caller& caller) {
                            (void)caller;
                            (void)response;
                            return logic_->FollowPage(caller, *request);
                          });
}

grpc::ServerUnaryReactor* IdentityHandler::UnfollowPage(grpc::CallbackServerContext* context,
                                                        const v1::UnfollowPageRequest* request,
                                                        v1::UnfollowPageResponse* response) {
  return ServeUnaryOnPool(context, *verifier_, Access::kMember, *writers_,
                          [this, request, response](const Caller& caller) {
                            (void)caller;
                            (void)response;
                            return logic_->UnfollowPage(caller, *request);
                          });
}

grpc::ServerUnaryReactor* IdentityHandler::ListPageFollowers(
    grpc::CallbackServerContext* context, const v1::ListPageFollowersRequest* request,
    v1::ListPageFollowersResponse* response) {
  return ServeUnary(context, *verifier_, Access::kMemberOrService, [&](const Caller& caller) {
    (void)caller;
    return logic_->ListPageFollowers(caller, *request, response);
  });
}

grpc::ServerUnaryReactor* IdentityHandler::GetPageRelation(
    grpc::CallbackServerContext* context, const v1::GetPageRelationRequest* request,
    v1::GetPageRelationResponse* response) {
  return ServeUnary(context, *verifier_, Access::kMemberOrService, [&](const Caller& caller) {
    (void)caller;
    return logic_->GetPageRelation(caller, *request, response);
  });
}

grpc::ServerUnaryReactor* IdentityHandler::RespondToInvitation(
    grpc::CallbackServerContext* context, const v1::RespondToInvitationRequest* request,
    v1::RespondToInvitationResponse* response) {
  return ServeUnaryOnPool(context, *verifier_, Access::kMember, *writers_,
                          [this, request, response](const Caller& caller) {
                            (void)caller;
                            (void)response;
                            return logic_->RespondToInvitation(caller, *request, response);
                          });
}

grpc::ServerUnaryReactor* IdentityHandler::WithdrawInvitation(
    grpc::CallbackServerContext* context, const v1::WithdrawInvitationRequest* request,
    v1::WithdrawInvitationResponse* response) {
  return ServeUnaryOnPool(context, *verifier_, Access::kMember, *writers_,
                          [this, request, response](const Caller& caller) {
                            (void)caller;
                            (void)response;
                            return logic_->WithdrawInvitation(caller, *request);
                          });
}

grpc::ServerUnaryReactor* IdentityHandler::ListInvitations(
    grpc::CallbackServerContext* context, const v1::ListInvitationsRequest* request,
    v1::ListInvitationsResponse* response) {
  return ServeUnary(context, *verifier_, Access::kMember, [&](const Caller& caller) {
    (void)caller;
    return logic_->ListInvitations(caller, *request, response);
  });
}

grpc::ServerUnaryReactor* IdentityHandler::ListConnections(
    grpc::CallbackServerContext* context, const v1::ListConnectionsRequest* request,
    v1::ListConnectionsResponse* response) {
  // A list of up to 30,000 connections is read: off the callback thread.
  return ServeUnaryOnPool(context, *verifier_, Access::kMemberOrService, *readers_,
                          [this, request, response](const Caller& caller) {
                            return logic_->ListConnections(caller, *request, response);
                          });
}

grpc::ServerUnaryReactor* IdentityHandler::RemoveConnection(
    grpc::CallbackServerContext* context, const v1::RemoveConnectionRequest* request,
    v1::RemoveConnectionResponse* response) {
  return ServeUnaryOnPool(context, *verifier_, Access::kMember, *writers_,
                          [this, request, response](const Caller& caller) {
                            (void)caller;
                            (void)response;
                            return logic_->RemoveConnection(caller, *request);
                          });
}

grpc::ServerUnaryReactor* IdentityHandler::ListMutualConnections(
    grpc::CallbackServerContext* context, const v1::ListMutualConnectionsRequest* request,
    v1::ListMutualConnectionsResponse* response) {
  // Two lists of up to 30,000 connections are read and intersected.
  return ServeUnaryOnPool(context, *verifier_, Access::kMember, *readers_,
                          [this, request, response](const Caller& caller) {
                            return logic_->ListMutualConnections(caller, *request, response);
                          });
}

grpc::ServerUnaryReactor* IdentityHandler::GetRelationship(
    grpc::CallbackServerContext* context, const v1::GetRelationshipRequest* request,
    v1::GetRelationshipResponse* response) {
  // Degree search can read many lists: keep it off the callback threads.
  return ServeUnaryOnPool(context, *verifier_, Access::kMemberOrService, *readers_,
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
  return ServeUnaryOnPool(
      context, *verifier_, Access::kMemberOrService, *readers_,
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
  return ServeUnaryOnPool(context, *verifier_, Access::kMember, *writers_,
                          [this, request, response](const Caller& caller) {
                            (void)caller;
                            (void)response;
                            return logic_->BlockMember(caller, *request);
                          });
}

grpc::ServerUnaryReactor* IdentityHandler::UnblockMember(grpc::CallbackServerContext* context,
                                                         const v1::UnblockMemberRequest* request,
                                                         v1::UnblockMemberResponse* response) {
  return ServeUnaryOnPool(context, *verifier_, Access::kMember, *writers_,
                          [this, request, response](const Caller& caller) {
                            (void)caller;
                            (void)response;
                            return logic_->UnblockMember(caller, *request);
                          });
}

grpc::ServerUnaryReactor* IdentityHandler::ListBlockedMembers(
    grpc::CallbackServerContext* context, const v1::ListBlockedMembersRequest* request,
    v1::ListBlockedMembersResponse* response) {
  return ServeUnary(context, *verifier_, Access::kMemberOrService, [&](const Caller& caller) {
    return logic_->ListBlockedMembers(caller, *request, response);
  });
}

grpc::ServerUnaryReactor* IdentityHandler::SendInvitation(grpc::CallbackServerContext* context,
                                                          const v1::SendInvitationRequest* request,
                                                          v1::SendInvitationResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<Caller> caller = verifier_->Authorize(*context, Access::kMember);
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

}  // namespace liaison::identity
