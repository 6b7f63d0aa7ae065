#include "services/messaging/stream_relay.h"

#include "common/shard_router.h"
#include "services/messaging/event_hub.h"

namespace liaison::messaging {

StreamRelay::StreamRelay(grpc::CallbackServerContext* incoming, const ShardIdentity& shard,
                         v1::MessagingService::Stub* owner, const v1::StreamEventsRequest& request)
    : incoming_(incoming), request_(request) {
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

void StreamRelay::OnDone(const grpc::Status& status) {
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
  if (sides_.fetch_sub(1) == 1) delete this;
}

}  // namespace liaison::messaging
