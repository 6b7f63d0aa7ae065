// Messaging's Mailboxes when it runs as several shards: members' shards
// from the shard map, and the deliveries to them through a ShardOutbox in
// the store's outbox family (keys::kDeliveryKind records, each the
// destination shard, 4 bytes, then the MailboxDelivery).
#ifndef LIAISON_SERVICES_MESSAGING_DELIVERIES_H_
#define LIAISON_SERVICES_MESSAGING_DELIVERIES_H_

#include <prometheus/registry.h>

#include <functional>

#include "common/shard_map.h"
#include "common/shard_outbox.h"
#include "services/messaging/mailboxes.h"
#include "services/messaging/messaging_store.h"

namespace liaison::messaging {

class DeliveryOutbox final : public Mailboxes {
 public:
  // Sends deliveries (records of this shard's queue, ascending sequences,
  // up to MessagingLogic::kMaxDeliveriesPerCall) to `shard`
  // (MessagingShardService.ApplyDeliveries, or a direct call in tests); the
  // errors ShardOutbox::Send describes.
  using Sequenced = std::pair<uint64_t, storage::v1::MailboxDelivery>;
  using Send = std::function<absl::Status(size_t shard, const std::vector<Sequenced>& deliveries)>;

  // `shard` outlives this. The delivery thread runs when `sharded` (the map
  // shards messaging). Unless `options` say otherwise, a send carries up to
  // kMaxDeliveriesPerCall deliveries.
  DeliveryOutbox(MessagingStore* store, const ShardIdentity* shard, Send send,
                 prometheus::Registry& registry, bool sharded = true,
                 ShardOutboxOptions options = Batched());
  static ShardOutboxOptions Batched();

  size_t self() const override { return shard_->index(); }
  size_t ShardOf(MemberId member) const override { return shard_->map().ShardOf(member); }
  absl::Status Enqueue(rocksdb::WriteBatch* batch, size_t shard,
                       const storage::v1::MailboxDelivery& delivery,
                       ShardOutbox::Reservation* reserved) override;
  // One pass over the queue (tests).
  absl::StatusOr<int> Pass() { return queue_.Pass(); }
  // Calls `done` once what this shard enqueued for `shard` so far is
  // delivered there (or after 5 s: it waits on in the queue): a change its
  // acting member's shard should hold before the change is acknowledged.
  void AfterDelivered(size_t shard, std::function<void()> done) {
    queue_.AfterDelivered(shard, absl::Seconds(5), std::move(done));
  }
  void Stop() { queue_.Stop(); }
  // Deliveries not yet confirmed (a walk over them).
  static absl::StatusOr<uint64_t> Waiting(Store* store);

 private:
  const ShardIdentity* shard_;
  ShardOutbox queue_;
};

}  // namespace liaison::messaging

#endif  // LIAISON_SERVICES_MESSAGING_DELIVERIES_H_
