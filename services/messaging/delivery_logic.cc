// The receiving end of a conversation change made on another shard: its
// steps, applied to the mailboxes this shard holds, with a copy of the
// conversation and of the messages the change appended (so this shard
// serves its members' reads of the conversation alone).
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "services/messaging/messaging_logic_internal.h"

namespace liaison::messaging {

bool MessagingLogic::HoldsMailbox(MemberId member) const {
  return mailboxes_ == nullptr || mailboxes_->ShardOf(member) == mailboxes_->self();
}

absl::Status MessagingLogic::MailboxHere(MemberId member) const {
  if (HoldsMailbox(member)) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("member ", member, "'s mailbox is not on this shard"));
}

absl::StatusOr<MessagingLogic::CheckedDelivery> MessagingLogic::CheckDelivery(
    const storage::v1::MailboxDelivery& delivery) const {
  CheckedDelivery checked;
  ASSIGN_OR_RETURN(checked.conversation,
                   ParseConversationId(delivery.conversation_id(), "delivery.conversation_id"));
  if (delivery.has_record() &&
      delivery.record().conversation().conversation_id() != delivery.conversation_id()) {
    return absl::InvalidArgumentError(
        "delivery.record is of another conversation than delivery.conversation_id");
  }
  // A delivery of history alone (messages, no steps) is fine.
  if ((delivery.steps_size() == 0 && delivery.messages_size() == 0) ||
      delivery.steps_size() > kMaxDeliverySteps) {
    return absl::InvalidArgumentError(
        absl::StrCat("delivery.steps must hold up to ", kMaxDeliverySteps,
                     " steps, and at least one when delivery.messages holds none"));
  }
  if (delivery.messages_size() > kMaxDeliveryMessages) {
    return absl::InvalidArgumentError(
        absl::StrCat("delivery.messages holds at most ", kMaxDeliveryMessages, " messages"));
  }
  for (const v1::Message& message : delivery.messages()) {
    if (!delivery.has_record() || message.conversation_id() != delivery.conversation_id() ||
        message.sequence() < 1 || message.sequence() > delivery.record().last_sequence()) {
      return absl::InvalidArgumentError(
          "delivery.messages must be messages of delivery.record, up to its last_sequence");
    }
    RETURN_IF_ERROR(ParseMemberId(message.sender_id(), "delivery.messages.sender_id").status());
  }
  for (const auto& step : delivery.steps()) {
    ASSIGN_OR_RETURN(MemberId member, ParseMemberId(step.member_id(), "delivery.steps.member_id"));
    RETURN_IF_ERROR(MailboxHere(member));
    if (step.step_case() == storage::v1::MailboxStep::STEP_NOT_SET) {
      return absl::InvalidArgumentError("delivery.steps holds a step of no kind");
    }
    if (step.has_arrived()) {
      bool held = false;
      for (const auto& m : delivery.messages()) held |= m.sequence() == step.arrived().sequence();
      if (!held) {
        return absl::InvalidArgumentError(
            "delivery.steps.arrived names a message delivery.messages does not hold");
      }
    }
    if (step.has_read_receipt()) {
      RETURN_IF_ERROR(
          ParseMemberId(step.read_receipt().reader_id(), "delivery.steps.read_receipt.reader_id")
              .status());
    }
    checked.members.push_back(member);
  }
  return checked;
}

absl::Status MessagingLogic::ApplyDelivery(uint32_t source, uint64_t sequence,
                                           const storage::v1::MailboxDelivery& delivery) {
  return ApplyDeliveries(source, {{sequence, &delivery}});
}

absl::Status MessagingLogic::ApplyDeliveries(uint32_t source,
                                             const std::vector<SequencedDelivery>& deliveries) {
  // Everything is checked before anything is written.
  if (deliveries.empty() || deliveries.size() > kMaxDeliveriesPerCall) {
    return absl::InvalidArgumentError(
        absl::StrCat("deliveries must hold 1 to ", kMaxDeliveriesPerCall, " deliveries"));
  }
  std::vector<CheckedDelivery> checked;
  for (size_t i = 0; i < deliveries.size(); ++i) {
    const auto& [sequence, delivery] = deliveries[i];
    if (i > 0 && sequence <= deliveries[i - 1].first) {
      return absl::InvalidArgumentError(
          absl::StrCat("deliveries[", i, "].sequence must be above the one before it"));
    }
    auto one = CheckDelivery(*delivery);
    if (!one.ok()) {
      if (deliveries.size() == 1) return one.status();
      return absl::Status(one.status().code(),
                          absl::StrCat("deliveries[", i, "]: ", one.status().message()));
    }
    checked.push_back(*std::move(one));
  }

  // Each delivery from a source once, in the source's order; written to
  // the log one by one, made durable together.
  absl::MutexLock in_order(&applied_.mu());
  std::vector<std::pair<MemberId, v1::StreamEventsResponse>> events;
  bool written = false;
  absl::Status status;
  for (size_t i = 0; i < deliveries.size() && status.ok(); ++i) {
    auto applied = applied_.Applied(source, deliveries[i].first);
    if (!applied.ok()) {
      status = applied.status();
    } else if (!*applied) {
      status = ApplyOne(source, deliveries[i].first, *deliveries[i].second, checked[i], &events);
      written |= status.ok();
    }
  }
  if (written) {
    if (absl::Status synced = store_->store()->SyncWal(); !synced.ok()) return synced;
    for (const auto& [member, event] : events) hub_->Publish(member, event);
  }
  return status;
}

absl::Status MessagingLogic::ApplyOne(
    uint32_t source, uint64_t sequence, const storage::v1::MailboxDelivery& delivery,
    const CheckedDelivery& checked,
    std::vector<std::pair<MemberId, v1::StreamEventsResponse>>* events) {
  const ConversationId c = checked.conversation;
  std::vector<absl::Mutex*> locks = {&Lock(c)};
  for (MemberId member : checked.members) locks.push_back(&Lock(member));
  Locked lock(std::move(locks));
  storage::v1::ConversationRecord record;
  if (delivery.has_record()) {
    record = delivery.record();
  } else {
    // A receipt: the conversation as this shard holds it.
    auto held = store_->GetConversation(c);
    if (absl::IsNotFound(held.status())) {
      return absl::FailedPreconditionError(
          absl::StrCat("conversation ", c, " is not on this shard"));
    }
    if (!held.ok()) return held.status();
    record = *std::move(held);
  }
  Write write(this);
  if (delivery.has_record()) {
    write.batch().Put(store_->conversations(), keys::Conversation(c), record.SerializeAsString());
    for (const v1::Message& message : delivery.messages()) {
      write.batch().Put(store_->conversations(), keys::Message(c, message.sequence()),
                        MessagingStore::EncodeMessage(message));
    }
  }
  const absl::Time time = FromTimestamp(delivery.time());
  for (const auto& step : delivery.steps()) {
    RETURN_IF_ERROR(write.ApplyStep(record, delivery.messages(), step, time));
  }
  RETURN_IF_ERROR(applied_.Mark(&write.batch(), source, sequence));
  return write.CommitUnpublished(Durability::kBuffered, events);
}

}  // namespace liaison::messaging
