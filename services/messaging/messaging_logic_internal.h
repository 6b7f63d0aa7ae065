// Pieces shared by the messaging logic's .cc files.
#ifndef LIAISON_SERVICES_MESSAGING_MESSAGING_LOGIC_INTERNAL_H_
#define LIAISON_SERVICES_MESSAGING_MESSAGING_LOGIC_INTERNAL_H_

#include <google/protobuf/timestamp.pb.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "services/messaging/messaging_logic.h"

namespace liaison::messaging {

inline constexpr size_t kMaxMessage = 8000;
inline constexpr size_t kMaxSubject = 200;
inline constexpr size_t kMaxInMailBody = 2000;
inline constexpr size_t kMaxGroupName = 100;
// Credits takes hold ids of at most this many characters.
inline constexpr size_t kMaxHoldId = 128;
inline constexpr absl::Duration kInMailRefundWindow = absl::Hours(24 * 90);
// Messages one delivery to another shard carries at most (a conversation's
// history goes in several).
inline constexpr int kMaxDeliveryMessages = 100;

// Ids this service wrote itself.
inline uint64_t ParseIdUnchecked(const std::string& id) { return std::stoull(id); }

bool IsParticipant(const storage::v1::ConversationRecord& record, MemberId member);
// Page conversations: whether `member` takes part as one of the page's admins.
bool IsPageAdmin(const storage::v1::ConversationRecord& record, MemberId member);
// What `viewer` may see of a page conversation's people: the page's admins
// see everything; the member sees the page, never which admin wrote.
void PageView(const storage::v1::ConversationRecord& record, MemberId viewer,
              v1::Conversation* conversation);
void PageView(const storage::v1::ConversationRecord& record, MemberId viewer, v1::Message* message);
absl::Status ValidateClientId(const std::string& id);
// A stable digest of what a send asked for (its bytes, deterministically).
std::string RequestHash(const google::protobuf::Message& request);
const char* OutcomeName(Outcome outcome);

// One change, as one WriteBatch. What it does to a member's mailbox is a
// MailboxStep (mailboxes.h): applied in this batch when this shard holds
// the mailbox, else delivered with the change to the member's shard, where
// ApplyStep does the same.
class MessagingLogic::Write final {
 public:
  explicit Write(MessagingLogic* logic) : logic_(logic) {}

  rocksdb::WriteBatch& batch() { return batch_; }
  // The messages this change appends are sent as this page.
  void SendAsPage(const std::string& page_id) { sender_page_id_ = page_id; }
  // The two members of this 1:1 are connected now: a message request
  // between them stops being one, for both (to FOCUSED).
  void Connected() { connected_ = true; }
  // A block stands between the sender of the messages this change appends
  // and these members: the messages are hidden from them for good (kept
  // out of their inbox order, unread counts and events; 'H' keys).
  void HideFrom(std::vector<MemberId> members) { hidden_from_ = std::move(members); }

