// MessagingService's methods without gRPC. The handler gathers the facts
// (identity, privacy, credits answers) asynchronously and calls these on a
// writer pool; each change is one WriteBatch: message, conversation,
// every participant's state and inbox index, the idempotency record, and
// any InMail saga outbox record.
//
// The InMail saga (DESIGN.md §6): credits holds a credit keyed by the
// InMail id; WriteInMail stores the InMail with an outbox record but
// delivers it to no one; once CommitHold succeeds, Deliver puts it in the
// recipient's inbox and clears the outbox. If the hold is gone, Abandon
// marks it NOT_SENT. So an InMail is never delivered without its debit, and
// a debit never stays without its InMail: a crash anywhere leaves an outbox
// record that the recovery loop finishes (or the hold times out unused).
#ifndef LIAISON_SERVICES_MESSAGING_MESSAGING_LOGIC_H_
#define LIAISON_SERVICES_MESSAGING_MESSAGING_LOGIC_H_

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <array>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/random/random.h"
#include "absl/synchronization/mutex.h"
#include "common/auth.h"
#include "common/clock.h"
#include "common/shard_outbox.h"
#include "liaison/messaging/v1/messaging.pb.h"
#include "services/messaging/event_hub.h"
#include "services/messaging/mailboxes.h"
#include "services/messaging/messaging_store.h"
#include "services/messaging/policy.h"

namespace liaison::messaging {

// What a SendMessage asks for, checked before anything remote is asked.
struct SendTarget {
  // A retry: the response already holds the first result.
  bool answered = false;
  std::optional<MemberId> recipient;           // a member, 1:1
  std::optional<ConversationId> conversation;  // an existing conversation
  // For an existing 1:1 conversation: the other member (blocks are checked).
  std::optional<MemberId> peer;
  // For an existing group: the other participants (a block between the
  // caller and one of them hides the message from that one).
  std::vector<MemberId> group_others;
  // A new group of the caller and these members, and its name.
  std::vector<MemberId> group;
  std::string group_name;
  // A member writes to this page (page_id).
  std::optional<uint64_t> to_page;
  // The caller writes as this page (as_page_id), to `recipient` or into
  // `conversation`.
  std::optional<uint64_t> as_page;
};

// What identity says of a page and the member on the other side of a page
// conversation (GetPage and GetPageRelation, asked in parallel).
struct PageFacts {
  bool exists = false;
  std::vector<MemberId> admins;
  bool member_follows = false;
  // The member on the other side of the page exists (for a message to the
  // page: the caller, who might hold a token for an id nobody has).
  bool member_exists = true;
};

// A conversation between exactly two members: a 1:1 or an InMail.
inline bool IsOneToOne(const v1::Conversation& c) {
  return c.kind() == v1::CONVERSATION_KIND_DIRECT || c.kind() == v1::CONVERSATION_KIND_INMAIL;
}

// Blocking hides conversations from the blocker: whether `c` is a 1:1 or
// InMail conversation of `viewer` with a member in `blocked` (the viewer's
// blocks).
bool HiddenByBlock(const v1::Conversation& c, MemberId viewer,
                   const absl::flat_hash_set<std::string>& blocked);

struct MessagingConfig {
  bool premium_to_premium_override = false;
};

class MessagingLogic final {
 public:
  // `hub` (may be null) receives the events of every change once committed.
  // `mailboxes` (null: one shard) says which members' mailboxes are here
  // and delivers the steps of the others (mailboxes.h).
  MessagingLogic(MessagingStore* store, const Clock* clock, MessagingConfig config,
                 prometheus::Registry& registry, EventHub* hub = nullptr,
                 Mailboxes* mailboxes = nullptr);

  // Validates a SendMessage. If the client_message_id was used before with
  // the same request, `replay` is filled with the first result (send nothing).
  absl::StatusOr<SendTarget> PrepareSend(const Caller& caller,
                                         const v1::SendMessageRequest& request,
                                         v1::SendMessageResponse* replay) const;
  // Sends to one member, given the facts of the pair.
  absl::Status SendDirect(const Caller& caller, const v1::SendMessageRequest& request,
                          MemberId recipient, const MemberSendFacts& facts,
                          v1::SendMessageResponse* response);
  // Sends into an existing conversation; `relationship` is set for 1:1s.
  // `refund_inmail_id` is set when this reply answered an InMail (the
  // caller then asks credits for the refund recorded in the outbox). The
  // message is hidden for good from `hidden_from` (group participants a
  // block stands between with the caller, either way).
  absl::Status SendToConversation(const Caller& caller, const v1::SendMessageRequest& request,
                                  ConversationId conversation,
                                  const identity::v1::Relationship* relationship,
                                  v1::SendMessageResponse* response, std::string* refund_inmail_id,
                                  std::vector<MemberId> hidden_from = {});

