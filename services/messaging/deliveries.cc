#include "services/messaging/deliveries.h"

#include "common/keys.h"
#include "common/status.h"
#include "services/messaging/messaging_logic.h"

namespace liaison::messaging {
namespace {

struct Record {
  size_t shard;
  storage::v1::MailboxDelivery delivery;
};

absl::StatusOr<Record> Decode(const std::string& value, size_t shards) {
  KeyReader reader(value);
  uint32_t shard = 0;
  Record out;
  if (!reader.U32(&shard) ||
      !out.delivery.ParseFromArray(value.data() + 4, static_cast<int>(value.size() - 4))) {
    return absl::DataLossError("a delivery record does not parse");
  }
  if (shard >= shards) {
    return absl::DataLossError("a delivery record names a shard the map does not have");
  }
  out.shard = shard;
  return out;
}

}  // namespace

DeliveryOutbox::DeliveryOutbox(MessagingStore* store, const ShardIdentity* shard, Send send,
                               prometheus::Registry& registry, bool sharded,
                               ShardOutboxOptions options)
    : shard_(shard),
      queue_(
          "messaging_deliveries",
          "Conversation changes sent to the shards holding participants' mailboxes (delivered), "
          "and sends that failed and wait for a retry (failed).",
          {store->store(), store->outbox(), keys::kDeliveryKind, keys::kSetAsideDeliveryKind},
          [shard](const std::string& value) -> absl::StatusOr<size_t> {
            ASSIGN_OR_RETURN(Record record, Decode(value, shard->map().size()));
            return record.shard;
          },
          [shard, send = std::move(send)](
              size_t to, const std::vector<ShardOutbox::Record>& records) -> absl::Status {
            std::vector<Sequenced> deliveries;
            for (const auto& r : records) {
              ASSIGN_OR_RETURN(Record record, Decode(r.value, shard->map().size()));
              deliveries.emplace_back(r.sequence, std::move(record.delivery));
            }
            return send(to, deliveries);
          },
          registry, sharded, options) {}

ShardOutboxOptions DeliveryOutbox::Batched() {
  // Many small deliveries to one shard (the other members' copies of each
  // message) cost one call and one fsync there, not one each.
  ShardOutboxOptions options;
  options.per_send = static_cast<int>(MessagingLogic::kMaxDeliveriesPerCall);
  return options;
}

absl::Status DeliveryOutbox::Enqueue(rocksdb::WriteBatch* batch, size_t shard,
                                     const storage::v1::MailboxDelivery& delivery,
                                     ShardOutbox::Reservation* reserved) {
  std::string value = KeyBuilder('\0').U32(static_cast<uint32_t>(shard)).key().substr(1);
  delivery.AppendToString(&value);
  return queue_.Enqueue(batch, value, reserved, shard);
}

absl::StatusOr<uint64_t> DeliveryOutbox::Waiting(Store* store) {
  return ShardOutbox::Waiting(store, store->Family("outbox"), keys::kDeliveryKind);
}

}  // namespace liaison::messaging
