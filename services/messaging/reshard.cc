#include "services/messaging/reshard.h"

#include <algorithm>
#include <functional>
#include <memory>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/keys.h"
#include "common/status.h"
#include "liaison/messaging/storage/v1/records.pb.h"
#include "services/messaging/deliveries.h"
#include "services/messaging/messaging_store.h"

namespace liaison::messaging {
namespace {

absl::string_view View(const rocksdb::Slice& s) { return {s.data(), s.size()}; }

// Calls `visit` with every record of `kind` in `family`, partition after
// partition (one seek each), with what follows the partition and the kind.
using Visit = std::function<absl::Status(uint32_t partition, absl::string_view rest,
                                         const rocksdb::Slice& key, const rocksdb::Slice& value)>;
absl::Status ForEachOfKind(Store* store, rocksdb::ColumnFamilyHandle* family, char kind,
                           const Visit& visit) {
  auto it = store->NewIterator(family, /*prefix_scan=*/false);
  for (uint32_t p = 0; p < kPartitions; ++p) {
    const std::string prefix = KeyBuilder::ForPartition(p, kind).key();
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      RETURN_IF_ERROR(visit(p, View(it->key()).substr(prefix.size()), it->key(), it->value()));
    }
    RETURN_IF_ERROR(FromRocksStatus(it->status(), "scan"));
  }
  return absl::OkStatus();
}

absl::StatusOr<ConversationId> IdIn(absl::string_view bytes, absl::string_view what) {
  KeyReader reader(bytes);
  uint64_t c = 0;
  if (!reader.U64(&c)) return absl::DataLossError(absl::StrCat(what, " holds no conversation id"));
  return c;
}

// The conversation a home-written member-keyed record belongs to.
absl::StatusOr<ConversationId> ConversationOf(char kind, const rocksdb::Slice& value) {
  if (kind == 'U') return IdIn(View(value), "an unanswered-InMail record");
  storage::v1::SentRecord sent;
  ConversationId c = 0;
  if (!sent.ParseFromArray(value.data(), static_cast<int>(value.size())) ||
      !absl::SimpleAtoi(sent.conversation_id(), &c)) {
    return absl::DataLossError("a send's idempotency record does not parse");
  }
  return c;
}

size_t HomeOf(const ShardMap& map, ConversationId c) {
  return map.ShardOfPartition(ConversationPartition(c));
}

// Sends' idempotency records ('K') and unanswered InMail ('U') are keyed by
// the sender but written by the conversation's home: they go to its new home.
absl::StatusOr<uint64_t> MoveHomeRecords(const ShardMap& to, const std::vector<Store*>& stores) {
  uint64_t moved = 0;
  for (size_t shard = 0; shard < stores.size(); ++shard) {
    std::vector<std::unique_ptr<ChunkedWriter>> copies;
    for (Store* store : stores) copies.push_back(std::make_unique<ChunkedWriter>(store));
    ChunkedWriter removes(stores[shard]);
    rocksdb::ColumnFamilyHandle* members = stores[shard]->Family("members");
    for (char kind : {'K', 'U'}) {
      RETURN_IF_ERROR(ForEachOfKind(
          stores[shard], members, kind,
          [&](uint32_t, absl::string_view, const rocksdb::Slice& key,
              const rocksdb::Slice& value) -> absl::Status {
            ASSIGN_OR_RETURN(ConversationId c, ConversationOf(kind, value));
            const size_t home = HomeOf(to, c);
            if (home == shard) return absl::OkStatus();
            RETURN_IF_ERROR(copies[home]->Put(stores[home]->Family("members"), key, value));
            return removes.Delete(members, key);
          }));
    }
    // Deleted here only once synced there: a run cut short is run again.
    for (auto& copy : copies) RETURN_IF_ERROR(copy->Flush());
    RETURN_IF_ERROR(removes.Flush());
    moved += removes.records();
  }
  return moved;
}

// Copies a conversation (its record and messages) from its home.
absl::Status CopyConversation(ConversationId c, Store* home, Store* to) {
  MessagingStore from(home);
  auto record = home->Get(from.conversations(), keys::Conversation(c));
  if (absl::IsNotFound(record.status())) {
    return absl::DataLossError(
        absl::StrCat("conversation ", c, " has members' states but no record at its home"));
  }
  RETURN_IF_ERROR(record.status());
  ChunkedWriter writer(to);
  rocksdb::ColumnFamilyHandle* target = to->Family("conversations");
  RETURN_IF_ERROR(writer.Put(target, keys::Conversation(c), *record));
  const std::string prefix = keys::MessagePrefix(c);
  auto it = home->NewIterator(from.conversations(), /*prefix_scan=*/true);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    RETURN_IF_ERROR(writer.Put(target, it->key(), it->value()));
  }
  RETURN_IF_ERROR(FromRocksStatus(it->status(), "message scan"));
  return writer.Flush();
}

