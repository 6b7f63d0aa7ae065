#include "services/messaging/messaging_handler.h"

#include <atomic>
#include <memory>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/rpc.h"

namespace liaison::messaging {
namespace {

constexpr absl::Duration kCallTimeout = absl::Seconds(2);

// One outgoing unary call and what it needs to live until its callback.
template <typename Request, typename Response>
struct Call {
  grpc::ClientContext context;
  Request request;
  Response response;
};

}  // namespace

void MessagingHandler::FetchFacts(MemberId sender, MemberId recipient, FactsDone done) {
  struct Gather {
    Call<identity::v1::GetRelationshipRequest, identity::v1::GetRelationshipResponse> identity;
    Call<privacy::v1::GetSettingsRequest, privacy::v1::GetSettingsResponse> privacy;
    std::atomic<int> pending{2};
    grpc::Status identity_status, privacy_status;
    FactsDone done;
  };
  auto g = std::make_shared<Gather>();
  g->done = std::move(done);
  auto finish = [g] {
    if (g->pending.fetch_sub(1) != 1) return;
    MemberSendFacts facts;
    if (g->identity_status.error_code() == grpc::StatusCode::NOT_FOUND) {
      facts.recipient_exists = false;  // the policy says NOT_FOUND
      g->done(facts);
      return;
    }
    if (!g->identity_status.ok()) return g->done(DependencyError("identity", g->identity_status));
    if (!g->privacy_status.ok()) return g->done(DependencyError("privacy", g->privacy_status));
    facts.relationship = g->identity.response.relationship();
    facts.recipient_settings = g->privacy.response.settings();
    g->done(std::move(facts));
  };
  deps_.tokens->Prepare(&g->identity.context, kCallTimeout);
  g->identity.request.set_member_id(FormatMemberId(sender));
  g->identity.request.set_other_member_id(FormatMemberId(recipient));
  deps_.identity->async()->GetRelationship(&g->identity.context, &g->identity.request,
                                           &g->identity.response, [g, finish](grpc::Status s) {
                                             g->identity_status = s;
                                             finish();
                                           });
  deps_.tokens->Prepare(&g->privacy.context, kCallTimeout);
  g->privacy.request.set_member_id(FormatMemberId(recipient));
  deps_.privacy->async()->GetSettings(&g->privacy.context, &g->privacy.request,
                                      &g->privacy.response, [g, finish](grpc::Status s) {
                                        g->privacy_status = s;
                                        finish();
                                      });
}

void MessagingHandler::FetchRelationships(MemberId member, const std::vector<MemberId>& others,
                                          RelationshipsDone done) {
  auto call = std::make_shared<Call<identity::v1::BatchGetRelationshipsRequest,
                                    identity::v1::BatchGetRelationshipsResponse>>();
  deps_.tokens->Prepare(&call->context, kCallTimeout);
  call->request.set_member_id(FormatMemberId(member));
  for (MemberId m : others) call->request.add_other_member_ids(FormatMemberId(m));
  deps_.identity->async()->BatchGetRelationships(
      &call->context, &call->request, &call->response,
      [call, done = std::move(done)](grpc::Status s) {
        if (!s.ok()) return done(DependencyError("identity", s));
        if (!call->response.missing_member_ids().empty()) {
          return done(absl::NotFoundError(
              absl::StrCat("no member ", call->response.missing_member_ids(0))));
        }
        done(std::vector<identity::v1::Relationship>(call->response.relationships().begin(),
                                                     call->response.relationships().end()));
      });
}

void MessagingHandler::Refund(MemberId sender, const std::string& inmail_id,
                              std::function<void()> done) {
  auto call =
      std::make_shared<Call<credits::v1::RefundInMailRequest, credits::v1::RefundInMailResponse>>();
  deps_.tokens->Prepare(&call->context, kCallTimeout);
  call->request.set_member_id(FormatMemberId(sender));
  call->request.set_inmail_id(inmail_id);
  deps_.credits->async()->RefundInMail(
      &call->context, &call->request, &call->response,
      [this, call, inmail_id, done = std::move(done)](grpc::Status s) {
        if (!s.ok()) return done();  // the outbox loop tries again
        writers_->Post([this, inmail_id, done] {
          (void)logic_->ClearOutbox(inmail_id);
          done();
        });
      });
}

void MessagingHandler::CommitAndDeliver(MemberId sender, const std::string& inmail_id,
                                        std::function<void(absl::Status)> done) {
  auto call =
      std::make_shared<Call<credits::v1::CommitHoldRequest, credits::v1::CommitHoldResponse>>();
  deps_.tokens->Prepare(&call->context, kCallTimeout);
  call->request.set_member_id(FormatMemberId(sender));
  call->request.set_inmail_id(inmail_id);
  deps_.credits->async()->CommitHold(
      &call->context, &call->request, &call->response,
      [this, call, inmail_id, done = std::move(done)](grpc::Status s) {
        if (s.ok()) {
          writers_->Post([this, inmail_id, done] { done(logic_->Deliver(inmail_id)); });
        } else if (s.error_code() == grpc::StatusCode::FAILED_PRECONDITION ||
                   s.error_code() == grpc::StatusCode::NOT_FOUND) {
          // The hold is gone: this InMail can never be paid for, so it is not sent.
          writers_->Post([this, inmail_id, done] {
            absl::Status abandoned = logic_->Abandon(inmail_id);
            done(abandoned.ok() ? absl::AbortedError("the credit hold for this InMail expired "
                                                     "before it could be sent; send it again")
                                : abandoned);
          });
        } else {
          // Stored with its outbox record: the outbox loop delivers it.
          done(absl::OkStatus());
        }
      });
}

grpc::ServerUnaryReactor* MessagingHandler::SendMessage(grpc::CallbackServerContext* context,
                                                        const v1::SendMessageRequest* request,
                                                        v1::SendMessageResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto caller = verifier_->Authorize(*context, Access::kMember);
  auto target = caller.ok() ? logic_->PrepareSend(*caller, *request, response) : caller.status();
  if (!target.ok() || target->answered) {
    reactor->Finish(ToGrpcStatus(target.status()));  // an error, or a retry answered
    return reactor;
  }
  // Per-sender limits, before anything is asked of other services.
  const uint64_t limit_target = target->conversation ? *target->conversation
                                : target->recipient  ? *target->recipient
                                                     : target->group.front();
  if (absl::Status limited = limiter_->Message(caller->member_id, request->body(), limit_target);
      !limited.ok()) {
    reactor->Finish(ToGrpcStatus(limited));
    return reactor;
  }
  const Caller who = *caller;
  if (!target->group.empty()) {
    FetchRelationships(who.member_id, target->group,
                       [this, reactor, request, response, who, members = target->group](
                           absl::StatusOr<std::vector<identity::v1::Relationship>> relationships) {
                         if (!relationships.ok())
                           return reactor->Finish(ToGrpcStatus(relationships.status()));
                         writers_->Post([this, reactor, request, response, who, members,
                                         relationships = *std::move(relationships)] {
                           reactor->Finish(ToGrpcStatus(
                               logic_->SendGroup(who, *request, members, relationships, response)));
                         });
                       });
    return reactor;
  }
  if (target->recipient) {
    FetchFacts(who.member_id, *target->recipient,
               [this, reactor, request, response, who,
                recipient = *target->recipient](absl::StatusOr<MemberSendFacts> facts) {
                 if (!facts.ok()) return reactor->Finish(ToGrpcStatus(facts.status()));
                 writers_->Post([this, reactor, request, response, who, recipient,
                                 facts = *std::move(facts)] {
                   reactor->Finish(
                       ToGrpcStatus(logic_->SendDirect(who, *request, recipient, facts, response)));
                 });
               });
    return reactor;
  }
  auto send = [this, reactor, request, response, who,
               c = *target->conversation](std::optional<identity::v1::Relationship> relationship) {
    writers_->Post([this, reactor, request, response, who, c, relationship] {
      std::string refund;
      absl::Status status = logic_->SendToConversation(
          who, *request, c, relationship ? &*relationship : nullptr, response, &refund);
      if (!status.ok() || refund.empty()) return reactor->Finish(ToGrpcStatus(status));
      // This reply answered an InMail: give the sender's credit back.
      const auto& inmail = response->conversation().inmail();
      Refund(std::stoull(inmail.sender_id()), refund,
             [reactor] { reactor->Finish(grpc::Status::OK); });
    });
  };
  if (!target->peer) {
    send(std::nullopt);
    return reactor;
  }
  // A 1:1: a block since the last message closes it.
  FetchFacts(who.member_id, *target->peer, [reactor, send](absl::StatusOr<MemberSendFacts> facts) {
    if (!facts.ok()) return reactor->Finish(ToGrpcStatus(facts.status()));
    send(facts->relationship);
  });
  return reactor;
}

grpc::ServerUnaryReactor* MessagingHandler::SendInMail(grpc::CallbackServerContext* context,
                                                       const v1::SendInMailRequest* request,
                                                       v1::SendInMailResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto caller = verifier_->Authorize(*context, Access::kMember);
  auto recipient = caller.ok() ? logic_->PrepareInMail(*caller, *request, response)
                               : absl::StatusOr<std::optional<MemberId>>(caller.status());
  if (!recipient.ok() || !recipient->has_value()) {
    reactor->Finish(ToGrpcStatus(recipient.status()));
    return reactor;
  }
  if (absl::Status limited = limiter_->InMail(caller->member_id, request->body(), **recipient);
      !limited.ok()) {
    reactor->Finish(ToGrpcStatus(limited));
    return reactor;
  }
  const Caller who = *caller;
  const MemberId to = **recipient;
  const std::string inmail_id =
      MessagingLogic::InMailId(who.member_id, request->client_message_id());
  FetchFacts(who.member_id, to, [=](absl::StatusOr<MemberSendFacts> facts) {
    absl::Status allowed = facts.ok() ? logic_->CheckInMail(who, to, *facts) : facts.status();
    if (!allowed.ok()) return reactor->Finish(ToGrpcStatus(allowed));
    // 1. Hold a credit (idempotent by InMail id).
    auto hold = std::make_shared<
        Call<credits::v1::ReserveCreditRequest, credits::v1::ReserveCreditResponse>>();
    deps_.tokens->Prepare(&hold->context, kCallTimeout);
    hold->request.set_member_id(FormatMemberId(who.member_id));
    hold->request.set_inmail_id(inmail_id);
    deps_.credits->async()->ReserveCredit(
        &hold->context, &hold->request, &hold->response, [=](grpc::Status s) {
          (void)hold;
          if (!s.ok()) {
            const bool decided = s.error_code() == grpc::StatusCode::FAILED_PRECONDITION ||
                                 s.error_code() == grpc::StatusCode::ABORTED;
            return reactor->Finish(decided ? s : ToGrpcStatus(DependencyError("credits", s)));
          }
          // 2. Store it with its outbox record, 3. commit the hold and deliver.
          writers_->Post([=] {
            absl::Status written = logic_->WriteInMail(who, *request, to, response);
            if (!written.ok()) return reactor->Finish(ToGrpcStatus(written));
            CommitAndDeliver(who.member_id, inmail_id, [=](absl::Status delivered) {
              if (delivered.ok()) {
                response->mutable_conversation()->mutable_inmail()->set_status(
                    v1::IN_MAIL_STATUS_PENDING);
              }
              reactor->Finish(ToGrpcStatus(delivered));
            });
          });
        });
  });
  return reactor;
}

grpc::ServerUnaryReactor* MessagingHandler::RespondToInMail(
    grpc::CallbackServerContext* context, const v1::RespondToInMailRequest* request,
    v1::RespondToInMailResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto caller = verifier_->Authorize(*context, Access::kMember);
  if (!caller.ok()) {
    reactor->Finish(ToGrpcStatus(caller.status()));
    return reactor;
  }
  writers_->Post([this, reactor, request, response, who = *caller] {
    std::string refund;
    absl::Status status = logic_->RespondToInMail(who, *request, response, &refund);
    if (!status.ok() || refund.empty()) return reactor->Finish(ToGrpcStatus(status));
    Refund(std::stoull(response->conversation().inmail().sender_id()), refund,
           [reactor] { reactor->Finish(grpc::Status::OK); });
  });
  return reactor;
}

grpc::ServerUnaryReactor* MessagingHandler::AddParticipants(
    grpc::CallbackServerContext* context, const v1::AddParticipantsRequest* request,
    v1::AddParticipantsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto caller = verifier_->Authorize(*context, Access::kMember);
  auto members = caller.ok() ? logic_->PrepareAdd(*caller, *request)
                             : absl::StatusOr<std::vector<MemberId>>(caller.status());
  if (!members.ok()) {
    reactor->Finish(ToGrpcStatus(members.status()));
    return reactor;
  }
  FetchRelationships(caller->member_id, *members,
                     [this, reactor, request, response, who = *caller](
                         absl::StatusOr<std::vector<identity::v1::Relationship>> relationships) {
                       if (!relationships.ok())
                         return reactor->Finish(ToGrpcStatus(relationships.status()));
                       writers_->Post([this, reactor, request, response, who,
                                       relationships = *std::move(relationships)] {
                         reactor->Finish(ToGrpcStatus(
                             logic_->AddParticipants(who, *request, relationships, response)));
                       });
                     });
  return reactor;
}

grpc::ServerUnaryReactor* MessagingHandler::RemoveParticipant(
    grpc::CallbackServerContext* context, const v1::RemoveParticipantRequest* request,
    v1::RemoveParticipantResponse* response) {
  return ServeUnaryOnPool(context, *verifier_, Access::kMember, *writers_,
                          [this, request, response](const Caller& caller) {
                            return logic_->RemoveParticipant(caller, *request, response);
                          });
}

grpc::ServerUnaryReactor* MessagingHandler::LeaveConversation(
    grpc::CallbackServerContext* context, const v1::LeaveConversationRequest* request,
    v1::LeaveConversationResponse* response) {
  return ServeUnaryOnPool(context, *verifier_, Access::kMember, *writers_,
                          [this, request](const Caller& caller) {
                            return logic_->LeaveConversation(caller, *request);
                          });
}

grpc::ServerUnaryReactor* MessagingHandler::RenameConversation(
    grpc::CallbackServerContext* context, const v1::RenameConversationRequest* request,
    v1::RenameConversationResponse* response) {
  return ServeUnaryOnPool(context, *verifier_, Access::kMember, *writers_,
                          [this, request, response](const Caller& caller) {
                            return logic_->RenameConversation(caller, *request, response);
                          });
}

grpc::ServerUnaryReactor* MessagingHandler::UpdateConversationState(
    grpc::CallbackServerContext* context, const v1::UpdateConversationStateRequest* request,
    v1::UpdateConversationStateResponse* response) {
  return ServeUnaryOnPool(context, *verifier_, Access::kMember, *writers_,
                          [this, request, response](const Caller& caller) {
                            return logic_->UpdateConversationState(caller, *request, response);
                          });
}

grpc::ServerUnaryReactor* MessagingHandler::MarkConversationUnread(
    grpc::CallbackServerContext* context, const v1::MarkConversationUnreadRequest* request,
    v1::MarkConversationUnreadResponse* response) {
  return ServeUnaryOnPool(context, *verifier_, Access::kMember, *writers_,
                          [this, request, response](const Caller& caller) {
                            return logic_->MarkConversationUnread(caller, *request, response);
                          });
}

grpc::ServerUnaryReactor* MessagingHandler::DeleteConversation(
    grpc::CallbackServerContext* context, const v1::DeleteConversationRequest* request,
    v1::DeleteConversationResponse* response) {
  return ServeUnaryOnPool(context, *verifier_, Access::kMember, *writers_,
                          [this, request](const Caller& caller) {
                            return logic_->DeleteConversation(caller, *request);
                          });
}

grpc::ServerUnaryReactor* MessagingHandler::ReportConversation(
    grpc::CallbackServerContext* context, const v1::ReportConversationRequest* request,
    v1::ReportConversationResponse* response) {
  return ServeUnaryOnPool(context, *verifier_, Access::kMember, *writers_,
                          [this, request](const Caller& caller) {
                            return logic_->ReportConversation(caller, *request);
                          });
}

grpc::ServerUnaryReactor* MessagingHandler::SendTypingIndicator(
    grpc::CallbackServerContext* context, const v1::SendTypingIndicatorRequest* request,
    v1::SendTypingIndicatorResponse* response) {
  return ServeUnary(context, *verifier_, Access::kMember, [&](const Caller& caller) {
    return logic_->SendTypingIndicator(caller, *request);
  });
}

namespace {

// A stream refused before it started (bad token or cursor).
class RefusedStream final : public grpc::ServerWriteReactor<v1::StreamEventsResponse> {
 public:
  explicit RefusedStream(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::ServerWriteReactor<v1::StreamEventsResponse>* MessagingHandler::StreamEvents(
    grpc::CallbackServerContext* context, const v1::StreamEventsRequest* request) {
  auto caller = verifier_->Authorize(*context, Access::kMember);
  if (!caller.ok()) return new RefusedStream(ToGrpcStatus(caller.status()));
  uint64_t after = 0;
  if (!request->cursor().empty() && !absl::SimpleAtoi(request->cursor(), &after)) {
    return new RefusedStream(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                          "cursor is not one this stream sent; pass it unchanged"));
  }
  return hub_->Open(caller->member_id, after);
}

grpc::ServerUnaryReactor* MessagingHandler::ListConversations(
    grpc::CallbackServerContext* context, const v1::ListConversationsRequest* request,
    v1::ListConversationsResponse* response) {
  return ServeUnary(context, *verifier_, Access::kMember, [&](const Caller& caller) {
    return logic_->ListConversations(caller, *request, response);
  });
}

grpc::ServerUnaryReactor* MessagingHandler::GetConversation(
    grpc::CallbackServerContext* context, const v1::GetConversationRequest* request,
    v1::GetConversationResponse* response) {
  return ServeUnary(context, *verifier_, Access::kMember, [&](const Caller& caller) {
    return logic_->GetConversation(caller, *request, response);
  });
}

grpc::ServerUnaryReactor* MessagingHandler::ListMessages(grpc::CallbackServerContext* context,
                                                         const v1::ListMessagesRequest* request,
                                                         v1::ListMessagesResponse* response) {
  return ServeUnary(context, *verifier_, Access::kMember, [&](const Caller& caller) {
    return logic_->ListMessages(caller, *request, response);
  });
}

grpc::ServerUnaryReactor* MessagingHandler::GetUnreadCounts(
    grpc::CallbackServerContext* context, const v1::GetUnreadCountsRequest* request,
    v1::GetUnreadCountsResponse* response) {
  return ServeUnary(context, *verifier_, Access::kMember, [&](const Caller& caller) {
    return logic_->GetUnreadCounts(caller, response);
  });
}

grpc::ServerUnaryReactor* MessagingHandler::MarkConversationRead(
    grpc::CallbackServerContext* context, const v1::MarkConversationReadRequest* request,
    v1::MarkConversationReadResponse* response) {
  return ServeUnaryOnPool(context, *verifier_, Access::kMember, *writers_,
                          [this, request, response](const Caller& caller) {
                            return logic_->MarkConversationRead(caller, *request, response);
                          });
}

}  // namespace liaison::messaging
