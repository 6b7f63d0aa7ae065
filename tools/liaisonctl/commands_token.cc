// `liaisonctl token`: mints a dev token, for grpcurl, buf curl and scripts.
// Unchanged since the first liaisonctl (tools/dev.sh and the tests use it):
// its errors exit 2, and it prints the token alone.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/auth.h"
#include "common/clock.h"
#include "common/ids.h"
#include "tools/liaisonctl/commands.h"

namespace liaison::ctl {

void AddTokenCommand(CLI::App& app, Runner& runner) {
  struct Args {
    std::string member;
    std::string service;
    std::string ttl = "24h";
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "token", "Mint a dev token signed with the deployment key (member id or --service)");
  cmd->group(kGroupDev);
  cmd->add_option("member", args->member, "Member id the token acts as");
  cmd->add_option("--service", args->service, "Mint a service token (sub \"svc:<name>\") instead");
  cmd->add_option("--ttl", args->ttl, "Lifetime, e.g. 30m, 24h")->capture_default_str();
  runner.On(cmd, Actor::kNone, [&runner, args]() -> absl::Status {
    absl::Duration ttl;
    if (!absl::ParseDuration(args->ttl, &ttl) || ttl <= absl::ZeroDuration()) {
      return UsageError(
          absl::StrCat("--ttl \"", args->ttl, "\" is not a positive duration such as 30m or 24h"));
    }
    if (args->member.empty() && args->service.empty()) {
      return UsageError("give a member id or --service <name>");
    }
    if (!args->member.empty() && !args->service.empty()) {
      return UsageError("give a member id or --service, not both");
    }
    auto key = runner.cli().SigningKey();
    if (!key.ok()) return key.status();
    TokenMinter minter(*key, Clock::Real());
    absl::StatusOr<std::string> minted;
    if (!args->service.empty()) {
      minted = minter.MintService(args->service, ttl);
    } else {
      auto id = ParseMemberId(args->member, "member id");
      if (!id.ok()) return UsageError(id.status().message());
      minted = minter.MintMember(*id, ttl);
    }
    if (!minted.ok()) return UsageError(minted.status().message());
    std::cout << *minted << std::endl;
    return absl::OkStatus();
  });
}

}  // namespace liaison::ctl
