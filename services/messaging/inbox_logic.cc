// The inbox: conversations by folder, messages, unread counts, read state.
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/pagination.h"
#include "common/status.h"
#include "services/messaging/focused_inbox.h"
#include "services/messaging/messaging_logic_internal.h"

namespace liaison::messaging {
namespace {

constexpr v1::Folder kFolders[] = {v1::FOLDER_FOCUSED,  v1::FOLDER_OTHER,    v1::FOLDER_INMAIL,
                                   v1::FOLDER_REQUESTS, v1::FOLDER_ARCHIVED, v1::FOLDER_SPAM};

}  // namespace

void MessagingLogic::FillConversation(MemberId viewer,
                                      const storage::v1::ConversationRecord& record,
                                      const storage::v1::MemberState* state,
                                      v1::Conversation* out) const {
  *out = record.conversation();
  PageView(record, viewer, out);
  auto* view = out->mutable_state();
  if (state != nullptr) {
    view->set_folder(state->folder());
    view->set_starred(state->starred());
    view->set_muted(state->muted());
    view->set_archived(state->folder() == v1::FOLDER_ARCHIVED);
    view->set_read_sequence(state->read_sequence());
    // Fail closed: if the store cannot say what is hidden, show no message.
    auto unread = UnreadCount(viewer, record, *state);
    view->set_unread_count(unread.ok() ? *unread : 0);
    if (!unread.ok() || !HideFromView(viewer, record, *state, out).ok()) {
      out->clear_last_message();
    }
  }
}

absl::Status MessagingLogic::ListConversations(const Caller& caller,
                                               const v1::ListConversationsRequest& request,
                                               v1::ListConversationsResponse* response,
                                               bool focused_inbox) const {
  if (request.folder() == v1::FOLDER_UNSPECIFIED || !v1::Folder_IsValid(request.folder())) {
    return absl::InvalidArgumentError("folder must be one of FOLDER_FOCUSED ... FOLDER_SPAM");
  }
  if (!v1::Filter_IsValid(request.filter())) {
    return absl::InvalidArgumentError("filter must be FILTER_UNREAD, FILTER_STARRED or unset");
  }
  ASSIGN_OR_RETURN(int page_size, PageSize(request.page_size()));
  const std::string list = absl::StrCat("inbox", static_cast<int>(request.folder()));
  ASSIGN_OR_RETURN(std::string position, DecodePageToken(list, request.page_token()));
  // Walk the folder newest first (FOCUSED and OTHER: the stored folders they
  // show, merged), keeping what the filter accepts, until the page is full,
  // the folder ends or kMaxScanned entries were looked at. The token is the
  // last entry looked at.
  const std::vector<v1::Folder> stored = StoredFoldersOf(request.folder(), focused_inbox);
  // INMAIL, REQUESTS, ARCHIVED, SPAM: the stored folder, as it is.
  const bool stored_only =
      request.folder() != v1::FOLDER_FOCUSED && request.folder() != v1::FOLDER_OTHER;
  // Ends the page at `position`; a token if more entries follow.
  auto end_page = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(auto next, store_->Inbox(caller.member_id, stored, position, 1));
    if (!next.empty()) response->set_next_page_token(EncodePageToken(list, position));
    return absl::OkStatus();
  };
  int scanned = 0;
  while (true) {
    if (scanned >= kMaxScanned) return end_page();  // enough work for one call
    const int batch = std::min(page_size, kMaxScanned - scanned);
    ASSIGN_OR_RETURN(auto entries,
                     store_->Inbox(caller.member_id, stored, position, static_cast<size_t>(batch)));
    scanned += static_cast<int>(entries.size());
    for (const auto& [c, key] : entries) {
      ASSIGN_OR_RETURN(auto record, store_->GetConversation(c));
      ASSIGN_OR_RETURN(auto state, store_->GetState(caller.member_id, c));
      position = key;
      const v1::Folder shown = ShownFolder(state.folder(), record, caller.member_id, focused_inbox);
      if (!stored_only && shown != request.folder()) continue;
      if (request.filter() == v1::FILTER_UNREAD) {
        ASSIGN_OR_RETURN(int64_t unread, UnreadCount(caller.member_id, record, state));
        if (unread == 0) continue;
      }
      if (request.filter() == v1::FILTER_STARRED && !state.starred()) continue;
      FillConversation(caller.member_id, record, &state, response->add_conversations());
      if (response->conversations_size() == page_size) return end_page();
    }
    if (entries.size() < static_cast<size_t>(batch)) return absl::OkStatus();  // the end
  }
}

absl::Status MessagingLogic::GetConversation(const Caller& caller,
                                             const v1::GetConversationRequest& request,
                                             v1::GetConversationResponse* response) const {
  ASSIGN_OR_RETURN(ConversationId c, ParseConversation(request.conversation_id()));
  ASSIGN_OR_RETURN(auto readable, Readable(caller.member_id, c));
  const auto& record = readable.first;
  auto state = store_->GetState(caller.member_id, c);
  if (!state.ok() && !absl::IsNotFound(state.status())) return state.status();
  FillConversation(caller.member_id, record, state.ok() ? &*state : nullptr,
                   response->mutable_conversation());
  return absl::OkStatus();
}

