// Groups: opened by a send to several members; anyone in it may add their
// connections, remove others, leave or rename it; newcomers see the whole
// history and those who leave see nothing after they left.
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/text.h"
#include "services/messaging/messaging_logic_internal.h"

namespace liaison::messaging {
namespace {

absl::StatusOr<storage::v1::ConversationRecord> RequireGroup(
    absl::StatusOr<storage::v1::ConversationRecord> record) {
  if (record.ok() && record->conversation().kind() != v1::CONVERSATION_KIND_GROUP) {
    return absl::FailedPreconditionError("only group conversations have participants to change");
  }
  return record;
}

}  // namespace

absl::Status MessagingLogic::SendGroup(const Caller& caller, const v1::SendMessageRequest& request,
                                       const std::vector<MemberId>& members,
                                       const std::string& name,
                                       const std::vector<identity::v1::Relationship>& relationships,
                                       v1::SendMessageResponse* response) {
  const Decision decision = DecideGroupCreate(relationships);
  if (!decision.allowed()) return decision.status;
  ASSIGN_OR_RETURN(std::string body,
                   ValidateText(request.body(), {"body", kMaxMessage, true, true}));
  const MemberId creator = caller.member_id;
  Locked lock({&Lock(creator)});
  ASSIGN_OR_RETURN(auto earlier,
                   Replay(creator, request.client_message_id(), RequestHash(request)));
  if (earlier.has_value()) return PrepareSend(caller, request, response).status();
  ASSIGN_OR_RETURN(ConversationId id, NewConversationId(creator));
  const absl::Time now = clock_->Now();
  storage::v1::ConversationRecord record;
  auto* c = record.mutable_conversation();
  c->set_conversation_id(FormatMemberId(id));
  c->set_kind(v1::CONVERSATION_KIND_GROUP);
  c->set_name(name);
  c->add_participant_ids(FormatMemberId(creator));
  for (MemberId m : members) c->add_participant_ids(FormatMemberId(m));
  SetTimestamp(c->mutable_create_time(), now);
  Write write(this);
  ASSIGN_OR_RETURN(v1::Message message,
                   write.Append(&record, creator, body, request, request.client_message_id(), now,
                                [](MemberId) { return v1::FOLDER_FOCUSED; }));
  RETURN_IF_ERROR(write.Commit(record));
  sent_.Add({{"kind", "group"}}).Increment();
  *response->mutable_message() = message;
  auto state = store_->GetState(creator, id);
  FillConversation(creator, record, state.ok() ? &*state : nullptr,
                   response->mutable_conversation());
  return absl::OkStatus();
}

absl::StatusOr<std::vector<MemberId>> MessagingLogic::PrepareAdd(
    const Caller& caller, const v1::AddParticipantsRequest& request) const {
  ASSIGN_OR_RETURN(ConversationId c, ParseConversation(request.conversation_id()));
  ASSIGN_OR_RETURN(auto record, RequireGroup(Participating(caller.member_id, c)));
  if (request.member_ids().empty()) return absl::InvalidArgumentError("member_ids is empty");
  std::vector<MemberId> members;
  for (int i = 0; i < request.member_ids_size(); ++i) {
    ASSIGN_OR_RETURN(MemberId m,
                     ParseMemberId(request.member_ids(i), absl::StrCat("member_ids[", i, "]")));
    if (IsParticipant(record, m)) {
      return absl::AlreadyExistsError(absl::StrCat("member ", m, " is already in the group"));
    }
    if (std::find(members.begin(), members.end(), m) != members.end()) {
      return absl::InvalidArgumentError(absl::StrCat("member ", m, " is named twice"));
    }
    members.push_back(m);
  }
  const int total = record.conversation().participant_ids_size() + static_cast<int>(members.size());
  if (total > kMaxGroupParticipants) {
    return absl::InvalidArgumentError(absl::StrCat("a group has at most ", kMaxGroupParticipants,
                                                   " participants; this would make ", total));
  }
  return members;
}

absl::Status MessagingLogic::AddParticipants(
    const Caller& caller, const v1::AddParticipantsRequest& request,
    const std::vector<identity::v1::Relationship>& relationships,
    v1::AddParticipantsResponse* response) {
  ASSIGN_OR_RETURN(std::vector<MemberId> members, PrepareAdd(caller, request));
  ASSIGN_OR_RETURN(ConversationId c, ParseConversation(request.conversation_id()));
  Locked lock({&Lock(c)});
  ASSIGN_OR_RETURN(auto record, RequireGroup(Participating(caller.member_id, c)));
  const Decision decision =
      DecideGroupAdd(record.conversation().participant_ids_size(), relationships);
  if (!decision.allowed()) return decision.status;
  Write write(this);
  for (MemberId m : members) {
    if (IsParticipant(record, m)) continue;  // added meanwhile
    record.mutable_conversation()->add_participant_ids(FormatMemberId(m));
    storage::v1::MailboxStep joined;
    joined.mutable_joined();
    RETURN_IF_ERROR(write.Step(record, m, std::move(joined)));
  }
  RETURN_IF_ERROR(write.Changed(record));
  RETURN_IF_ERROR(write.Commit(record));
  auto state = store_->GetState(caller.member_id, c);
  FillConversation(caller.member_id, record, state.ok() ? &*state : nullptr,
                   response->mutable_conversation());
  return absl::OkStatus();
}

absl::Status MessagingLogic::Depart(const Caller& caller, ConversationId c, MemberId member,
                                    v1::Conversation* out) {
  Locked lock({&Lock(c)});
  ASSIGN_OR_RETURN(auto record, RequireGroup(Participating(caller.member_id, c)));
  if (!IsParticipant(record, member)) {
    return absl::NotFoundError(absl::StrCat("member ", member, " is not in this conversation"));
  }
  auto* ids = record.mutable_conversation()->mutable_participant_ids();
  ids->erase(std::find(ids->begin(), ids->end(), FormatMemberId(member)));
  Write write(this);
  storage::v1::MailboxStep departed;
  departed.mutable_departed();
  RETURN_IF_ERROR(write.Step(record, member, std::move(departed)));
  RETURN_IF_ERROR(write.Changed(record, member));
  RETURN_IF_ERROR(write.Commit(record));
  if (out != nullptr) FillConversation(caller.member_id, record, nullptr, out);
  return absl::OkStatus();
}

absl::Status MessagingLogic::RemoveParticipant(const Caller& caller,
                                               const v1::RemoveParticipantRequest& request,
                                               v1::RemoveParticipantResponse* response) {
  ASSIGN_OR_RETURN(ConversationId c, ParseConversation(request.conversation_id()));
  ASSIGN_OR_RETURN(MemberId member, ParseMemberId(request.member_id(), "member_id"));
  if (member == caller.member_id) {
    return absl::InvalidArgumentError("to leave a group, use LeaveConversation");
  }
  RETURN_IF_ERROR(Depart(caller, c, member, response->mutable_conversation()));
  auto state = store_->GetState(caller.member_id, c);
  if (state.ok()) {
    auto record = store_->GetConversation(c);
    if (record.ok())
      FillConversation(caller.member_id, *record, &*state, response->mutable_conversation());
  }
  return absl::OkStatus();
}

absl::Status MessagingLogic::LeaveConversation(const Caller& caller,
                                               const v1::LeaveConversationRequest& request) {
  ASSIGN_OR_RETURN(ConversationId c, ParseConversation(request.conversation_id()));
  return Depart(caller, c, caller.member_id, nullptr);
}

absl::Status MessagingLogic::RenameConversation(const Caller& caller,
                                                const v1::RenameConversationRequest& request,
                                                v1::RenameConversationResponse* response) {
  ASSIGN_OR_RETURN(ConversationId c, ParseConversation(request.conversation_id()));
  ASSIGN_OR_RETURN(std::string name, ValidateText(request.name(), {"name", kMaxGroupName}));
  Locked lock({&Lock(c)});
  ASSIGN_OR_RETURN(auto record, RequireGroup(Participating(caller.member_id, c)));
  record.mutable_conversation()->set_name(name);
  Write write(this);
  RETURN_IF_ERROR(write.Changed(record));
  RETURN_IF_ERROR(write.Commit(record));
  auto state = store_->GetState(caller.member_id, c);
  FillConversation(caller.member_id, record, state.ok() ? &*state : nullptr,
                   response->mutable_conversation());
  return absl::OkStatus();
}

}  // namespace liaison::messaging
