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
  // Sends one delivery, record `sequence` of this shard's queue, to
  // `shard` (MessagingShardService.ApplyDelivery, or a direct call in
  // tests); the errors ShardOutbox::Send describes.
  using Send = std::function<absl::Status(size_t shard, uint64_t sequence,
                                          const storage::v1::MailboxDelivery& delivery)>;

  // `shard` outlives this. The delivery thread runs when `sharded` (the map
  // shards messaging).
  DeliveryOutbox(MessagingStore* store, const ShardIdentity* shard, Send send,
                 prometheus::Registry& registry, bool sharded = true,
                 ShardOutboxOptions options = {});

  size_t self() const override { return shard_->index(); }
  size_t ShardOf(MemberId member) const override { return shard_->map().ShardOf(member); }
  absl::Status Enqueue(rocksdb::WriteBatch* batch, size_t shard,
                       const storage::v1::MailboxDelivery& delivery,
                       ShardOutbox::Reservation* reserved) override;
  // One pass over the queue (tests).
  absl::StatusOr<int> Pass() { return queue_.Pass(); }
  // Delivers what waits for `shard` now (blocking): a change its acting
  // member's shard must hold before the change is acknowledged.
  absl::StatusOr<int> Flush(size_t shard) { return queue_.Pass(shard); }
  void Stop() { queue_.Stop(); }
  // Deliveries not yet confirmed (a walk over them).
  static absl::StatusOr<uint64_t> Waiting(Store* store);

 private:
  const ShardIdentity* shard_;
  ShardOutbox queue_;
};

}  // namespace liaison::messaging

#endif  // LIAISON_SERVICES_MESSAGING_DELIVERIES_H_
