// liaisonctl's command tree. Each Add*Commands registers a group of commands
// on the top-level app. A parsed command hands its action to the Runner,
// which main runs once parsing is over, so that no call to a service (and no
// exit code but CLI11's) comes out of the parser.
#ifndef LIAISON_TOOLS_LIAISONCTL_COMMANDS_H_
#define LIAISON_TOOLS_LIAISONCTL_COMMANDS_H_

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "liaison/messaging/v1/messaging.pb.h"
#include "tools/liaisonctl/client.h"

namespace liaison::ctl {

class Runner final {
 public:
  explicit Runner(Cli* cli) : cli_(cli) {}

  Cli& cli() { return *cli_; }

  // When `command` is the one given, `action` runs as `actor` (decided once
  // the arguments are known, for commands whose actor depends on them).
  void On(CLI::App* command, Actor actor, std::function<absl::Status()> action);
  void On(CLI::App* command, std::function<Actor()> actor, std::function<absl::Status()> action);

  // Runs the parsed command's action: the exit code (see client.h).
  int Run();

 private:
  Cli* cli_;
  std::function<Actor()> actor_;
  std::function<absl::Status()> action_;
};

// Help groups, in the order `liaisonctl --help` shows them.
inline constexpr char kGroupPeople[] = "Members, pages and settings";
inline constexpr char kGroupNetwork[] = "Connections and blocks";
inline constexpr char kGroupMessages[] = "Messages";
inline constexpr char kGroupCredits[] = "InMail credits";
inline constexpr char kGroupDev[] = "Development";

void AddTokenCommand(CLI::App& app, Runner& runner);
void AddMemberCommands(CLI::App& app, Runner& runner);
void AddNetworkCommands(CLI::App& app, Runner& runner);
void AddSendCommands(CLI::App& app, Runner& runner);
void AddInboxCommands(CLI::App& app, Runner& runner);
void AddStateCommands(CLI::App& app, Runner& runner);
void AddCreditCommands(CLI::App& app, Runner& runner);
void AddWatchCommand(CLI::App& app, Runner& runner);

// --limit and --page-token, for the commands that list.
struct Paging {
  int limit = 0;  // 0: the service's default page size
  std::string page_token;
};
void AddPaging(CLI::App* command, Paging* paging);

// `status` with " (<note>)" added to its message; code and payloads (and so
// the exit code) stay.
absl::Status WithNote(const absl::Status& status, absl::string_view note);

// When a write fails in a way that leaves its fate unknown (the answer was
// lost, or the service may have stored it), adds to the message how to
// retry safely: `flag` with the idempotency key used.
absl::Status WithRetryHint(const absl::Status& status, absl::string_view flag,
                           const std::string& key);

// Prints `response` as JSON when --json is on; true if it did.
bool PrintedJson(Cli& cli, const google::protobuf::Message& response);

// A conversation in a few words for people: "@ben", "group "Offsite": @ben,
// @cat", "InMail "A role" from @rex", "page Acme". The acting member is left
// out of the names when known. `with_kind` false drops the leading kind
// word, for tables that show the kind in a column of its own.
std::string DescribeConversation(Cli& cli, const messaging::v1::Conversation& conversation,
                                 bool with_kind = true);

// Looks up, in one batch, every member the conversations name (so a list
// costs one lookup, not one per row).
void PrefetchParticipants(
    Cli& cli, const google::protobuf::RepeatedPtrField<messaging::v1::Conversation>& conversations);

// Who wrote a message: "@ana", or the page's name for a page's message.
std::string DescribeSender(Cli& cli, const messaging::v1::Message& message);

}  // namespace liaison::ctl

#endif  // LIAISON_TOOLS_LIAISONCTL_COMMANDS_H_