  // Appends a message from `sender` to `record`; moves the conversation up in
  // the inbox of every participant `deliver` accepts (all by default), in
  // folder_for(member) when new to them, back from ARCHIVED otherwise; marks
  // it read for the sender; records the send under its client_message_id.
  absl::StatusOr<v1::Message> Append(storage::v1::ConversationRecord* record, MemberId sender,
                                     const std::string& body,
                                     const google::protobuf::Message& request,
                                     const std::string& client_message_id, absl::Time now,
                                     const std::function<v1::Folder(MemberId)>& folder_for,
                                     const std::function<bool(MemberId)>& deliver = nullptr);
  // Records that `sender`'s request with `client_message_id` was carried out
  // (so a retry replays it): its conversation and message (0 for none).
  void RecordSent(MemberId sender, const std::string& client_message_id,
                  const google::protobuf::Message& request, const std::string& conversation_id,
                  int64_t sequence);
  // Puts the state of `member` (whose mailbox is here), moving their inbox
  // index entry to (folder, activity).
  void PutState(MemberId member, ConversationId c, storage::v1::MemberState* state,
                v1::Folder folder, absl::Time activity);
  // Answers a pending InMail; within 90 days of its send, records the
  // refund in the outbox and names it in `refund_inmail_id`.
  absl::Status Answer(storage::v1::ConversationRecord* record, v1::InMailStatus status,
                      absl::Time now, std::string* refund_inmail_id);
  // A member's state as this change has it so far (NotFoundError if new).
  absl::StatusOr<storage::v1::MemberState> LoadState(MemberId member, ConversationId c);
  // Applies `step` to `member`'s mailbox in `record`'s conversation: here,
  // or delivered to their shard on commit.
  absl::Status Step(const storage::v1::ConversationRecord& record, MemberId member,
                    storage::v1::MailboxStep step);
  // conversation_changed to everyone in it (and to `also`, e.g. who left).
  absl::Status Changed(const storage::v1::ConversationRecord& record, MemberId also = 0);
  // Applies a step to a mailbox held here: `messages` are those the change
  // appended, `now` its time.
  absl::Status ApplyStep(const storage::v1::ConversationRecord& record,
                         const google::protobuf::RepeatedPtrField<v1::Message>& messages,
                         const storage::v1::MailboxStep& step, absl::Time now);
  // Writes the conversation record(s) touched and the batch, fsync'ed.
  absl::Status Commit(const storage::v1::ConversationRecord& record);
  absl::Status CommitBatchOnly();
  // The same write at `durability`, its events handed to `events` (to be
  // published once they are durable) rather than published.
  absl::Status CommitUnpublished(
      Durability durability, std::vector<std::pair<MemberId, v1::StreamEventsResponse>>* events);

 private:
  // Marks message `sequence` of `c` hidden from `member` (HideFrom).
  absl::Status Hide(MemberId member, ConversationId c, int64_t sequence);
  // Adds the conversation's stored messages for `shard` to the outbox.
  absl::Status EnqueueHistory(size_t shard, const storage::v1::ConversationRecord& record,
                              absl::Time now);
  // Stages an event for `member` (with its cursor), published on commit.
  absl::Status Event(MemberId member, v1::StreamEventsResponse event);
  absl::Status Arrive(const storage::v1::ConversationRecord& record, MemberId member,
                      const v1::Message& message, const storage::v1::MailboxStep::Arrived& arrived);

  MessagingLogic* logic_;
  rocksdb::WriteBatch batch_;
  // States written so far, so later steps of the same change build on them.
  std::map<std::pair<MemberId, ConversationId>, storage::v1::MemberState> states_;
  std::vector<std::pair<MemberId, v1::StreamEventsResponse>> events_;
  // Messages appended, and steps for other shards' members, by shard.
  google::protobuf::RepeatedPtrField<v1::Message> appended_;
  std::map<size_t, storage::v1::MailboxDelivery> deliveries_;
  // Shards that get a member the conversation is new to there (a group's
  // newcomer, an InMail's recipient): they get its history first.
  std::set<size_t> with_history_;
  ShardOutbox::Reservation reserved_;
  std::string sender_page_id_;
  bool connected_ = false;
  std::vector<MemberId> hidden_from_;
};

// Holds the lock stripes of the given ids until destroyed.
class Locked final {
 public:
  Locked(std::vector<absl::Mutex*> mutexes) : held_(std::move(mutexes)) {
    std::sort(held_.begin(), held_.end());
    held_.erase(std::unique(held_.begin(), held_.end()), held_.end());
    for (absl::Mutex* m : held_) m->Lock();
  }
  ~Locked() {
    for (auto it = held_.rbegin(); it != held_.rend(); ++it) (*it)->Unlock();
  }

 private:
  std::vector<absl::Mutex*> held_;
};

}  // namespace liaison::messaging

#endif  // LIAISON_SERVICES_MESSAGING_MESSAGING_LOGIC_INTERNAL_H_
