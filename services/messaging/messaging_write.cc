// The one way a change to conversations is written.
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "services/messaging/messaging_logic_internal.h"

namespace liaison::messaging {

namespace {

bool Lists(const google::protobuf::RepeatedPtrField<std::string>& ids, MemberId member) {
  return std::find(ids.begin(), ids.end(), FormatMemberId(member)) != ids.end();
}

}  // namespace

bool IsParticipant(const storage::v1::ConversationRecord& record, MemberId member) {
  return Lists(record.conversation().participant_ids(), member);
}

bool IsPageAdmin(const storage::v1::ConversationRecord& record, MemberId member) {
  return Lists(record.page_admin_ids(), member);
}

void PageView(const storage::v1::ConversationRecord& record, MemberId viewer,
              v1::Message* message) {
  if (record.conversation().kind() != v1::CONVERSATION_KIND_PAGE) return;
  if (!message->sender_page_id().empty() && !IsPageAdmin(record, viewer)) {
    message->clear_sender_id();
  }
}

void PageView(const storage::v1::ConversationRecord& record, MemberId viewer,
              v1::Conversation* conversation) {
  if (record.conversation().kind() != v1::CONVERSATION_KIND_PAGE) return;
  if (IsPageAdmin(record, viewer)) return;
  auto* ids = conversation->mutable_participant_ids();
  ids->erase(std::remove_if(
                 ids->begin(), ids->end(),
                 [&](const std::string& id) { return IsPageAdmin(record, ParseIdUnchecked(id)); }),
             ids->end());
  PageView(record, viewer, conversation->mutable_last_message());
}

absl::Status ValidateClientId(const std::string& id) {
  bool ok = !id.empty() && id.size() <= 128;
  for (char c : id) ok = ok && (absl::ascii_isalnum(c) || c == '-' || c == '_');
  if (!ok) {
    return absl::InvalidArgumentError(
        "client_message_id must be 1 to 128 characters of A-Z, a-z, 0-9, - and _ (a retry "
        "reuses it)");
  }
  return absl::OkStatus();
}

std::string RequestHash(const google::protobuf::Message& request) {
  std::string bytes;
  google::protobuf::io::StringOutputStream stream(&bytes);
  google::protobuf::io::CodedOutputStream out(&stream);
  out.SetSerializationDeterministic(true);
  request.SerializeToCodedStream(&out);
  out.Trim();
  // FNV-1a, 64 bits: stable across processes and releases.
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ull;
  return std::string(reinterpret_cast<const char*>(&h), sizeof h);
}

const char* OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kRegular:
      return "regular";
    case Outcome::kOpenProfile:
      return "open_profile";
    case Outcome::kMessageRequest:
      return "message_request";
    case Outcome::kInMail:
      return "inmail";
    case Outcome::kPageMessage:
      return "page";
    case Outcome::kDenied:
      break;
  }
  return "denied";
}

void MessagingLogic::Write::PutState(MemberId member, ConversationId c,
                                     storage::v1::MemberState* state, v1::Folder folder,
                                     absl::Time activity) {
  auto* members = logic_->store_->members();
  std::string index = keys::Inbox(member, folder, activity, c);
  if (state->has_indexed_activity()) {
    std::string old_index =
        keys::Inbox(member, state->folder(), FromTimestamp(state->indexed_activity()), c);
    // Where it already is, the index entry stays (no delete and put back).
    if (old_index == index) index.clear();
    if (!index.empty()) batch_.Delete(members, old_index);
  }
  state->set_folder(folder);
  SetTimestamp(state->mutable_indexed_activity(), activity);
  if (!index.empty()) batch_.Put(members, index, "");
  batch_.Put(members, keys::State(member, c), state->SerializeAsString());
  states_[{member, c}] = *state;
}

absl::StatusOr<storage::v1::MemberState> MessagingLogic::Write::LoadState(MemberId member,
                                                                          ConversationId c) {
  auto it = states_.find({member, c});
  if (it != states_.end()) return it->second;
  return logic_->store_->GetState(member, c);
}

