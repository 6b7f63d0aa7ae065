// Reading: the inbox by folder, one conversation's messages, read state and
// unread counts.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "tools/liaisonctl/commands.h"
#include "tools/liaisonctl/output.h"

namespace liaison::ctl {
namespace {

namespace mv = messaging::v1;

std::string LastMessage(Cli& cli, const mv::Conversation& c) {
  if (!c.has_last_message()) return "";
  const auto& m = c.last_message();
  const std::string who = !m.sender_id().empty() && m.sender_id() == cli.acting_member()
                              ? "you"
                              : DescribeSender(cli, m);
  return absl::StrCat(who, ": ", Snippet(m.body(), 40));
}

void AddInbox(CLI::App& app, Runner& runner) {
  struct Args {
    std::string folder = "focused";
    bool unread = false;
    bool starred = false;
    Paging paging;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("inbox", "Your conversations in a folder, newest first");
  cmd->group(kGroupMessages);
  cmd->add_option("--folder", args->folder, Choices(mv::Folder_descriptor()))
      ->capture_default_str();
  auto* unread = cmd->add_flag("--unread", args->unread, "Only conversations with unread messages");
  cmd->add_flag("--starred", args->starred, "Only starred conversations")->excludes(unread);
  AddPaging(cmd, &args->paging);
  runner.On(cmd, Actor::kMember, [&runner, args]() -> absl::Status {
    Cli& cli = runner.cli();
    auto folder = ParseEnum<mv::Folder>(args->folder, "folder");
    if (!folder.ok()) return folder.status();
    mv::ListConversationsRequest request;
    request.set_folder(*folder);
    request.set_filter(args->unread    ? mv::FILTER_UNREAD
                       : args->starred ? mv::FILTER_STARRED
                                       : mv::FILTER_UNSPECIFIED);
    request.set_page_size(args->paging.limit);
    request.set_page_token(args->paging.page_token);
    mv::ListConversationsResponse response;
    auto status = cli.Call(&MessagingStub::ListConversations, request, &response);
    if (!status.ok()) return status;
    if (PrintedJson(cli, response)) return absl::OkStatus();
    PrefetchParticipants(cli, response.conversations());
    Table table({"CONVERSATION", "KIND", "WITH", "UNREAD", "LAST MESSAGE", "WHEN"});
    for (const auto& c : response.conversations()) {
      table.Add({c.conversation_id(), ShortName(c.kind()), DescribeConversation(cli, c, false),
                 absl::StrCat(c.state().unread_count()), LastMessage(cli, c),
                 Ago(c.last_activity_time())});
    }
    table.Print(std::cout, absl::StrCat("No conversations in ", ShortName(*folder),
                                        args->unread ? " (unread)" : "",
                                        args->starred ? " (starred)" : "", "."));
    PrintMoreHint(response.next_page_token());
    return absl::OkStatus();
  });
}

void PrintMessage(Cli& cli, const mv::Message& m) {
  const std::string prefix = absl::StrCat("#", m.sequence(), "  ", FormatTime(m.send_time()), "  ",
                                          DescribeSender(cli, m), "  ");
  // Further lines of a body line up under its first.
  const std::string body =
      absl::StrReplaceAll(m.body(), {{"\n", "\n" + std::string(prefix.size(), ' ')}});
  std::cout << prefix << body << "\n";
}

void AddShow(CLI::App& app, Runner& runner) {
  struct Args {
    std::string conversation;
    int limit = 20;
    int64_t before = 0;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("show", "A conversation's latest messages, oldest first");
  cmd->group(kGroupMessages);
  cmd->add_option("conversation", args->conversation, "Conversation id")->required();
  cmd->add_option("--limit", args->limit, "How many messages")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_option("--before", args->before, "Only messages before this number (older pages)");
  runner.On(cmd, Actor::kMember, [&runner, args]() -> absl::Status {
    Cli& cli = runner.cli();
    mv::ListMessagesRequest request;
    request.set_conversation_id(args->conversation);
    request.set_direction(mv::DIRECTION_OLDER);
    request.set_before_sequence(args->before);
    request.set_page_size(args->limit);
    mv::ListMessagesResponse response;
    auto status = cli.Call(&MessagingStub::ListMessages, request, &response);
    if (!status.ok()) return status;
    if (PrintedJson(cli, response)) return absl::OkStatus();
    mv::GetConversationRequest get;
    get.set_conversation_id(args->conversation);
    mv::GetConversationResponse conversation;
    status = cli.Call(&MessagingStub::GetConversation, get, &conversation);
    if (!status.ok()) return status;
    const auto& c = conversation.conversation();
    std::cout << "Conversation " << c.conversation_id() << " (" << ShortName(c.kind())
              << "): " << DescribeConversation(cli, c);
    if (c.kind() == mv::CONVERSATION_KIND_INMAIL)
      std::cout << ", " << ShortName(c.inmail().status());
    std::cout << "\n";
    std::vector<std::string> senders;
    for (const auto& m : response.messages()) senders.push_back(m.sender_id());
    cli.PrefetchMembers(senders);
    // The service answers newest first; a conversation reads oldest first.
    for (int i = response.messages_size() - 1; i >= 0; --i) {
      PrintMessage(cli, response.messages(i));
    }
    if (response.messages_size() == 0) std::cout << "No messages.\n";
    std::cout << std::flush;
    if (response.has_more() && response.messages_size() > 0) {
      std::cerr << "(older: add --before "
                << response.messages(response.messages_size() - 1).sequence() << ")" << std::endl;
    }
    return absl::OkStatus();
  });
}

void AddRead(CLI::App& app, Runner& runner) {
  struct Args {
    std::string conversation;
    int64_t up_to = 0;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "read", "Mark a conversation read (the others see a read receipt if both allow it)");
  cmd->group(kGroupMessages);
  cmd->add_option("conversation", args->conversation, "Conversation id")->required();
  cmd->add_option("--up-to", args->up_to, "Read up to this message number (default: all)");
  runner.On(cmd, Actor::kMember, [&runner, args]() -> absl::Status {
    mv::MarkConversationReadRequest request;
    request.set_conversation_id(args->conversation);
    request.set_sequence(args->up_to);
    mv::MarkConversationReadResponse response;
    auto status = runner.cli().Call(&MessagingStub::MarkConversationRead, request, &response);
    if (!status.ok() || PrintedJson(runner.cli(), response)) return status;
    std::cout << "Conversation " << args->conversation << " read up to #"
              << response.state().read_sequence() << " (" << response.state().unread_count()
              << " unread)" << std::endl;
    return absl::OkStatus();
  });
}

void AddUnread(CLI::App& app, Runner& runner) {
  CLI::App* cmd = app.add_subcommand("unread", "Unread conversations and messages per folder");
  cmd->group(kGroupMessages);
  runner.On(cmd, Actor::kMember, [&runner]() -> absl::Status {
    mv::GetUnreadCountsResponse response;
    auto status =
        runner.cli().Call(&MessagingStub::GetUnreadCounts, mv::GetUnreadCountsRequest(), &response);
    if (!status.ok() || PrintedJson(runner.cli(), response)) return status;
    Table table({"FOLDER", "CONVERSATIONS", "MESSAGES"});
    for (const auto& count : response.counts()) {
      if (count.conversations() == 0 && count.messages() == 0) continue;
      table.Add({ShortName(count.folder()), absl::StrCat(count.conversations()),
                 absl::StrCat(count.messages())});
    }
    table.Print(std::cout, "Nothing unread.");
    return absl::OkStatus();
  });
}

}  // namespace

void AddInboxCommands(CLI::App& app, Runner& runner) {
  AddInbox(app, runner);
  AddShow(app, runner);
  AddRead(app, runner);
  AddUnread(app, runner);
}

}  // namespace liaison::ctl
