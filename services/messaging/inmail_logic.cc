// InMail: the store side of the saga, and answers.
#include <openssl/sha.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/text.h"
#include "services/messaging/messaging_logic_internal.h"

namespace liaison::messaging {

std::string MessagingLogic::InMailId(MemberId sender, const std::string& client_message_id) {
  // Unique per send, the same for every retry of it, and a valid credits id
  // (at most kMaxHoldId characters of A-Z, a-z, 0-9, - and _). A client id too
  // long to fit is replaced by its SHA-256: a weaker digest would let a
  // sender craft two sends that share one hold, and so one debit.
  std::string id = absl::StrCat("im-", sender, "-", client_message_id);
  if (id.size() <= kMaxHoldId) return id;
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(client_message_id.data()), client_message_id.size(),
         digest);
  return absl::StrCat("im-", sender, "-sha256-",
                      absl::BytesToHexString(absl::string_view(
                          reinterpret_cast<const char*>(digest), sizeof(digest))));
}

absl::StatusOr<std::optional<MemberId>> MessagingLogic::PrepareInMail(
    const Caller& caller, const v1::SendInMailRequest& request,
    v1::SendInMailResponse* replay) const {
  RETURN_IF_ERROR(ValidateClientId(request.client_message_id()));
  RETURN_IF_ERROR(ValidateText(request.subject(), {"InMail subject", kMaxSubject}).status());
  RETURN_IF_ERROR(
      ValidateText(request.body(), {"InMail body", kMaxInMailBody, true, true}).status());
  ASSIGN_OR_RETURN(MemberId recipient, ParseMemberId(request.recipient_id(), "recipient_id"));
  if (recipient == caller.member_id)
    return absl::InvalidArgumentError("you cannot message yourself");
  ASSIGN_OR_RETURN(auto earlier,
                   Replay(caller.member_id, request.client_message_id(), RequestHash(request)));
  if (earlier.has_value()) {
    const ConversationId c = ParseIdUnchecked(earlier->conversation_id());
    ASSIGN_OR_RETURN(auto record, store_->GetConversation(c));
    ASSIGN_OR_RETURN(*replay->mutable_message(), store_->GetMessage(c, earlier->sequence()));
    auto state = store_->GetState(caller.member_id, c);
    FillConversation(caller.member_id, record, state.ok() ? &*state : nullptr,
                     replay->mutable_conversation());
    return std::optional<MemberId>();  // answered from the record
  }
  return std::optional<MemberId>(recipient);
}

absl::Status MessagingLogic::CheckInMail(const Caller& caller, MemberId recipient,
                                         MemberSendFacts facts) const {
  auto unanswered = store_->GetId(store_->members(), keys::Unanswered(caller.member_id, recipient));
  if (!unanswered.ok() && !absl::IsNotFound(unanswered.status())) return unanswered.status();
  facts.unanswered_inmail = unanswered.ok();
  facts.premium_to_premium_override = config_.premium_to_premium_override;
  return DecideMemberSend(facts, Intent::kInMail).status;
}

