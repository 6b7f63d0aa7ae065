// Writing: messages (1:1, group, page, reply), InMail and the answer to one,
// and changes to a group. Every send carries a client_message_id so that a
// retry with the same --client-id never sends twice.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "tools/liaisonctl/commands.h"
#include "tools/liaisonctl/output.h"

namespace liaison::ctl {
namespace {

namespace mv = messaging::v1;

void AddSend(CLI::App& app, Runner& runner) {
  struct Args {
    std::vector<std::string> words;
    std::string conversation, page, as_page, group_name, client_id;
    bool group = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "send", "Send a message to a member, a new group, a conversation or a page");
  cmd->group(kGroupMessages);
  cmd->add_option(
         "args", args->words,
         "Recipients (ids or handles; one: 1:1, several: a new group) then the text "
         "(\"-\" reads stdin; a text starting with - needs -- before the recipients); with "
         "--conversation or --page, the text alone")
      ->required();
  cmd->add_option("--conversation", args->conversation, "Write into this conversation");
  cmd->add_option("--page", args->page, "Write to this company page");
  cmd->add_option("--as-page", args->as_page, "Write as this page (you must administer it)");
  cmd->add_option("--group-name", args->group_name, "Name of the new group");
  cmd->add_flag("--group", args->group,
                "Start a new group even with one recipient (several recipients always do)");
  cmd->add_option("--client-id", args->client_id,
                  "Idempotency key (default: a new random one); reuse it to retry safely");
  runner.On(cmd, Actor::kMember, [&runner, args]() -> absl::Status {
    Cli& cli = runner.cli();
    const std::vector<std::string> recipients(args->words.begin(), args->words.end() - 1);
    const int targets = !args->conversation.empty() + !args->page.empty() + !recipients.empty();
    if (targets != 1) {
      return UsageError(
          "give the recipients, --conversation or --page (one of them), then the text");
    }
    auto body = BodyText(args->words.back());
    if (!body.ok()) return body.status();
    if ((args->group || !args->group_name.empty()) && recipients.empty()) {
      return UsageError("--group and --group-name start a new group: give its members");
    }
    mv::SendMessageRequest request;
    request.set_as_page_id(args->as_page);
    request.set_body(*body);
    auto ids = cli.ResolveMembers(recipients);
    if (!ids.ok()) return ids.status();
    // The target is a oneof: set exactly the one asked for.
    if (!args->conversation.empty()) {
      request.set_conversation_id(args->conversation);
    } else if (!args->page.empty()) {
      request.set_page_id(args->page);
    } else if (ids->size() == 1 && !args->group && args->group_name.empty()) {
      request.set_recipient_id(ids->front());
    } else {
      auto* group = request.mutable_new_group();
      for (const auto& id : *ids) group->add_member_ids(id);
      group->set_name(args->group_name);
    }
    request.set_client_message_id(args->client_id.empty() ? Cli::NewClientId() : args->client_id);
    mv::SendMessageResponse response;
    auto status = cli.Call(&MessagingStub::SendMessage, request, &response);
    if (!status.ok()) return WithRetryHint(status, "--client-id", request.client_message_id());
    if (PrintedJson(cli, response)) return absl::OkStatus();
    std::cout << "Sent #" << response.message().sequence() << " to "
              << DescribeConversation(cli, response.conversation()) << " (conversation "
              << response.conversation().conversation_id() << ")" << std::endl;
    return absl::OkStatus();
  });
}

void AddInMail(CLI::App& app, Runner& runner) {
  struct Args {
    std::string member, subject, body, client_id;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "inmail", "Send an InMail to someone outside your network (premium; one credit)");
  cmd->group(kGroupMessages);
  cmd->add_option("member", args->member, "Recipient: id or handle")->required();
  cmd->add_option("--subject", args->subject, "Up to 200 characters")->required();
  cmd->add_option("--body", args->body, "Up to 2,000 characters (\"-\" reads stdin)")->required();
  cmd->add_option("--client-id", args->client_id,
                  "Idempotency key (default: a new random one); reuse it to retry safely");
  runner.On(cmd, Actor::kMember, [&runner, args]() -> absl::Status {
    Cli& cli = runner.cli();
    auto member_id = cli.ResolveMember(args->member);
    if (!member_id.ok()) return member_id.status();
    auto body = BodyText(args->body);
    if (!body.ok()) return body.status();
    mv::SendInMailRequest request;
    request.set_recipient_id(*member_id);
    request.set_subject(args->subject);
    request.set_body(*body);
    request.set_client_message_id(args->client_id.empty() ? Cli::NewClientId() : args->client_id);
    mv::SendInMailResponse response;
    auto status = cli.Call(&MessagingStub::SendInMail, request, &response);
    if (!status.ok()) return WithRetryHint(status, "--client-id", request.client_message_id());
    if (PrintedJson(cli, response)) return absl::OkStatus();
    const auto& c = response.conversation();
    std::cout << "InMail \"" << c.inmail().subject() << "\" sent to " << cli.MemberLabel(*member_id)
              << " (conversation " << c.conversation_id() << ", " << ShortName(c.inmail().status())
              << ")" << std::endl;
    return absl::OkStatus();
  });
}

void AddRespond(CLI::App& app, Runner& runner) {
  struct Args {
    std::string conversation, answer, body, client_id;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "respond", "Answer an InMail: respond <conversation> accept|decline [--body <reply>]");
  cmd->group(kGroupMessages);
  cmd->add_option("conversation", args->conversation, "The InMail's conversation id")->required();
  cmd->add_option("answer", args->answer, "accept or decline")
      ->required()
      ->check(CLI::IsMember({"accept", "decline"}));
  cmd->add_option("--body", args->body, "A reply, sent with the answer (\"-\" reads stdin)");
  cmd->add_option("--client-id", args->client_id,
                  "Idempotency key of the reply (default: a new random one)");
  runner.On(cmd, Actor::kMember, [&runner, args]() -> absl::Status {
    Cli& cli = runner.cli();
    mv::RespondToInMailRequest request;
    request.set_conversation_id(args->conversation);
    request.set_answer(args->answer == "accept" ? mv::IN_MAIL_ANSWER_ACCEPT
                                                : mv::IN_MAIL_ANSWER_DECLINE);
    auto body = BodyText(args->body);
    if (!body.ok()) return body.status();
    request.set_body(*body);
    request.set_client_message_id(args->client_id.empty() ? Cli::NewClientId() : args->client_id);
    mv::RespondToInMailResponse response;
    auto status = cli.Call(&MessagingStub::RespondToInMail, request, &response);
    if (!status.ok()) return WithRetryHint(status, "--client-id", request.client_message_id());
    if (PrintedJson(cli, response)) return absl::OkStatus();
    const auto& inmail = response.conversation().inmail();
    std::cout << (args->answer == "accept" ? "Accepted" : "Declined") << " the InMail \""
              << inmail.subject() << "\" from " << cli.MemberLabel(inmail.sender_id());
    if (response.has_message())
      std::cout << " and replied (#" << response.message().sequence() << ")";
    std::cout << std::endl;
    return absl::OkStatus();
  });
}

// group add|remove|rename and leave: changes to a conversation's members.
void AddGroup(CLI::App& app, Runner& runner) {
  struct Args {
    std::string conversation, name;
    std::vector<std::string> members;
  };
  auto args = std::make_shared<Args>();
  CLI::App* group = app.add_subcommand("group", "Change a group: add, remove, rename");
  group->group(kGroupMessages);
  group->require_subcommand(1);
  auto print = [&runner](const mv::Conversation& c) {
    std::cout << "Conversation " << c.conversation_id() << " is now "
              << DescribeConversation(runner.cli(), c) << std::endl;
  };

  CLI::App* cmd = group->add_subcommand("add", "Add your connections to a group");
  cmd->add_option("conversation", args->conversation, "Group conversation id")->required();
  cmd->add_option("members", args->members, "Ids or handles")->required();
  runner.On(cmd, Actor::kMember, [&runner, args, print]() -> absl::Status {
    mv::AddParticipantsRequest request;
    request.set_conversation_id(args->conversation);
    auto ids = runner.cli().ResolveMembers(args->members);
    if (!ids.ok()) return ids.status();
    for (const auto& id : *ids) request.add_member_ids(id);
    mv::AddParticipantsResponse response;
    auto status = runner.cli().Call(&MessagingStub::AddParticipants, request, &response);
    if (!status.ok() || PrintedJson(runner.cli(), response)) return status;
    print(response.conversation());
    return absl::OkStatus();
  });

  cmd = group->add_subcommand("remove", "Remove a member from a group");
  cmd->add_option("conversation", args->conversation, "Group conversation id")->required();
  cmd->add_option("members", args->members, "Id or handle")->required()->expected(1);
  runner.On(cmd, Actor::kMember, [&runner, args, print]() -> absl::Status {
    mv::RemoveParticipantRequest request;
    request.set_conversation_id(args->conversation);
    auto id = runner.cli().ResolveMember(args->members.front());
    if (!id.ok()) return id.status();
    request.set_member_id(*id);
    mv::RemoveParticipantResponse response;
    auto status = runner.cli().Call(&MessagingStub::RemoveParticipant, request, &response);
    if (!status.ok() || PrintedJson(runner.cli(), response)) return status;
    print(response.conversation());
    return absl::OkStatus();
  });

  cmd = group->add_subcommand("rename", "Rename a group");
  cmd->add_option("conversation", args->conversation, "Group conversation id")->required();
  cmd->add_option("name", args->name, "1-100 characters")->required();
  runner.On(cmd, Actor::kMember, [&runner, args, print]() -> absl::Status {
    mv::RenameConversationRequest request;
    request.set_conversation_id(args->conversation);
    request.set_name(args->name);
    mv::RenameConversationResponse response;
    auto status = runner.cli().Call(&MessagingStub::RenameConversation, request, &response);
    if (!status.ok() || PrintedJson(runner.cli(), response)) return status;
    print(response.conversation());
    return absl::OkStatus();
  });

  cmd = app.add_subcommand("leave", "Leave a group conversation");
  cmd->group(kGroupMessages);
  cmd->add_option("conversation", args->conversation, "Group conversation id")->required();
  runner.On(cmd, Actor::kMember, [&runner, args]() -> absl::Status {
    mv::LeaveConversationRequest request;
    request.set_conversation_id(args->conversation);
    mv::LeaveConversationResponse response;
    auto status = runner.cli().Call(&MessagingStub::LeaveConversation, request, &response);
    if (!status.ok() || PrintedJson(runner.cli(), response)) return status;
    std::cout << "Left conversation " << args->conversation << std::endl;
    return absl::OkStatus();
  });
}

}  // namespace

void AddSendCommands(CLI::App& app, Runner& runner) {
  AddSend(app, runner);
  AddInMail(app, runner);
  AddRespond(app, runner);
  AddGroup(app, runner);
}

}  // namespace liaison::ctl
