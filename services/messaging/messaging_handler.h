// gRPC in/out for liaison.messaging.v1.MessagingService (callback API); the
// calls it makes to other services are in messaging_calls.cc.
// Facts come from identity and privacy asynchronously (in parallel), the
// InMail saga talks to credits asynchronously, and every store change runs
// on the writer pool: no callback thread waits on a network call or fsync.
#ifndef LIAISON_SERVICES_MESSAGING_MESSAGING_HANDLER_H_
#define LIAISON_SERVICES_MESSAGING_MESSAGING_HANDLER_H_

#include <functional>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "common/auth.h"
#include "common/client.h"
#include "common/feed_follower.h"
#include "common/rpc.h"
#include "common/shard_router.h"
#include "common/worker_pool.h"
#include "liaison/credits/v1/credits.grpc.pb.h"
#include "liaison/identity/v1/identity.grpc.pb.h"
#include "liaison/messaging/shard/v1/messaging_shard.grpc.pb.h"
#include "liaison/messaging/v1/messaging.grpc.pb.h"
#include "liaison/privacy/v1/privacy.grpc.pb.h"
#include "services/messaging/deliveries.h"
#include "services/messaging/messaging_logic.h"
#include "services/messaging/rate_limits.h"
#include "services/messaging/read_model.h"
#include "services/messaging/stream_relay.h"

namespace liaison::messaging {

struct Dependencies {
  // One stub per identity shard (one when identity is not sharded).
  const ShardStubs<identity::v1::IdentityService>* identity;
  // One stub per privacy shard (one when privacy is not sharded).
  const ShardStubs<privacy::v1::PrivacyService>* privacy;
  // One stub per credits shard (one when credits is not sharded).
  const ShardStubs<credits::v1::CreditService>* credits;
  ServiceTokenSource* tokens;
  // What the send policy needs of identity's and privacy's data, and the
  // feeds that keep it current: the model answers while its feed is live.
  ReadModel* model;
  // Identity's and privacy's feeds, one per shard of each, in shard order.
  std::vector<const FeedFollower*> identity_feeds;
  std::vector<const FeedFollower*> privacy_feeds;
  // Messaging's own shards, when the map shards it (else all null): this
  // one, the others to forward calls to, and the deliveries to them.
  const ShardIdentity* shard = nullptr;
  const ShardStubs<v1::MessagingService>* peers = nullptr;
  const ShardStubs<shard::v1::MessagingShardService>* shard_peers = nullptr;
  DeliveryOutbox* deliveries = nullptr;

  // Whether the feeds of `a`'s and `b`'s identity shards are live (a pair's
  // and both tiers' feeds).
  bool IdentityLive(MemberId a, MemberId b) const {
    return identity_feeds[identity->ShardOf(a)]->Live() &&
           identity_feeds[identity->ShardOf(b)]->Live();
  }
  // Whether the feed of `member`'s privacy shard is live.
  bool PrivacyLive(MemberId member) const {
    return privacy_feeds[privacy->ShardOf(member)]->Live();
  }
};

class MessagingHandler final : public v1::MessagingService::CallbackService {
 public:
  // `readers` runs the reads whose work grows with the member's data.
  MessagingHandler(MessagingLogic* logic, const TokenVerifier* verifier, WorkerPool* writers,
                   WorkerPool* readers, EventHub* hub, RateLimiter* limiter, Dependencies deps)
      : logic_(logic),
        verifier_(verifier),
        writers_(writers),
        readers_(readers),
        hub_(hub),
        limiter_(limiter),
        deps_(deps),
        forwarder_(deps.shard, deps.peers) {}