  // A page conversation (page_logic.cc): `member` writes to `page`, or the
  // caller (an admin) writes as `page` to `member`.
  absl::Status SendPage(const Caller& caller, const v1::SendMessageRequest& request, uint64_t page,
                        MemberId member, const PageFacts& facts, v1::SendMessageResponse* response);

  // Groups (group_logic.cc). Relationships are seen from the caller, one
  // per other member, in request order (identity's BatchGetRelationships).
  absl::Status SendGroup(const Caller& caller, const v1::SendMessageRequest& request,
                         const std::vector<MemberId>& members, const std::string& name,
                         const std::vector<identity::v1::Relationship>& relationships,
                         v1::SendMessageResponse* response);
  // Checks an AddParticipants and returns the members to add.
  absl::StatusOr<std::vector<MemberId>> PrepareAdd(const Caller& caller,
                                                   const v1::AddParticipantsRequest& request) const;
  absl::Status AddParticipants(const Caller& caller, const v1::AddParticipantsRequest& request,
                               const std::vector<identity::v1::Relationship>& relationships,
                               v1::AddParticipantsResponse* response);
  absl::Status RemoveParticipant(const Caller& caller, const v1::RemoveParticipantRequest& request,
                                 v1::RemoveParticipantResponse* response);
  absl::Status LeaveConversation(const Caller& caller, const v1::LeaveConversationRequest& request);
  absl::Status RenameConversation(const Caller& caller,
                                  const v1::RenameConversationRequest& request,
                                  v1::RenameConversationResponse* response);

  // InMail. PrepareInMail validates and returns the recipient, or nullopt
  // when `replay` holds the first result of a retried send; InMailId is the
  // id the hold is keyed by (stable across retries of one send).
  absl::StatusOr<std::optional<MemberId>> PrepareInMail(const Caller& caller,
                                                        const v1::SendInMailRequest& request,
                                                        v1::SendInMailResponse* replay) const;
  static std::string InMailId(MemberId sender, const std::string& client_message_id);
  // Policy check for the InMail, before the credit is reserved.
  absl::Status CheckInMail(const Caller& caller, MemberId recipient, MemberSendFacts facts) const;
  // Stores the InMail (SENDING) with its outbox record; delivers nothing.
  absl::Status WriteInMail(const Caller& caller, const v1::SendInMailRequest& request,
                           MemberId recipient, v1::SendInMailResponse* response);
  // After CommitHold succeeded: into the recipient's inbox; outbox cleared.
  absl::Status Deliver(const std::string& inmail_id);
  // The hold is gone: the InMail is NOT_SENT; outbox cleared.
  absl::Status Abandon(const std::string& inmail_id);
  // After RefundInMail succeeded (or was already done).
  absl::Status ClearOutbox(const std::string& inmail_id);

  absl::Status RespondToInMail(const Caller& caller, const v1::RespondToInMailRequest& request,
                               v1::RespondToInMailResponse* response,
                               std::string* refund_inmail_id);