absl::Status MessagingLogic::ListMessages(const Caller& caller,
                                          const v1::ListMessagesRequest& request,
                                          v1::ListMessagesResponse* response) const {
  ASSIGN_OR_RETURN(ConversationId c, ParseConversation(request.conversation_id()));
  ASSIGN_OR_RETURN(int page_size, PageSize(request.page_size()));
  if (request.before_sequence() < 0 || request.after_sequence() < 0) {
    return absl::InvalidArgumentError("before_sequence and after_sequence cannot be negative");
  }
  // Participants read everything; those who left, up to their departure.
  ASSIGN_OR_RETURN(auto readable, Readable(caller.member_id, c));
  const int64_t last = readable.second;
  // Messages up to a delete-for-me stay hidden from this member.
  auto own = store_->GetState(caller.member_id, c);
  if (!own.ok() && !absl::IsNotFound(own.status())) return own.status();
  const int64_t first = own.ok() ? own->deleted_through_sequence() + 1 : 1;
  // Positions are clamped to the messages there are, so the work is the page
  // returned whatever numbers the client sends.
  std::vector<v1::Message> messages;
  const auto full = [&] { return messages.size() == static_cast<size_t>(page_size); };
  if (request.direction() == v1::DIRECTION_NEWER) {
    if (request.after_sequence() < last) {
      const int64_t from = std::max(request.after_sequence() + 1, first);
      ASSIGN_OR_RETURN(messages, VisibleMessages(caller.member_id, own.ok() ? &*own : nullptr, c,
                                                 from, last, page_size));
    }
    response->set_has_more(full() && messages.back().sequence() < last);
  } else if (request.direction() == v1::DIRECTION_OLDER ||
             request.direction() == v1::DIRECTION_UNSPECIFIED) {
    const int64_t from =
        request.before_sequence() == 0 ? last : std::min(request.before_sequence() - 1, last);
    if (from >= first) {
      ASSIGN_OR_RETURN(messages, VisibleMessages(caller.member_id, own.ok() ? &*own : nullptr, c,
                                                 from, first, page_size));
    }
    response->set_has_more(full() && messages.back().sequence() > first);
  } else {
    return absl::InvalidArgumentError("direction must be DIRECTION_OLDER or DIRECTION_NEWER");
  }
  for (auto& m : messages) {
    PageView(readable.first, caller.member_id, &m);
    *response->add_messages() = std::move(m);
  }
  return absl::OkStatus();
}

bool HiddenByBlock(const v1::Conversation& c, MemberId viewer,
                   const absl::flat_hash_set<std::string>& blocked) {
  if (!IsOneToOne(c)) return false;
  const std::string me = FormatMemberId(viewer);
  return std::any_of(c.participant_ids().begin(), c.participant_ids().end(),
                     [&](const std::string& id) { return id != me && blocked.contains(id); });
}