absl::Status MessagingLogic::WriteInMail(const Caller& caller, const v1::SendInMailRequest& request,
                                         MemberId recipient, v1::SendInMailResponse* response) {
  ASSIGN_OR_RETURN(std::string subject,
                   ValidateText(request.subject(), {"InMail subject", kMaxSubject}));
  ASSIGN_OR_RETURN(std::string body,
                   ValidateText(request.body(), {"InMail body", kMaxInMailBody, true, true}));
  const MemberId sender = caller.member_id;
  Locked lock({&Lock(sender), &Lock(recipient)});
  ASSIGN_OR_RETURN(auto earlier, Replay(sender, request.client_message_id(), RequestHash(request)));
  if (earlier.has_value()) return PrepareInMail(caller, request, response).status();
  auto unanswered = store_->GetId(store_->members(), keys::Unanswered(sender, recipient));
  if (unanswered.ok()) {
    return absl::FailedPreconditionError(
        "your last InMail to this member is still unanswered; wait for a reply");
  }
  if (!absl::IsNotFound(unanswered.status())) return unanswered.status();
  ASSIGN_OR_RETURN(ConversationId c, NewConversationId(std::min(sender, recipient)));
  const absl::Time now = clock_->Now();
  storage::v1::ConversationRecord record;
  record.set_inmail_id(InMailId(sender, request.client_message_id()));
  auto* conversation = record.mutable_conversation();
  conversation->set_conversation_id(FormatMemberId(c));
  conversation->set_kind(v1::CONVERSATION_KIND_INMAIL);
  conversation->add_participant_ids(FormatMemberId(sender));
  conversation->add_participant_ids(FormatMemberId(recipient));
  SetTimestamp(conversation->mutable_create_time(), now);
  auto* inmail = conversation->mutable_inmail();
  inmail->set_sender_id(FormatMemberId(sender));
  inmail->set_recipient_id(FormatMemberId(recipient));
  inmail->set_subject(subject);
  inmail->set_status(v1::IN_MAIL_STATUS_SENDING);
  Write write(this);
  // Only the sender sees it until its credit is committed (Deliver).
  ASSIGN_OR_RETURN(v1::Message message,
                   write.Append(
                       &record, sender, body, request, request.client_message_id(), now,
                       [](MemberId) { return v1::FOLDER_INMAIL; },
                       [sender](MemberId m) { return m == sender; }));
  write.batch().Put(store_->members(), keys::Unanswered(sender, recipient),
                    MessagingStore::EncodeId(c));
  storage::v1::OutboxRecord commit;
  commit.set_action(storage::v1::OutboxRecord::ACTION_COMMIT_HOLD);
  commit.set_member_id(FormatMemberId(sender));
  commit.set_inmail_id(record.inmail_id());
  commit.set_conversation_id(conversation->conversation_id());
  SetTimestamp(commit.mutable_create_time(), now);
  write.batch().Put(store_->outbox(), keys::Outbox(record.inmail_id()), commit.SerializeAsString());
  RETURN_IF_ERROR(write.Commit(record));
  sent_.Add({{"kind", "inmail"}}).Increment();
  *response->mutable_message() = message;
  auto state = store_->GetState(sender, c);
  FillConversation(sender, record, state.ok() ? &*state : nullptr,
                   response->mutable_conversation());
  return absl::OkStatus();
}

namespace {

absl::StatusOr<storage::v1::OutboxRecord> LoadOutbox(const MessagingStore& store,
                                                     const std::string& inmail_id) {
  ASSIGN_OR_RETURN(std::string value, store.store()->Get(store.outbox(), keys::Outbox(inmail_id)));
  storage::v1::OutboxRecord record;
  if (!record.ParseFromString(value)) return absl::DataLossError("an outbox record does not parse");
  return record;
}

}  // namespace

absl::Status MessagingLogic::Deliver(const std::string& inmail_id) {
  auto outbox = LoadOutbox(*store_, inmail_id);
  if (absl::IsNotFound(outbox.status())) return absl::OkStatus();  // done already
  if (!outbox.ok()) return outbox.status();
  const ConversationId c = ParseIdUnchecked(outbox->conversation_id());
  Locked lock({&Lock(c)});
  ASSIGN_OR_RETURN(auto record, store_->GetConversation(c));
  Write write(this);
  auto* inmail = record.mutable_conversation()->mutable_inmail();
  if (inmail->status() == v1::IN_MAIL_STATUS_SENDING) {
    inmail->set_status(v1::IN_MAIL_STATUS_PENDING);
    storage::v1::MailboxStep arrived;
    arrived.mutable_inmail_arrived();
    RETURN_IF_ERROR(
        write.Step(record, ParseIdUnchecked(inmail->recipient_id()), std::move(arrived)));
  }
  write.batch().Delete(store_->outbox(), keys::Outbox(inmail_id));
  return write.Commit(record);
}

absl::Status MessagingLogic::Abandon(const std::string& inmail_id) {
  auto outbox = LoadOutbox(*store_, inmail_id);
  if (absl::IsNotFound(outbox.status())) return absl::OkStatus();
  if (!outbox.ok()) return outbox.status();
  const ConversationId c = ParseIdUnchecked(outbox->conversation_id());
  Locked lock({&Lock(c)});
  ASSIGN_OR_RETURN(auto record, store_->GetConversation(c));
  Write write(this);
  auto* inmail = record.mutable_conversation()->mutable_inmail();
  if (inmail->status() == v1::IN_MAIL_STATUS_SENDING) {
    inmail->set_status(v1::IN_MAIL_STATUS_NOT_SENT);
    write.batch().Delete(store_->members(),
                         keys::Unanswered(ParseIdUnchecked(inmail->sender_id()),
                                          ParseIdUnchecked(inmail->recipient_id())));
  }
  write.batch().Delete(store_->outbox(), keys::Outbox(inmail_id));
  return write.Commit(record);
}

