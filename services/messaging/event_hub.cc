#include "services/messaging/event_hub.h"

#include <algorithm>
#include <deque>
#include <limits>

#include "absl/strings/str_cat.h"
#include "common/keys.h"
#include "common/logging.h"
#include "common/status.h"
#include "services/messaging/event_cursor.h"

namespace liaison::messaging {
namespace {

uint64_t CursorOf(const v1::StreamEventsResponse& event) {
  return ParseEventCursor(event.cursor()).value_or(0);
}

}  // namespace

class RefusedStream final : public grpc::ServerWriteReactor<v1::StreamEventsResponse> {
 public:
  explicit RefusedStream(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

class EventHub::Stream final : public grpc::ServerWriteReactor<v1::StreamEventsResponse> {
 public:
  Stream(EventHub* hub, MemberId member, uint64_t order)
      : hub_(hub), member_(member), order_(order) {}

  MemberId member() const { return member_; }
  uint64_t order() const { return order_; }

  // Replayed events first; live ones that arrived meanwhile follow, in order.
  void Begin(std::vector<v1::StreamEventsResponse> replay) {
    absl::MutexLock lock(&mu_);
    if (finished_) return;  // ended (shutdown) before its replay was read
    // Headers at once: a client that waits for them knows its stream is
    // registered and will see everything sent from now on.
    StartSendInitialMetadata();
    std::deque<v1::StreamEventsResponse> live;
    live.swap(queue_);
    for (auto& e : replay) Enqueue(std::move(e));
    for (auto& e : live) Enqueue(std::move(e));
    replaying_ = false;
    MaybeWrite();
  }

  void Push(const v1::StreamEventsResponse& event) {
    absl::MutexLock lock(&mu_);
    if (replaying_) {
      queue_.push_back(event);  // sorted out in Begin
      return;
    }
    Enqueue(event);
    MaybeWrite();
  }

  void End(const grpc::Status& status) {
    absl::MutexLock lock(&mu_);
    FinishOnce(status);
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!ok) return FinishOnce(grpc::Status::OK);  // the client went away
    queue_.pop_front();
    MaybeWrite();
  }

  void OnCancel() override { End(grpc::Status::CANCELLED); }

  void OnDone() override {
    hub_->Remove(this);
    delete this;
  }

 private:
  void Enqueue(v1::StreamEventsResponse event) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const uint64_t cursor = CursorOf(event);
    if (cursor != 0) {
      if (cursor <= last_) return;  // already sent (replay and live overlap)
      last_ = cursor;
    }
    if (queue_.size() >= kMaxQueued) {
      return FinishOnce(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                     "too far behind; reconnect with your last cursor"));
    }
    queue_.push_back(std::move(event));
  }

  void MaybeWrite() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_ || finished_ || queue_.empty()) return;
    writing_ = true;
    StartWrite(&queue_.front());
  }

  void FinishOnce(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    Finish(status);
  }

  EventHub* hub_;
  MemberId member_;
  const uint64_t order_;  // when it opened, among this process's streams
  absl::Mutex mu_;
  std::deque<v1::StreamEventsResponse> queue_ ABSL_GUARDED_BY(mu_);
  bool replaying_ ABSL_GUARDED_BY(mu_) = true;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t last_ ABSL_GUARDED_BY(mu_) = 0;
};

absl::StatusOr<uint64_t*> EventHub::LastCursor(MemberId member) {
  auto it = last_cursor_.find(member);
  if (it == last_cursor_.end()) {
    // First use since start: the newest event stored.
    uint64_t last = 0;
    auto iter = store_->store()->NewIterator(store_->events(), /*prefix_scan=*/false);
    const std::string prefix = keys::EventPrefix(member);
    iter->SeekForPrev(keys::Event(member, std::numeric_limits<uint64_t>::max()));
    if (iter->Valid() && iter->key().starts_with(prefix)) {
      KeyReader reader(
          absl::string_view(iter->key().data(), iter->key().size()).substr(prefix.size()));
      if (!reader.U64(&last) || !reader.AtEnd()) {
        return absl::DataLossError("an event key does not parse");
      }
    }
    RETURN_IF_ERROR(FromRocksStatus(iter->status(), "event scan"));
    it = last_cursor_.emplace(member, last).first;
  }
  return &it->second;
}

absl::StatusOr<uint64_t> EventHub::NextCursor(MemberId member) {
  absl::MutexLock lock(&cursor_mu_);
  ASSIGN_OR_RETURN(uint64_t * last, LastCursor(member));
  return ++*last;
}

absl::StatusOr<v1::StreamEventsResponse> EventHub::Stage(rocksdb::WriteBatch* batch,
                                                         MemberId member,
                                                         v1::StreamEventsResponse event) {
  ASSIGN_OR_RETURN(uint64_t cursor, NextCursor(member));
  event.set_cursor(FormatEventCursor(cursor));
  batch->Put(store_->events(), keys::Event(member, cursor), event.SerializeAsString());
  if (cursor > kRetained && cursor % kTrimEvery == 0) {
    // Everything up to cursor - kRetained, from the first event on: what an
    // earlier trim missed (a cursor handed out whose write failed) too.
    batch->DeleteRange(store_->events(), keys::EventPrefix(member),
                       keys::Event(member, cursor - kRetained + 1));
  }
  return event;
}

