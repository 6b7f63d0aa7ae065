#include "common/store.h"

#include <prometheus/metric_family.h>
#include <rocksdb/cache.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/statistics.h>
#include <rocksdb/table.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/keys.h"
#include "common/logging.h"
#include "common/shard_map.h"
#include "common/status.h"

namespace liaison {
namespace {

rocksdb::Slice ToSlice(absl::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

rocksdb::ColumnFamilyOptions FamilyOptions(const ColumnFamilySpec& spec,
                                           const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions options;
  // Small values, read far more often than written: a shared block cache,
  // bloom filters (most point lookups in Liaison ask about records that
  // usually do not exist, e.g. "has this member changed a setting?"), and
  // index/filter blocks pinned in the cache.
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  table.format_version = 5;
  if (spec.prefix_length > 0) {
    options.prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(spec.prefix_length));
    options.memtable_prefix_bloom_size_ratio = 0.1;
    table.whole_key_filtering = true;
  }
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // LZ4 on every level, the last included, where most data and so most
  // reads land: ZSTD costs several times LZ4's CPU to compress (each
  // compaction into that level) and to decompress (each block-cache miss
  // there), and libzstd was a fifth of the machine's CPU in a benchmark run,
  // to save little on small, varint-packed values.
  options.compression = rocksdb::kLZ4Compression;
  options.bottommost_compression = rocksdb::kLZ4Compression;
  options.level_compaction_dynamic_level_bytes = true;
  return options;
}

}  // namespace

absl::Status FromRocksStatus(const rocksdb::Status& status, absl::string_view what) {
  if (status.ok()) return absl::OkStatus();
  std::string message = absl::StrCat(what, ": ", status.ToString());
  if (status.IsNotFound()) return absl::NotFoundError(message);
  if (status.IsCorruption()) return absl::DataLossError(message);
  if (status.IsBusy() || status.IsTryAgain() || status.IsTimedOut()) {
    // Retryable, and said to clients: keep store details in the log only.
    LogWarn("store_busy", {{"what", std::string(what)}, {"status", status.ToString()}});
    return status.IsTimedOut() ? absl::DeadlineExceededError("the store timed out; retry")
                               : absl::AbortedError("the store was busy; retry");
  }
  return absl::InternalError(message);
}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  auto cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.IncreaseParallelism(2);
  db_options.max_background_jobs = 2;
  db_options.bytes_per_sync = 1 << 20;
  db_options.keep_log_file_num = 4;
  db_options.statistics = rocksdb::CreateDBStatistics();
  db_options.statistics->set_stats_level(rocksdb::StatsLevel::kExceptTimers);

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName,
                           FamilyOptions(ColumnFamilySpec{}, cache));
  for (const auto& spec : options.column_families) {
    descriptors.emplace_back(spec.name, FamilyOptions(spec, cache));
  }

  auto store = std::unique_ptr<Store>(new Store());
  store->path_ = options.path;
  store->statistics_ = db_options.statistics;
  store->cache_ = cache;
  rocksdb::DB* db = nullptr;
  rocksdb::Status status =
      rocksdb::DB::Open(db_options, options.path, descriptors, &store->handles_, &db);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("cannot open the store at ", options.path, ": ", status.ToString()));
  }
  store->db_.reset(db);
  for (auto* handle : store->handles_) store->families_[handle->GetName()] = handle;
  return store;
}

Store::~Store() {
  absl::Status status = Close();
  if (!status.ok()) LogError("store_close_failed", {{"status", status.ToString()}});
}

rocksdb::ColumnFamilyHandle* Store::Family(absl::string_view name) const {
  auto it = families_.find(name);
  return it == families_.end() ? nullptr : it->second;
}

absl::StatusOr<std::string> Store::Get(rocksdb::ColumnFamilyHandle* family,
                                       absl::string_view key) const {
  std::string value;
  rocksdb::Status status = db_->Get(rocksdb::ReadOptions(), family, ToSlice(key), &value);
  if (status.IsNotFound()) return absl::NotFoundError("no such record");
  RETURN_IF_ERROR(FromRocksStatus(status, "read"));
  return value;
}

