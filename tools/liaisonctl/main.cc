// liaisonctl: the Liaison command line. This first cut mints dev tokens:
//   liaisonctl token 42                      # a member token for member 42
//   liaisonctl token --service messaging     # a service token (svc:messaging)
// The signing key comes from --signing-key-file or LIAISON_SIGNING_KEY_FILE.
#include <CLI/CLI.hpp>
#include <iostream>
#include <string>

#include "absl/time/time.h"
#include "common/auth.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/ids.h"

namespace {

int Fail(const std::string& message) {
  std::cerr << "liaisonctl: " << message << std::endl;
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Liaison command line", "liaisonctl"};
  app.require_subcommand(1);

  std::string key_file;
  std::string member;
  std::string service;
  std::string ttl_text = "24h";
  CLI::App* token = app.add_subcommand("token", "Mint a dev token signed with the deployment key");
  token->add_option("member", member, "Member id the token acts as");
  token->add_option("--service", service, "Mint a service token (sub \"svc:<name>\") instead");
  token->add_option("--ttl", ttl_text, "Lifetime, e.g. 30m, 24h")->capture_default_str();
  token->add_option("--signing-key-file", key_file, "HS256 key file")
      ->envname(liaison::EnvName("signing-key-file"))
      ->required();
  if (auto exit_code = liaison::ParseFlags(app, argc, argv)) return *exit_code;

  absl::Duration ttl;
  if (!absl::ParseDuration(ttl_text, &ttl) || ttl <= absl::ZeroDuration()) {
    return Fail("--ttl \"" + ttl_text + "\" is not a positive duration such as 30m or 24h");
  }
  if (member.empty() == service.empty()) return Fail("give a member id or --service, not both");
  auto key = liaison::ReadSigningKey(key_file);
  if (!key.ok()) return Fail(std::string(key.status().message()));
  liaison::TokenMinter minter(*key, liaison::Clock::Real());
  absl::StatusOr<std::string> minted;
  if (!service.empty()) {
    minted = minter.MintService(service, ttl);
  } else {
    auto id = liaison::ParseMemberId(member, "member id");
    if (!id.ok()) return Fail(std::string(id.status().message()));
    minted = minter.MintMember(*id, ttl);
  }
  if (!minted.ok()) return Fail(std::string(minted.status().message()));
  std::cout << *minted << std::endl;
  return 0;
}
