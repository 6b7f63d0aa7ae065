// Members (create, get, tier), company pages, and privacy settings.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/reflection.h>

#include <iostream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "tools/liaisonctl/commands.h"
#include "tools/liaisonctl/output.h"

namespace liaison::ctl {
namespace {

namespace id = identity::v1;
namespace pv = privacy::v1;

void PrintMember(const id::Member& m) {
  PrintFields(std::cout, {{"id", m.member_id()},
                          {"handle", "@" + m.handle()},
                          {"name", m.display_name()},
                          {"headline", m.headline()},
                          {"email", m.email()},
                          {"tier", ShortName(m.tier())},
                          {"billing since", FormatTime(m.billing_anchor_time())},
                          {"created", FormatTime(m.create_time())}});
}

void PrintPage(Cli& cli, const id::Page& p) {
  std::vector<std::string> admins;
  cli.PrefetchMembers({p.admin_member_ids().begin(), p.admin_member_ids().end()});
  for (const auto& admin : p.admin_member_ids()) admins.push_back(cli.MemberLabel(admin));
  PrintFields(std::cout, {{"id", p.page_id()},
                          {"name", p.name()},
                          {"followers", absl::StrCat(p.follower_count())},
                          {"admins", absl::StrJoin(admins, ", ")},
                          {"created", FormatTime(p.create_time())}});
}

std::string SettingName(const google::protobuf::FieldDescriptor* field) {
  return absl::StrReplaceAll(field->name(), {{"_", "-"}});
}

void PrintSettings(const pv::PrivacySettings& settings) {
  const auto* reflection = settings.GetReflection();
  std::vector<std::pair<std::string, std::string>> fields;
  for (int i = 0; i < settings.GetDescriptor()->field_count(); ++i) {
    const auto* field = settings.GetDescriptor()->field(i);
    if (field->name() == "member_id") continue;
    std::string value;
    if (field->type() == google::protobuf::FieldDescriptor::TYPE_BOOL) {
      value = reflection->GetBool(settings, field) ? "on" : "off";
    } else {
      value = ShortName(field->enum_type(), reflection->GetEnumValue(settings, field));
    }
    fields.emplace_back(SettingName(field), value);
  }
  PrintFields(std::cout, fields);
}

// Sets one NAME=VALUE on `request` (VALUE "default" resets the setting).
absl::Status ApplySetting(const std::string& assignment, pv::UpdateSettingsRequest* request) {
  const size_t eq = assignment.find('=');
  const auto* type = pv::PrivacySettings::descriptor();
  std::vector<std::string> names;
  for (int i = 0; i < type->field_count(); ++i) {
    if (type->field(i)->name() != "member_id") names.push_back(SettingName(type->field(i)));
  }
  const std::string name =
      absl::StrReplaceAll(absl::AsciiStrToLower(assignment.substr(0, eq)), {{"-", "_"}});
  const auto* field = type->FindFieldByName(name);
  if (field == nullptr || name == "member_id") {
    return UsageError(absl::StrCat("unknown setting \"", assignment.substr(0, eq),
                                   "\"; one of: ", absl::StrJoin(names, ", ")));
  }
  if (eq == std::string::npos) {
    return UsageError(absl::StrCat("give ", SettingName(field), "=<value>"));
  }
  request->mutable_update_mask()->add_paths(field->name());
  const std::string value = absl::AsciiStrToLower(assignment.substr(eq + 1));
  if (value == "default") return absl::OkStatus();  // in the mask, left unset
  auto* settings = request->mutable_settings();
  if (field->type() == google::protobuf::FieldDescriptor::TYPE_BOOL) {
    bool on;
    if (value == "on" || value == "true" || value == "yes") {
      on = true;
    } else if (value == "off" || value == "false" || value == "no") {
      on = false;
    } else {
      return UsageError(
          absl::StrCat(SettingName(field), " is on or off (or default), not \"", value, "\""));
    }
    settings->GetReflection()->SetBool(settings, field, on);
    return absl::OkStatus();
  }
  auto number = ParseEnum(field->enum_type(), value, SettingName(field));
  if (!number.ok()) return number.status();
  settings->GetReflection()->SetEnumValue(settings, field, *number);
  return absl::OkStatus();
}

// `page follow` and `page unfollow`: one call on one page, and a sentence.
template <typename Request, typename Response>
void AddPageAction(CLI::App* page, Runner& runner, const char* name, const char* help,
                   grpc::Status (IdentityStub::*method)(grpc::ClientContext*, const Request&,
                                                        Response*),
                   const char* done) {
  auto page_id = std::make_shared<std::string>();
  CLI::App* cmd = page->add_subcommand(name, help);
  cmd->add_option("page", *page_id, "Page id")->required();
  runner.On(cmd, Actor::kMember, [&runner, page_id, method, done]() -> absl::Status {
    Request request;
    request.set_page_id(*page_id);
    Response response;
    auto status = runner.cli().Call(method, request, &response);
    if (!status.ok() || PrintedJson(runner.cli(), response)) return status;
    std::cout << done << runner.cli().PageLabel(*page_id) << " (page " << *page_id << ")"
              << std::endl;
    return absl::OkStatus();
  });
}

void AddMember(CLI::App& app, Runner& runner) {
  CLI::App* member = app.add_subcommand("member", "Create a member, show one, set a tier");
  member->group(kGroupPeople);
  member->require_subcommand(1);

  struct CreateArgs {
    id::CreateMemberRequest request;
  };
  auto create = std::make_shared<CreateArgs>();
  CLI::App* cmd = member->add_subcommand(
      "create", "Register a member (internal: a service token, minted when a key is present)");
  cmd->add_option("--handle", *create->request.mutable_handle(), "3-30 of a-z 0-9 -")->required();
  cmd->add_option("--name", *create->request.mutable_display_name(), "Display name")->required();
  cmd->add_option("--email", *create->request.mutable_email(), "Email address")->required();
  cmd->add_option("--headline", *create->request.mutable_headline(), "Profile headline");
  runner.On(cmd, Actor::kService, [&runner, create]() -> absl::Status {
    id::CreateMemberResponse response;
    auto status = runner.cli().Call(&IdentityStub::CreateMember, create->request, &response);
    if (!status.ok()) return status;
    if (PrintedJson(runner.cli(), response)) return absl::OkStatus();
    const auto& m = response.member();
    std::cout << "Created member " << m.member_id() << ": @" << m.handle() << " ("
              << m.display_name() << ")" << std::endl;
    return absl::OkStatus();
  });

  auto who = std::make_shared<std::string>();
  cmd = member->add_subcommand("get", "Show a member (your own email and billing too)");
  cmd->add_option("member", *who, "Member id or handle")->required();
  runner.On(cmd, Actor::kAny, [&runner, who]() -> absl::Status {
    id::GetMemberRequest request;
    auto member_id = runner.cli().ResolveMember(*who);
    if (!member_id.ok()) return member_id.status();
    request.set_member_id(*member_id);
    id::GetMemberResponse response;
    auto status = runner.cli().Call(&IdentityStub::GetMember, request, &response);
    if (!status.ok()) return status;
    if (PrintedJson(runner.cli(), response)) return absl::OkStatus();
    PrintMember(response.member());
    return absl::OkStatus();
  });

  struct TierArgs {
    std::string member, tier;
  };
  auto tier = std::make_shared<TierArgs>();
  cmd = member->add_subcommand(
      "tier", "Set a member's account tier (internal; premium tiers grant credits at once)");
  cmd->add_option("member", tier->member, "Member id or handle")->required();
  cmd->add_option("tier", tier->tier, Choices(id::AccountTier_descriptor()))->required();
  runner.On(cmd, Actor::kService, [&runner, tier]() -> absl::Status {
    id::SetAccountTierRequest request;
    auto value = ParseEnum<id::AccountTier>(tier->tier, "tier");
    if (!value.ok()) return value.status();
    auto member_id = runner.cli().ResolveMember(tier->member);
    if (!member_id.ok()) return member_id.status();
    request.set_member_id(*member_id);
    request.set_tier(*value);
    id::SetAccountTierResponse response;
    auto status = runner.cli().Call(&IdentityStub::SetAccountTier, request, &response);
    if (!status.ok()) return status;
    if (PrintedJson(runner.cli(), response)) return absl::OkStatus();
    std::cout << "@" << response.member().handle() << " (" << response.member().member_id()
              << ") is now " << ShortName(response.member().tier()) << std::endl;
    return absl::OkStatus();
  });
}

void AddPage(CLI::App& app, Runner& runner) {
  CLI::App* page = app.add_subcommand("page", "Company pages: create, show, follow");
  page->group(kGroupPeople);
  page->require_subcommand(1);

  struct CreateArgs {
    std::string name;
    std::vector<std::string> admins;
  };
  auto create = std::make_shared<CreateArgs>();
  CLI::App* cmd = page->add_subcommand("create", "Create a page; you are its first admin");
  cmd->add_option("--name", create->name, "1-100 characters")->required();
  cmd->add_option("--admin", create->admins, "A further admin (id or handle); repeatable");
  runner.On(cmd, Actor::kMember, [&runner, create]() -> absl::Status {
    id::CreatePageRequest request;
    request.set_name(create->name);
    auto admins = runner.cli().ResolveMembers(create->admins);
    if (!admins.ok()) return admins.status();
    for (const auto& admin : *admins) request.add_admin_member_ids(admin);
    id::CreatePageResponse response;
    auto status = runner.cli().Call(&IdentityStub::CreatePage, request, &response);
    if (!status.ok()) return status;
    if (PrintedJson(runner.cli(), response)) return absl::OkStatus();
    std::cout << "Created page " << response.page().page_id() << " \"" << response.page().name()
              << "\"" << std::endl;
    return absl::OkStatus();
  });

  auto page_id = std::make_shared<std::string>();
  cmd = page->add_subcommand("get", "Show a page (admins see its admins)");
  cmd->add_option("page", *page_id, "Page id")->required();
  runner.On(cmd, Actor::kAny, [&runner, page_id]() -> absl::Status {
    id::GetPageRequest request;
    request.set_page_id(*page_id);
    id::GetPageResponse response;
    auto status = runner.cli().Call(&IdentityStub::GetPage, request, &response);
    if (!status.ok()) return status;
    if (PrintedJson(runner.cli(), response)) return absl::OkStatus();
    PrintPage(runner.cli(), response.page());
    return absl::OkStatus();
  });

  AddPageAction<id::FollowPageRequest, id::FollowPageResponse>(
      page, runner, "follow", "Follow a page (it may then message you)", &IdentityStub::FollowPage,
      "Following ");
  AddPageAction<id::UnfollowPageRequest, id::UnfollowPageResponse>(
      page, runner, "unfollow", "Stop following a page", &IdentityStub::UnfollowPage,
      "No longer following ");
}

void AddSettings(CLI::App& app, Runner& runner) {
  CLI::App* settings = app.add_subcommand("settings", "Show your privacy settings, or set some");
  settings->group(kGroupPeople);
  runner.On(settings, Actor::kMember, [&runner]() -> absl::Status {
    pv::GetSettingsRequest request;
    pv::GetSettingsResponse response;
    auto status = runner.cli().Call(&PrivacyStub::GetSettings, request, &response);
    if (!status.ok()) return status;
    if (PrintedJson(runner.cli(), response)) return absl::OkStatus();
    PrintSettings(response.settings());
    return absl::OkStatus();
  });
  auto assignments = std::make_shared<std::vector<std::string>>();
  CLI::App* set = settings->add_subcommand(
      "set", "Change settings: NAME=VALUE ... (on/off, a choice, or default)");
  set->add_option("assignments", *assignments,
                  "e.g. open-profile=on who-can-invite=email-required inmail-acceptance=default")
      ->required();
  runner.On(set, Actor::kMember, [&runner, assignments]() -> absl::Status {
    pv::UpdateSettingsRequest request;
    for (const std::string& a : *assignments) {
      absl::Status applied = ApplySetting(a, &request);
      if (!applied.ok()) return applied;
    }
    pv::UpdateSettingsResponse response;
    auto status = runner.cli().Call(&PrivacyStub::UpdateSettings, request, &response);
    if (!status.ok()) return status;
    if (PrintedJson(runner.cli(), response)) return absl::OkStatus();
    PrintSettings(response.settings());
    return absl::OkStatus();
  });
}

}  // namespace

void AddMemberCommands(CLI::App& app, Runner& runner) {
  AddMember(app, runner);
  AddPage(app, runner);
  AddSettings(app, runner);
}

}  // namespace liaison::ctl