absl::StatusOr<v1::Message> MessagingLogic::Write::Append(
    storage::v1::ConversationRecord* record, MemberId sender, const std::string& body,
    const google::protobuf::Message& request, const std::string& client_message_id, absl::Time now,
    const std::function<v1::Folder(MemberId)>& folder_for,
    const std::function<bool(MemberId)>& deliver) {
  auto* conversation = record->mutable_conversation();
  const ConversationId c = ParseIdUnchecked(conversation->conversation_id());
  v1::Message message;
  message.set_conversation_id(conversation->conversation_id());
  message.set_sequence(record->last_sequence() + 1);
  message.set_sender_id(FormatMemberId(sender));
  message.set_sender_page_id(sender_page_id_);
  message.set_body(body);
  SetTimestamp(message.mutable_send_time(), now);
  message.set_client_message_id(client_message_id);
  record->set_last_sequence(message.sequence());
  SetTimestamp(conversation->mutable_last_activity_time(), now);
  *conversation->mutable_last_message() = message;
  batch_.Put(logic_->store_->conversations(), keys::Message(c, message.sequence()),
             MessagingStore::EncodeMessage(message));
  *appended_.Add() = message;

  for (const std::string& id : conversation->participant_ids()) {
    const MemberId member = ParseIdUnchecked(id);
    if (deliver && !deliver(member)) continue;
    storage::v1::MailboxStep step;
    auto* arrived = step.mutable_arrived();
    arrived->set_sequence(message.sequence());
    arrived->set_folder_if_new(folder_for(member));
    arrived->set_hidden(member != sender && std::find(hidden_from_.begin(), hidden_from_.end(),
                                                      member) != hidden_from_.end());
    arrived->set_connected(connected_);
    RETURN_IF_ERROR(Step(*record, member, std::move(step)));
  }
  RecordSent(sender, client_message_id, request, conversation->conversation_id(),
             message.sequence());
  return message;
}

absl::Status MessagingLogic::Write::Arrive(const storage::v1::ConversationRecord& record,
                                           MemberId member, const v1::Message& message,
                                           const storage::v1::MailboxStep::Arrived& arrived) {
  const ConversationId c = ParseIdUnchecked(record.conversation().conversation_id());
  const MemberId sender = ParseIdUnchecked(message.sender_id());
  if (member != sender && arrived.hidden()) return Hide(member, c, message.sequence());
  auto state = LoadState(member, c);
  storage::v1::MemberState fresh;
  v1::Folder folder;
  if (state.ok()) {
    folder = state->folder();
    // New activity brings an archived conversation back; a reply from
    // whoever received a request accepts it, and so does connecting.
    if (folder == v1::FOLDER_ARCHIVED) folder = state->home_folder();
    if ((member == sender || arrived.connected()) && folder == v1::FOLDER_REQUESTS) {
      folder = v1::FOLDER_FOCUSED;
    }
  } else if (absl::IsNotFound(state.status())) {
    state = fresh;
    folder = arrived.folder_if_new();
    state->set_home_folder(folder);
  } else {
    return state.status();
  }
  if (member == sender) state->set_read_sequence(message.sequence());
  if (folder != v1::FOLDER_ARCHIVED && folder != v1::FOLDER_SPAM) state->set_home_folder(folder);
  PutState(member, c, &*state, folder, FromTimestamp(message.send_time()));
  v1::StreamEventsResponse event;
  *event.mutable_time() = message.send_time();
  *event.mutable_new_message()->mutable_message() = message;
  PageView(record, member, event.mutable_new_message()->mutable_message());
  return Event(member, std::move(event));
}

absl::Status MessagingLogic::Write::Step(const storage::v1::ConversationRecord& record,
                                         MemberId member, storage::v1::MailboxStep step) {
  step.set_member_id(FormatMemberId(member));
  if (logic_->HoldsMailbox(member)) {
    return ApplyStep(record, appended_, step, logic_->clock_->Now());
  }
  const size_t shard = logic_->mailboxes_->ShardOf(member);
  if (step.has_joined() || step.has_inmail_arrived()) with_history_.insert(shard);
  auto& delivery = deliveries_[shard];
  delivery.set_conversation_id(record.conversation().conversation_id());
  *delivery.add_steps() = std::move(step);
  return absl::OkStatus();
}

