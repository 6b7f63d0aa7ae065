// What blocks hide inside a conversation from one member: the messages sent
// while a block stood between them and the sender (Write::HideFrom) are left
// out of the member's pages of messages, last message and unread counts. A
// conversation with nothing hidden from the member costs nothing here.
#include "common/status.h"
#include "services/messaging/messaging_logic_internal.h"

namespace liaison::messaging {

absl::StatusOr<std::vector<v1::Message>> MessagingLogic::VisibleMessages(
    MemberId member, const storage::v1::MemberState* state, ConversationId c, int64_t from,
    int64_t to, size_t limit) const {
  if (state == nullptr || !state->has_hidden()) return store_->Messages(c, from, to, limit);
  // Chunks of the range, each less what is hidden in it: the work is the
  // messages returned and the hidden ones passed over.
  std::vector<v1::Message> out;
  const bool descending = from > to;
  int64_t position = from;
  while (out.size() < limit && (descending ? position >= to : position <= to)) {
    ASSIGN_OR_RETURN(auto chunk, store_->Messages(c, position, to, limit - out.size()));
    if (chunk.empty()) break;
    const int64_t first = chunk.front().sequence(), last = chunk.back().sequence();
    ASSIGN_OR_RETURN(auto hidden, store_->HiddenSequences(member, c, std::min(first, last),
                                                          std::max(first, last)));
    for (auto& message : chunk) {
      if (!std::binary_search(hidden.begin(), hidden.end(), message.sequence())) {
        out.push_back(std::move(message));
      }
    }
    position = descending ? last - 1 : last + 1;
  }
  return out;
}

absl::StatusOr<int64_t> MessagingLogic::UnreadCount(MemberId member,
                                                    const storage::v1::ConversationRecord& record,
                                                    const storage::v1::MemberState& state) const {
  const int64_t unread = std::max<int64_t>(0, record.last_sequence() - state.read_sequence());
  if (!state.has_hidden() || unread == 0) return unread;
  ASSIGN_OR_RETURN(auto hidden, store_->HiddenSequences(
                                    member, ParseIdUnchecked(record.conversation().conversation_id()),
                                    state.read_sequence() + 1, record.last_sequence()));
  return std::max<int64_t>(0, unread - static_cast<int64_t>(hidden.size()));
}

absl::Status MessagingLogic::HideFromView(MemberId member,
                                          const storage::v1::ConversationRecord& record,
                                          const storage::v1::MemberState& state,
                                          v1::Conversation* out) const {
  if (!state.has_hidden()) return absl::OkStatus();
  const ConversationId c = ParseIdUnchecked(record.conversation().conversation_id());
  ASSIGN_OR_RETURN(auto last, VisibleMessages(member, &state, c, record.last_sequence(), 1, 1));
  if (last.empty()) {
    out->clear_last_message();
  } else if (last.front().sequence() != out->last_message().sequence()) {
    *out->mutable_last_message() = std::move(last.front());
    PageView(record, member, out->mutable_last_message());
  }
  return absl::OkStatus();
}

}  // namespace liaison::messaging