absl::Status DropConversation(ConversationId c, Store* store) {
  rocksdb::ColumnFamilyHandle* family = store->Family("conversations");
  ChunkedWriter writer(store);
  const std::string prefix = keys::MessagePrefix(c);
  auto it = store->NewIterator(family, /*prefix_scan=*/true);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    RETURN_IF_ERROR(writer.Delete(family, it->key()));
  }
  RETURN_IF_ERROR(FromRocksStatus(it->status(), "message scan"));
  // The record last: a run cut short still finds the copy to drop.
  RETURN_IF_ERROR(writer.Flush());
  RETURN_IF_ERROR(writer.Delete(family, keys::Conversation(c)));
  return writer.Flush();
}

// The conversation ids in the keys of `kind` in `family`, `skip` bytes
// after the kind.
absl::StatusOr<absl::flat_hash_set<ConversationId>> ConversationsOfKind(Store* store,
                                                                        const std::string& family,
                                                                        char kind, size_t skip) {
  absl::flat_hash_set<ConversationId> ids;
  RETURN_IF_ERROR(ForEachOfKind(store, store->Family(family), kind,
                                [&](uint32_t, absl::string_view rest, const rocksdb::Slice&,
                                    const rocksdb::Slice&) -> absl::Status {
                                  ASSIGN_OR_RETURN(ConversationId c,
                                                   IdIn(rest.substr(std::min(skip, rest.size())),
                                                        "a member's state or conversation key"));
                                  ids.insert(c);
                                  return absl::OkStatus();
                                }));
  return ids;
}

// Each shard keeps a copy of the conversations its members have a state in
// ('S': member, conversation) and of no other it is not home of.
absl::Status PlaceCopies(const ShardMap& to, const std::vector<Store*>& stores,
                         RehomeReport* report) {
  for (size_t shard = 0; shard < stores.size(); ++shard) {
    Store* store = stores[shard];
    // 'S': member, then conversation; 'C': the conversation.
    ASSIGN_OR_RETURN(auto needed, ConversationsOfKind(store, "members", 'S', 8));
    ASSIGN_OR_RETURN(auto held, ConversationsOfKind(store, "conversations", 'C', 0));
    for (ConversationId c : held) {
      if (HomeOf(to, c) == shard || needed.contains(c)) continue;
      RETURN_IF_ERROR(DropConversation(c, store));
      ++report->copies_dropped;
    }
    for (ConversationId c : needed) {
      const size_t home = HomeOf(to, c);
      if (home == shard || held.contains(c)) continue;
      RETURN_IF_ERROR(CopyConversation(c, stores[home], store));
      ++report->copies_made;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<UnfinishedWork> Unfinished(Store* store) {
  rocksdb::ColumnFamilyHandle* outbox = store->Family("outbox");
  UnfinishedWork work;
  ASSIGN_OR_RETURN(work.inmail_steps, CountKeys(store, outbox, "O"));
  ASSIGN_OR_RETURN(work.deliveries, DeliveryOutbox::Waiting(store));
  return work;
}

absl::StatusOr<uint64_t> SplitLookups(const ShardMap& map, Store* store) {
  uint64_t split = 0;
  for (char kind : {'P', 'G'}) {
    RETURN_IF_ERROR(ForEachOfKind(
        store, store->Family("conversations"), kind,
        [&](uint32_t partition, absl::string_view, const rocksdb::Slice&,
            const rocksdb::Slice& value) -> absl::Status {
          ASSIGN_OR_RETURN(ConversationId c, IdIn(View(value), "a pair's or page's record"));
          if (map.ShardOfPartition(partition) != HomeOf(map, c)) ++split;
          return absl::OkStatus();
        }));
  }
  return split;
}

absl::StatusOr<RehomeReport> Rehome(const ShardMap& to, const std::vector<Store*>& stores) {
  if (stores.size() < to.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("give a store for each of the ", to.size(), " shards; got ", stores.size()));
  }
  RehomeReport report;
  ASSIGN_OR_RETURN(report.records_moved, MoveHomeRecords(to, stores));
  RETURN_IF_ERROR(PlaceCopies(to, stores, &report));
  return report;
}

}  // namespace liaison::messaging