absl::Status MessagingLogic::Write::ApplyStep(
    const storage::v1::ConversationRecord& record,
    const google::protobuf::RepeatedPtrField<v1::Message>& messages,
    const storage::v1::MailboxStep& step, absl::Time now) {
  const MemberId member = ParseIdUnchecked(step.member_id());
  const ConversationId c = ParseIdUnchecked(record.conversation().conversation_id());
  switch (step.step_case()) {
    case storage::v1::MailboxStep::kArrived: {
      for (const v1::Message& message : messages) {
        if (message.sequence() == step.arrived().sequence()) {
          return Arrive(record, member, message, step.arrived());
        }
      }
      return absl::DataLossError("a delivery names a message it does not hold");
    }
    case storage::v1::MailboxStep::kJoined: {
      // The whole history is theirs to read; a returning member comes back.
      auto state = LoadState(member, c);
      storage::v1::MemberState fresh;
      if (!state.ok()) state = fresh;
      state->set_left_at_sequence(0);
      state->set_home_folder(v1::FOLDER_FOCUSED);
      PutState(member, c, &*state, v1::FOLDER_FOCUSED,
               FromTimestamp(record.conversation().last_activity_time()));
      return absl::OkStatus();
    }
    case storage::v1::MailboxStep::kDeparted: {
      ASSIGN_OR_RETURN(auto state, LoadState(member, c));
      state.set_left_at_sequence(std::max<int64_t>(1, record.last_sequence()));
      batch_.Put(logic_->store_->members(), keys::State(member, c), state.SerializeAsString());
      states_[{member, c}] = state;
      return absl::OkStatus();
    }
    case storage::v1::MailboxStep::kAnswered: {
      // Answered: an ordinary conversation, out of the InMail folder.
      ASSIGN_OR_RETURN(auto state, LoadState(member, c));
      if (state.folder() == v1::FOLDER_INMAIL) {
        state.set_home_folder(v1::FOLDER_FOCUSED);
        PutState(member, c, &state, v1::FOLDER_FOCUSED, FromTimestamp(state.indexed_activity()));
      }
      return absl::OkStatus();
    }
    case storage::v1::MailboxStep::kInmailArrived: {
      storage::v1::MemberState state;
      state.set_home_folder(v1::FOLDER_INMAIL);
      PutState(member, c, &state, v1::FOLDER_INMAIL,
               FromTimestamp(record.conversation().last_activity_time()));
      v1::StreamEventsResponse event;
      SetTimestamp(event.mutable_time(), now);
      *event.mutable_new_message()->mutable_message() = record.conversation().last_message();
      return Event(member, std::move(event));
    }
    case storage::v1::MailboxStep::kChanged: {
      v1::StreamEventsResponse event;
      SetTimestamp(event.mutable_time(), now);
      auto* changed = event.mutable_conversation_changed()->mutable_conversation();
      *changed = record.conversation();
      PageView(record, member, changed);
      // Its last message as this member may see it (a block may hide it).
      auto state = LoadState(member, c);
      if (state.ok() && !logic_->HideFromView(member, record, *state, changed).ok()) {
        changed->clear_last_message();
      }
      return Event(member, std::move(event));
    }
    case storage::v1::MailboxStep::kReadReceipt: {
      v1::StreamEventsResponse event;
      SetTimestamp(event.mutable_time(), now);
      auto* receipt = event.mutable_read_receipt();
      receipt->set_conversation_id(record.conversation().conversation_id());
      receipt->set_reader_id(step.read_receipt().reader_id());
      receipt->set_read_sequence(step.read_receipt().read_sequence());
      return Event(member, std::move(event));
    }
    case storage::v1::MailboxStep::STEP_NOT_SET:
      break;
  }
  return absl::DataLossError("a mailbox step of an unknown kind");
}

void MessagingLogic::Write::RecordSent(MemberId sender, const std::string& client_message_id,
                                       const google::protobuf::Message& request,
                                       const std::string& conversation_id, int64_t sequence) {
  storage::v1::SentRecord sent;
  sent.set_request_hash(RequestHash(request));
  sent.set_conversation_id(conversation_id);
  sent.set_sequence(sequence);
  batch_.Put(logic_->store_->members(), keys::Sent(sender, client_message_id),
             sent.SerializeAsString());
}

absl::Status MessagingLogic::Write::Hide(MemberId member, ConversationId c, int64_t sequence) {
  auto* members = logic_->store_->members();
  batch_.Put(members, keys::Hidden(member, c, sequence), "");
  auto state = LoadState(member, c);
  if (absl::IsNotFound(state.status())) return absl::OkStatus();
  if (!state.ok()) return state.status();
  // The inbox index stays where it was: the conversation does not move up.
  state->set_has_hidden(true);
  batch_.Put(members, keys::State(member, c), state->SerializeAsString());
  states_[{member, c}] = *state;
  return absl::OkStatus();
}

