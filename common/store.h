// RocksDB, opened one way for every service: tuned options in one place,
// column families by name, NotFound as absl::NotFoundError (never an empty
// value), one WriteBatch per logical change, and gauges for /metrics.
#ifndef LIAISON_COMMON_STORE_H_
#define LIAISON_COMMON_STORE_H_

#include <prometheus/collectable.h>
#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/statistics.h>
#include <rocksdb/write_batch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace liaison {

struct ColumnFamilySpec {
  std::string name;
  // > 0: keys share a fixed-length prefix that scans stay within (a
  // prefix bloom filter is built over it). 0: point lookups and full scans.
  size_t prefix_length = 0;
};

struct StoreOptions {
  std::string path;
  // Families besides "default", which always exists.
  std::vector<ColumnFamilySpec> column_families;
  size_t block_cache_bytes = size_t{64} << 20;
};

enum class Durability {
  // In the write-ahead log, survives a crash of the process (not of the OS).
  kBuffered,
  // fsync'ed before Write returns: survives power loss.
  kSynced,
  // Bulk loads only: not in the write-ahead log, durable once Close (or a
  // flush) has run. A crash before then loses it.
  kUnlogged,
};

// A stored protobuf record: the value read, parsed. Passes NotFound (and any
// read error) through; DataLossError when the bytes do not parse.
template <typename Message>
absl::StatusOr<Message> ParseRecord(absl::StatusOr<std::string> value) {
  if (!value.ok()) return value.status();
  Message message;
  if (!message.ParseFromString(*value))
    return absl::DataLossError("a stored record does not parse");
  return message;
}

// Maps a RocksDB status to an absl::Status. `what` says what was being done;
// it is logged, never sent to clients (INTERNAL messages are replaced).
absl::Status FromRocksStatus(const rocksdb::Status& status, absl::string_view what);

// Thread-safe. Family handles stay valid until Close().
class Store final {
 public:
  // Creates the directory contents if missing. InternalError (with the path,
  // for the operator) if RocksDB cannot open it, e.g. another process holds
  // its lock.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const StoreOptions& options);
  ~Store();

  // The handle of a family named at Open (or "default"); nullptr otherwise.
  rocksdb::ColumnFamilyHandle* Family(absl::string_view name) const;

  // NotFoundError when the key is absent.
  absl::StatusOr<std::string> Get(rocksdb::ColumnFamilyHandle* family, absl::string_view key) const;
  // One result per key, in order; absent keys give NotFoundError.
  std::vector<absl::StatusOr<std::string>> MultiGet(rocksdb::ColumnFamilyHandle* family,
                                                    const std::vector<std::string>& keys) const;
  // Commits the batch atomically.
  absl::Status Write(rocksdb::WriteBatch* batch, Durability durability);
  // fsyncs the write-ahead log: every kBuffered write before it is then
  // durable as a kSynced one (several writes, one fsync).
  absl::Status SyncWal();
  // An iterator over one family. `prefix_scan` keeps it within the seek
  // key's prefix (families with prefix_length only).
  std::unique_ptr<rocksdb::Iterator> NewIterator(rocksdb::ColumnFamilyHandle* family,
                                                 bool prefix_scan) const;

  // Flushes memtables and compacts every family down to its last level,
  // rewriting that level too; returns when all of it is done. For bulk loads
  // (liaison-seed-graph): the store is left with no pending compaction, so
  // what later reads cost does not depend on when compactions happen to run.
  // Not while other writes run.
  absl::Status CompactAll();

  // Flushes memtables and closes the database. Idempotent. Callers stop all
  // other use first (the server has drained); only the metrics collector may
  // still run concurrently, and it then reads nothing.
  absl::Status Close();

  // A prometheus collectable with this store's gauges; it reads nothing
  // once the store is closed. The store must outlive it.
  std::shared_ptr<prometheus::Collectable> MetricsCollector();

  // Integer DB property summed over families (0 when closed or unknown).
  uint64_t IntProperty(const std::string& name) const;

  // Bytes in use in the block cache all families share.
  uint64_t BlockCacheUsage() const { return cache_->GetUsage(); }

  // A RocksDB statistics counter since Open, e.g. rocksdb::NUMBER_KEYS_WRITTEN
  // (entries written, deletes included) or rocksdb::NUMBER_KEYS_READ (point
  // lookups): what a change costs the store.
  uint64_t TickerCount(rocksdb::Tickers ticker) const {
    return statistics_->getTickerCount(ticker);
  }

  const std::string& path() const { return path_; }

 private:
  class Collector;
  Store() = default;

  std::string path_;
  std::shared_ptr<rocksdb::Statistics> statistics_;
  std::shared_ptr<rocksdb::Cache> cache_;
  std::unique_ptr<rocksdb::DB> db_;
  // Guards closing against concurrent metric scrapes; the data path does
  // not take it.
  mutable absl::Mutex close_mu_;
  bool closed_ ABSL_GUARDED_BY(close_mu_) = false;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  absl::flat_hash_map<std::string, rocksdb::ColumnFamilyHandle*> families_;
};

// Writes a long run of changes (an upgrade, a move of partitions) as synced
// batches of `chunk` records, so no batch grows with the data; a run cut
// short by a crash is meant to be repeated.
class ChunkedWriter final {
 public:
  explicit ChunkedWriter(Store* store, size_t chunk = 1000) : store_(store), chunk_(chunk) {}

  absl::Status Put(rocksdb::ColumnFamilyHandle* family, const rocksdb::Slice& key,
                   const rocksdb::Slice& value);
  absl::Status Delete(rocksdb::ColumnFamilyHandle* family, const rocksdb::Slice& key);
  // Writes what is buffered.
  absl::Status Flush();
  // Records put or deleted so far.
  size_t records() const { return records_; }

 private:
  absl::Status Counted();

  Store* store_;
  size_t chunk_;
  rocksdb::WriteBatch batch_;
  size_t records_ = 0;
};

// How many keys of `family` start with `prefix` (a walk over them).
absl::StatusOr<uint64_t> CountKeys(Store* store, rocksdb::ColumnFamilyHandle* family,
                                   const std::string& prefix);

// Moves a store written before partitions to today's layout: every key in
// `family` whose first byte is one of `kinds` (then an 8-byte member id,
// then anything) is rewritten as that member's partition followed by the
// same bytes (KeyBuilder::ForMember's layout), in synced batches. Keys of
// other kinds, and keys already partitioned (their first byte is below
// 0x10, never a kind letter), are left alone, so running it again moves
// nothing. Returns how many records moved; DataLossError for a key of one
// of `kinds` too short to hold a member id.
absl::StatusOr<size_t> PartitionMemberKeys(Store* store, rocksdb::ColumnFamilyHandle* family,
                                           absl::string_view kinds);
// The same for keys whose 8-byte id has its partition given by
// `partition_of` (e.g. a conversation id, which carries its home's).
absl::StatusOr<size_t> PartitionIdKeys(Store* store, rocksdb::ColumnFamilyHandle* family,
                                       absl::string_view kinds, uint32_t (*partition_of)(uint64_t));

}  // namespace liaison

#endif  // LIAISON_COMMON_STORE_H_
