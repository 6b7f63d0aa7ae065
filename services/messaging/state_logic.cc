// A member's own view of a conversation: archive, star, mute, unread,
// delete for me, report.
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/text.h"
#include "services/messaging/messaging_logic_internal.h"

namespace liaison::messaging {
namespace {

constexpr size_t kMaxReportReason = 500;

}  // namespace

absl::StatusOr<std::pair<storage::v1::ConversationRecord, storage::v1::MemberState>>
MessagingLogic::OwnView(MemberId member, ConversationId c) const {
  ASSIGN_OR_RETURN(auto record, Participating(member, c));
  auto state = store_->GetState(member, c);
  if (absl::IsNotFound(state.status()))
    return absl::NotFoundError(absl::StrCat("no conversation ", c));
  if (!state.ok()) return state.status();
  return std::make_pair(std::move(record), *std::move(state));
}

absl::Status MessagingLogic::UpdateConversationState(
    const Caller& caller, const v1::UpdateConversationStateRequest& request,
    v1::UpdateConversationStateResponse* response) {
  ASSIGN_OR_RETURN(ConversationId c, ParseConversation(request.conversation_id()));
  if (request.update_mask().paths().empty()) {
    return absl::InvalidArgumentError("update_mask is empty; name starred, archived or muted");
  }
  for (const auto& path : request.update_mask().paths()) {
    if (path != "starred" && path != "archived" && path != "muted") {
      return absl::InvalidArgumentError(absl::StrCat(
          "update_mask path \"", path, "\" cannot be changed; use starred, archived or muted"));
    }
  }
  Locked lock({&Lock(caller.member_id), &Lock(c)});
  ASSIGN_OR_RETURN(auto view, OwnView(caller.member_id, c));
  auto& [record, state] = view;
  Write write(this);
  v1::Folder folder = state.folder();
  for (const auto& path : request.update_mask().paths()) {
    if (path == "starred") state.set_starred(request.state().starred());
    if (path == "muted") state.set_muted(request.state().muted());
    if (path == "archived") {
      if (request.state().archived() && folder != v1::FOLDER_ARCHIVED) {
        if (folder != v1::FOLDER_SPAM) state.set_home_folder(folder);
        folder = v1::FOLDER_ARCHIVED;
      } else if (!request.state().archived() && folder == v1::FOLDER_ARCHIVED) {
        folder = state.home_folder();
      }
    }
  }
  write.PutState(caller.member_id, c, &state, folder, FromTimestamp(state.indexed_activity()));
  RETURN_IF_ERROR(write.CommitBatchOnly());
  v1::Conversation filled;
  FillConversation(caller.member_id, record, &state, &filled);
  *response->mutable_state() = filled.state();
  return absl::OkStatus();
}

absl::Status MessagingLogic::MarkConversationUnread(
    const Caller& caller, const v1::MarkConversationUnreadRequest& request,
    v1::MarkConversationUnreadResponse* response) {
  ASSIGN_OR_RETURN(ConversationId c, ParseConversation(request.conversation_id()));
  Locked lock({&Lock(caller.member_id), &Lock(c)});
  ASSIGN_OR_RETURN(auto view, OwnView(caller.member_id, c));
  auto& [record, state] = view;
  // The newest message counts as unread again.
  state.set_read_sequence(
      std::max<int64_t>(0, std::min(state.read_sequence(), record.last_sequence() - 1)));
  rocksdb::WriteBatch batch;
  batch.Put(store_->members(), keys::State(caller.member_id, c), state.SerializeAsString());
  RETURN_IF_ERROR(store_->store()->Write(&batch, Durability::kSynced));
  v1::Conversation filled;
  FillConversation(caller.member_id, record, &state, &filled);
  *response->mutable_state() = filled.state();
  return absl::OkStatus();
}

absl::Status MessagingLogic::DeleteConversation(const Caller& caller,
                                                const v1::DeleteConversationRequest& request) {
  ASSIGN_OR_RETURN(ConversationId c, ParseConversation(request.conversation_id()));
  Locked lock({&Lock(caller.member_id), &Lock(c)});
  ASSIGN_OR_RETURN(auto view, OwnView(caller.member_id, c));
  auto& [record, state] = view;
  rocksdb::WriteBatch batch;
  if (state.has_indexed_activity()) {
    batch.Delete(store_->members(), keys::Inbox(caller.member_id, state.folder(),
                                                FromTimestamp(state.indexed_activity()), c));
  }
  state.clear_indexed_activity();
  state.set_deleted_through_sequence(record.last_sequence());
  state.set_read_sequence(record.last_sequence());
  batch.Put(store_->members(), keys::State(caller.member_id, c), state.SerializeAsString());
  return store_->store()->Write(&batch, Durability::kSynced);
}

absl::Status MessagingLogic::ReportConversation(const Caller& caller,
                                                const v1::ReportConversationRequest& request) {
  ASSIGN_OR_RETURN(ConversationId c, ParseConversation(request.conversation_id()));
  RETURN_IF_ERROR(
      ValidateText(request.reason(), {"reason", kMaxReportReason, false, true}).status());
  Locked lock({&Lock(caller.member_id), &Lock(c)});
  ASSIGN_OR_RETURN(auto view, OwnView(caller.member_id, c));
  auto& [record, state] = view;
  if (state.reported()) return absl::OkStatus();  // once per member and conversation
  state.set_reported(true);
  state.set_muted(true);  // no more notifications
  Write write(this);
  write.PutState(caller.member_id, c, &state, v1::FOLDER_SPAM,
                 FromTimestamp(state.indexed_activity()));
  // Counted against whoever else wrote in it.
  for (const auto& id : record.conversation().participant_ids()) {
    if (id == FormatMemberId(caller.member_id)) continue;
    reports_.Add({}).Increment();
    const std::string key = keys::Reports(ParseIdUnchecked(id));
    auto count = store_->GetId(store_->members(), key);
    if (!count.ok() && !absl::IsNotFound(count.status())) return count.status();
    write.batch().Put(store_->members(), key,
                      MessagingStore::EncodeId(count.ok() ? *count + 1 : 1));
  }
  return write.CommitBatchOnly();
}

}  // namespace liaison::messaging
