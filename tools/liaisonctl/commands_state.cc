// A member's own view of a conversation: archive, star and mute (and their
// undoing), mark unread, delete for me, report, and the typing indicator.
#include <iostream>

#include "tools/liaisonctl/commands.h"
#include "tools/liaisonctl/output.h"

namespace liaison::ctl {
namespace {

namespace mv = messaging::v1;

// archive/unarchive, star/unstar, mute/unmute: one UpdateConversationState.
void AddToggle(CLI::App& app, Runner& runner, const std::string& verb, const std::string& undo,
               const std::string& path, const std::string& help) {
  for (bool on : {true, false}) {
    auto conversation = std::make_shared<std::string>();
    CLI::App* cmd = app.add_subcommand(on ? verb : undo, on ? help : "Undo " + verb);
    cmd->group(kGroupMessages);
    cmd->add_option("conversation", *conversation, "Conversation id")->required();
    runner.On(cmd, Actor::kMember, [&runner, conversation, path, on, verb]() -> absl::Status {
      mv::UpdateConversationStateRequest request;
      request.set_conversation_id(*conversation);
      auto* state = request.mutable_state();
      if (path == "archived") state->set_archived(on);
      if (path == "starred") state->set_starred(on);
      if (path == "muted") state->set_muted(on);
      request.mutable_update_mask()->add_paths(path);
      mv::UpdateConversationStateResponse response;
      auto status = runner.cli().Call(&MessagingStub::UpdateConversationState, request, &response);
      if (!status.ok() || PrintedJson(runner.cli(), response)) return status;
      std::cout << "Conversation " << *conversation << (on ? " " : " no longer ") << path
                << " (folder " << ShortName(response.state().folder()) << ")" << std::endl;
      return absl::OkStatus();
    });
  }
}

// A command that takes a conversation id and prints one line when done.
template <typename Request, typename Response>
void AddSimple(CLI::App& app, Runner& runner, const std::string& name, const std::string& help,
               grpc::Status (MessagingStub::*method)(grpc::ClientContext*, const Request&,
                                                     Response*),
               const std::string& done, std::function<void(Request*)> extra = nullptr,
               std::function<void(CLI::App*)> options = nullptr) {
  auto conversation = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(name, help);
  cmd->group(kGroupMessages);
  cmd->add_option("conversation", *conversation, "Conversation id")->required();
  if (options) options(cmd);
  runner.On(cmd, Actor::kMember, [&runner, conversation, method, done, extra]() -> absl::Status {
    Request request;
    request.set_conversation_id(*conversation);
    if (extra) extra(&request);
    Response response;
    auto status = runner.cli().Call(method, request, &response);
    if (!status.ok() || PrintedJson(runner.cli(), response)) return status;
    std::cout << "Conversation " << *conversation << " " << done << std::endl;
    return absl::OkStatus();
  });
}

}  // namespace

void AddStateCommands(CLI::App& app, Runner& runner) {
  AddToggle(app, runner, "archive", "unarchive", "archived",
            "Move a conversation to ARCHIVED (a new message brings it back)");
  AddToggle(app, runner, "star", "unstar", "starred", "Star a conversation (the STARRED filter)");
  AddToggle(app, runner, "mute", "unmute", "muted", "Stop a conversation's notifications");
  AddSimple<mv::MarkConversationUnreadRequest, mv::MarkConversationUnreadResponse>(
      app, runner, "mark-unread", "Mark a conversation unread again",
      &MessagingStub::MarkConversationUnread, "marked unread");
  AddSimple<mv::DeleteConversationRequest, mv::DeleteConversationResponse>(
      app, runner, "delete", "Delete a conversation for yourself (the others keep it)",
      &MessagingStub::DeleteConversation, "deleted for you");
  auto reason = std::make_shared<std::string>();
  AddSimple<mv::ReportConversationRequest, mv::ReportConversationResponse>(
      app, runner, "report", "Report a conversation as spam: it moves to SPAM and goes quiet",
      &MessagingStub::ReportConversation, "reported; it is in SPAM now",
      [reason](mv::ReportConversationRequest* r) { r->set_reason(*reason); },
      [reason](CLI::App* cmd) {
        cmd->add_option("--reason", *reason, "Why (up to 500 characters)");
      });
  AddSimple<mv::SendTypingIndicatorRequest, mv::SendTypingIndicatorResponse>(
      app, runner, "typing", "Tell the others you are typing (if both sides allow it)",
      &MessagingStub::SendTypingIndicator, ": the others see you typing");
}

}  // namespace liaison::ctl