absl::Status MessagingLogic::ClearOutbox(const std::string& inmail_id) {
  rocksdb::WriteBatch batch;
  batch.Delete(store_->outbox(), keys::Outbox(inmail_id));
  return store_->store()->Write(&batch, Durability::kSynced);
}

absl::Status MessagingLogic::RespondToInMail(const Caller& caller,
                                             const v1::RespondToInMailRequest& request,
                                             v1::RespondToInMailResponse* response,
                                             std::string* refund_inmail_id) {
  ASSIGN_OR_RETURN(ConversationId c, ParseConversation(request.conversation_id()));
  const auto answer = request.answer();
  if (answer != v1::IN_MAIL_ANSWER_ACCEPT && answer != v1::IN_MAIL_ANSWER_DECLINE) {
    return absl::InvalidArgumentError(
        "answer must be IN_MAIL_ANSWER_ACCEPT or IN_MAIL_ANSWER_DECLINE");
  }
  // The client id is required with a body and optional without one; with it,
  // a retry replays the first result like every other send.
  const std::string& client_id = request.client_message_id();
  if (!request.body().empty() || !client_id.empty()) RETURN_IF_ERROR(ValidateClientId(client_id));
  std::string body;
  if (!request.body().empty()) {
    ASSIGN_OR_RETURN(body, ValidateText(request.body(), {"body", kMaxMessage, true, true}));
  }
  const v1::InMailStatus status = answer == v1::IN_MAIL_ANSWER_ACCEPT ? v1::IN_MAIL_STATUS_ACCEPTED
                                                                      : v1::IN_MAIL_STATUS_DECLINED;
  Locked lock({&Lock(caller.member_id), &Lock(c)});
  std::optional<storage::v1::SentRecord> earlier;
  if (!client_id.empty()) {
    ASSIGN_OR_RETURN(earlier, Replay(caller.member_id, client_id, RequestHash(request)));
  }
  ASSIGN_OR_RETURN(auto record, Participating(caller.member_id, c));
  const auto& inmail = record.conversation().inmail();
  if (record.conversation().kind() != v1::CONVERSATION_KIND_INMAIL ||
      inmail.recipient_id() != FormatMemberId(caller.member_id)) {
    return absl::FailedPreconditionError("only the recipient of an InMail can answer it");
  }
  // A retry (same client id and request, or the same bare answer without an
  // id) returns the answer as it stands and changes nothing.
  const bool bare_repeat = client_id.empty() && inmail.status() == status;
  if (earlier.has_value() || bare_repeat) {
    if (earlier.has_value() && earlier->sequence() > 0) {
      ASSIGN_OR_RETURN(*response->mutable_message(), store_->GetMessage(c, earlier->sequence()));
    }
    auto state = store_->GetState(caller.member_id, c);
    FillConversation(caller.member_id, record, state.ok() ? &*state : nullptr,
                     response->mutable_conversation());
    return absl::OkStatus();
  }
  if (inmail.status() != v1::IN_MAIL_STATUS_PENDING) {
    return absl::FailedPreconditionError(
        "this InMail has already been answered; a retry must reuse the first answer's "
        "client_message_id");
  }
  const absl::Time now = clock_->Now();
  Write write(this);
  RETURN_IF_ERROR(write.Answer(&record, status, now, refund_inmail_id));
  if (!body.empty()) {
    ASSIGN_OR_RETURN(*response->mutable_message(),
                     write.Append(&record, caller.member_id, body, request, client_id, now,
                                  [](MemberId) { return v1::FOLDER_FOCUSED; }));
  } else if (!client_id.empty()) {
    write.RecordSent(caller.member_id, client_id, request, record.conversation().conversation_id(),
                     0);
  }
  RETURN_IF_ERROR(write.Commit(record));
  if (!body.empty()) sent_.Add({{"kind", "reply"}}).Increment();
  auto state = store_->GetState(caller.member_id, c);
  FillConversation(caller.member_id, record, state.ok() ? &*state : nullptr,
                   response->mutable_conversation());
  return absl::OkStatus();
}

}  // namespace liaison::messaging