absl::Status MessagingLogic::GetUnreadCounts(
    const Caller& caller, const absl::flat_hash_set<std::string>& blocked, bool focused_inbox,
    v1::GetUnreadCountsResponse* response,
    const std::function<absl::Status()>& still_wanted) const {
  // Walks the member's inbox index; fine for thousands of conversations.
  // (Kept counters are the next step for very large inboxes.) A conversation
  // counts in its stored folder and, for the inbox kinds, in the FOCUSED or
  // OTHER folder it is shown in (INMAIL and REQUESTS are views of kinds).
  absl::flat_hash_map<v1::Folder, std::pair<int64_t, int64_t>> totals;
  auto add = [&](v1::Folder folder, int64_t unread) {
    totals[folder].first += unread > 0;
    totals[folder].second += unread;
  };
  for (v1::Folder folder : kFolders) {
    std::string after;
    while (true) {
      if (still_wanted) RETURN_IF_ERROR(still_wanted());
      ASSIGN_OR_RETURN(auto entries, store_->Inbox(caller.member_id, folder, after, 500));
      for (const auto& [c, key] : entries) {
        ASSIGN_OR_RETURN(auto record, store_->GetConversation(c));
        if (HiddenByBlock(record.conversation(), caller.member_id, blocked)) continue;
        ASSIGN_OR_RETURN(auto state, store_->GetState(caller.member_id, c));
        ASSIGN_OR_RETURN(const int64_t unread, UnreadCount(caller.member_id, record, state));
        const v1::Folder shown = ShownFolder(folder, record, caller.member_id, focused_inbox);
        add(shown, unread);
        if (folder == v1::FOLDER_INMAIL || folder == v1::FOLDER_REQUESTS) add(folder, unread);
      }
      if (entries.size() < 500) break;
      after = entries.back().second;
    }
  }
  for (v1::Folder folder : kFolders) {
    auto* count = response->add_counts();
    count->set_folder(folder);
    count->set_conversations(totals[folder].first);
    count->set_messages(totals[folder].second);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<MemberId>> MessagingLogic::OthersIn(
    const Caller& caller, const std::string& conversation_id) const {
  ASSIGN_OR_RETURN(ConversationId c, ParseConversation(conversation_id));
  ASSIGN_OR_RETURN(auto record, Participating(caller.member_id, c));
  std::vector<MemberId> others;
  for (const auto& id : record.conversation().participant_ids()) {
    if (id != FormatMemberId(caller.member_id)) others.push_back(ParseIdUnchecked(id));
  }
  return others;
}

absl::Status MessagingLogic::SendTypingIndicator(const Caller& caller,
                                                 const v1::SendTypingIndicatorRequest& request,
                                                 const std::vector<MemberId>& to,
                                                 LiveElsewhere* elsewhere) {
  ASSIGN_OR_RETURN(ConversationId c, ParseConversation(request.conversation_id()));
  ASSIGN_OR_RETURN(auto record, Participating(caller.member_id, c));
  if (hub_ == nullptr) return absl::OkStatus();
  v1::StreamEventsResponse event;
  SetTimestamp(event.mutable_time(), clock_->Now());
  event.mutable_typing()->set_conversation_id(request.conversation_id());
  event.mutable_typing()->set_member_id(FormatMemberId(caller.member_id));
  for (MemberId member : to) {
    if (!IsParticipant(record, member)) continue;
    if (HoldsMailbox(member)) {
      hub_->Publish(member, event);
    } else if (elsewhere != nullptr) {
      elsewhere->members[mailboxes_->ShardOf(member)].push_back(member);
    }
  }
  if (elsewhere != nullptr) elsewhere->event = std::move(event);
  return absl::OkStatus();
}

absl::Status MessagingLogic::PublishLive(
    const google::protobuf::RepeatedPtrField<std::string>& member_ids,
    const v1::StreamEventsResponse& event) {
  if (member_ids.empty() || member_ids.size() > kMaxLiveMembers) {
    return absl::InvalidArgumentError(
        absl::StrCat("member_ids must name 1 to ", kMaxLiveMembers, " members"));
  }
  if (!event.has_typing()) {
    return absl::InvalidArgumentError("event must be a typing event (the only kind not stored)");
  }
  std::vector<MemberId> members;
  for (const std::string& id : member_ids) {
    ASSIGN_OR_RETURN(MemberId member, ParseMemberId(id, "member_ids"));
    RETURN_IF_ERROR(MailboxHere(member));
    members.push_back(member);
  }
  if (hub_ == nullptr) return absl::OkStatus();
  for (MemberId member : members) hub_->Publish(member, event);
  return absl::OkStatus();
}

absl::Status MessagingLogic::MarkConversationRead(const Caller& caller,
                                                  const v1::MarkConversationReadRequest& request,
                                                  const std::vector<MemberId>& receipts_to,
                                                  v1::MarkConversationReadResponse* response) {
  ASSIGN_OR_RETURN(ConversationId c, ParseConversation(request.conversation_id()));
  if (request.sequence() < 0) return absl::InvalidArgumentError("sequence cannot be negative");
  Locked lock({&Lock(caller.member_id), &Lock(c)});
  ASSIGN_OR_RETURN(auto record, Participating(caller.member_id, c));
  if (request.sequence() > record.last_sequence()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "sequence ", request.sequence(), " is past the last message, ", record.last_sequence()));
  }
  auto state = store_->GetState(caller.member_id, c);
  if (absl::IsNotFound(state.status()))
    return absl::NotFoundError(absl::StrCat("no conversation ", c));
  if (!state.ok()) return state.status();
  const int64_t upto = request.sequence() == 0 ? record.last_sequence() : request.sequence();
  if (upto > state->read_sequence()) {
    state->set_read_sequence(upto);
    Write write(this);
    write.batch().Put(store_->members(), keys::State(caller.member_id, c),
                      state->SerializeAsString());
    // Read receipts, where both sides have them on (the handler asked privacy).
    for (MemberId member : receipts_to) {
      if (!IsParticipant(record, member)) continue;
      storage::v1::MailboxStep step;
      step.mutable_read_receipt()->set_reader_id(FormatMemberId(caller.member_id));
      step.mutable_read_receipt()->set_read_sequence(upto);
      RETURN_IF_ERROR(write.Step(record, member, std::move(step)));
    }
    RETURN_IF_ERROR(write.CommitBatchOnly());
  }
  storage::v1::ConversationRecord view = record;
  v1::Conversation filled;
  FillConversation(caller.member_id, view, &*state, &filled);
  *response->mutable_state() = filled.state();
  return absl::OkStatus();
}

}  // namespace liaison::messaging