  grpc::ServerUnaryReactor* SendMessage(grpc::CallbackServerContext* context,
                                        const v1::SendMessageRequest* request,
                                        v1::SendMessageResponse* response) override;
  grpc::ServerUnaryReactor* SendInMail(grpc::CallbackServerContext* context,
                                       const v1::SendInMailRequest* request,
                                       v1::SendInMailResponse* response) override;
  grpc::ServerUnaryReactor* RespondToInMail(grpc::CallbackServerContext* context,
                                            const v1::RespondToInMailRequest* request,
                                            v1::RespondToInMailResponse* response) override;
  grpc::ServerUnaryReactor* AddParticipants(grpc::CallbackServerContext* context,
                                            const v1::AddParticipantsRequest* request,
                                            v1::AddParticipantsResponse* response) override;
  grpc::ServerUnaryReactor* RemoveParticipant(grpc::CallbackServerContext* context,
                                              const v1::RemoveParticipantRequest* request,
                                              v1::RemoveParticipantResponse* response) override;
  grpc::ServerUnaryReactor* LeaveConversation(grpc::CallbackServerContext* context,
                                              const v1::LeaveConversationRequest* request,
                                              v1::LeaveConversationResponse* response) override;
  grpc::ServerUnaryReactor* RenameConversation(grpc::CallbackServerContext* context,
                                               const v1::RenameConversationRequest* request,
                                               v1::RenameConversationResponse* response) override;
  grpc::ServerUnaryReactor* UpdateConversationState(
      grpc::CallbackServerContext* context, const v1::UpdateConversationStateRequest* request,
      v1::UpdateConversationStateResponse* response) override;
  grpc::ServerUnaryReactor* MarkConversationUnread(
      grpc::CallbackServerContext* context, const v1::MarkConversationUnreadRequest* request,
      v1::MarkConversationUnreadResponse* response) override;
  grpc::ServerUnaryReactor* DeleteConversation(grpc::CallbackServerContext* context,
                                               const v1::DeleteConversationRequest* request,
                                               v1::DeleteConversationResponse* response) override;
  grpc::ServerUnaryReactor* ReportConversation(grpc::CallbackServerContext* context,
                                               const v1::ReportConversationRequest* request,
                                               v1::ReportConversationResponse* response) override;
  grpc::ServerUnaryReactor* SendTypingIndicator(grpc::CallbackServerContext* context,
                                                const v1::SendTypingIndicatorRequest* request,
                                                v1::SendTypingIndicatorResponse* response) override;
  grpc::ServerWriteReactor<v1::StreamEventsResponse>* StreamEvents(
      grpc::CallbackServerContext* context, const v1::StreamEventsRequest* request) override;
  grpc::ServerUnaryReactor* ListConversations(grpc::CallbackServerContext* context,
                                              const v1::ListConversationsRequest* request,
                                              v1::ListConversationsResponse* response) override;
  grpc::ServerUnaryReactor* GetConversation(grpc::CallbackServerContext* context,
                                            const v1::GetConversationRequest* request,
                                            v1::GetConversationResponse* response) override;
  grpc::ServerUnaryReactor* ListMessages(grpc::CallbackServerContext* context,
                                         const v1::ListMessagesRequest* request,
                                         v1::ListMessagesResponse* response) override;
  grpc::ServerUnaryReactor* GetUnreadCounts(grpc::CallbackServerContext* context,
                                            const v1::GetUnreadCountsRequest* request,
                                            v1::GetUnreadCountsResponse* response) override;
  grpc::ServerUnaryReactor* MarkConversationRead(
      grpc::CallbackServerContext* context, const v1::MarkConversationReadRequest* request,
      v1::MarkConversationReadResponse* response) override;

  // Shutting down: ends the event streams relayed from other shards.
  void CloseRelays() { relays_.CloseAll(); }

 public:
  using BlockedDone = std::function<void(absl::StatusOr<absl::flat_hash_set<std::string>>)>;

 private:
  using Forward = std::function<void(v1::MessagingService::Stub*, grpc::ClientContext*,
                                     std::function<void(grpc::Status)>)>;
  // Sharded (DESIGN.md §8), a change to a conversation is made at its home
  // shard, which orders it; a member's reads and their own view are served
  // by the member's shard. These say where (nullopt: here, as when
  // messaging is not sharded or the request is malformed and refused here).
  std::optional<size_t> HomeOf(const std::string& conversation_id) const;
  // A 1:1's or an InMail's home: the pair's lower member's shard.
  std::optional<size_t> HomeOfPair(MemberId caller, const std::string& other) const;
  // A send's: the conversation's home, or the one a new conversation gets
  // (a pair's lower member's, a page's, a group's creator's shard).
  std::optional<size_t> HomeOfSend(MemberId caller, const v1::SendMessageRequest& request) const;
  // Whether the call went to `home` (true: `reactor` finishes with its
  // answer); false: serve it here.
  bool AtHome(grpc::CallbackServerContext* context, grpc::ServerUnaryReactor* reactor,
              std::optional<size_t> home, const Forward& call);
  // A change's call, for Held: its context, its caller, and the
  // conversation its response carries (null: none).
  struct HeldCall {
    grpc::CallbackServerContext* context;
    MemberId caller;
    v1::Conversation* view;
  };
  // After a change made here (`status` OK) for a caller whose mailbox is on
  // another shard: `finish(status)` once what waits for that shard is
  // delivered there, so the caller's next read there sees it (no thread
  // waits: the outbox calls it), with the response's conversation as the
  // caller's shard shows it to them (their folder, read position, unread
  // count, which this shard does not hold); otherwise at once.
  void Held(const HeldCall& call, absl::Status status, std::function<void(absl::Status)> finish);
  // Replaces `held.view` with the conversation as the caller's shard
  // `shard` shows it to them (GetConversation, forwarded), then `done`.
  void CallersView(const HeldCall& held, size_t shard, std::function<void()> done);
  // Finishes `reactor` with the status it is given.
  static std::function<void(absl::Status)> Finisher(grpc::ServerUnaryReactor* reactor);
  // Finishes `reactor`; after an OK send that answered an InMail (`refund`
  // names its hold), once the sender's credit is given back. `conversation`
  // (the response's) outlives the call.
  std::function<void(absl::Status)> RefundThenFinish(grpc::ServerUnaryReactor* reactor,
                                                     const v1::Conversation& conversation,
                                                     const std::string& refund);
  // Passes a live event (typing) to the other shards' members it is for:
  // best effort, as typing is (not stored, not retried).
  void PublishElsewhere(MessagingLogic::LiveElsewhere elsewhere);
  // A conversation change on the writers at the conversation's home.
  template <typename Logic>
  grpc::ServerUnaryReactor* AtHomeOnPool(grpc::CallbackServerContext* context,
                                         const std::string& conversation_id, Forward forward,
                                         Logic logic) {
    return ServeUnaryAsync(
        context, *verifier_, Access::kMember,
        [&](const Caller& who, grpc::ServerUnaryReactor* reactor) {
          if (AtHome(context, reactor, HomeOf(conversation_id), forward)) return;
          writers_->Post([this, context, reactor, who, logic]() mutable {
            absl::Status wanted = StillWanted(*context);
            if (!wanted.ok()) return reactor->Finish(ToGrpcStatus(wanted));
            Held({context, who.member_id, nullptr}, logic(who), Finisher(reactor));
          });
        });
  }
  // A call about the caller's own mailbox, on `pool` at the caller's shard.
  template <typename Logic>
  grpc::ServerUnaryReactor* MineOnPool(grpc::CallbackServerContext* context, WorkerPool& pool,
                                       Forward forward, Logic logic) {
    return ServeUnaryAsync(context, *verifier_, Access::kMember,
                           [&](const Caller& who, grpc::ServerUnaryReactor* reactor) {
                             if (forwarder_.Forward(context, reactor, who.member_id, forward)) {
                               return;
                             }
                             FinishOnPool(context, reactor, pool,
                                          [who, logic]() mutable { return logic(who); });
                           });
  }

