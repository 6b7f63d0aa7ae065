// Company pages (DESIGN.md §4 rule 7). A page conversation joins one member
// and one page; the page's admins take part for the page, and what they
// write carries the page's id. The member sees the page, never its admins.
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/text.h"
#include "services/messaging/messaging_logic_internal.h"

namespace liaison::messaging {

absl::Status MessagingLogic::SendPage(const Caller& caller, const v1::SendMessageRequest& request,
                                      uint64_t page, MemberId member, const PageFacts& facts,
                                      v1::SendMessageResponse* response) {
  const bool as_page = member != caller.member_id;
  auto administers = [&](MemberId m) {
    return std::find(facts.admins.begin(), facts.admins.end(), m) != facts.admins.end();
  };
  const bool caller_is_admin = administers(caller.member_id);
  if (facts.exists && !facts.member_exists) {
    if (!as_page) {
      return absl::FailedPreconditionError(
          absl::StrCat("member ", caller.member_id, " (the token's subject) does not exist"));
    }
    if (caller_is_admin) return absl::NotFoundError(absl::StrCat("no member ", member));
  }
  // Who administers a page is the admins' business: anyone else writing as
  // the page is refused the same way whoever the recipient is.
  if (as_page && facts.exists && !caller_is_admin) {
    PageSendFacts outsider;
    outsider.sender_is_admin = false;
    return DecideFromPage(outsider).status;
  }
  // After these two checks the member on the other side is never an admin.
  if (as_page && administers(member)) {
    return absl::InvalidArgumentError(
        absl::StrCat("member ", member, " administers page ", page, " too"));
  }
  if (!as_page && facts.exists && caller_is_admin) {
    return absl::InvalidArgumentError(absl::StrCat(
        "you administer page ", page, ": write to its members with as_page_id instead"));
  }
  ASSIGN_OR_RETURN(std::string body,
                   ValidateText(request.body(), {"body", kMaxMessage, true, true}));
  const std::string pair_key = keys::PagePair(page, member);
  Locked lock({&Lock(caller.member_id), &Lock(member)});
  ASSIGN_OR_RETURN(auto earlier,
                   Replay(caller.member_id, request.client_message_id(), RequestHash(request)));
  if (earlier.has_value()) return PrepareSend(caller, request, response).status();
  auto existing = store_->GetId(store_->conversations(), pair_key);
  if (!existing.ok() && !absl::IsNotFound(existing.status())) return existing.status();
  storage::v1::ConversationRecord record;
  if (existing.ok()) {
    ASSIGN_OR_RETURN(record, store_->GetConversation(*existing));
  }

  PageSendFacts page_facts;
  page_facts.page_exists = facts.exists;
  page_facts.sender_is_admin = caller_is_admin;
  page_facts.recipient_follows_page = facts.member_follows;
  page_facts.recipient_wrote_first = existing.ok() && record.member_wrote();
  const Decision decision = as_page ? DecideFromPage(page_facts) : DecideToPage(page_facts);
  if (!decision.allowed()) return decision.status;

  const absl::Time now = clock_->Now();
  Write write(this);
  if (!existing.ok()) {
    ASSIGN_OR_RETURN(ConversationId id, NewConversationId(page));  // with its PagePair
    auto* c = record.mutable_conversation();
    c->set_conversation_id(FormatMemberId(id));
    c->set_kind(v1::CONVERSATION_KIND_PAGE);
    c->set_page_id(FormatMemberId(page));
    c->add_participant_ids(FormatMemberId(member));
    for (MemberId admin : facts.admins) {
      c->add_participant_ids(FormatMemberId(admin));
      record.add_page_admin_ids(FormatMemberId(admin));
    }
    SetTimestamp(c->mutable_create_time(), now);
    write.batch().Put(store_->conversations(), pair_key, MessagingStore::EncodeId(id));
  }
  if (as_page) {
    write.SendAsPage(FormatMemberId(page));
  } else {
    record.set_member_wrote(true);
  }
  ASSIGN_OR_RETURN(v1::Message message, write.Append(&record, caller.member_id, body, request,
                                                     request.client_message_id(), now,
                                                     [](MemberId) { return v1::FOLDER_FOCUSED; }));
  RETURN_IF_ERROR(write.Commit(record));
  sent_.Add({{"kind", OutcomeName(decision.outcome)}}).Increment();
  *response->mutable_message() = message;
  auto state = store_->GetState(caller.member_id, ParseIdUnchecked(message.conversation_id()));
  FillConversation(caller.member_id, record, state.ok() ? &*state : nullptr,
                   response->mutable_conversation());
  return absl::OkStatus();
}

}  // namespace liaison::messaging
