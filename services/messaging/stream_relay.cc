#include "services/messaging/stream_relay.h"

#include "common/shard_router.h"
#include "services/messaging/event_hub.h"

namespace liaison::messaging {

void StreamRelays::Add(StreamRelay* relay) {
  absl::MutexLock lock(&mu_);
  relays_.insert(relay);
}

void StreamRelays::Remove(StreamRelay* relay) {
  absl::MutexLock lock(&mu_);
  relays_.erase(relay);
}

void StreamRelays::CloseAll() {
  absl::MutexLock lock(&mu_);  // a relay leaves the set before it is deleted
  for (StreamRelay* relay : relays_) relay->Close();
}

StreamRelay::StreamRelay(grpc::CallbackServerContext* incoming, const ShardIdentity& shard,
                         v1::MessagingService::Stub* owner, const v1::StreamEventsRequest& request,
                         StreamRelays* relays)
    : incoming_(incoming), request_(request), relays_(relays) {
  relays_->Add(this);
  PrepareForward(*incoming, shard, &outgoing_);
  owner->async()->StreamEvents(&outgoing_, &request_, this);
  StartCall();
}

void StreamRelay::OnReadInitialMetadataDone(bool ok) {
  if (!ok) return;  // the call failed: OnDone(status) follows
  RelayShardHeader(outgoing_, incoming_);
  const auto& metadata = outgoing_.GetServerInitialMetadata();
  auto it = metadata.find(EventHub::kCursorHeader);
  if (it != metadata.end()) {
    incoming_->AddInitialMetadata(EventHub::kCursorHeader,
                                  std::string(it->second.data(), it->second.size()));
  }
  StartSendInitialMetadata();
  StartRead(&event_);
}

void StreamRelay::OnReadDone(bool ok) {
  if (!ok) return;  // the owner's stream ended: OnDone(status) follows
  absl::MutexLock lock(&mu_);
  writing_ = true;
  StartWrite(&event_);
}

void StreamRelay::OnWriteDone(bool ok) {
  {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (finish_pending_) {
      Finish(status_);
      return;
    }
  }
  if (!ok) {
    outgoing_.TryCancel();  // the client is gone
    return;
  }
  StartRead(&event_);
}

void StreamRelay::Close() {
  closed_ = true;
  outgoing_.TryCancel();  // OnDone(status) follows, on a callback thread
}

void StreamRelay::OnDone(const grpc::Status& owners) {
  const grpc::Status status =
      closed_ ? grpc::Status(grpc::StatusCode::UNAVAILABLE,
                             "the server is shutting down; reconnect with your last cursor")
              : owners;
  {
    absl::MutexLock lock(&mu_);
    if (writing_) {
      finish_pending_ = true;
      status_ = status;
    } else {
      Finish(status);
    }
  }
  Release();
}

void StreamRelay::OnCancel() { outgoing_.TryCancel(); }

void StreamRelay::OnDone() { Release(); }

void StreamRelay::Release() {
  if (sides_.fetch_sub(1) != 1) return;
  relays_->Remove(this);
  delete this;
}

}  // namespace liaison::messaging