  // A page of a folder. A filter looks at most kMaxScanned entries per call:
  // a page may then hold fewer than page_size conversations while
  // next_page_token goes on.
  static constexpr int kMaxScanned = 2000;
  // `focused_inbox` is the caller's setting (focused_inbox.h).
  absl::Status ListConversations(const Caller& caller, const v1::ListConversationsRequest& request,
                                 v1::ListConversationsResponse* response,
                                 bool focused_inbox = true) const;
  absl::Status GetConversation(const Caller& caller, const v1::GetConversationRequest& request,
                               v1::GetConversationResponse* response) const;
  absl::Status ListMessages(const Caller& caller, const v1::ListMessagesRequest& request,
                            v1::ListMessagesResponse* response) const;
  // Counts what the caller has unread, per folder (FOCUSED and OTHER as the
  // caller's `focused_inbox` setting shows them), leaving out the
  // conversations their blocks hide (`blocked`: whom they blocked). The walk
  // grows with the inbox: it asks `still_wanted` as it goes and stops with
  // its error (the client cancelled, or its deadline passed).
  absl::Status GetUnreadCounts(const Caller& caller,
                               const absl::flat_hash_set<std::string>& blocked, bool focused_inbox,
                               v1::GetUnreadCountsResponse* response,
                               const std::function<absl::Status()>& still_wanted = nullptr) const;
  // The caller's own view (state_logic.cc).
  absl::Status UpdateConversationState(const Caller& caller,
                                       const v1::UpdateConversationStateRequest& request,
                                       v1::UpdateConversationStateResponse* response);
  absl::Status MarkConversationUnread(const Caller& caller,
                                      const v1::MarkConversationUnreadRequest& request,
                                      v1::MarkConversationUnreadResponse* response);
  absl::Status DeleteConversation(const Caller& caller,
                                  const v1::DeleteConversationRequest& request);
  absl::Status ReportConversation(const Caller& caller,
                                  const v1::ReportConversationRequest& request);

  // The other participants of a conversation the caller takes part in.
  absl::StatusOr<std::vector<MemberId>> OthersIn(const Caller& caller,
                                                 const std::string& conversation_id) const;
  // Typing goes to the open streams (not stored) of the participants in
  // `to`: those who, like the caller, have read receipts and typing on.
  // Sharded, this shard's members get it here; the others are left in
  // `elsewhere` by shard, with the event, for the caller to pass on.
  struct LiveElsewhere {
    v1::StreamEventsResponse event;
    std::map<size_t, std::vector<MemberId>> members;
  };
  absl::Status SendTypingIndicator(const Caller& caller,
                                   const v1::SendTypingIndicatorRequest& request,
                                   const std::vector<MemberId>& to,
                                   LiveElsewhere* elsewhere = nullptr);
  // Gives a typing event from another shard to the open streams of
  // `member_ids` (all this shard's). Nothing is stored.
  static constexpr int kMaxLiveMembers = kMaxGroupParticipants;
  absl::Status PublishLive(const google::protobuf::RepeatedPtrField<std::string>& member_ids,
                           const v1::StreamEventsResponse& event);
  // Moves the caller's read position; a read receipt event goes to each
  // participant in `receipts_to` (both sides have receipts on).
  absl::Status MarkConversationRead(const Caller& caller,
                                    const v1::MarkConversationReadRequest& request,
                                    const std::vector<MemberId>& receipts_to,
                                    v1::MarkConversationReadResponse* response);

  // Applies a delivery from shard `source` (record `sequence` of its
  // outbox; 0: not from an outbox) to the mailboxes it names here, each
  // delivery once and in its source's order (delivery_logic.cc).
  // INVALID_ARGUMENT for a malformed one, FAILED_PRECONDITION when a member
  // it names is not this shard's.
  static constexpr int kMaxDeliverySteps = 4 * kMaxGroupParticipants;
  absl::Status ApplyDelivery(uint32_t source, uint64_t sequence,
                             const storage::v1::MailboxDelivery& delivery);
  // Several deliveries of one source, ascending sequences (at most
  // kMaxDeliveriesPerCall), each applied as ApplyDelivery would, one fsync
  // for all. All are checked before any is applied.
  static constexpr size_t kMaxDeliveriesPerCall = 64;
  using SequencedDelivery = std::pair<uint64_t, const storage::v1::MailboxDelivery*>;
  absl::Status ApplyDeliveries(uint32_t source, const std::vector<SequencedDelivery>& deliveries);

 private:
  class Write;

