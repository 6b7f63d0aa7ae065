#include "services/messaging/messaging_handler.h"

#include <atomic>
#include <memory>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/rpc.h"
#include "services/messaging/event_cursor.h"
#include "services/messaging/stream_relay.h"

namespace liaison::messaging {

// Forwards the call to another shard's MessagingService (ShardForwarder).
#define LIAISON_FORWARD(Method)                                          \
  [request, response](auto* stub, auto* outgoing, auto done) {           \
    stub->async()->Method(outgoing, request, response, std::move(done)); \
  }

bool MessagingHandler::AtHome(
    grpc::CallbackServerContext* context, grpc::ServerUnaryReactor* reactor,
    std::optional<size_t> home,
    const std::function<void(v1::MessagingService::Stub*, grpc::ClientContext*,
                             std::function<void(grpc::Status)>)>& call) {
  if (deps_.shard == nullptr || !home.has_value()) return false;
  return forwarder_.ForwardTo(
      context, reactor, *home,
      [this, home] {
        return absl::FailedPreconditionError(
            absl::StrCat("this conversation's home is shard ", *home, " in shard map epoch ",
                         deps_.shard->map().epoch(), ", not this shard (", deps_.shard->index(),
                         "); route by the map of that epoch"));
      },
      call);
}

std::optional<size_t> MessagingHandler::HomeOf(const std::string& conversation_id) const {
  if (deps_.shard == nullptr) return std::nullopt;
  auto c = ParseConversationId(conversation_id, "conversation_id");
  if (!c.ok()) return std::nullopt;  // refused here
  return deps_.shard->map().ShardOfPartition(ConversationPartition(*c));
}

std::optional<size_t> MessagingHandler::HomeOfPair(MemberId caller,
                                                   const std::string& other) const {
  if (deps_.shard == nullptr) return std::nullopt;
  auto member = ParseMemberId(other, "recipient_id");
  if (!member.ok()) return std::nullopt;
  return deps_.shard->map().ShardOf(std::min(caller, *member));
}

std::optional<size_t> MessagingHandler::HomeOfSend(MemberId caller,
                                                   const v1::SendMessageRequest& request) const {
  if (deps_.shard == nullptr) return std::nullopt;
  const ShardMap& map = deps_.shard->map();
  switch (request.target_case()) {
    case v1::SendMessageRequest::kConversationId:
      return HomeOf(request.conversation_id());
    case v1::SendMessageRequest::kRecipientId: {
      if (request.as_page_id().empty()) return HomeOfPair(caller, request.recipient_id());
      auto page = ParsePageId(request.as_page_id(), "as_page_id");
      if (!page.ok()) return std::nullopt;
      return map.ShardOf(*page);
    }
    case v1::SendMessageRequest::kPageId: {
      auto page = ParsePageId(request.page_id(), "page_id");
      if (!page.ok()) return std::nullopt;
      return map.ShardOf(*page);
    }
    default:
      return map.ShardOf(caller);  // a new group: the creator's
  }
}

void MessagingHandler::PublishElsewhere(MessagingLogic::LiveElsewhere elsewhere) {
  if (deps_.shard_peers == nullptr) return;
  struct Call {
    grpc::ClientContext context;
    shard::v1::PublishEventRequest request;
    shard::v1::PublishEventResponse response;
  };
  for (const auto& [shard, members] : elsewhere.members) {
    auto* call = new Call;
    deps_.tokens->Prepare(&call->context, absl::Seconds(1));
    for (MemberId member : members) call->request.add_member_ids(FormatMemberId(member));
    *call->request.mutable_event() = elsewhere.event;
    deps_.shard_peers->At(shard)->async()->PublishEvent(
        &call->context, &call->request, &call->response, [call](grpc::Status) { delete call; });
  }
}

void MessagingHandler::Held(const HeldCall& call, absl::Status status,
                            std::function<void(absl::Status)> finish) {
  if (!status.ok() || deps_.deliveries == nullptr || deps_.shard->Owns(call.caller)) {
    return finish(std::move(status));
  }
  // Unreachable, the change stands and its delivery waits in the outbox.
  const size_t shard = deps_.shard->map().ShardOf(call.caller);
  deps_.deliveries->AfterDelivered(
      shard, [this, call, shard, finish = std::move(finish), status = std::move(status)] {
        if (call.view == nullptr) return finish(status);
        CallersView(call, shard, [finish, status] { finish(status); });
      });
}

void MessagingHandler::CallersView(const HeldCall& held, size_t shard, std::function<void()> done) {
  struct Call {
    grpc::ClientContext context;
    v1::GetConversationRequest request;
    v1::GetConversationResponse response;
  };
  auto call = std::make_shared<Call>();
  PrepareForward(*held.context, *deps_.shard, &call->context);
  call->request.set_conversation_id(held.view->conversation_id());
  deps_.peers->At(shard)->async()->GetConversation(
      &call->context, &call->request, &call->response,
      [call, view = held.view, done = std::move(done)](grpc::Status status) {
        // Without it (that shard slow, or down since), the answer goes with
        // the conversation as the home sees it.
        if (status.ok()) *view = std::move(*call->response.mutable_conversation());
        done();
      });
}

std::function<void(absl::Status)> MessagingHandler::Finisher(grpc::ServerUnaryReactor* reactor) {
  return [reactor](const absl::Status& status) { reactor->Finish(ToGrpcStatus(status)); };
}

std::function<void(absl::Status)> MessagingHandler::RefundThenFinish(
    grpc::ServerUnaryReactor* reactor, const v1::Conversation& conversation,
    const std::string& refund) {
  if (refund.empty()) return Finisher(reactor);
  // This reply answered an InMail: give the sender's credit back.
  return [this, reactor, conversation = &conversation, refund](const absl::Status& status) {
    if (!status.ok()) return reactor->Finish(ToGrpcStatus(status));
    Refund(std::stoull(conversation->inmail().sender_id()), refund,
           [reactor] { reactor->Finish(grpc::Status::OK); });
  };
}

grpc::ServerUnaryReactor* MessagingHandler::SendMessage(grpc::CallbackServerContext* context,
                                                        const v1::SendMessageRequest* request,
                                                        v1::SendMessageResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto caller = verifier_->Authorize(*context, Access::kMember);
  if (caller.ok() && AtHome(context, reactor, HomeOfSend(caller->member_id, *request),
                            LIAISON_FORWARD(SendMessage))) {
    return reactor;
  }
  auto target = caller.ok() ? logic_->PrepareSend(*caller, *request, response) : caller.status();
  if (!target.ok() || target->answered) {
    reactor->Finish(ToGrpcStatus(target.status()));  // an error, or a retry answered
    return reactor;
  }
  // Per-sender limits, before anything is asked of other services.
  const uint64_t limit_target = target->conversation ? *target->conversation
                                : target->recipient  ? *target->recipient
                                : target->to_page    ? *target->to_page
                                                     : target->group.front();
  if (absl::Status limited = limiter_->Message(caller->member_id, request->body(), limit_target);
      !limited.ok()) {
    reactor->Finish(ToGrpcStatus(limited));
    return reactor;
  }
  const Caller who = *caller;
  if (!target->group.empty()) {
    FetchRelationships(
        who.member_id, target->group,
        [this, reactor, request, response, who, members = target->group, name = target->group_name](
            absl::StatusOr<std::vector<identity::v1::Relationship>> relationships) {
          if (!relationships.ok()) return reactor->Finish(ToGrpcStatus(relationships.status()));
          writers_->Post([this, reactor, request, response, who, members, name,
                          relationships = *std::move(relationships)] {
            reactor->Finish(ToGrpcStatus(
                logic_->SendGroup(who, *request, members, name, relationships, response)));
          });
        });
    return reactor;
  }
  if (target->to_page || (target->as_page && target->recipient)) {
    const uint64_t page = target->to_page ? *target->to_page : *target->as_page;
    const MemberId member = target->to_page ? who.member_id : *target->recipient;
    FetchPage(page, member,
              [this, context, reactor, request, response, who, page,
               member](absl::StatusOr<PageFacts> facts) {
                if (!facts.ok()) return reactor->Finish(ToGrpcStatus(facts.status()));
                writers_->Post([this, context, reactor, request, response, who, page, member,
                                facts = *std::move(facts)] {
                  Held({context, who.member_id, response->mutable_conversation()},
                       logic_->SendPage(who, *request, page, member, facts, response),
                       Finisher(reactor));
                });
              });
    return reactor;
  }
  if (target->recipient) {
    FetchFacts(who.member_id, *target->recipient,
               [this, context, reactor, request, response, who,
                recipient = *target->recipient](absl::StatusOr<MemberSendFacts> facts) {
                 if (!facts.ok()) return reactor->Finish(ToGrpcStatus(facts.status()));
                 writers_->Post([this, context, reactor, request, response, who, recipient,
                                 facts = *std::move(facts)] {
                   Held({context, who.member_id, response->mutable_conversation()},
                        logic_->SendDirect(who, *request, recipient, facts, response),
                        Finisher(reactor));
                 });
               });
    return reactor;
  }
  auto send = [this, context, reactor, request, response, who, c = *target->conversation](
                  std::optional<identity::v1::Relationship> relationship,
                  std::vector<MemberId> hidden_from = {}) {
    writers_->Post([this, context, reactor, request, response, who, c, relationship,
                    hidden_from = std::move(hidden_from)]() mutable {
      std::string refund;
      absl::Status status =
          logic_->SendToConversation(who, *request, c, relationship ? &*relationship : nullptr,
                                     response, &refund, std::move(hidden_from));
      Held({context, who.member_id, response->mutable_conversation()}, status,
           RefundThenFinish(reactor, response->conversation(), refund));
    });
  };
  if (!target->group_others.empty()) {
    // A group: whoever a block stands between with the sender, either way,
    // never sees this message (and is not told).
    FetchRelationships(
        who.member_id, target->group_others,
        [reactor, send](absl::StatusOr<std::vector<identity::v1::Relationship>> relationships) {
          if (!relationships.ok()) return reactor->Finish(ToGrpcStatus(relationships.status()));
          std::vector<MemberId> hidden_from;
          for (const auto& r : *relationships) {
            if (r.blocked()) hidden_from.push_back(std::stoull(r.other_member_id()));
          }
          send(std::nullopt, std::move(hidden_from));
        });
    return reactor;
  }
  if (!target->peer) {
    send(std::nullopt);
    return reactor;
  }
  // A 1:1: a block since the last message closes it. That is all a reply
  // needs to know: the recipient's settings decided how the conversation
  // began, so privacy is not asked.
  FetchFacts(
      who.member_id, *target->peer,
      [reactor, send](absl::StatusOr<MemberSendFacts> facts) {
        if (!facts.ok()) return reactor->Finish(ToGrpcStatus(facts.status()));
        send(facts->relationship);
      },
      /*with_settings=*/false);
  return reactor;
}

grpc::ServerUnaryReactor* MessagingHandler::SendInMail(grpc::CallbackServerContext* context,
                                                       const v1::SendInMailRequest* request,
                                                       v1::SendInMailResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto caller = verifier_->Authorize(*context, Access::kMember);
  if (caller.ok() &&
      AtHome(context, reactor, HomeOfPair(caller->member_id, request->recipient_id()),
             LIAISON_FORWARD(SendInMail))) {
    return reactor;
  }
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
    Reserve(who.member_id, inmail_id, [=](grpc::Status held) {
      if (!held.ok()) return reactor->Finish(held);
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
  return ServeUnaryAsync(
      context, *verifier_, Access::kMember, [&](const Caller& who, auto* reactor) {
        if (AtHome(context, reactor, HomeOf(request->conversation_id()),
                   LIAISON_FORWARD(RespondToInMail))) {
          return;
        }
        writers_->Post([this, context, reactor, request, response, who] {
          std::string refund;
          absl::Status status = logic_->RespondToInMail(who, *request, response, &refund);
          Held({context, who.member_id, response->mutable_conversation()}, status,
               RefundThenFinish(reactor, response->conversation(), refund));
        });
      });
}

grpc::ServerUnaryReactor* MessagingHandler::AddParticipants(
    grpc::CallbackServerContext* context, const v1::AddParticipantsRequest* request,
    v1::AddParticipantsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto caller = verifier_->Authorize(*context, Access::kMember);
  if (caller.ok() && AtHome(context, reactor, HomeOf(request->conversation_id()),
                            LIAISON_FORWARD(AddParticipants))) {
    return reactor;
  }
  auto members = caller.ok() ? logic_->PrepareAdd(*caller, *request)
                             : absl::StatusOr<std::vector<MemberId>>(caller.status());
  if (!members.ok()) {
    reactor->Finish(ToGrpcStatus(members.status()));
    return reactor;
  }
  FetchRelationships(
      caller->member_id, *members,
      [this, context, reactor, request, response,
       who = *caller](absl::StatusOr<std::vector<identity::v1::Relationship>> relationships) {
        if (!relationships.ok()) return reactor->Finish(ToGrpcStatus(relationships.status()));
        writers_->Post([this, context, reactor, request, response, who,
                        relationships = *std::move(relationships)] {
          Held({context, who.member_id, response->mutable_conversation()},
               logic_->AddParticipants(who, *request, relationships, response), Finisher(reactor));
        });
      });
  return reactor;
}

grpc::ServerUnaryReactor* MessagingHandler::RemoveParticipant(
    grpc::CallbackServerContext* context, const v1::RemoveParticipantRequest* request,
    v1::RemoveParticipantResponse* response) {
  return AtHomeOnPool(context, request->conversation_id(), LIAISON_FORWARD(RemoveParticipant),
                      [this, request, response](const Caller& caller) {
                        return logic_->RemoveParticipant(caller, *request, response);
                      });
}

grpc::ServerUnaryReactor* MessagingHandler::LeaveConversation(
    grpc::CallbackServerContext* context, const v1::LeaveConversationRequest* request,
    v1::LeaveConversationResponse* response) {
  return AtHomeOnPool(context, request->conversation_id(), LIAISON_FORWARD(LeaveConversation),
                      [this, request](const Caller& caller) {
                        return logic_->LeaveConversation(caller, *request);
                      });
}

grpc::ServerUnaryReactor* MessagingHandler::RenameConversation(
    grpc::CallbackServerContext* context, const v1::RenameConversationRequest* request,
    v1::RenameConversationResponse* response) {
  return AtHomeOnPool(context, request->conversation_id(), LIAISON_FORWARD(RenameConversation),
                      [this, request, response](const Caller& caller) {
                        return logic_->RenameConversation(caller, *request, response);
                      });
}

grpc::ServerUnaryReactor* MessagingHandler::UpdateConversationState(
    grpc::CallbackServerContext* context, const v1::UpdateConversationStateRequest* request,
    v1::UpdateConversationStateResponse* response) {
  return MineOnPool(context, *writers_, LIAISON_FORWARD(UpdateConversationState),
                    [this, request, response](const Caller& caller) {
                      return logic_->UpdateConversationState(caller, *request, response);
                    });
}

grpc::ServerUnaryReactor* MessagingHandler::MarkConversationUnread(
    grpc::CallbackServerContext* context, const v1::MarkConversationUnreadRequest* request,
    v1::MarkConversationUnreadResponse* response) {
  return MineOnPool(context, *writers_, LIAISON_FORWARD(MarkConversationUnread),
                    [this, request, response](const Caller& caller) {
                      return logic_->MarkConversationUnread(caller, *request, response);
                    });
}

grpc::ServerUnaryReactor* MessagingHandler::DeleteConversation(
    grpc::CallbackServerContext* context, const v1::DeleteConversationRequest* request,
    v1::DeleteConversationResponse* response) {
  return MineOnPool(context, *writers_, LIAISON_FORWARD(DeleteConversation),
                    [this, request](const Caller& caller) {
                      return logic_->DeleteConversation(caller, *request);
                    });
}

grpc::ServerUnaryReactor* MessagingHandler::ReportConversation(
    grpc::CallbackServerContext* context, const v1::ReportConversationRequest* request,
    v1::ReportConversationResponse* response) {
  return MineOnPool(context, *writers_, LIAISON_FORWARD(ReportConversation),
                    [this, request](const Caller& caller) {
                      return logic_->ReportConversation(caller, *request);
                    });
}

grpc::ServerUnaryReactor* MessagingHandler::SendTypingIndicator(
    grpc::CallbackServerContext* context, const v1::SendTypingIndicatorRequest* request,
    v1::SendTypingIndicatorResponse* response) {
  return ServeUnaryAsync(
      context, *verifier_, Access::kMember, [&](const Caller& who, auto* reactor) {
        if (forwarder_.Forward(context, reactor, who.member_id,
                               LIAISON_FORWARD(SendTypingIndicator)))
          return;
        ShareWith(who, request->conversation_id(),
                  [this, reactor, request, who](absl::StatusOr<std::vector<MemberId>> to) {
                    if (!to.ok()) return reactor->Finish(ToGrpcStatus(to.status()));
                    MessagingLogic::LiveElsewhere elsewhere;
                    absl::Status sent = logic_->SendTypingIndicator(who, *request, *to, &elsewhere);
                    if (sent.ok()) PublishElsewhere(std::move(elsewhere));
                    reactor->Finish(ToGrpcStatus(sent));
                  });
      });
}

grpc::ServerWriteReactor<v1::StreamEventsResponse>* MessagingHandler::StreamEvents(
    grpc::CallbackServerContext* context, const v1::StreamEventsRequest* request) {
  auto caller = verifier_->Authorize(*context, Access::kMember);
  if (!caller.ok()) return EventHub::Refused(ToGrpcStatus(caller.status()));
  // Sharded, a member's events are their own shard's: a stream opened
  // elsewhere is relayed from there (once: a relayed stream that reaches
  // a shard not owning the member is refused, naming the epoch).
  if (deps_.shard != nullptr && !deps_.shard->Owns(caller->member_id)) {
    if (WasForwarded(*context)) {
      context->AddTrailingMetadata(kWrongShardTrailer, absl::StrCat(deps_.shard->map().epoch()));
      return EventHub::Refused(ToGrpcStatus(deps_.shard->CheckOwned(caller->member_id)));
    }
    return new StreamRelay(context, *deps_.shard, deps_.peers->For(caller->member_id), *request,
                           &relays_);
  }
  // No cursor: only new events. A cursor, "0" included: what came after it.
  std::optional<uint64_t> after;
  if (!request->cursor().empty()) {
    auto parsed = ParseEventCursor(request->cursor());
    if (!parsed.ok()) return EventHub::Refused(ToGrpcStatus(parsed.status()));
    after = *parsed;
  }
  return hub_->Open(caller->member_id, after, context);
}

grpc::ServerUnaryReactor* MessagingHandler::ListConversations(
    grpc::CallbackServerContext* context, const v1::ListConversationsRequest* request,
    v1::ListConversationsResponse* response) {
  return ServeUnaryAsync(
      context, *verifier_, Access::kMember, [&](const Caller& who, auto* reactor) {
        if (forwarder_.Forward(context, reactor, who.member_id, LIAISON_FORWARD(ListConversations)))
          return;
        auto list = [this, context, reactor, request, response, who](bool focused_inbox) {
          readers_->Post([this, context, reactor, request, response, who, focused_inbox] {
            absl::Status listed = StillWanted(*context);
            if (listed.ok()) {
              listed = logic_->ListConversations(who, *request, response, focused_inbox);
            }
            if (!listed.ok()) return reactor->Finish(ToGrpcStatus(listed));
            // A page may come back shorter than page_size; its token still goes on.
            HideBlocked(who.member_id, response->mutable_conversations(),
                        [reactor, response](absl::Status hidden) {
                          if (!hidden.ok()) response->Clear();
                          reactor->Finish(ToGrpcStatus(hidden));
                        });
          });
        };
        // Only FOCUSED and OTHER depend on the focused_inbox setting.
        if (request->folder() != v1::FOLDER_FOCUSED && request->folder() != v1::FOLDER_OTHER) {
          return list(true);
        }
        FetchFocusedInbox(who.member_id, [reactor, list](absl::StatusOr<bool> focused) {
          if (!focused.ok()) return reactor->Finish(ToGrpcStatus(focused.status()));
          list(*focused);
        });
      });
}

grpc::ServerUnaryReactor* MessagingHandler::GetConversation(
    grpc::CallbackServerContext* context, const v1::GetConversationRequest* request,
    v1::GetConversationResponse* response) {
  return ServeUnaryAsync(
      context, *verifier_, Access::kMember, [&](const Caller& who, auto* reactor) {
        if (forwarder_.Forward(context, reactor, who.member_id, LIAISON_FORWARD(GetConversation)))
          return;
        absl::Status got = logic_->GetConversation(who, *request, response);
        if (!got.ok()) return reactor->Finish(ToGrpcStatus(got));
        auto one = std::make_shared<google::protobuf::RepeatedPtrField<v1::Conversation>>();
        *one->Add() = response->conversation();
        HideBlocked(who.member_id, one.get(),
                    [reactor, request, response, one](absl::Status hidden) {
                      if (hidden.ok() && one->empty()) {
                        hidden = absl::NotFoundError(
                            absl::StrCat("no conversation ", request->conversation_id()));
                      }
                      if (!hidden.ok()) response->Clear();
                      reactor->Finish(ToGrpcStatus(hidden));
                    });
      });
}

grpc::ServerUnaryReactor* MessagingHandler::ListMessages(grpc::CallbackServerContext* context,
                                                         const v1::ListMessagesRequest* request,
                                                         v1::ListMessagesResponse* response) {
  return MineOnPool(context, *readers_, LIAISON_FORWARD(ListMessages),
                    [this, request, response](const Caller& caller) {
                      return logic_->ListMessages(caller, *request, response);
                    });
}

grpc::ServerUnaryReactor* MessagingHandler::GetUnreadCounts(
    grpc::CallbackServerContext* context, const v1::GetUnreadCountsRequest* request,
    v1::GetUnreadCountsResponse* response) {
  return ServeUnaryAsync(
      context, *verifier_, Access::kMember, [&](const Caller& who, auto* reactor) {
        if (forwarder_.Forward(context, reactor, who.member_id, LIAISON_FORWARD(GetUnreadCounts)))
          return;
        // Identity's blocks and privacy's setting, asked for in parallel.
        struct Facts {
          std::atomic<int> pending{2};
          absl::StatusOr<absl::flat_hash_set<std::string>> blocked;
          absl::StatusOr<bool> focused;
        };
        auto facts = std::make_shared<Facts>();
        auto count = [this, context, reactor, response, who, facts] {
          if (facts->pending.fetch_sub(1) != 1) return;
          if (!facts->blocked.ok()) return reactor->Finish(ToGrpcStatus(facts->blocked.status()));
          if (!facts->focused.ok()) return reactor->Finish(ToGrpcStatus(facts->focused.status()));
          // The walk grows with the member's inbox: off the callback
          // thread, and it stops once the client no longer waits.
          readers_->Post([this, context, reactor, response, who, facts] {
            absl::Status counted =
                logic_->GetUnreadCounts(who, *facts->blocked, *facts->focused, response,
                                        [context] { return StillWanted(*context); });
            if (!counted.ok()) response->Clear();
            reactor->Finish(ToGrpcStatus(counted));
          });
        };
        FetchBlocked(who.member_id,
                     [facts, count](absl::StatusOr<absl::flat_hash_set<std::string>> blocked) {
                       facts->blocked = std::move(blocked);
                       count();
                     });
        FetchFocusedInbox(who.member_id, [facts, count](absl::StatusOr<bool> focused) {
          facts->focused = focused;
          count();
        });
      });
}

grpc::ServerUnaryReactor* MessagingHandler::MarkConversationRead(
    grpc::CallbackServerContext* context, const v1::MarkConversationReadRequest* request,
    v1::MarkConversationReadResponse* response) {
  return ServeUnaryAsync(
      context, *verifier_, Access::kMember, [&](const Caller& who, auto* reactor) {
        if (forwarder_.Forward(context, reactor, who.member_id,
                               LIAISON_FORWARD(MarkConversationRead)))
          return;
        ShareWith(
            who, request->conversation_id(),
            [this, reactor, request, response, who](absl::StatusOr<std::vector<MemberId>> to) {
              if (!to.ok()) return reactor->Finish(ToGrpcStatus(to.status()));
              writers_->Post([this, reactor, request, response, who, to = *std::move(to)] {
                reactor->Finish(
                    ToGrpcStatus(logic_->MarkConversationRead(who, *request, to, response)));
              });
            });
      });
}

}  // namespace liaison::messaging