std::vector<absl::StatusOr<std::string>> Store::MultiGet(
    rocksdb::ColumnFamilyHandle* family, const std::vector<std::string>& keys) const {
  std::vector<rocksdb::Slice> slices;
  slices.reserve(keys.size());
  for (const auto& key : keys) slices.emplace_back(key);
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  db_->MultiGet(rocksdb::ReadOptions(), family, keys.size(), slices.data(), values.data(),
                statuses.data());
  std::vector<absl::StatusOr<std::string>> out;
  out.reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (statuses[i].IsNotFound()) {
      out.emplace_back(absl::NotFoundError("no such record"));
    } else if (!statuses[i].ok()) {
      out.emplace_back(FromRocksStatus(statuses[i], "multi-read"));
    } else {
      out.emplace_back(values[i].ToString());
    }
  }
  return out;
}

absl::Status Store::Write(rocksdb::WriteBatch* batch, Durability durability) {
  rocksdb::WriteOptions options;
  options.sync = durability == Durability::kSynced;
  options.disableWAL = durability == Durability::kUnlogged;
  return FromRocksStatus(db_->Write(options, batch), "write");
}

absl::Status Store::SyncWal() { return FromRocksStatus(db_->SyncWAL(), "sync write-ahead log"); }

std::unique_ptr<rocksdb::Iterator> Store::NewIterator(rocksdb::ColumnFamilyHandle* family,
                                                      bool prefix_scan) const {
  rocksdb::ReadOptions options;
  options.prefix_same_as_start = prefix_scan;
  options.total_order_seek = !prefix_scan;
  return std::unique_ptr<rocksdb::Iterator>(db_->NewIterator(options, family));
}

absl::Status Store::CompactAll() {
  rocksdb::FlushOptions flush;
  flush.wait = true;
  RETURN_IF_ERROR(FromRocksStatus(db_->Flush(flush, handles_), "flush before compacting"));
  rocksdb::CompactRangeOptions options;
  // Rewrite the last level too, so no file keeps an older compression or
  // dead entries.
  options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  options.exclusive_manual_compaction = true;
  for (auto* handle : handles_) {
    RETURN_IF_ERROR(FromRocksStatus(db_->CompactRange(options, handle, nullptr, nullptr),
                                    absl::StrCat("compact ", handle->GetName())));
  }
  return absl::OkStatus();
}

absl::Status Store::Close() {
  absl::MutexLock lock(&close_mu_);
  if (closed_ || db_ == nullptr) return absl::OkStatus();
  closed_ = true;
  absl::Status result = absl::OkStatus();
  rocksdb::FlushOptions flush;
  flush.wait = true;
  result.Update(FromRocksStatus(db_->Flush(flush, handles_), "flush on close"));
  for (auto* handle : handles_) {
    result.Update(FromRocksStatus(db_->DestroyColumnFamilyHandle(handle), "drop family handle"));
  }
  handles_.clear();
  families_.clear();
  result.Update(FromRocksStatus(db_->Close(), "close"));
  db_.reset();
  return result;
}

uint64_t Store::IntProperty(const std::string& name) const {
  absl::MutexLock lock(&close_mu_);
  if (closed_ || db_ == nullptr) return 0;
  uint64_t total = 0;
  for (auto* handle : handles_) {
    uint64_t value = 0;
    if (db_->GetIntProperty(handle, name, &value)) total += value;
  }
  return total;
}

