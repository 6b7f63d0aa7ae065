// The connection graph: invitations, connections, blocks, relationships.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "tools/liaisonctl/commands.h"
#include "tools/liaisonctl/output.h"

namespace liaison::ctl {
namespace {

namespace id = identity::v1;

std::string DegreeText(id::Degree degree) {
  switch (degree) {
    case id::DEGREE_SELF:
      return "you";
    case id::DEGREE_FIRST:
      return "1st (connected)";
    case id::DEGREE_SECOND:
      return "2nd";
    case id::DEGREE_THIRD:
      return "3rd";
    case id::DEGREE_OUT_OF_NETWORK:
      return "out of network";
    default:
      return "";
  }
}

// A command that takes one member and makes one identity call whose human
// output is a sentence about that member.
template <typename Request, typename Response>
void AddMemberAction(CLI::App& app, Runner& runner, const std::string& name,
                     const std::string& help,
                     grpc::Status (IdentityStub::*method)(grpc::ClientContext*, const Request&,
                                                          Response*),
                     void (*fill)(const std::string& member_id, Request*),
                     std::string (*say)(const std::string& label, const Response&)) {
  auto member = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(name, help);
  cmd->group(kGroupNetwork);
  cmd->add_option("member", *member, "Member id or handle")->required();
  runner.On(cmd, Actor::kMember, [&runner, member, method, fill, say]() -> absl::Status {
    Cli& cli = runner.cli();
    auto member_id = cli.ResolveMember(*member);
    if (!member_id.ok()) return member_id.status();
    // Named before the call: after a block the member is hidden.
    const std::string label = cli.MemberLabel(*member_id);
    Request request;
    fill(*member_id, &request);
    Response response;
    auto status = cli.Call(method, request, &response);
    if (!status.ok()) return status;
    if (PrintedJson(cli, response)) return absl::OkStatus();
    std::cout << say(label, response) << std::endl;
    return absl::OkStatus();
  });
}

void AddInvite(CLI::App& app, Runner& runner) {
  struct Args {
    std::string member;
    id::SendInvitationRequest request;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("invite", "Invite a member to connect");
  cmd->group(kGroupNetwork);
  cmd->add_option("member", args->member, "Member id or handle")->required();
  cmd->add_option("--note", *args->request.mutable_note(),
                  "A note (300 characters premium, 200 basic)");
  cmd->add_option("--email", *args->request.mutable_recipient_email(),
                  "Their email, for members who accept invitations only from people who know it");
  runner.On(cmd, Actor::kMember, [&runner, args]() -> absl::Status {
    Cli& cli = runner.cli();
    auto member_id = cli.ResolveMember(args->member);
    if (!member_id.ok()) return member_id.status();
    args->request.set_recipient_id(*member_id);
    id::SendInvitationResponse response;
    auto status = cli.Call(&IdentityStub::SendInvitation, args->request, &response);
    if (!status.ok()) return status;
    if (PrintedJson(cli, response)) return absl::OkStatus();
    if (response.connected()) {
      std::cout << "Connected with " << cli.MemberLabel(*member_id)
                << " (they had invited you already)" << std::endl;
    } else {
      std::cout << "Invited " << cli.MemberLabel(*member_id) << "; the invitation is pending"
                << std::endl;
    }
    return absl::OkStatus();
  });
}

void AddInvitations(CLI::App& app, Runner& runner) {
  struct Args {
    bool outgoing = false;
    Paging paging;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd =
      app.add_subcommand("invitations", "Invitations waiting for you (or --outgoing: yours)");
  cmd->group(kGroupNetwork);
  cmd->add_flag("--outgoing", args->outgoing, "Those you sent that are still pending");
  AddPaging(cmd, &args->paging);
  runner.On(cmd, Actor::kMember, [&runner, args]() -> absl::Status {
    Cli& cli = runner.cli();
    id::ListInvitationsRequest request;
    request.set_direction(args->outgoing ? id::INVITATION_DIRECTION_OUTGOING
                                         : id::INVITATION_DIRECTION_INCOMING);
    request.set_page_size(args->paging.limit);
    request.set_page_token(args->paging.page_token);
    id::ListInvitationsResponse response;
    auto status = cli.Call(&IdentityStub::ListInvitations, request, &response);
    if (!status.ok()) return status;
    if (PrintedJson(cli, response)) return absl::OkStatus();
    std::vector<std::string> ids;
    for (const auto& i : response.invitations()) {
      ids.push_back(args->outgoing ? i.recipient_id() : i.sender_id());
    }
    cli.PrefetchMembers(ids);
    Table table({args->outgoing ? "TO" : "FROM", "ID", "SENT", "NOTE"});
    for (size_t i = 0; i < ids.size(); ++i) {
      const auto& invitation = response.invitations(static_cast<int>(i));
      table.Add({cli.MemberLabel(ids[i]), ids[i], Ago(invitation.create_time()),
                 Snippet(invitation.note(), 60)});
    }
    table.Print(std::cout, args->outgoing ? "No pending invitations sent."
                                          : "No invitations waiting for you.");
    PrintMoreHint(response.next_page_token());
    return absl::OkStatus();
  });
}

void AddResponses(CLI::App& app, Runner& runner) {
  struct Args {
    std::string member;
    bool dont_know = false;
  };
  for (bool accept : {true, false}) {
    auto args = std::make_shared<Args>();
    CLI::App* cmd = app.add_subcommand(accept ? "accept" : "ignore",
                                       accept ? "Accept a member's invitation: you are connected"
                                              : "Ignore a member's invitation (they are not told)");
    cmd->group(kGroupNetwork);
    cmd->add_option("member", args->member, "Who invited you: id or handle")->required();
    if (!accept) {
      cmd->add_flag("--dont-know", args->dont_know,
                    "Answer \"I don't know them\": they may not invite you again");
    }
    runner.On(cmd, Actor::kMember, [&runner, args, accept]() -> absl::Status {
      Cli& cli = runner.cli();
      auto member_id = cli.ResolveMember(args->member);
      if (!member_id.ok()) return member_id.status();
      id::RespondToInvitationRequest request;
      request.set_sender_id(*member_id);
      request.set_response(accept            ? id::INVITATION_RESPONSE_ACCEPT
                           : args->dont_know ? id::INVITATION_RESPONSE_I_DONT_KNOW
                                             : id::INVITATION_RESPONSE_IGNORE);
      id::RespondToInvitationResponse response;
      auto status = cli.Call(&IdentityStub::RespondToInvitation, request, &response);
      if (!status.ok()) return status;
      if (PrintedJson(cli, response)) return absl::OkStatus();
      const std::string who = cli.MemberLabel(*member_id);
      std::cout << (response.connected() ? "Connected with " + who
                                         : "Ignored the invitation from " + who)
                << std::endl;
      return absl::OkStatus();
    });
  }
}

void AddConnections(CLI::App& app, Runner& runner) {
  auto paging = std::make_shared<Paging>();
  CLI::App* cmd = app.add_subcommand("connections", "Your 1st-degree connections");
  cmd->group(kGroupNetwork);
  AddPaging(cmd, paging.get());
  runner.On(cmd, Actor::kMember, [&runner, paging]() -> absl::Status {
    Cli& cli = runner.cli();
    id::ListConnectionsRequest request;
    request.set_page_size(paging->limit);
    request.set_page_token(paging->page_token);
    id::ListConnectionsResponse response;
    auto status = cli.Call(&IdentityStub::ListConnections, request, &response);
    if (!status.ok()) return status;
    if (PrintedJson(cli, response)) return absl::OkStatus();
    std::vector<std::string> ids;
    for (const auto& c : response.connections()) ids.push_back(c.member_id());
    cli.PrefetchMembers(ids);
    Table table({"MEMBER", "ID", "CONNECTED"});
    for (const auto& c : response.connections()) {
      table.Add({cli.MemberLabel(c.member_id()), c.member_id(), FormatTime(c.connect_time())});
    }
    table.Print(std::cout, "No connections yet.");
    if (!table.empty()) std::cout << response.total_count() << " in all" << std::endl;
    PrintMoreHint(response.next_page_token());
    return absl::OkStatus();
  });
}

void AddBlocked(CLI::App& app, Runner& runner) {
  auto paging = std::make_shared<Paging>();
  CLI::App* cmd = app.add_subcommand("blocked", "Members you have blocked");
  cmd->group(kGroupNetwork);
  AddPaging(cmd, paging.get());
  runner.On(cmd, Actor::kMember, [&runner, paging]() -> absl::Status {
    Cli& cli = runner.cli();
    id::ListBlockedMembersRequest request;
    request.set_page_size(paging->limit);
    request.set_page_token(paging->page_token);
    id::ListBlockedMembersResponse response;
    auto status = cli.Call(&IdentityStub::ListBlockedMembers, request, &response);
    if (!status.ok()) return status;
    if (PrintedJson(cli, response)) return absl::OkStatus();
    // Blocked members are hidden from the blocker too: ids only.
    Table table({"ID", "BLOCKED"});
    for (const auto& b : response.blocked_members()) {
      table.Add({b.member_id(), FormatTime(b.block_time())});
    }
    table.Print(std::cout, "You have blocked no one.");
    PrintMoreHint(response.next_page_token());
    return absl::OkStatus();
  });
}

void AddRelationship(CLI::App& app, Runner& runner) {
  auto member = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "relationship", "How you and a member are related: degree, mutual connections, blocks");
  cmd->group(kGroupNetwork);
  cmd->add_option("member", *member, "Member id or handle")->required();
  runner.On(cmd, Actor::kMember, [&runner, member]() -> absl::Status {
    Cli& cli = runner.cli();
    auto member_id = cli.ResolveMember(*member);
    if (!member_id.ok()) return member_id.status();
    id::GetRelationshipRequest request;
    request.set_other_member_id(*member_id);
    id::GetRelationshipResponse response;
    auto status = cli.Call(&IdentityStub::GetRelationship, request, &response);
    if (!status.ok()) return status;
    if (PrintedJson(cli, response)) return absl::OkStatus();
    const auto& r = response.relationship();
    const std::string blocked = r.blocked_by_member() ? "yes, you blocked them"
                                : r.blocked()         ? "yes"
                                                      : "no";
    PrintFields(
        std::cout,
        {{"member", absl::StrCat(cli.MemberLabel(*member_id), " (", *member_id, ")")},
         {"degree", DegreeText(r.degree())},
         {"mutual connections", r.blocked() ? "" : absl::StrCat(r.mutual_connection_count())},
         {"blocked", blocked},
         {"your tier", r.member_tier() ? ShortName(r.member_tier()) : ""},
         {"their tier", r.other_tier() ? ShortName(r.other_tier()) : ""},
         {"you invited them", r.invitation_pending() ? "yes, pending" : ""}});
    return absl::OkStatus();
  });
}

}  // namespace

void AddNetworkCommands(CLI::App& app, Runner& runner) {
  AddInvite(app, runner);
  AddInvitations(app, runner);
  AddResponses(app, runner);
  AddMemberAction<id::WithdrawInvitationRequest, id::WithdrawInvitationResponse>(
      app, runner, "withdraw", "Withdraw your pending invitation (no re-invite for 21 days)",
      &IdentityStub::WithdrawInvitation,
      [](const std::string& m, id::WithdrawInvitationRequest* r) { r->set_recipient_id(m); },
      [](const std::string& who, const id::WithdrawInvitationResponse&) {
        return "Withdrew the invitation to " + who;
      });
  AddConnections(app, runner);
  AddMemberAction<id::RemoveConnectionRequest, id::RemoveConnectionResponse>(
      app, runner, "disconnect", "Remove a connection", &IdentityStub::RemoveConnection,
      [](const std::string& m, id::RemoveConnectionRequest* r) { r->set_member_id(m); },
      [](const std::string& who, const id::RemoveConnectionResponse&) {
        return "No longer connected with " + who;
      });
  AddMemberAction<id::BlockMemberRequest, id::BlockMemberResponse>(
      app, runner, "block",
      "Block a member: no messages, invitations or profile either way (they are not told)",
      &IdentityStub::BlockMember,
      [](const std::string& m, id::BlockMemberRequest* r) { r->set_member_id(m); },
      [](const std::string& who, const id::BlockMemberResponse&) { return "Blocked " + who; });
  AddMemberAction<id::UnblockMemberRequest, id::UnblockMemberResponse>(
      app, runner, "unblock", "Unblock a member (blocking again needs 48 hours)",
      &IdentityStub::UnblockMember,
      [](const std::string& m, id::UnblockMemberRequest* r) { r->set_member_id(m); },
      [](const std::string& who, const id::UnblockMemberResponse&) { return "Unblocked " + who; });
  AddBlocked(app, runner);
  AddRelationship(app, runner);
}

}  // namespace liaison::ctl
