// A member's event stream that reached a shard other than theirs (through
// a plain Kubernetes Service, grpcurl, buf curl): relayed from their own
// shard, where their events are, event by event. The owner's headers (its
// liaison-shard and the stream's liaison-cursor) come first; one event is
// in flight at a time, so a slow client slows only its own relay; either
// side ending ends the other (the client's cancel cancels the owner's
// stream; the owner's status ends the client's).
#ifndef LIAISON_SERVICES_MESSAGING_STREAM_RELAY_H_
#define LIAISON_SERVICES_MESSAGING_STREAM_RELAY_H_

#include <grpcpp/support/client_callback.h>
#include <grpcpp/support/server_callback.h>

#include <atomic>
#include <set>

#include "absl/synchronization/mutex.h"
#include "common/shard_map.h"
#include "liaison/messaging/v1/messaging.grpc.pb.h"

namespace liaison::messaging {

class StreamRelay;

// The relays a shard runs, so shutting down ends them (UNAVAILABLE:
// reconnect with your last cursor) rather than wait for their owners.
class StreamRelays final {
 public:
  void Add(StreamRelay* relay);
  void Remove(StreamRelay* relay);
  void CloseAll();

 private:
  absl::Mutex mu_;
  std::set<StreamRelay*> relays_ ABSL_GUARDED_BY(mu_);
};

class StreamRelay final : public grpc::ServerWriteReactor<v1::StreamEventsResponse>,
                          public grpc::ClientReadReactor<v1::StreamEventsResponse> {
 public:
  // Opens the stream on `owner` (the caller's shard) with the incoming
  // call's credentials; deletes itself once both sides are done, and is in
  // `relays` meanwhile.
  StreamRelay(grpc::CallbackServerContext* incoming, const ShardIdentity& shard,
              v1::MessagingService::Stub* owner, const v1::StreamEventsRequest& request,
              StreamRelays* relays);
  // Ends the relay: the owner's stream is cancelled, the client's ends
  // UNAVAILABLE.
  void Close();

  // The owner's side.
  void OnReadInitialMetadataDone(bool ok) override;
  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;
  // The client's side.
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  void Release();

  grpc::CallbackServerContext* incoming_;
  grpc::ClientContext outgoing_;
  v1::StreamEventsRequest request_;
  v1::StreamEventsResponse event_;
  absl::Mutex mu_;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  // The owner's stream ended while an event was being written: its status,
  // given to the client once the write is done.
  bool finish_pending_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
  std::atomic<int> sides_{2};
  std::atomic<bool> closed_{false};
  StreamRelays* relays_;
};

}  // namespace liaison::messaging

#endif  // LIAISON_SERVICES_MESSAGING_STREAM_RELAY_H_
