// liaisonctl: the Liaison command line (docs/liaisonctl.md). Wiring only:
// the global flags, the command groups, parsing, and the exit code.
//   liaisonctl --as ana invite ben
//   liaisonctl --as ben accept ana
//   liaisonctl --as ana send ben "Lunch tomorrow?"
//   liaisonctl --as ben inbox
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "tools/liaisonctl/client.h"
#include "tools/liaisonctl/commands.h"

namespace {

constexpr char kGlobal[] = "Global options (anywhere on the line)";

// tools/dev.sh adds LIAISON_PORT_OFFSET to every port of a local run, so the
// default addresses (the local run's) move with it; --identity and the like,
// or their variables, still win. False, with a message, if it is not a whole
// number that keeps every port in 1..65535.
bool ApplyPortOffset(liaison::ctl::Options* o) {
  const char* env = std::getenv("LIAISON_PORT_OFFSET");
  if (env == nullptr || *env == '\0') return true;
  int offset = 0;
  std::string* addresses[] = {&o->identity_address, &o->messaging_address, &o->credits_address,
                              &o->privacy_address};
  bool valid = absl::SimpleAtoi(env, &offset);
  for (std::string* address : addresses) {
    const size_t colon = address->rfind(':');
    int port = 0;
    if (!valid || !absl::SimpleAtoi(address->substr(colon + 1), &port)) break;
    port += offset;
    valid = port >= 1 && port <= 65535;
    *address = absl::StrCat(address->substr(0, colon + 1), port);
  }
  if (!valid) {
    std::cerr << "liaisonctl: LIAISON_PORT_OFFSET \"" << env
              << "\" is not a number that keeps the ports between 1 and 65535" << std::endl;
  }
  return valid;
}

void AddGlobalFlags(CLI::App& app, liaison::ctl::Options* o) {
  auto* as = app.add_option("--as", o->as_member,
                            "Act as this member (id or handle): mints a 15-minute token from the "
                            "signing key (development)");
  auto* as_service =
      app.add_option("--as-service", o->as_service,
                     "Act as this service (token sub \"svc:<name>\"), e.g. for internal methods");
  auto* token = app.add_option("--token", o->token,
                               "Send this bearer token (JWT) as is; without --as, --as-service "
                               "or --token, $LIAISON_TOKEN is used");
  as->excludes(as_service)->excludes(token);
  as_service->excludes(token);
  app.add_option("--signing-key-file", o->signing_key_file,
                 "HS256 key file for minting tokens [default: .liaison/signing.key if present]")
      ->envname("LIAISON_SIGNING_KEY_FILE");
  app.add_option("--identity", o->identity_address, "identity service host:port")
      ->envname("LIAISON_IDENTITY_ADDRESS")
      ->capture_default_str();
  app.add_option("--messaging", o->messaging_address, "messaging service host:port")
      ->envname("LIAISON_MESSAGING_ADDRESS")
      ->capture_default_str();
  app.add_option("--credits", o->credits_address, "credits service host:port")
      ->envname("LIAISON_CREDITS_ADDRESS")
      ->capture_default_str();
  app.add_option("--privacy", o->privacy_address, "privacy service host:port")
      ->envname("LIAISON_PRIVACY_ADDRESS")
      ->capture_default_str();
  app.add_option("--shard-map", o->shard_map_file,
                 "Shard map file: calls to the services it names go to the acting member's "
                 "shard (instead of --privacy and --credits)")
      ->envname("LIAISON_SHARD_MAP");
  app.add_option("--timeout", o->timeout, "Deadline of each call (10s, 1m, ...)")
      ->envname("LIAISON_TIMEOUT")
      ->capture_default_str();
  app.add_flag("--json", o->json,
               "Print the response as JSON (proto3 mapping); watch prints one object per line");
  app.add_option("--tls-ca-file", o->tls_ca_file, "PEM CA bundle: use TLS, checking the servers")
      ->envname("LIAISON_TLS_CA_FILE");
  app.add_option("--tls-cert-file", o->tls_cert_file, "PEM client certificate (mTLS)")
      ->envname("LIAISON_TLS_CERT_FILE");
  app.add_option("--tls-key-file", o->tls_key_file, "PEM client key (mTLS)")
      ->envname("LIAISON_TLS_KEY_FILE");
  for (CLI::Option* option : app.get_options()) {
    if (option->get_name() != "--help") option->group(kGlobal);
  }
}

}  // namespace

int main(int argc, char** argv) {
  liaison::ctl::Options options;
  liaison::ctl::Cli cli(&options);
  liaison::ctl::Runner runner(&cli);

  CLI::App app{"The Liaison command line: members, connections, messages, InMail and credits.",
               "liaisonctl"};
  // Global flags may follow the command (`liaisonctl inbox --as ben --json`).
  app.fallthrough();
  app.require_subcommand(1);
  // Inherited by every command's --help.
  app.footer(
      "Global options (--as, --token, --json, --timeout, service addresses) go anywhere on the "
      "line: see liaisonctl --help. Reference: docs/liaisonctl.md");
  if (!ApplyPortOffset(&options)) return 2;
  AddGlobalFlags(app, &options);
  liaison::ctl::AddMemberCommands(app, runner);
  liaison::ctl::AddNetworkCommands(app, runner);
  liaison::ctl::AddSendCommands(app, runner);
  liaison::ctl::AddInboxCommands(app, runner);
  liaison::ctl::AddStateCommands(app, runner);
  liaison::ctl::AddCreditCommands(app, runner);
  liaison::ctl::AddWatchCommand(app, runner);
  liaison::ctl::AddTokenCommand(app, runner);
  app.footer(
      "Members are given by id or handle (ben, @ben). Exit codes: 0 done, 1 a service said no "
      "(stderr: \"liaisonctl: CODE: message\"), 2 a usage or setup error.\n\n"
      "Examples:\n"
      "  liaisonctl member create --handle ana --name \"Ana Lima\" --email ana@example.com\n"
      "  liaisonctl --as ana invite ben --note \"We met at the meetup\"\n"
      "  liaisonctl --as ben accept ana\n"
      "  liaisonctl --as ana send ben \"Lunch tomorrow?\"\n"
      "  liaisonctl --as ben inbox\n"
      "  liaisonctl --as ben watch\n\n"
      "Reference: docs/liaisonctl.md");

  if (argc == 1) {
    std::cout << app.help();
    return 0;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();  // the help of the command being parsed
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    std::cout << app.help("", CLI::AppFormatMode::All);
    return 0;
  } catch (const CLI::ParseError& e) {
    std::string message = e.what();
    // CLI11 takes an unknown command for a missing one.
    if (app.get_subcommands().empty() && !app.remaining().empty()) {
      message = "unknown command \"" + app.remaining().front() + "\"";
    }
    for (char& c : message) {
      if (c == '\n') c = ' ';
    }
    std::cerr << "liaisonctl: " << message << " (see --help)" << std::endl;
    return 2;
  }
  return runner.Run();
}
