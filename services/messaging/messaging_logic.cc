// Sending: 1:1 messages, replies, and the InMail saga's store side.
#include "services/messaging/messaging_logic.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/keys.h"
#include "common/shard_map.h"
#include "common/status.h"
#include "common/text.h"
#include "services/messaging/messaging_logic_internal.h"

namespace liaison::messaging {

MessagingLogic::MessagingLogic(MessagingStore* store, const Clock* clock, MessagingConfig config,
                               prometheus::Registry& registry, EventHub* hub, Mailboxes* mailboxes)
    : store_(store),
      hub_(hub),
      mailboxes_(mailboxes),
      applied_(store->store(), store->outbox(), keys::kDeliveredKind),
      clock_(clock),
      config_(config),
      sent_(prometheus::BuildCounter()
                .Name("liaison_messages_sent_total")
                .Help("Messages stored, by kind (regular, open_profile, message_request, inmail, "
                      "page, group, reply).")
                .Register(registry)),
      reports_(prometheus::BuildCounter()
                   .Name("liaison_conversations_reported_total")
                   .Help("Reports against a sender (one per reporting member and conversation).")
                   .Register(registry)) {}

absl::StatusOr<ConversationId> MessagingLogic::NewConversationId(MemberId home) {
  for (int attempt = 0; attempt < 8; ++attempt) {
    uint64_t random;
    {
      absl::MutexLock lock(&random_mu_);
      random = absl::Uniform<uint64_t>(random_, 1, uint64_t{1} << kConversationRandomBits);
    }
    const ConversationId id = ConversationIn(PartitionOf(home), random);
    auto existing = store_->GetConversation(id);
    if (absl::IsNotFound(existing.status())) return id;
    if (!existing.ok()) return existing.status();
  }
  return absl::InternalError("could not find a free conversation id");
}

absl::StatusOr<ConversationId> MessagingLogic::PairConversation(MemberId a, MemberId b) const {
  {
    absl::MutexLock lock(&pairs_mu_);
    auto it = pairs_.find({std::min(a, b), std::max(a, b)});
    if (it != pairs_.end()) return it->second;
  }
  ASSIGN_OR_RETURN(ConversationId c, store_->GetId(store_->conversations(), keys::Pair(a, b)));
  RememberPair(a, b, c);
  return c;
}

void MessagingLogic::RememberPair(MemberId a, MemberId b, ConversationId c) const {
  absl::MutexLock lock(&pairs_mu_);
  if (pairs_.size() >= kMaxCachedPairs) pairs_.clear();
  pairs_[{std::min(a, b), std::max(a, b)}] = c;
}

absl::StatusOr<ConversationId> MessagingLogic::ParseConversation(const std::string& id) const {
  return ParseConversationId(id, "conversation_id");
}

absl::StatusOr<storage::v1::ConversationRecord> MessagingLogic::Participating(
    MemberId member, ConversationId c) const {
  auto record = store_->GetConversation(c);
  const auto not_found = absl::NotFoundError(absl::StrCat("no conversation ", c));
  if (absl::IsNotFound(record.status())) return not_found;
  if (!record.ok()) return record.status();
  if (!IsParticipant(*record, member)) return not_found;
  // An InMail is not there for its recipient until it is delivered.
  const auto& inmail = record->conversation().inmail();
  if (record->conversation().kind() == v1::CONVERSATION_KIND_INMAIL &&
      inmail.recipient_id() == FormatMemberId(member) &&
      (inmail.status() == v1::IN_MAIL_STATUS_SENDING ||
       inmail.status() == v1::IN_MAIL_STATUS_NOT_SENT)) {
    return not_found;
  }
  return record;
}

absl::StatusOr<std::pair<storage::v1::ConversationRecord, int64_t>> MessagingLogic::Readable(
    MemberId member, ConversationId c) const {
  auto record = Participating(member, c);
  if (record.ok()) return std::make_pair(*record, record->last_sequence());
  if (!absl::IsNotFound(record.status())) return record.status();
  // A former participant keeps what was said before they left.
  auto state = store_->GetState(member, c);
  if (!state.ok() || state->left_at_sequence() == 0) return record.status();
  ASSIGN_OR_RETURN(auto conversation, store_->GetConversation(c));
  return std::make_pair(std::move(conversation), state->left_at_sequence());
}

absl::StatusOr<std::optional<storage::v1::SentRecord>> MessagingLogic::Replay(
    MemberId sender, const std::string& client_message_id, const std::string& hash) const {
  auto sent = store_->GetSent(sender, client_message_id);
  if (absl::IsNotFound(sent.status())) return std::optional<storage::v1::SentRecord>();
  if (!sent.ok()) return sent.status();
  if (sent->request_hash() != hash) {
    return absl::InvalidArgumentError(absl::StrCat(
        "client_message_id \"", client_message_id,
        "\" was already used for a different message; use a new id for a new message"));
  }
  return std::optional<storage::v1::SentRecord>(*std::move(sent));
}

absl::StatusOr<SendTarget> MessagingLogic::PrepareSend(const Caller& caller,
                                                       const v1::SendMessageRequest& request,
                                                       v1::SendMessageResponse* replay) const {
  RETURN_IF_ERROR(ValidateClientId(request.client_message_id()));
  RETURN_IF_ERROR(ValidateText(request.body(), {"body", kMaxMessage, true, true}).status());
  using Request = v1::SendMessageRequest;
  const bool legacy = request.recipient_ids_size() > 0;
  if (request.target_case() == Request::TARGET_NOT_SET && !legacy) {
    return absl::InvalidArgumentError(
        "give one target: conversation_id, recipient_id, new_group or page_id");
  }
  if (request.target_case() != Request::TARGET_NOT_SET && legacy) {
    return absl::InvalidArgumentError(
        "recipient_ids (deprecated) goes alone: use recipient_id or new_group instead");
  }
  if (!request.group_name().empty() && !(legacy && request.recipient_ids_size() >= 2)) {
    return absl::InvalidArgumentError(
        "group_name (deprecated) is for new groups of two or more recipient_ids; use "
        "new_group.name");
  }
  // The members of a new group, and its name: new_group, or two or more of
  // the deprecated recipient_ids.
  const bool new_group =
      request.target_case() == Request::kNewGroup || (legacy && request.recipient_ids_size() >= 2);
  const auto& group_ids = request.target_case() == Request::kNewGroup
                              ? request.new_group().member_ids()
                              : request.recipient_ids();
  const char* group_field =
      request.target_case() == Request::kNewGroup ? "new_group.member_ids" : "recipient_ids";
  SendTarget target;
  if (!request.as_page_id().empty()) {
    ASSIGN_OR_RETURN(target.as_page, ParsePageId(request.as_page_id(), "as_page_id"));
    if (request.target_case() == Request::kPageId) {
      return absl::InvalidArgumentError(
          "a page writes to members, not to pages: give recipient_id or conversation_id with "
          "as_page_id");
    }
    if (new_group) return absl::InvalidArgumentError("a page writes to one member at a time");
  }
  ASSIGN_OR_RETURN(auto earlier,
                   Replay(caller.member_id, request.client_message_id(), RequestHash(request)));
  if (earlier.has_value()) {
    ASSIGN_OR_RETURN(auto record, store_->GetConversation(std::stoull(earlier->conversation_id())));
    ASSIGN_OR_RETURN(
        *replay->mutable_message(),
        store_->GetMessage(std::stoull(earlier->conversation_id()), earlier->sequence()));
    auto state = store_->GetState(caller.member_id, std::stoull(earlier->conversation_id()));
    FillConversation(caller.member_id, record, state.ok() ? &*state : nullptr,
                     replay->mutable_conversation());
    target.answered = true;
    return target;
  }
  if (request.target_case() == Request::kConversationId) {
    ASSIGN_OR_RETURN(ConversationId c, ParseConversation(request.conversation_id()));
    ASSIGN_OR_RETURN(auto record, Participating(caller.member_id, c));
    target.conversation = c;
    if (target.as_page && record.conversation().kind() != v1::CONVERSATION_KIND_PAGE) {
      return absl::InvalidArgumentError("as_page_id is only for a page's conversations");
    }
    const bool group = record.conversation().kind() == v1::CONVERSATION_KIND_GROUP;
    if (IsOneToOne(record.conversation()) || group) {
      for (const auto& p : record.conversation().participant_ids()) {
        if (p == FormatMemberId(caller.member_id)) continue;
        if (group) {
          target.group_others.push_back(std::stoull(p));
        } else {
          target.peer = std::stoull(p);
        }
      }
    }
    return target;
  }
  if (request.target_case() == Request::kPageId) {
    ASSIGN_OR_RETURN(target.to_page, ParsePageId(request.page_id(), "page_id"));
    return target;
  }
  if (new_group) {
    if (group_ids.empty()) {
      return absl::InvalidArgumentError(
          "new_group.member_ids is empty; name 1 to 49 members to start a group with");
    }
    if (group_ids.size() > kMaxGroupParticipants - 1) {
      return absl::InvalidArgumentError(absl::StrCat("a group has at most ", kMaxGroupParticipants,
                                                     " participants; ", group_field, " has ",
                                                     group_ids.size(), " plus you"));
    }
    const bool named_in_group = request.target_case() == Request::kNewGroup;
    ASSIGN_OR_RETURN(
        target.group_name,
        ValidateText(named_in_group ? request.new_group().name() : request.group_name(),
                     {named_in_group ? "new_group.name" : "group_name", kMaxGroupName, false}));
    for (int i = 0; i < group_ids.size(); ++i) {
      ASSIGN_OR_RETURN(MemberId m,
                       ParseMemberId(group_ids[i], absl::StrCat(group_field, "[", i, "]")));
      if (m == caller.member_id) return absl::InvalidArgumentError("you are in the group already");
      if (std::find(target.group.begin(), target.group.end(), m) != target.group.end()) {
        return absl::InvalidArgumentError(absl::StrCat("member ", m, " is named twice"));
      }
      target.group.push_back(m);
    }
    return target;
  }
  ASSIGN_OR_RETURN(MemberId recipient,
                   legacy ? ParseMemberId(request.recipient_ids(0), "recipient_ids[0]")
                          : ParseMemberId(request.recipient_id(), "recipient_id"));
  if (recipient == caller.member_id) {
    return absl::InvalidArgumentError("you cannot message yourself");
  }
  target.recipient = recipient;
  return target;
}

absl::Status MessagingLogic::SendDirect(const Caller& caller, const v1::SendMessageRequest& request,
                                        MemberId recipient, const MemberSendFacts& facts,
                                        v1::SendMessageResponse* response) {
  const Decision decision = DecideMemberSend(facts, Intent::kMessage);
  if (!decision.allowed()) return decision.status;
  ASSIGN_OR_RETURN(std::string body,
                   ValidateText(request.body(), {"body", kMaxMessage, true, true}));
  const MemberId sender = caller.member_id;
  Locked lock({&Lock(sender), &Lock(recipient)});
  // A retry that raced the first send: answer with the first result.
  ASSIGN_OR_RETURN(auto earlier, Replay(sender, request.client_message_id(), RequestHash(request)));
  if (earlier.has_value()) return PrepareSend(caller, request, response).status();
  // One 1:1 conversation per pair.
  auto existing = PairConversation(sender, recipient);
  if (!existing.ok() && !absl::IsNotFound(existing.status())) return existing.status();
  const absl::Time now = clock_->Now();
  Write write(this);
  storage::v1::ConversationRecord record;
  if (existing.ok()) {
    ASSIGN_OR_RETURN(record, store_->GetConversation(*existing));
  } else {
    ASSIGN_OR_RETURN(ConversationId id, NewConversationId(std::min(sender, recipient)));
    auto* c = record.mutable_conversation();
    c->set_conversation_id(FormatMemberId(id));
    c->set_kind(v1::CONVERSATION_KIND_DIRECT);
    c->add_participant_ids(FormatMemberId(sender));
    c->add_participant_ids(FormatMemberId(recipient));
    SetTimestamp(c->mutable_create_time(), now);
    write.batch().Put(store_->conversations(), keys::Pair(sender, recipient),
                      MessagingStore::EncodeId(id));
  }
  // Where a new conversation lands for the recipient: a request goes to
  // REQUESTS (shown in OTHER) until they reply or the two connect; a
  // connection's message to FOCUSED (focused_inbox.h).
  const v1::Folder recipient_folder =
      decision.outcome == Outcome::kRegular ? v1::FOLDER_FOCUSED : v1::FOLDER_REQUESTS;
  if (decision.outcome == Outcome::kRegular) write.Connected();
  ASSIGN_OR_RETURN(v1::Message message,
                   write.Append(&record, sender, body, request, request.client_message_id(), now,
                                [&](MemberId m) {
                                  return m == recipient ? recipient_folder : v1::FOLDER_FOCUSED;
                                }));
  RETURN_IF_ERROR(write.Commit(record));
  const ConversationId c = ParseIdUnchecked(record.conversation().conversation_id());
  if (!existing.ok()) RememberPair(sender, recipient, c);
  sent_.Add({{"kind", OutcomeName(decision.outcome)}}).Increment();
  *response->mutable_message() = message;
  // The sender's state as this send wrote it (no read back).
  auto state = write.LoadState(sender, c);
  FillConversation(sender, record, state.ok() ? &*state : nullptr,
                   response->mutable_conversation());
  return absl::OkStatus();
}

absl::Status MessagingLogic::SendToConversation(
    const Caller& caller, const v1::SendMessageRequest& request, ConversationId c,
    const identity::v1::Relationship* relationship, v1::SendMessageResponse* response,
    std::string* refund_inmail_id, std::vector<MemberId> hidden_from) {
  if (relationship != nullptr && relationship->blocked()) {
    return absl::PermissionDeniedError("you cannot message this member");
  }
  ASSIGN_OR_RETURN(std::string body,
                   ValidateText(request.body(), {"body", kMaxMessage, true, true}));
  const MemberId sender = caller.member_id;
  Locked lock({&Lock(sender), &Lock(c)});
  ASSIGN_OR_RETURN(auto earlier, Replay(sender, request.client_message_id(), RequestHash(request)));
  if (earlier.has_value()) return PrepareSend(caller, request, response).status();
  ASSIGN_OR_RETURN(auto record, Participating(sender, c));
  const absl::Time now = clock_->Now();
  Write write(this);
  if (relationship != nullptr && relationship->degree() == identity::v1::DEGREE_FIRST) {
    write.Connected();
  }
  write.HideFrom(std::move(hidden_from));
  if (record.conversation().kind() == v1::CONVERSATION_KIND_PAGE) {
    // The page's admins always write as the page; the member as themself.
    const std::string& page = record.conversation().page_id();
    if (IsPageAdmin(record, sender)) {
      if (!request.as_page_id().empty() && request.as_page_id() != page) {
        return absl::InvalidArgumentError(absl::StrCat("this conversation is page ", page,
                                                       "'s, not page ", request.as_page_id()));
      }
      write.SendAsPage(page);
    } else if (!request.as_page_id().empty()) {
      return absl::PermissionDeniedError("only the page's admins can send as the page");
    } else {
      record.set_member_wrote(true);
    }
  }
  if (record.conversation().kind() == v1::CONVERSATION_KIND_INMAIL) {
    // (mutable_inmail() on any other conversation would give it an empty one.)
    auto* inmail = record.mutable_conversation()->mutable_inmail();
    const bool from_recipient = inmail->recipient_id() == FormatMemberId(sender);
    switch (inmail->status()) {
      case v1::IN_MAIL_STATUS_PENDING:
        if (!from_recipient) {
          return absl::FailedPreconditionError(
              "your InMail has not been answered yet; you can write again once it is");
        }
        // A reply answers the InMail: accepted, and the sender's credit comes back.
        RETURN_IF_ERROR(write.Answer(&record, v1::IN_MAIL_STATUS_ACCEPTED, now, refund_inmail_id));
        break;
      case v1::IN_MAIL_STATUS_SENDING:
      case v1::IN_MAIL_STATUS_NOT_SENT:
        return absl::FailedPreconditionError("this InMail was not delivered");
      default:
        break;
    }
  }
  // A reply from whoever received a request accepts it: out of REQUESTS.
  ASSIGN_OR_RETURN(v1::Message message,
                   write.Append(&record, sender, body, request, request.client_message_id(), now,
                                [](MemberId) { return v1::FOLDER_FOCUSED; }));
  RETURN_IF_ERROR(write.Commit(record));
  sent_.Add({{"kind", "reply"}}).Increment();
  *response->mutable_message() = message;
  auto state = write.LoadState(sender, c);
  FillConversation(sender, record, state.ok() ? &*state : nullptr,
                   response->mutable_conversation());
  return absl::OkStatus();
}

}  // namespace liaison::messaging
