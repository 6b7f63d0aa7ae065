#include "services/messaging/messaging_store.h"

#include <algorithm>

#include "common/keys.h"
#include "common/shard_map.h"
#include "common/status.h"

namespace liaison::messaging {
namespace keys {

namespace {

// A conversation's records: in its home partition (the id says which).
KeyBuilder ForConversation(char kind, ConversationId c) {
  return std::move(KeyBuilder::ForPartition(ConversationPartition(c), kind).U64(c));
}

}  // namespace

std::string Conversation(ConversationId c) { return ForConversation('C', c).key(); }
std::string Message(ConversationId c, int64_t seq) {
  return ForConversation('M', c).U64(static_cast<uint64_t>(seq)).key();
}
std::string MessagePrefix(ConversationId c) { return ForConversation('M', c).key(); }
std::string Pair(MemberId a, MemberId b) {
  return KeyBuilder::ForMember('P', std::min(a, b)).U64(std::max(a, b)).key();
}
std::string PagePair(uint64_t page, MemberId member) {
  return KeyBuilder::ForMember('G', page).U64(member).key();
}
std::string State(MemberId m, ConversationId c) {
  return KeyBuilder::ForMember('S', m).U64(c).key();
}
std::string Inbox(MemberId m, v1::Folder folder, absl::Time activity, ConversationId c) {
  return KeyBuilder::ForMember('I', m)
      .U8(static_cast<uint8_t>(folder))
      .TimeDesc(activity)
      .U64(c)
      .key();
}
std::string InboxPrefix(MemberId m, v1::Folder folder) {
  return KeyBuilder::ForMember('I', m).U8(static_cast<uint8_t>(folder)).key();
}
std::string Sent(MemberId m, absl::string_view id) {
  return KeyBuilder::ForMember('K', m).Str(id).key();
}
std::string Unanswered(MemberId s, MemberId r) {
  return KeyBuilder::ForMember('U', s).U64(r).key();
}
std::string Outbox(absl::string_view inmail_id) { return KeyBuilder('O').Str(inmail_id).key(); }
std::string Reports(MemberId sender) { return KeyBuilder::ForMember('R', sender).key(); }
std::string Hidden(MemberId m, ConversationId c, int64_t sequence) {
  return KeyBuilder::ForMember('H', m).U64(c).U64(static_cast<uint64_t>(sequence)).key();
}
std::string HiddenPrefix(MemberId m, ConversationId c) {
  return KeyBuilder::ForMember('H', m).U64(c).key();
}
std::string Event(MemberId m, uint64_t cursor) {
  return KeyBuilder::ForMember('E', m).U64(cursor).key();
}
std::string EventPrefix(MemberId m) { return KeyBuilder::ForMember('E', m).key(); }

}  // namespace keys

uint32_t ConversationPartition(ConversationId c) {
  return static_cast<uint32_t>(c >> kConversationRandomBits) % kPartitions;
}

ConversationId ConversationIn(uint32_t partition, uint64_t random) {
  return (uint64_t{partition % kPartitions} << kConversationRandomBits) |
         (random & ((uint64_t{1} << kConversationRandomBits) - 1));
}

std::vector<ColumnFamilySpec> MessagingStore::Families() {
  // Prefixes: the partition (2 bytes), the kind, the conversation or member.
  return {{"conversations", 11}, {"members", 11}, {"outbox", 0}, {"events", 11}};
}

absl::StatusOr<size_t> MessagingStore::UpgradeLayout(Store* store) {
  MessagingStore m(store);
  size_t moved = 0;
  for (auto [family, kinds] :
       {std::pair{m.conversations_, "PG"}, {m.members_, "SIKURH"}, {m.events_, "E"}}) {
    ASSIGN_OR_RETURN(size_t n, PartitionMemberKeys(store, family, kinds));
    moved += n;
  }
  ASSIGN_OR_RETURN(size_t n, PartitionIdKeys(store, m.conversations_, "CM", ConversationPartition));
  return moved + n;
}

MessagingStore::MessagingStore(Store* store)
    : store_(store),
      conversations_(store->Family("conversations")),
      members_(store->Family("members")),
      outbox_(store->Family("outbox")),
      events_(store->Family("events")) {}

std::string MessagingStore::EncodeId(ConversationId c) {
  return KeyBuilder('\0').U64(c).key().substr(1);
}

absl::StatusOr<storage::v1::ConversationRecord> MessagingStore::GetConversation(
    ConversationId c) const {
  return ParseRecord<storage::v1::ConversationRecord>(
      store_->Get(conversations_, keys::Conversation(c)));
}

absl::StatusOr<storage::v1::MemberState> MessagingStore::GetState(MemberId m,
                                                                  ConversationId c) const {
  return ParseRecord<storage::v1::MemberState>(store_->Get(members_, keys::State(m, c)));
}

absl::StatusOr<storage::v1::SentRecord> MessagingStore::GetSent(MemberId m,
                                                                absl::string_view id) const {
  return ParseRecord<storage::v1::SentRecord>(store_->Get(members_, keys::Sent(m, id)));
}

std::string MessagingStore::EncodeMessage(const v1::Message& message) {
  v1::Message stored = message;
  stored.clear_conversation_id();
  stored.clear_sequence();
  return stored.SerializeAsString();
}

namespace {

// A stored message with what its key says: records written before
// EncodeMessage left them out hold them already (the same values).
void Complete(ConversationId c, int64_t sequence, v1::Message* message) {
  if (message->conversation_id().empty()) message->set_conversation_id(FormatMemberId(c));
  if (message->sequence() == 0) message->set_sequence(sequence);
}

}  // namespace

absl::StatusOr<v1::Message> MessagingStore::GetMessage(ConversationId c, int64_t seq) const {
  ASSIGN_OR_RETURN(auto message,
                   ParseRecord<v1::Message>(store_->Get(conversations_, keys::Message(c, seq))));
  Complete(c, seq, &message);
  return message;
}

absl::StatusOr<ConversationId> MessagingStore::GetId(rocksdb::ColumnFamilyHandle* family,
                                                     const std::string& key) const {
  ASSIGN_OR_RETURN(std::string value, store_->Get(family, key));
  uint64_t id;
  KeyReader reader(value);
  if (!reader.U64(&id) || !reader.AtEnd()) return absl::DataLossError("an id does not parse");
  return id;
}

absl::StatusOr<std::vector<v1::Message>> MessagingStore::Messages(ConversationId c, int64_t from,
                                                                  int64_t to, size_t limit) const {
  // One iterator over the conversation's key range: the work is the messages
  // returned, whatever numbers the range was given with.
  std::vector<v1::Message> out;
  if (from < 0 || to < 0 || limit == 0) return out;
  const bool descending = from > to;
  const std::string prefix = keys::MessagePrefix(c);
  auto it = store_->NewIterator(conversations_, /*prefix_scan=*/true);
  if (descending) {
    it->SeekForPrev(keys::Message(c, from));
  } else {
    it->Seek(keys::Message(c, from));
  }
  for (; it->Valid() && out.size() < limit && it->key().starts_with(prefix);
       descending ? it->Prev() : it->Next()) {
    v1::Message message;
    uint64_t sequence;
    KeyReader key(absl::string_view(it->key().data(), it->key().size()).substr(prefix.size()));
    if (!key.U64(&sequence) ||
        !message.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError("a message does not parse");
    }
    Complete(c, static_cast<int64_t>(sequence), &message);
    if (descending ? message.sequence() < to : message.sequence() > to) break;
    out.push_back(std::move(message));
  }
  RETURN_IF_ERROR(FromRocksStatus(it->status(), "message scan"));
  return out;
}

absl::StatusOr<std::vector<std::pair<ConversationId, std::string>>> MessagingStore::Inbox(
    MemberId m, v1::Folder folder, const std::string& after, size_t limit) const {
  const std::string prefix = keys::InboxPrefix(m, folder);
  auto it = store_->NewIterator(members_, /*prefix_scan=*/true);
  it->Seek(after.empty() ? prefix : prefix + after);
  if (!after.empty() && it->Valid() && it->key().ToString() == prefix + after) it->Next();
  std::vector<std::pair<ConversationId, std::string>> out;
  for (; it->Valid() && out.size() < limit && it->key().starts_with(prefix); it->Next()) {
    const std::string key = it->key().ToString();
    KeyReader reader(absl::string_view(key).substr(prefix.size()));
    absl::Time t;
    uint64_t c;
    if (!reader.TimeDesc(&t) || !reader.U64(&c))
      return absl::DataLossError("an inbox key does not parse");
    out.emplace_back(c, key.substr(prefix.size()));
  }
  RETURN_IF_ERROR(FromRocksStatus(it->status(), "inbox scan"));
  return out;
}

absl::StatusOr<std::vector<std::pair<ConversationId, std::string>>> MessagingStore::Inbox(
    MemberId m, const std::vector<v1::Folder>& folders, const std::string& after,
    size_t limit) const {
  std::vector<std::pair<ConversationId, std::string>> out;
  for (v1::Folder folder : folders) {
    ASSIGN_OR_RETURN(auto entries, Inbox(m, folder, after, limit));
    out.insert(out.end(), entries.begin(), entries.end());
  }
  std::sort(out.begin(), out.end(),
            [](const auto& x, const auto& y) { return x.second < y.second; });
  if (out.size() > limit) out.resize(limit);
  return out;
}

absl::StatusOr<std::vector<storage::v1::OutboxRecord>> MessagingStore::PendingOutbox(
    size_t limit) const {
  auto it = store_->NewIterator(outbox_, /*prefix_scan=*/false);
  std::vector<storage::v1::OutboxRecord> out;
  for (it->Seek("O"); it->Valid() && out.size() < limit && it->key().starts_with("O"); it->Next()) {
    storage::v1::OutboxRecord record;
    if (!record.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError("an outbox record does not parse");
    }
    out.push_back(std::move(record));
  }
  RETURN_IF_ERROR(FromRocksStatus(it->status(), "outbox scan"));
  return out;
}

absl::StatusOr<std::vector<int64_t>> MessagingStore::HiddenSequences(MemberId m, ConversationId c,
                                                                     int64_t from,
                                                                     int64_t to) const {
  std::vector<int64_t> out;
  if (from < 0 || to < from) return out;
  const std::string prefix = keys::HiddenPrefix(m, c);
  const std::string end = keys::Hidden(m, c, to);
  auto it = store_->NewIterator(members_, /*prefix_scan=*/true);
  for (it->Seek(keys::Hidden(m, c, from));
       it->Valid() && it->key().starts_with(prefix) && it->key().compare(end) <= 0; it->Next()) {
    KeyReader reader(absl::string_view(it->key().data(), it->key().size()).substr(prefix.size()));
    uint64_t sequence;
    if (!reader.U64(&sequence)) return absl::DataLossError("a hidden-message key does not parse");
    out.push_back(static_cast<int64_t>(sequence));
  }
  RETURN_IF_ERROR(FromRocksStatus(it->status(), "hidden scan"));
  return out;
}

}  // namespace liaison::messaging
