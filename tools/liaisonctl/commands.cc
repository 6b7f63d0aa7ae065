#include "tools/liaisonctl/commands.h"

#include <vector>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tools/liaisonctl/output.h"

namespace liaison::ctl {

void Runner::On(CLI::App* command, Actor actor, std::function<absl::Status()> action) {
  std::function<Actor()> fixed = [actor] { return actor; };
  On(command, std::move(fixed), std::move(action));
}

void Runner::On(CLI::App* command, std::function<Actor()> actor,
                std::function<absl::Status()> action) {
  command->callback([this, actor = std::move(actor), action = std::move(action)] {
    // CLI11 runs the innermost command's callback first (`settings set`
    // before `settings`): the first one set is the command given.
    if (action_) return;
    actor_ = actor;
    action_ = action;
  });
}

int Runner::Run() {
  if (!action_) {
    return Report(UsageError("give a command (see --help)"));
  }
  absl::Status status = cli_->Authenticate(actor_());
  if (status.ok()) status = action_();
  return Report(status);
}

void AddPaging(CLI::App* command, Paging* paging) {
  command->add_option("--limit", paging->limit, "At most this many (default: the service's page)")
      ->check(CLI::Range(1, 1000));
  command->add_option("--page-token", paging->page_token, "Continue a list where it stopped");
}

absl::Status WithNote(const absl::Status& status, absl::string_view note) {
  absl::Status out(status.code(), absl::StrCat(status.message(), " (", note, ")"));
  status.ForEachPayload(
      [&out](absl::string_view url, const absl::Cord& payload) { out.SetPayload(url, payload); });
  return out;
}

absl::Status WithRetryHint(const absl::Status& status, absl::string_view flag,
                           const std::string& key) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kCancelled:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kInternal:
      return WithNote(status, absl::StrCat("to retry safely: ", flag, " ", key));
    default:
      return status;
  }
}

bool PrintedJson(Cli& cli, const google::protobuf::Message& response) {
  if (!cli.json()) return false;
  PrintJson(response);
  return true;
}

void PrefetchParticipants(
    Cli& cli,
    const google::protobuf::RepeatedPtrField<messaging::v1::Conversation>& conversations) {
  std::vector<std::string> ids;
  for (const auto& c : conversations) {
    ids.insert(ids.end(), c.participant_ids().begin(), c.participant_ids().end());
    if (c.has_last_message()) ids.push_back(c.last_message().sender_id());
    if (c.has_inmail()) {
      ids.push_back(c.inmail().sender_id());
      ids.push_back(c.inmail().recipient_id());
    }
  }
  cli.PrefetchMembers(ids);
}

std::string DescribeSender(Cli& cli, const messaging::v1::Message& message) {
  if (!message.sender_page_id().empty()) return cli.PageLabel(message.sender_page_id());
  return cli.MemberLabel(message.sender_id());
}

std::string DescribeConversation(Cli& cli, const messaging::v1::Conversation& c, bool with_kind) {
  const std::string& me = cli.acting_member();
  std::vector<std::string> ids(c.participant_ids().begin(), c.participant_ids().end());
  ids.push_back(c.inmail().sender_id());
  ids.push_back(c.inmail().recipient_id());
  cli.PrefetchMembers(ids);  // one lookup for all the names below
  std::vector<std::string> others;
  for (const std::string& id : c.participant_ids()) {
    if (id != me) others.push_back(cli.MemberLabel(id));
  }
  const std::string names = absl::StrJoin(others, ", ");
  switch (c.kind()) {
    case messaging::v1::CONVERSATION_KIND_GROUP:
      return absl::StrCat(with_kind ? "group " : "",
                          c.name().empty() ? "" : absl::StrCat("\"", c.name(), "\": "), names);
    case messaging::v1::CONVERSATION_KIND_INMAIL: {
      const auto& inmail = c.inmail();
      const std::string who = inmail.sender_id() == me
                                  ? absl::StrCat("to ", cli.MemberLabel(inmail.recipient_id()))
                                  : absl::StrCat("from ", cli.MemberLabel(inmail.sender_id()));
      return absl::StrCat(with_kind ? "InMail " : "", "\"", inmail.subject(), "\" ", who);
    }
    case messaging::v1::CONVERSATION_KIND_PAGE:
      // A member sees the page alone; its admins also see the member.
      return absl::StrCat(with_kind ? "page " : "", cli.PageLabel(c.page_id()),
                          others.empty() ? "" : absl::StrCat(" with ", names));
    default:
      return names;
  }
}

}  // namespace liaison::ctl