// Reads the store's state at scrape time (nothing is kept up to date on the
// data path).
class Store::Collector final : public prometheus::Collectable {
 public:
  explicit Collector(const Store* store) : store_(store) {}

  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> out;
    auto gauge = [&](const char* name, const char* help, double value) {
      prometheus::MetricFamily family{name, help, prometheus::MetricType::Gauge, {}};
      prometheus::ClientMetric metric;
      metric.gauge.value = value;
      family.metric.push_back(metric);
      out.push_back(std::move(family));
    };
    auto counter = [&](const char* name, const char* help, rocksdb::Tickers ticker) {
      prometheus::MetricFamily family{name, help, prometheus::MetricType::Counter, {}};
      prometheus::ClientMetric metric;
      metric.counter.value = static_cast<double>(store_->statistics_->getTickerCount(ticker));
      family.metric.push_back(metric);
      out.push_back(std::move(family));
    };
    auto prop = [&](const char* property) {
      return static_cast<double>(store_->IntProperty(property));
    };
    gauge("liaison_rocksdb_live_data_bytes", "Estimated size of live data in the store.",
          prop("rocksdb.estimate-live-data-size"));
    gauge("liaison_rocksdb_memtable_bytes", "Bytes held by all memtables.",
          prop("rocksdb.cur-size-all-mem-tables"));
    // The cache is shared by all families: read it once.
    gauge("liaison_rocksdb_block_cache_usage_bytes", "Bytes in use in the shared block cache.",
          static_cast<double>(store_->BlockCacheUsage()));
    gauge("liaison_rocksdb_pending_compaction_bytes",
          "Estimated bytes compaction still has to rewrite.",
          prop("rocksdb.estimate-pending-compaction-bytes"));
    gauge("liaison_rocksdb_sst_files_bytes", "Total size of the store's SST files.",
          prop("rocksdb.total-sst-files-size"));
    counter("liaison_rocksdb_block_cache_hits_total", "Block cache hits.",
            rocksdb::BLOCK_CACHE_HIT);
    counter("liaison_rocksdb_block_cache_misses_total", "Block cache misses.",
            rocksdb::BLOCK_CACHE_MISS);
    counter("liaison_rocksdb_bloom_filter_useful_total",
            "Point lookups a bloom filter answered without reading a block.",
            rocksdb::BLOOM_FILTER_USEFUL);
    counter("liaison_rocksdb_written_bytes_total", "Bytes written to the store.",
            rocksdb::BYTES_WRITTEN);
    counter("liaison_rocksdb_read_bytes_total", "Bytes read from the store by point lookups.",
            rocksdb::BYTES_READ);
    counter("liaison_rocksdb_wal_synced_total", "Write-ahead-log fsyncs.",
            rocksdb::WAL_FILE_SYNCED);
    return out;
  }

 private:
  const Store* store_;
};

std::shared_ptr<prometheus::Collectable> Store::MetricsCollector() {
  return std::make_shared<Collector>(this);
}

absl::Status ChunkedWriter::Put(rocksdb::ColumnFamilyHandle* family, const rocksdb::Slice& key,
                                const rocksdb::Slice& value) {
  RETURN_IF_ERROR(FromRocksStatus(batch_.Put(family, key, value), "batch put"));
  return Counted();
}

absl::Status ChunkedWriter::Delete(rocksdb::ColumnFamilyHandle* family, const rocksdb::Slice& key) {
  RETURN_IF_ERROR(FromRocksStatus(batch_.Delete(family, key), "batch delete"));
  return Counted();
}

absl::Status ChunkedWriter::Counted() {
  ++records_;
  return batch_.Count() >= chunk_ ? Flush() : absl::OkStatus();
}

absl::Status ChunkedWriter::Flush() {
  if (batch_.Count() == 0) return absl::OkStatus();
  RETURN_IF_ERROR(store_->Write(&batch_, Durability::kSynced));
  batch_.Clear();
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> CountKeys(Store* store, rocksdb::ColumnFamilyHandle* family,
                                   const std::string& prefix) {
  auto it = store->NewIterator(family, /*prefix_scan=*/false);
  uint64_t count = 0;
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) ++count;
  RETURN_IF_ERROR(FromRocksStatus(it->status(), "count"));
  return count;
}

absl::StatusOr<size_t> PartitionMemberKeys(Store* store, rocksdb::ColumnFamilyHandle* family,
                                           absl::string_view kinds) {
  return PartitionIdKeys(store, family, kinds, &PartitionOf);
}

absl::StatusOr<size_t> PartitionIdKeys(Store* store, rocksdb::ColumnFamilyHandle* family,
                                       absl::string_view kinds,
                                       uint32_t (*partition_of)(uint64_t)) {
  ChunkedWriter writer(store);
  size_t moved = 0;
  for (char kind : kinds) {
    auto it = store->NewIterator(family, /*prefix_scan=*/false);
    for (it->Seek(rocksdb::Slice(&kind, 1)); it->Valid() && it->key()[0] == kind; it->Next()) {
      const absl::string_view key(it->key().data(), it->key().size());
      MemberId member = 0;
      KeyReader reader(key.substr(1));
      if (!reader.U64(&member)) {
        return absl::DataLossError(absl::StrCat("store upgrade: a '", std::string(1, kind),
                                                "' key too short to hold a member id"));
      }
      std::string moved_key = KeyBuilder::PartitionPrefix(partition_of(member));
      moved_key.append(key.data(), key.size());
      RETURN_IF_ERROR(writer.Put(family, moved_key, it->value()));
      RETURN_IF_ERROR(writer.Delete(family, it->key()));
      ++moved;
    }
    RETURN_IF_ERROR(FromRocksStatus(it->status(), "upgrade scan"));
  }
  RETURN_IF_ERROR(writer.Flush());
  return moved;
}

}  // namespace liaison