absl::Status MessagingLogic::Write::Answer(storage::v1::ConversationRecord* record,
                                           v1::InMailStatus status, absl::Time now,
                                           std::string* refund_inmail_id) {
  auto* conversation = record->mutable_conversation();
  auto* inmail = conversation->mutable_inmail();
  inmail->set_status(status);
  SetTimestamp(inmail->mutable_answer_time(), now);
  const MemberId sender = ParseIdUnchecked(inmail->sender_id());
  const MemberId recipient = ParseIdUnchecked(inmail->recipient_id());
  batch_.Delete(logic_->store_->members(), keys::Unanswered(sender, recipient));
  for (MemberId member : {sender, recipient}) {
    storage::v1::MailboxStep step;
    step.mutable_answered();
    RETURN_IF_ERROR(Step(*record, member, std::move(step)));
  }
  const absl::Time sent = FromTimestamp(conversation->create_time());
  if (now <= sent + kInMailRefundWindow) {
    storage::v1::OutboxRecord refund;
    refund.set_action(storage::v1::OutboxRecord::ACTION_REFUND);
    refund.set_member_id(inmail->sender_id());
    refund.set_inmail_id(record->inmail_id());
    refund.set_conversation_id(conversation->conversation_id());
    SetTimestamp(refund.mutable_create_time(), now);
    *refund_inmail_id = refund.inmail_id();
    batch_.Put(logic_->store_->outbox(), keys::Outbox(refund.inmail_id()),
               refund.SerializeAsString());
  }
  return absl::OkStatus();
}

absl::Status MessagingLogic::Write::Commit(const storage::v1::ConversationRecord& record) {
  batch_.Put(logic_->store_->conversations(),
             keys::Conversation(ParseIdUnchecked(record.conversation().conversation_id())),
             record.SerializeAsString());
  for (auto& [shard, delivery] : deliveries_) *delivery.mutable_record() = record;
  return CommitBatchOnly();
}

absl::Status MessagingLogic::Write::Event(MemberId member, v1::StreamEventsResponse event) {
  if (logic_->hub_ == nullptr) return absl::OkStatus();
  ASSIGN_OR_RETURN(auto staged, logic_->hub_->Stage(&batch_, member, std::move(event)));
  events_.emplace_back(member, std::move(staged));
  return absl::OkStatus();
}

absl::Status MessagingLogic::Write::Changed(const storage::v1::ConversationRecord& record,
                                            MemberId also) {
  std::vector<MemberId> to;
  for (const auto& id : record.conversation().participant_ids()) to.push_back(ParseIdUnchecked(id));
  if (also != 0) to.push_back(also);
  for (MemberId member : to) {
    storage::v1::MailboxStep step;
    step.mutable_changed();
    RETURN_IF_ERROR(Step(record, member, std::move(step)));
  }
  return absl::OkStatus();
}

absl::Status MessagingLogic::Write::EnqueueHistory(size_t shard,
                                                   const storage::v1::ConversationRecord& record,
                                                   absl::Time now) {
  // The messages stored before this change, in deliveries of at most
  // kMaxDeliveryMessages each, ahead of the change's own.
  const ConversationId c = ParseIdUnchecked(record.conversation().conversation_id());
  int64_t from = 1;
  while (from <= record.last_sequence()) {
    ASSIGN_OR_RETURN(auto chunk, logic_->store_->Messages(c, from, record.last_sequence(),
                                                          kMaxDeliveryMessages));
    if (chunk.empty()) break;
    from = chunk.back().sequence() + 1;
    storage::v1::MailboxDelivery history;
    history.set_conversation_id(record.conversation().conversation_id());
    *history.mutable_record() = record;
    for (auto& message : chunk) *history.add_messages() = std::move(message);
    SetTimestamp(history.mutable_time(), now);
    RETURN_IF_ERROR(logic_->mailboxes_->Enqueue(&batch_, shard, history, &reserved_));
  }
  return absl::OkStatus();
}

absl::Status MessagingLogic::Write::CommitBatchOnly() {
  std::vector<std::pair<MemberId, v1::StreamEventsResponse>> events;
  RETURN_IF_ERROR(CommitUnpublished(Durability::kSynced, &events));
  for (const auto& [member, event] : events) logic_->hub_->Publish(member, event);
  return absl::OkStatus();
}

absl::Status MessagingLogic::Write::CommitUnpublished(
    Durability durability, std::vector<std::pair<MemberId, v1::StreamEventsResponse>>* events) {
  const absl::Time now = logic_->clock_->Now();
  for (auto& [shard, delivery] : deliveries_) {
    if (with_history_.count(shard) > 0 && delivery.has_record()) {
      RETURN_IF_ERROR(EnqueueHistory(shard, delivery.record(), now));
    }
    *delivery.mutable_messages() = appended_;
    SetTimestamp(delivery.mutable_time(), now);
    RETURN_IF_ERROR(logic_->mailboxes_->Enqueue(&batch_, shard, delivery, &reserved_));
  }
  absl::Status written = logic_->store_->store()->Write(&batch_, durability);
  reserved_.Release();  // the deliveries may go (wakes the outbox)
  RETURN_IF_ERROR(written);
  std::move(events_.begin(), events_.end(), std::back_inserter(*events));
  events_.clear();
  return absl::OkStatus();
}

}  // namespace liaison::messaging
