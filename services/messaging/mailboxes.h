// Where members' mailboxes live when messaging runs as several shards
// (DESIGN.md §8). A conversation's home shard orders its messages; each
// participant's mailbox (state, inbox index, hidden messages, events) is on
// the participant's own shard. A change at the home applies the steps of
// the members it holds in its own batch and, for every other shard holding
// a participant, commits a MailboxDelivery with them (an outbox record in
// the same batch); the outbox sends it and that shard applies it once, in
// order (MessagingLogic::ApplyDelivery).
#ifndef LIAISON_SERVICES_MESSAGING_MAILBOXES_H_
#define LIAISON_SERVICES_MESSAGING_MAILBOXES_H_

#include <rocksdb/write_batch.h>

#include "absl/status/status.h"
#include "common/ids.h"
#include "common/shard_outbox.h"
#include "liaison/messaging/storage/v1/records.pb.h"

namespace liaison::messaging {

class Mailboxes {
 public:
  virtual ~Mailboxes() = default;
  // This shard's index, and the shard holding `member`'s mailbox.
  virtual size_t self() const = 0;
  virtual size_t ShardOf(MemberId member) const = 0;
  // Adds `delivery` for `shard` to `batch` (after every delivery before),
  // held in `reserved` until the batch is written; releasing it sends it.
  virtual absl::Status Enqueue(rocksdb::WriteBatch* batch, size_t shard,
                               const storage::v1::MailboxDelivery& delivery,
                               ShardOutbox::Reservation* reserved) = 0;
};

}  // namespace liaison::messaging

#endif  // LIAISON_SERVICES_MESSAGING_MAILBOXES_H_
