// The credits store. Family "ledger" (prefix scans on partition + kind +
// member; member-keyed keys start with the member's partition,
// KeyBuilder::ForMember):
//   p 'A' member            -> storage Account (balances, tier seen, cycle)
//   p 'L' member -sequence  -> LedgerEntry, newest first
//   p 'H' member inmail_id  -> Hold
//   p 'K' member key        -> storage Purchase (idempotency)
//   'F' feed                -> the cursor (8 bytes big-endian) of a change
//                              feed this service follows ("identity"): every
//                              change up to it is applied. Written with the
//                              ledger entries a change became (one batch).
// Family "expiry" (scanned in time order by the sweeper; an index of this
// shard's open holds, so not partitioned):
//   'X' expire_time member inmail_id -> ""   open holds by expiry
#ifndef LIAISON_SERVICES_CREDITS_CREDIT_STORE_H_
#define LIAISON_SERVICES_CREDITS_CREDIT_STORE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/ids.h"
#include "common/store.h"
#include "liaison/credits/storage/v1/records.pb.h"
#include "liaison/credits/v1/credits.pb.h"

namespace liaison::credits {

namespace keys {
std::string Account(MemberId m);
std::string Entry(MemberId m, int64_t sequence);
std::string EntryPrefix(MemberId m);
std::string Hold(MemberId m, absl::string_view inmail_id);
std::string Purchase(MemberId m, absl::string_view key);
std::string Expiry(absl::Time t, MemberId m, absl::string_view inmail_id);
std::string FeedCursor(absl::string_view feed);
}  // namespace keys

struct ExpiredHold {
  absl::Time expire;
  MemberId member;
  std::string inmail_id;
};

class CreditStore final {
 public:
  static std::vector<ColumnFamilySpec> Families();
  // Rewrites the ledger keys of a store written before partitions (once,
  // at start); returns how many records moved.
  static absl::StatusOr<size_t> UpgradeLayout(Store* store);
  explicit CreditStore(Store* store);

  Store* store() const { return store_; }
  rocksdb::ColumnFamilyHandle* ledger() const { return ledger_; }
  rocksdb::ColumnFamilyHandle* expiry() const { return expiry_; }

  // A member with no account yet gets an empty one.
  absl::StatusOr<storage::v1::Account> GetAccount(MemberId m) const;
  // Whether credits has ever written `m`'s account: it has for every member
  // who ever had credits (and so could have a hold), never for ids identity
  // does not know.
  absl::StatusOr<bool> HasAccount(MemberId m) const;
  // NotFoundError when absent.
  absl::StatusOr<v1::Hold> GetHold(MemberId m, absl::string_view inmail_id) const;
  absl::StatusOr<storage::v1::Purchase> GetPurchase(MemberId m, absl::string_view key) const;
  // Newest first, after `after` (a key suffix from a previous page).
  absl::StatusOr<std::vector<v1::LedgerEntry>> Entries(MemberId m, const std::string& after,
                                                       size_t limit, std::string* last) const;
  // The stored cursor of `feed`; nullopt when none was ever stored.
  absl::StatusOr<std::optional<uint64_t>> GetFeedCursor(absl::string_view feed) const;
  // Puts `cursor` as `feed`'s cursor into `batch`.
  void PutFeedCursor(rocksdb::WriteBatch* batch, absl::string_view feed, uint64_t cursor) const;
  // Up to `limit` members with an account, in key order (partition, then
  // id), after `after` (0: from the first).
  absl::StatusOr<std::vector<MemberId>> AccountMembers(MemberId after, size_t limit) const;
  // Holds whose expiry is at or before `now`, oldest first.
  absl::StatusOr<std::vector<ExpiredHold>> Expired(absl::Time now, size_t limit) const;

 private:
  Store* store_;
  rocksdb::ColumnFamilyHandle* ledger_;
  rocksdb::ColumnFamilyHandle* expiry_;
};

}  // namespace liaison::credits

#endif  // LIAISON_SERVICES_CREDITS_CREDIT_STORE_H_
