#include "common/change_feed.h"

#include "absl/strings/str_cat.h"
#include "common/keys.h"
#include "common/logging.h"

namespace liaison {
namespace {

absl::string_view View(const rocksdb::Slice& slice) {
  return absl::string_view(slice.data(), slice.size());
}

std::string CursorKey(uint64_t cursor) { return KeyBuilder('c').U64(cursor).key(); }

uint64_t CursorOfKey(absl::string_view key) {
  KeyReader reader(key);
  uint64_t cursor = 0;
  char kind = 0;
  if (!reader.Kind(&kind) || kind != 'c' || !reader.U64(&cursor)) return 0;
  return cursor;
}

std::string EncodeValue(absl::Time t, absl::string_view record) {
  std::string value = KeyBuilder('t').Time(t).key().substr(1);
  value.append(record.data(), record.size());
  return value;
}

bool DecodeValue(absl::string_view value, FeedEntry* entry) {
  if (value.size() < 8) return false;
  std::string key = "t";
  key.append(value.data(), 8);
  KeyReader reader(key);
  char kind = 0;
  if (!reader.Kind(&kind) || !reader.Time(&entry->commit_time)) return false;
  entry->record.assign(value.data() + 8, value.size() - 8);
  return true;
}

// Deleted per pass of the pruning loop; the loop runs again at once while a
// pass was full.
constexpr size_t kPruneBatch = 10000;

}  // namespace

ChangeFeed::Staged& ChangeFeed::Staged::operator=(Staged&& other) noexcept {
  if (this != &other) {
    Done();
    feed_ = other.feed_;
    cursors_ = std::move(other.cursors_);
    other.feed_ = nullptr;
    other.cursors_.clear();
  }
  return *this;
}

void ChangeFeed::Staged::Done() {
  if (feed_ != nullptr && !cursors_.empty()) feed_->Finished(cursors_);
  feed_ = nullptr;
}

ChangeFeed::ChangeFeed(Store* store, const Clock* clock, ChangeFeedOptions options,
                       prometheus::Registry& registry)
    : store_(store),
      family_(store->Family(kFamily)),
      clock_(clock),
      options_(std::move(options)),
      head_gauge_(prometheus::BuildGauge()
                      .Name("liaison_feed_head_cursor")
                      .Help("The newest committed cursor of this service's change feed.")
                      .Register(registry)
                      .Add({{"feed", options_.name}})),
      oldest_gauge_(prometheus::BuildGauge()
                        .Name("liaison_feed_oldest_cursor")
                        .Help("The oldest cursor a consumer may resume after without "
                              "rebuilding (older changes are past the retention).")
                        .Register(registry)
                        .Add({{"feed", options_.name}})),
      watchers_gauge_(prometheus::BuildGauge()
                          .Name("liaison_feed_watchers")
                          .Help("Open WatchChanges streams of this service's change feed.")
                          .Register(registry)
                          .Add({{"feed", options_.name}})) {}

absl::StatusOr<std::unique_ptr<ChangeFeed>> ChangeFeed::Open(Store* store, const Clock* clock,
                                                             ChangeFeedOptions options,
                                                             prometheus::Registry& registry) {
  if (store->Family(kFamily) == nullptr) {
    return absl::InternalError("the store was opened without the change feed's family");
  }
  std::unique_ptr<ChangeFeed> feed(new ChangeFeed(store, clock, std::move(options), registry));
  RETURN_IF_ERROR(feed->Load());
  feed->loop_ = std::thread([raw = feed.get()] { raw->Loop(); });
  return feed;
}

ChangeFeed::~ChangeFeed() {
  CloseAll();
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (loop_.joinable()) loop_.join();
}

absl::Status ChangeFeed::Load() {
  auto it = store_->NewIterator(family_, false);
  it->SeekToLast();
  RETURN_IF_ERROR(FromRocksStatus(it->status(), "reading the change feed's head"));
  uint64_t last = it->Valid() ? CursorOfKey(View(it->key())) : 0;
  it->SeekToFirst();
  RETURN_IF_ERROR(FromRocksStatus(it->status(), "reading the change feed's tail"));
  uint64_t first = it->Valid() ? CursorOfKey(View(it->key())) : 1;
  absl::MutexLock lock(&mu_);
  next_ = last + 1;
  head_ = last;
  pruned_ = first == 0 ? 0 : first - 1;
  head_gauge_.Set(static_cast<double>(head_));
  oldest_gauge_.Set(static_cast<double>(pruned_));
  return absl::OkStatus();
}

ChangeFeed::Staged ChangeFeed::Stage(rocksdb::WriteBatch* batch,
                                     const std::vector<std::string>& records) {
  Staged staged;
  if (records.empty()) return staged;
  const absl::Time now = clock_->Now();
  staged.feed_ = this;
  staged.cursors_.reserve(records.size());
  absl::MutexLock lock(&mu_);
  for (const std::string& record : records) {
    const uint64_t cursor = next_++;
    staged.cursors_.push_back(cursor);
    in_flight_.insert(cursor);
    batch->Put(family_, CursorKey(cursor), EncodeValue(now, record));
  }
  return staged;
}

absl::Status ChangeFeed::Write(rocksdb::WriteBatch* batch, const std::vector<std::string>& records,
                               Durability durability) {
  Staged staged = Stage(batch, records);
  return store_->Write(batch, durability);
}

void ChangeFeed::Finished(const std::vector<uint64_t>& cursors) {
  bool moved = false;
  {
    absl::MutexLock lock(&mu_);
    for (uint64_t c : cursors) in_flight_.erase(c);
    const uint64_t head = in_flight_.empty() ? next_ - 1 : *in_flight_.begin() - 1;
    if (head > head_) {
      head_ = head;
      moved = true;
      head_gauge_.Set(static_cast<double>(head_));
    }
  }
  if (moved) WakeAll(false);
}

uint64_t ChangeFeed::Head() const {
  absl::MutexLock lock(&mu_);
  return head_;
}

absl::Status ChangeFeed::CheckResume(uint64_t after) const {
  absl::MutexLock lock(&mu_);
  if (after < pruned_) {
    return absl::OutOfRangeError(absl::StrCat(
        "the ", options_.name, " change feed no longer holds the changes after cursor ", after,
        " (it keeps ", absl::FormatDuration(options_.retention),
        "; the oldest cursor to resume "
        "from is ",
        pruned_, "): rebuild from a snapshot, then watch from its change_cursor"));
  }
  if (after > head_) {
    return absl::OutOfRangeError(absl::StrCat(
        "cursor ", after, " is ahead of the ", options_.name, " change feed (its head is ", head_,
        "): the feed was reset; rebuild from a snapshot, then watch from its change_cursor"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<FeedEntry>> ChangeFeed::Read(uint64_t after, size_t limit,
                                                        uint64_t* through) const {
  RETURN_IF_ERROR(CheckResume(after));
  const uint64_t head = Head();
  std::vector<FeedEntry> entries;
  *through = head;
  if (after >= head) return entries;
  auto it = store_->NewIterator(family_, false);
  for (it->Seek(CursorKey(after + 1)); it->Valid(); it->Next()) {
    FeedEntry entry;
    entry.cursor = CursorOfKey(View(it->key()));
    if (entry.cursor == 0 || entry.cursor > head) break;
    if (!DecodeValue(View(it->value()), &entry)) {
      return absl::DataLossError("a change feed record does not parse");
    }
    entries.push_back(std::move(entry));
    if (entries.size() == limit) {
      *through = entries.back().cursor;
      break;
    }
  }
  RETURN_IF_ERROR(FromRocksStatus(it->status(), "reading the change feed"));
  // Pruning may have overtaken the read: the consumer must not skip changes.
  RETURN_IF_ERROR(CheckResume(after));
  return entries;
}

absl::StatusOr<size_t> ChangeFeed::Prune(size_t limit) {
  const absl::Time cutoff = clock_->Now() - options_.retention;
  uint64_t last_kept;
  {
    absl::MutexLock lock(&mu_);
    last_kept = head_;
  }
  rocksdb::WriteBatch batch;
  uint64_t pruned = 0;
  size_t count = 0;
  auto it = store_->NewIterator(family_, false);
  for (it->SeekToFirst(); it->Valid() && count < limit; it->Next()) {
    FeedEntry entry;
    const uint64_t cursor = CursorOfKey(View(it->key()));
    if (cursor == 0 || cursor >= last_kept) break;  // the newest stays
    if (DecodeValue(View(it->value()), &entry) && entry.commit_time >= cutoff) break;
    batch.Delete(family_, it->key());
    pruned = cursor;
    ++count;
  }
  RETURN_IF_ERROR(FromRocksStatus(it->status(), "pruning the change feed"));
  if (count == 0) return 0;
  {
    // Readers check first: no one resumes into what is being deleted.
    absl::MutexLock lock(&mu_);
    pruned_ = std::max(pruned_, pruned);
    oldest_gauge_.Set(static_cast<double>(pruned_));
  }
  RETURN_IF_ERROR(store_->Write(&batch, Durability::kBuffered));
  return count;
}

bool ChangeFeed::AddWatcher(Watcher* watcher) {
  absl::MutexLock lock(&watchers_mu_);
  if (closed_ || watchers_.size() >= options_.max_watchers) return false;
  watchers_.insert(watcher);
  watchers_gauge_.Set(static_cast<double>(watchers_.size()));
  return true;
}

void ChangeFeed::RemoveWatcher(Watcher* watcher) {
  absl::MutexLock lock(&watchers_mu_);
  watchers_.erase(watcher);
  watchers_gauge_.Set(static_cast<double>(watchers_.size()));
}

void ChangeFeed::CloseAll() {
  absl::MutexLock lock(&watchers_mu_);
  closed_ = true;
  for (Watcher* w : watchers_) w->Close();
}

void ChangeFeed::WakeAll(bool heartbeat) {
  absl::MutexLock lock(&watchers_mu_);
  for (Watcher* w : watchers_) w->Wake(heartbeat);
}

void ChangeFeed::Loop() {
  absl::Time next_prune = absl::InfinitePast();
  while (!stop_.WaitForNotificationWithTimeout(options_.heartbeat)) {
    WakeAll(true);
    if (absl::Now() < next_prune) continue;
    auto pruned = Prune(kPruneBatch);
    if (!pruned.ok()) {
      LogError("feed_prune_failed",
               {{"feed", options_.name}, {"error", pruned.status().ToString()}});
    } else if (*pruned > 0) {
      LogInfo("feed_pruned", {{"feed", options_.name}, {"count", static_cast<int64_t>(*pruned)}});
    }
    // A full pass: more is due at once; otherwise look again in a while.
    next_prune = absl::Now() +
                 (pruned.ok() && *pruned == kPruneBatch ? absl::ZeroDuration() : absl::Seconds(10));
  }
}

}  // namespace liaison
