// Real-time events (StreamEvents). Every stored event has a cursor, per
// member and increasing; the last 1,000 events of each member are kept in
// the store (family "events": 'E' member cursor -> StreamEventsResponse), so
// a client that reconnects with its last cursor gets what it missed within
// that window. Open streams are ServerWriteReactors fed from memory: a
// write publishes its events after it commits, and no thread ever waits on
// a slow client (each stream queues, up to a bound).
#ifndef LIAISON_SERVICES_MESSAGING_EVENT_HUB_H_
#define LIAISON_SERVICES_MESSAGING_EVENT_HUB_H_

#include <grpcpp/support/server_callback.h>

#include <cstdint>
#include <set>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "liaison/messaging/v1/messaging.pb.h"
#include "services/messaging/messaging_store.h"

namespace liaison::messaging {

class EventHub final {
 public:
  static constexpr uint64_t kRetained = 1000;  // stored events per member
  static constexpr size_t kMaxQueued = 10000;  // per open stream

  explicit EventHub(MessagingStore* store) : store_(store) {}

  // Gives `event` the member's next cursor and puts it in `batch`, dropping
  // the event that falls out of the retention window.
  absl::StatusOr<v1::StreamEventsResponse> Stage(rocksdb::WriteBatch* batch, MemberId member,
                                                 v1::StreamEventsResponse event);
  // After the batch committed: to the member's open streams.
  void Publish(MemberId member, const v1::StreamEventsResponse& event);

  // A stream for `member`: events after `after` (0: only new ones), then live.
  grpc::ServerWriteReactor<v1::StreamEventsResponse>* Open(MemberId member, uint64_t after);
  // Ends every open stream (UNAVAILABLE: reconnect with your last cursor).
  void CloseAll();

 private:
  class Stream;
  friend class Stream;
  absl::StatusOr<uint64_t> NextCursor(MemberId member);
  void Remove(Stream* stream);

  MessagingStore* store_;
  absl::Mutex cursor_mu_;
  absl::flat_hash_map<MemberId, uint64_t> last_cursor_ ABSL_GUARDED_BY(cursor_mu_);
  absl::Mutex streams_mu_;
  absl::flat_hash_map<MemberId, std::set<Stream*>> streams_ ABSL_GUARDED_BY(streams_mu_);
};

}  // namespace liaison::messaging

#endif  // LIAISON_SERVICES_MESSAGING_EVENT_HUB_H_
