// Real-time events (StreamEvents). Every stored event has a cursor, per
// member and increasing; the last 1,000 events of each member are kept in
// the store (family "events": 'E' member cursor -> StreamEventsResponse), so
// a client that reconnects with its last cursor gets what it missed within
// that window. Older events are trimmed every kTrimEvery events of a member
// by one range delete in the batch that stages the event (not one delete
// per event), so up to kTrimEvery - 1 older ones may still be stored; a
// replay never returns them. Open streams are ServerWriteReactors fed from memory: a
// write publishes its events after it commits, and no thread ever waits on
// a slow client (each stream queues, up to a bound).
#ifndef LIAISON_SERVICES_MESSAGING_EVENT_HUB_H_
#define LIAISON_SERVICES_MESSAGING_EVENT_HUB_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include <cstdint>
#include <optional>
#include <set>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/worker_pool.h"
#include "liaison/messaging/v1/messaging.pb.h"
#include "services/messaging/messaging_store.h"

namespace liaison::messaging {

// How many streams may be open at once. A member's new stream past their
// limit ends their oldest one (RESOURCE_EXHAUSTED, "replaced"): the newest is
// the device or tab in use, and a dead connection the server has not noticed
// yet must not lock its owner out. Past the process limit a new stream is
// refused (RESOURCE_EXHAUSTED): another pod, or later, will take it.
struct StreamLimits {
  size_t per_member = 10;
  size_t per_process = 100000;
};

class EventHub final {
 public:
  static constexpr uint64_t kRetained = 1000;  // stored events per member
  // A member's events older than their newest kRetained are range-deleted
  // when their cursor reaches a multiple of this.
  static constexpr uint64_t kTrimEvery = 100;
  static constexpr size_t kMaxQueued = 10000;  // per open stream

  // With `replay_pool`, stored events a stream replays are read there, off
  // gRPC's callback threads (without one, inline: for tests).
  explicit EventHub(MessagingStore* store, StreamLimits limits = {},
                    WorkerPool* replay_pool = nullptr)
      : store_(store), limits_(limits), replay_pool_(replay_pool) {}

  // A stream that ends at once with `status` (refused before it began).
  static grpc::ServerWriteReactor<v1::StreamEventsResponse>* Refused(const grpc::Status& status);

  // Gives `event` the member's next cursor and puts it in `batch`; every
  // kTrimEvery cursors, with a range delete of the events that fell out of
  // the retention window.
  absl::StatusOr<v1::StreamEventsResponse> Stage(rocksdb::WriteBatch* batch, MemberId member,
                                                 v1::StreamEventsResponse event);
  // After the batch committed: to the member's open streams.
  void Publish(MemberId member, const v1::StreamEventsResponse& event);

  // The initial-metadata key that carries the member's newest cursor when
  // their stream opened: a client that sees no event resumes from it.
  static constexpr char kCursorHeader[] = "liaison-cursor";

  // A stream for `member`: stored events after `after` (none: only new ones),
  // then live. With `context`, the newest cursor so far is sent in the
  // stream's headers (kCursorHeader).
  grpc::ServerWriteReactor<v1::StreamEventsResponse>* Open(
      MemberId member, std::optional<uint64_t> after,
      grpc::CallbackServerContext* context = nullptr);
  // Ends every open stream (UNAVAILABLE: reconnect with your last cursor).
  void CloseAll();

  // The stored events of `member` from cursor `from` on, among their newest
  // kRetained (what a stream opened after `from` - 1 replays), ascending.
  std::vector<v1::StreamEventsResponse> ReadStored(MemberId member, uint64_t from) const;

 private:
  class Stream;
  friend class Stream;
  absl::StatusOr<uint64_t> NextCursor(MemberId member);
  // The member's newest cursor, loaded from the store on first use.
  absl::StatusOr<uint64_t*> LastCursor(MemberId member) ABSL_EXCLUSIVE_LOCKS_REQUIRED(cursor_mu_);
  void Remove(Stream* stream);

  MessagingStore* store_;
  const StreamLimits limits_;
  WorkerPool* const replay_pool_;
  absl::Mutex cursor_mu_;
  absl::flat_hash_map<MemberId, uint64_t> last_cursor_ ABSL_GUARDED_BY(cursor_mu_);
  absl::Mutex streams_mu_;
  absl::flat_hash_map<MemberId, std::set<Stream*>> streams_ ABSL_GUARDED_BY(streams_mu_);
  size_t open_ ABSL_GUARDED_BY(streams_mu_) = 0;      // streams in streams_
  uint64_t opened_ ABSL_GUARDED_BY(streams_mu_) = 0;  // streams ever opened: their order
};

}  // namespace liaison::messaging

#endif  // LIAISON_SERVICES_MESSAGING_EVENT_HUB_H_
