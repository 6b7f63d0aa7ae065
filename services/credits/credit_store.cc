#include "services/credits/credit_store.h"

#include "common/keys.h"
#include "common/shard_map.h"
#include "common/status.h"

namespace liaison::credits {
namespace keys {

std::string Account(MemberId m) { return KeyBuilder::ForMember('A', m).key(); }
std::string Entry(MemberId m, int64_t seq) {
  return KeyBuilder::ForMember('L', m).U64Desc(static_cast<uint64_t>(seq)).key();
}
std::string EntryPrefix(MemberId m) { return KeyBuilder::ForMember('L', m).key(); }
std::string Hold(MemberId m, absl::string_view id) {
  return KeyBuilder::ForMember('H', m).Str(id).key();
}
std::string Purchase(MemberId m, absl::string_view k) {
  return KeyBuilder::ForMember('K', m).Str(k).key();
}
std::string Expiry(absl::Time t, MemberId m, absl::string_view id) {
  return KeyBuilder('X').Time(t).U64(m).Str(id).key();
}

std::string FeedCursor(absl::string_view feed) { return KeyBuilder('F').Str(feed).key(); }

}  // namespace keys

// Ledger prefixes: partition (2), kind, member (8).
std::vector<ColumnFamilySpec> CreditStore::Families() { return {{"ledger", 11}, {"expiry", 0}}; }

absl::StatusOr<size_t> CreditStore::UpgradeLayout(Store* store) {
  return PartitionMemberKeys(store, store->Family("ledger"), "ALHK");
}

CreditStore::CreditStore(Store* store)
    : store_(store), ledger_(store->Family("ledger")), expiry_(store->Family("expiry")) {}

absl::StatusOr<storage::v1::Account> CreditStore::GetAccount(MemberId m) const {
  auto account = ParseRecord<storage::v1::Account>(store_->Get(ledger_, keys::Account(m)));
  if (absl::IsNotFound(account.status())) return storage::v1::Account();
  return account;
}

absl::StatusOr<bool> CreditStore::HasAccount(MemberId m) const {
  auto account = store_->Get(ledger_, keys::Account(m));
  if (absl::IsNotFound(account.status())) return false;
  if (!account.ok()) return account.status();
  return true;
}

absl::StatusOr<v1::Hold> CreditStore::GetHold(MemberId m, absl::string_view inmail_id) const {
  return ParseRecord<v1::Hold>(store_->Get(ledger_, keys::Hold(m, inmail_id)));
}

absl::StatusOr<storage::v1::Purchase> CreditStore::GetPurchase(MemberId m,
                                                               absl::string_view key) const {
  return ParseRecord<storage::v1::Purchase>(store_->Get(ledger_, keys::Purchase(m, key)));
}

absl::StatusOr<std::vector<v1::LedgerEntry>> CreditStore::Entries(MemberId m,
                                                                  const std::string& after,
                                                                  size_t limit,
                                                                  std::string* last) const {
  const std::string prefix = keys::EntryPrefix(m);
  auto it = store_->NewIterator(ledger_, /*prefix_scan=*/true);
  it->Seek(after.empty() ? prefix : prefix + after);
  if (!after.empty() && it->Valid() && it->key().ToString() == prefix + after) it->Next();
  std::vector<v1::LedgerEntry> out;
  for (; it->Valid() && out.size() < limit && it->key().starts_with(prefix); it->Next()) {
    v1::LedgerEntry entry;
    if (!entry.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError("a ledger entry does not parse");
    }
    out.push_back(std::move(entry));
    *last = it->key().ToString().substr(prefix.size());
  }
  RETURN_IF_ERROR(FromRocksStatus(it->status(), "ledger scan"));
  return out;
}

absl::StatusOr<std::optional<uint64_t>> CreditStore::GetFeedCursor(absl::string_view feed) const {
  auto value = store_->Get(ledger_, keys::FeedCursor(feed));
  if (absl::IsNotFound(value.status())) return std::optional<uint64_t>();
  if (!value.ok()) return value.status();
  uint64_t cursor;
  KeyReader reader(*value);
  if (!reader.U64(&cursor)) return absl::DataLossError("a feed cursor does not parse");
  return std::optional<uint64_t>(cursor);
}

void CreditStore::PutFeedCursor(rocksdb::WriteBatch* batch, absl::string_view feed,
                                uint64_t cursor) const {
  // The kind byte is dropped: the value is the 8-byte cursor alone.
  batch->Put(ledger_, keys::FeedCursor(feed), KeyBuilder('F').U64(cursor).key().substr(1));
}

absl::StatusOr<std::vector<MemberId>> CreditStore::AccountMembers(MemberId after,
                                                                  size_t limit) const {
  // Accounts are in key order: partition by partition, one seek each.
  auto it = store_->NewIterator(ledger_, /*prefix_scan=*/false);
  std::vector<MemberId> out;
  for (uint32_t p = after == 0 ? 0 : PartitionOf(after); p < kPartitions && out.size() < limit;
       ++p) {
    const std::string prefix = KeyBuilder::PartitionPrefix(p) + 'A';
    const bool resume = after != 0 && p == PartitionOf(after);
    for (it->Seek(resume ? keys::Account(after) : prefix);
         it->Valid() && out.size() < limit && it->key().starts_with(prefix); it->Next()) {
      KeyReader reader(absl::string_view(it->key().data(), it->key().size()).substr(3));
      MemberId member;
      if (!reader.U64(&member)) return absl::DataLossError("an account key does not parse");
      if (resume && member == after) continue;
      out.push_back(member);
    }
    RETURN_IF_ERROR(FromRocksStatus(it->status(), "account scan"));
  }
  return out;
}

absl::StatusOr<std::vector<ExpiredHold>> CreditStore::Expired(absl::Time now, size_t limit) const {
  auto it = store_->NewIterator(expiry_, /*prefix_scan=*/false);
  std::vector<ExpiredHold> out;
  for (it->Seek("X"); it->Valid() && out.size() < limit; it->Next()) {
    KeyReader reader(absl::string_view(it->key().data(), it->key().size()));
    char kind;
    ExpiredHold hold;
    if (!reader.Kind(&kind) || kind != 'X' || !reader.Time(&hold.expire) ||
        !reader.U64(&hold.member) || !reader.Str(&hold.inmail_id)) {
      return absl::DataLossError("an expiry key does not parse");
    }
    if (hold.expire > now) break;
    out.push_back(std::move(hold));
  }
  RETURN_IF_ERROR(FromRocksStatus(it->status(), "expiry scan"));
  return out;
}

}  // namespace liaison::credits