  absl::StatusOr<ConversationId> ParseConversation(const std::string& id) const;
  // A delivery's conversation and the members its steps name, once it is
  // found well formed and every member's mailbox is here.
  struct CheckedDelivery {
    ConversationId conversation = 0;
    std::vector<MemberId> members;
  };
  absl::StatusOr<CheckedDelivery> CheckDelivery(const storage::v1::MailboxDelivery& delivery) const;
  // Applies one checked delivery (applied_.mu() held), written to the log
  // but not yet fsync'ed; its events go to `events`, to publish once it is.
  absl::Status ApplyOne(uint32_t source, uint64_t sequence,
                        const storage::v1::MailboxDelivery& delivery,
                        const CheckedDelivery& checked,
                        std::vector<std::pair<MemberId, v1::StreamEventsResponse>>* events);
  // Whether `member`'s mailbox is on this shard (always, unsharded); the
  // FAILED_PRECONDITION saying it is not.
  bool HoldsMailbox(MemberId member) const;
  absl::Status MailboxHere(MemberId member) const;
  // The conversation, if the caller takes part in it (NOT_FOUND otherwise:
  // a conversation's existence is private to its participants).
  absl::StatusOr<storage::v1::ConversationRecord> Participating(MemberId member,
                                                                ConversationId c) const;
  // For reading: the conversation and the last message `member` may see
  // (participants see all; those who left, up to their departure).
  absl::StatusOr<std::pair<storage::v1::ConversationRecord, int64_t>> Readable(
      MemberId member, ConversationId c) const;
  // The conversation and the caller's state in it (NOT_FOUND if none).
  absl::StatusOr<std::pair<storage::v1::ConversationRecord, storage::v1::MemberState>> OwnView(
      MemberId member, ConversationId c) const;
  // Takes `member` out of a group (they left or were removed).
  absl::Status Depart(const Caller& caller, ConversationId c, MemberId member,
                      v1::Conversation* out);
  // The first result of an earlier send with this client_message_id, or
  // nullopt; INVALID_ARGUMENT if that send asked for something else.
  absl::StatusOr<std::optional<storage::v1::SentRecord>> Replay(
      MemberId sender, const std::string& client_message_id, const std::string& hash) const;
  void FillConversation(MemberId viewer, const storage::v1::ConversationRecord& record,
                        const storage::v1::MemberState* state, v1::Conversation* out) const;
  // What blocks hide from a member inside a conversation (hidden_view.cc).
  // Messages from `from` towards `to` (as MessagingStore::Messages) less
  // those hidden from `member` (`state`: theirs, or null).
  absl::StatusOr<std::vector<v1::Message>> VisibleMessages(MemberId member,
                                                           const storage::v1::MemberState* state,
                                                           ConversationId c, int64_t from,
                                                           int64_t to, size_t limit) const;
  // Messages after the member's read position that they may see.
  absl::StatusOr<int64_t> UnreadCount(MemberId member,
                                      const storage::v1::ConversationRecord& record,
                                      const storage::v1::MemberState& state) const;
  // Sets `out`'s last message to the last one `member` may see.
  absl::Status HideFromView(MemberId member, const storage::v1::ConversationRecord& record,
                            const storage::v1::MemberState& state, v1::Conversation* out) const;
  // A free conversation id in `home`'s partition (where the conversation's
  // records will live): a pair's lower member, a group's creator.
  absl::StatusOr<ConversationId> NewConversationId(MemberId home);
  // The 1:1 conversation of a pair, if there is one: from memory when this
  // process has seen it ('P' records are written once and never change),
  // else from the store. NotFoundError when the pair has none yet.
  absl::StatusOr<ConversationId> PairConversation(MemberId a, MemberId b) const;
  // After the pair's conversation is committed (or read): remembered.
  void RememberPair(MemberId a, MemberId b, ConversationId c) const;
  absl::Mutex& Lock(uint64_t id) const { return stripes_[id % stripes_.size()]; }

  MessagingStore* store_;
  EventHub* hub_;
  Mailboxes* mailboxes_;
  AppliedMarks applied_;
  const Clock* clock_;
  MessagingConfig config_;
  prometheus::Family<prometheus::Counter>& sent_;
  prometheus::Family<prometheus::Counter>& reports_;
  mutable std::array<absl::Mutex, 256> stripes_;
  absl::Mutex random_mu_;
  absl::BitGen random_ ABSL_GUARDED_BY(random_mu_);
  // PairConversation's memory: (low member, high member) -> conversation,
  // at most kMaxCachedPairs (emptied when full: bounded, and correct either way).
  static constexpr size_t kMaxCachedPairs = size_t{1} << 16;
  mutable absl::Mutex pairs_mu_;
  mutable absl::flat_hash_map<std::pair<MemberId, MemberId>, ConversationId> pairs_
      ABSL_GUARDED_BY(pairs_mu_);
};

}  // namespace liaison::messaging

#endif  // LIAISON_SERVICES_MESSAGING_MESSAGING_LOGIC_H_
