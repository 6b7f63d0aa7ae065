// The messaging store. Conversation content is stored once; each member's
// view of it (folder, read position, flags) and their inbox index are
// keyed by member, so a member's inbox lives together (and on the member's
// shard once sharded).
//
// Every key starts with a partition (DESIGN.md §8; 2 bytes, then the kind):
// a member's records with the member's (KeyBuilder::ForMember), a pair's
// and a page's with the lower member's and the page's, a conversation's
// with its home partition, which its id carries (ConversationPartition).
// So one partition is one key range in each family.
//
//   family "conversations" (prefix: partition + kind + conversation id)
//     'C' conversation            -> ConversationRecord
//     'M' conversation sequence   -> Message, less its conversation_id and
//                                    sequence (the key's; EncodeMessage)
//     'P' low-member high-member  -> conversation id   (the pair's 1:1)
//     'G' page member             -> conversation id   (a page and a member)
//   family "members" (prefix: partition + kind + member id)
//     'S' member conversation     -> MemberState
//     'I' member folder -activity conversation -> ""  inbox, newest first
//     'K' member client_message_id -> SentRecord      (idempotent sends)
//     'U' sender recipient        -> conversation id   (unanswered InMail)
//     'R' sender                  -> reports against them (u64)
//     'H' member conversation sequence -> ""          (a message hidden from
//                                                      the member by a block)
//   family "outbox" (not partitioned: records wait minutes at most)
//     'O' inmail_id               -> OutboxRecord      (InMail saga)
//     'T' sequence                -> MailboxDelivery   (to another shard;
//                                    ShardOutbox's queue)
//     'X' sequence                -> MailboxDelivery   (set aside: refused)
//     'Q' source shard            -> the last sequence applied from it
//   family "events" (prefix: partition + kind + member id)
//     'E' member cursor           -> StreamEventsResponse (event_hub.h)
#ifndef LIAISON_SERVICES_MESSAGING_MESSAGING_STORE_H_
#define LIAISON_SERVICES_MESSAGING_MESSAGING_STORE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/ids.h"
#include "common/store.h"
#include "liaison/messaging/storage/v1/records.pb.h"
#include "liaison/messaging/v1/messaging.pb.h"

namespace liaison::messaging {

using ConversationId = uint64_t;

// A conversation id is below 2^53 (exact in JSON): its top 12 bits are its
// home partition, the rest random. Ids from before are random throughout,
// and their top bits name a partition as well.
inline constexpr int kConversationRandomBits = 41;
uint32_t ConversationPartition(ConversationId c);
// The id in `partition` with the low 41 bits of `random`.
ConversationId ConversationIn(uint32_t partition, uint64_t random);

namespace keys {
std::string Conversation(ConversationId c);
std::string Message(ConversationId c, int64_t sequence);
std::string MessagePrefix(ConversationId c);
std::string Pair(MemberId a, MemberId b);
std::string PagePair(uint64_t page, MemberId member);
std::string State(MemberId m, ConversationId c);
std::string Inbox(MemberId m, v1::Folder folder, absl::Time activity, ConversationId c);
std::string InboxPrefix(MemberId m, v1::Folder folder);
std::string Sent(MemberId m, absl::string_view client_message_id);
std::string Unanswered(MemberId sender, MemberId recipient);
std::string Outbox(absl::string_view inmail_id);
std::string Reports(MemberId sender);
std::string Hidden(MemberId m, ConversationId c, int64_t sequence);
std::string HiddenPrefix(MemberId m, ConversationId c);
std::string Event(MemberId m, uint64_t cursor);
std::string EventPrefix(MemberId m);
inline constexpr char kDeliveryKind = 'T';
inline constexpr char kSetAsideDeliveryKind = 'X';
inline constexpr char kDeliveredKind = 'Q';
}  // namespace keys

class MessagingStore final {
 public:
  static std::vector<ColumnFamilySpec> Families();
  // Rewrites a store written before partitions in today's layout (at start;
  // running it again moves nothing). Returns how many records moved.
  static absl::StatusOr<size_t> UpgradeLayout(Store* store);
  explicit MessagingStore(Store* store);

  Store* store() const { return store_; }
  rocksdb::ColumnFamilyHandle* conversations() const { return conversations_; }
  rocksdb::ColumnFamilyHandle* members() const { return members_; }
  rocksdb::ColumnFamilyHandle* outbox() const { return outbox_; }
  rocksdb::ColumnFamilyHandle* events() const { return events_; }

  // NotFoundError when absent.
  absl::StatusOr<storage::v1::ConversationRecord> GetConversation(ConversationId c) const;
  absl::StatusOr<storage::v1::MemberState> GetState(MemberId m, ConversationId c) const;
  absl::StatusOr<storage::v1::SentRecord> GetSent(MemberId m, absl::string_view id) const;
  absl::StatusOr<v1::Message> GetMessage(ConversationId c, int64_t sequence) const;
  // A conversation id stored under `key` in `family`.
  absl::StatusOr<ConversationId> GetId(rocksdb::ColumnFamilyHandle* family,
                                       const std::string& key) const;
  // Messages from `from` (inclusive) towards `to` (inclusive), at most
  // `limit`; descending when from > to.
  absl::StatusOr<std::vector<v1::Message>> Messages(ConversationId c, int64_t from, int64_t to,
                                                    size_t limit) const;
  // Conversation ids in a member's folder, newest activity first, after the
  // index key suffix `after`.
  absl::StatusOr<std::vector<std::pair<ConversationId, std::string>>> Inbox(
      MemberId m, v1::Folder folder, const std::string& after, size_t limit) const;
  // The same over several folders at once, merged newest first (the key
  // suffixes of all folders sort together).
  absl::StatusOr<std::vector<std::pair<ConversationId, std::string>>> Inbox(
      MemberId m, const std::vector<v1::Folder>& folders, const std::string& after,
      size_t limit) const;
  absl::StatusOr<std::vector<storage::v1::OutboxRecord>> PendingOutbox(size_t limit) const;
  // The sequences in [from, to] of conversation `c` hidden from member `m`,
  // ascending (one range scan).
  absl::StatusOr<std::vector<int64_t>> HiddenSequences(MemberId m, ConversationId c, int64_t from,
                                                       int64_t to) const;

  static std::string EncodeId(ConversationId c);
  // A message as stored under keys::Message: what the key says is left out
  // (GetMessage and Messages put it back, and take records that have it).
  static std::string EncodeMessage(const v1::Message& message);

 private:
  Store* store_;
  rocksdb::ColumnFamilyHandle* conversations_;
  rocksdb::ColumnFamilyHandle* members_;
  rocksdb::ColumnFamilyHandle* outbox_;
  rocksdb::ColumnFamilyHandle* events_;
};

}  // namespace liaison::messaging

#endif  // LIAISON_SERVICES_MESSAGING_MESSAGING_STORE_H_