  using FactsDone = std::function<void(absl::StatusOr<MemberSendFacts>)>;
  using RelationshipsDone =
      std::function<void(absl::StatusOr<std::vector<identity::v1::Relationship>>)>;
  // Relationships from `member` to each of `others` (one identity call, or
  // none when the read model knows every pair); NOT_FOUND naming the first
  // member that does not exist or is hidden. A relationship from the model
  // gives the degree only when it is FIRST.
  void FetchRelationships(MemberId member, const std::vector<MemberId>& others,
                          RelationshipsDone done);
  // Blocking hides conversations from the blocker: drops from `list` the 1:1
  // and InMail conversations with members `member` has blocked (one
  // identity call, none when `list` has no such conversation). `list` must
  // live until `done` runs.
  void HideBlocked(MemberId member, google::protobuf::RepeatedPtrField<v1::Conversation>* list,
                   std::function<void(absl::Status)> done);
  // A page's existence and admins, and whether `member` follows it.
  void FetchPage(uint64_t page, MemberId member,
                 std::function<void(absl::StatusOr<PageFacts>)> done);
  // Everyone `member` has blocked (identity's ListBlockedMembers).
  void FetchBlocked(MemberId member, BlockedDone done);
  // The member's focused_inbox setting (the read model, else privacy);
  // UNAVAILABLE if privacy cannot answer and the model does not know.
  void FetchFocusedInbox(MemberId member, std::function<void(absl::StatusOr<bool>)> done);
  // The pair's relationship (identity) and, `with_settings`, the
  // recipient's settings (privacy), asked for in parallel; `done` runs once
  // with both. Without settings they are left at their defaults. What the
  // read model knows while its feed is live is not asked for (between
  // connections: nothing is); what it knows also stands when the call fails
  // with UNAVAILABLE or DEADLINE_EXCEEDED.
  void FetchFacts(MemberId sender, MemberId recipient, FactsDone done, bool with_settings = true);
  // Asks credits to refund an answered InMail, then clears its outbox
  // record; `done` runs either way (the outbox loop retries failures).
  void Refund(MemberId sender, const std::string& inmail_id, std::function<void()> done);
  // Those of the conversation's other participants who get the caller's
  // read receipts and typing: both sides have the toggle on (one privacy
  // call) and no block stands between them (one identity call). An error
  // only if the caller is not in the conversation.
  void ShareWith(const Caller& caller, const std::string& conversation_id,
                 std::function<void(absl::StatusOr<std::vector<MemberId>>)> done);
  // Holds one of `sender`'s credits for the InMail (idempotent by id).
  // `done` gets OK, credits' FAILED_PRECONDITION (no credit) or ABORTED (the
  // hold was voided), or UNAVAILABLE/INTERNAL when credits could not answer.
  void Reserve(MemberId sender, const std::string& inmail_id,
               std::function<void(grpc::Status)> done);
  // Commits the InMail's hold and delivers it (or abandons it if the hold
  // is gone); `done` gets the status for the client.
  void CommitAndDeliver(MemberId sender, const std::string& inmail_id,
                        std::function<void(absl::Status)> done);

  MessagingLogic* logic_;
  const TokenVerifier* verifier_;
  WorkerPool* writers_;
  WorkerPool* readers_;
  EventHub* hub_;
  RateLimiter* limiter_;
  Dependencies deps_;
  ShardForwarder<v1::MessagingService> forwarder_;
  StreamRelays relays_;
};

}  // namespace liaison::messaging

#endif  // LIAISON_SERVICES_MESSAGING_MESSAGING_HANDLER_H_