void EventHub::Publish(MemberId member, const v1::StreamEventsResponse& event) {
  absl::MutexLock lock(&streams_mu_);
  auto it = streams_.find(member);
  if (it == streams_.end()) return;
  for (Stream* stream : it->second) stream->Push(event);
}

grpc::ServerWriteReactor<v1::StreamEventsResponse>* EventHub::Refused(const grpc::Status& status) {
  return new RefusedStream(status);
}

grpc::ServerWriteReactor<v1::StreamEventsResponse>* EventHub::Open(
    MemberId member, std::optional<uint64_t> after, grpc::CallbackServerContext* context) {
  // The newest cursor handed out before this stream is registered: every
  // event after it reaches the stream live or can be replayed, so a client
  // that sees no event can resume from it (header kCursorHeader).
  uint64_t current = 0;
  {
    absl::MutexLock lock(&cursor_mu_);
    auto last = LastCursor(member);
    if (!last.ok()) return Refused(ToGrpcStatus(last.status()));
    current = **last;
  }
  if (context != nullptr) context->AddInitialMetadata(kCursorHeader, FormatEventCursor(current));
  Stream* stream;
  {
    absl::MutexLock lock(&streams_mu_);
    auto& mine = streams_[member];
    if (mine.size() >= limits_.per_member && !mine.empty()) {
      // The member's oldest stream makes room (see StreamLimits).
      Stream* oldest = *std::min_element(
          mine.begin(), mine.end(), [](Stream* a, Stream* b) { return a->order() < b->order(); });
      mine.erase(oldest);
      --open_;
      oldest->End(grpc::Status(
          grpc::StatusCode::RESOURCE_EXHAUSTED,
          absl::StrCat("a newer event stream of yours replaced this one; a member may hold ",
                       limits_.per_member, " at once")));
    }
    if (open_ >= limits_.per_process) {
      if (mine.empty()) streams_.erase(member);
      return Refused(grpc::Status(
          grpc::StatusCode::RESOURCE_EXHAUSTED,
          absl::StrCat("this server holds ", open_, " event streams, its limit; retry later")));
    }
    stream = new Stream(this, member, ++opened_);
    mine.insert(stream);
    ++open_;
  }
  // (No event has the largest cursor, and after + 1 would wrap to the first.)
  if (!after.has_value() || *after == std::numeric_limits<uint64_t>::max()) {
    stream->Begin({});
    return stream;
  }
  // Up to kRetained stored events: read off the gRPC callback thread. The
  // stream may end meanwhile (the client goes, shutdown, a newer stream
  // replaces it); it is begun only while still registered, under the lock
  // its OnDone must take before it is deleted.
  auto replay = [this, stream, member, from = *after + 1] {
    std::vector<v1::StreamEventsResponse> events = ReadStored(member, from);
    absl::MutexLock lock(&streams_mu_);
    auto it = streams_.find(member);
    if (it != streams_.end() && it->second.count(stream) == 1) stream->Begin(std::move(events));
  };
  if (replay_pool_ != nullptr) {
    replay_pool_->Post(std::move(replay));
  } else {
    replay();
  }
  return stream;
}

std::vector<v1::StreamEventsResponse> EventHub::ReadStored(MemberId member, uint64_t from) const {
  std::vector<v1::StreamEventsResponse> events;
  auto iter = store_->store()->NewIterator(store_->events(), /*prefix_scan=*/true);
  const std::string prefix = keys::EventPrefix(member);
  for (iter->Seek(keys::Event(member, from)); iter->Valid() && iter->key().starts_with(prefix);
       iter->Next()) {
    v1::StreamEventsResponse event;
    if (event.ParseFromArray(iter->value().data(), static_cast<int>(iter->value().size()))) {
      events.push_back(std::move(event));
    }
  }
  if (!iter->status().ok()) {
    LogError("event_replay_failed", {{"error", iter->status().ToString()}});
  }
  // Up to kTrimEvery - 1 events older than the window wait for the next
  // trim: the window is the newest kRetained cursors, whatever is stored.
  if (!events.empty()) {
    const uint64_t newest = CursorOf(events.back());
    auto first = std::find_if(events.begin(), events.end(), [&](const auto& e) {
      return newest < kRetained || CursorOf(e) > newest - kRetained;
    });
    events.erase(events.begin(), first);
  }
  return events;
}

void EventHub::CloseAll() {
  absl::MutexLock lock(&streams_mu_);
  for (auto& [member, streams] : streams_) {
    for (Stream* stream : streams) {
      stream->End(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                               "the server is shutting down; reconnect with your last cursor"));
    }
  }
}

void EventHub::Remove(Stream* stream) {
  absl::MutexLock lock(&streams_mu_);
  auto it = streams_.find(stream->member());
  if (it == streams_.end()) return;
  // A replaced stream was taken out when it was replaced.
  if (it->second.erase(stream) == 1) --open_;
  if (it->second.empty()) streams_.erase(it);
}

}  // namespace liaison::messaging
