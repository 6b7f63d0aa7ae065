// liaisonctl against the four real binaries, as a person would use it: the
// whole story (two members connect and chat, a recruiter InMails a stranger
// who accepts and replies, the credit comes back, three chat as a group,
// someone blocks someone) driven only through the CLI, checking what it
// prints (human and --json), its exit codes and error lines, and `watch`
// following a member's events live until Ctrl-C.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <regex>

#include "tests/system/system_support.h"

namespace liaison::testing {
namespace {

std::string Address(int port) { return "127.0.0.1:" + std::to_string(port); }

// liaisonctl pointed at one set of services, minting tokens from `key`.
class Ctl final {
 public:
  Ctl(const std::string& key, int identity, int messaging, int credits, int privacy)
      : base_{LIAISON_CTL_BIN,    "--signing-key-file", key,
              "--identity",       Address(identity),    "--messaging",
              Address(messaging), "--credits",          Address(credits),
              "--privacy",        Address(privacy)} {}

  std::vector<std::string> Argv(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = base_;
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  CommandResult Run(const std::vector<std::string>& args) const { return RunCommand(Argv(args)); }

  // Runs a command that must succeed; returns what it printed.
  std::string Ok(const std::vector<std::string>& args) const {
    CommandResult result = Run(args);
    INFO(result.output);
    REQUIRE(result.exit_code == 0);
    return result.output;
  }

  // The same with --json: the response, parsed.
  nlohmann::json Json(std::vector<std::string> args) const {
    args.push_back("--json");
    return nlohmann::json::parse(Ok(args));
  }

 private:
  std::vector<std::string> base_;
};

// The conversation id in a line like "Sent #1 to @ben (conversation 123)".
std::string ConversationIn(const std::string& output) {
  std::smatch match;
  REQUIRE(std::regex_search(output, match, std::regex("conversation ([0-9]+)")));
  return match[1];
}

// A port nothing listens on (bound, then released).
int ClosedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
  socklen_t size = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  close(fd);
  return ntohs(address.sin_port);
}

TEST_CASE("liaisonctl drives the whole story against the four services") {
  TempDir dir;
  const std::string key = WriteKey(dir);
  MessagingDependencies deps = StartMessagingDependencies(dir, key);
  RunningService messaging = StartService(LIAISON_MESSAGING_BIN, dir.Sub("messaging"), key,
                                          dir.Sub("messaging.log"), deps.MessagingFlags());
  const Ctl ctl(key, deps.identity.grpc_port, messaging.grpc_port, deps.credits.grpc_port,
                deps.privacy.grpc_port);

  // Members, created with the service token liaisonctl mints itself.
  auto ana = ctl.Json(
      {"member", "create", "--handle", "ana", "--name", "Ana Lima", "--email", "ana@example.com"});
  CHECK(ana["member"]["handle"] == "ana");
  CHECK(ana["member"]["tier"] == "ACCOUNT_TIER_BASIC");
  for (const char* handle : {"ben", "cat", "rex", "sam"}) {
    const std::string out = ctl.Ok({"member", "create", "--handle", handle, "--name", handle,
                                    "--email", std::string(handle) + "@example.com"});
    CHECK(Contains(out, std::string(": @") + handle));
  }
  CHECK(Contains(ctl.Ok({"member", "tier", "rex", "recruiter-lite"}), "is now recruiter-lite"));

  // Ana connects with Ben and Cat (handles and ids both name a member).
  CHECK(Contains(ctl.Ok({"--as", "ana", "invite", "ben", "--note", "We met at the meetup"}),
                 "Invited @ben"));
  const std::string invitations = ctl.Ok({"--as", "ben", "invitations"});
  CHECK(Contains(invitations, "@ana"));
  CHECK(Contains(invitations, "We met at the meetup"));
  CHECK(Contains(ctl.Ok({"--as", "ben", "accept", "@ana"}), "Connected with @ana"));
  ctl.Ok({"--as", "ana", "invite", "cat"});
  ctl.Ok({"--as", "cat", "accept", ana["member"]["memberId"].get<std::string>()});
  CHECK(ctl.Json({"--as", "ana", "connections"})["totalCount"] == "2");

  // Stopped before any event: the cursor the stream opened at (the server's
  // header) resumes it; Ben has had no event yet, so it is 0.
  auto idle = std::make_unique<Process>(ctl.Argv({"--as", "ben", "watch"}),
                                        std::map<std::string, std::string>{}, dir.Sub("idle"));
  REQUIRE(idle->WaitForLine("Watching events for @ben").has_value());
  idle->Signal(SIGINT);
  CHECK(idle->Wait() == 0);
  CHECK(Contains(idle->Log(), "resume with --cursor 0"));

  // Ben follows his events live while Ana and Ben chat.
  auto watch = std::make_unique<Process>(ctl.Argv({"--as", "ben", "watch"}),
                                         std::map<std::string, std::string>{}, dir.Sub("watch"));
  REQUIRE(watch->WaitForLine("Watching events for @ben").has_value());
  const std::string sent = ctl.Ok({"--as", "ana", "send", "ben", "Lunch tomorrow?"});
  CHECK(Contains(sent, "Sent #1 to @ben"));
  const std::string chat = ConversationIn(sent);
  {
    INFO(watch->Log());
    CHECK(watch->WaitForLine("from @ana: Lunch tomorrow?", 10).has_value());
  }
  ctl.Ok({"--as", "ben", "send", "--conversation", chat, "Sure!"});
  const std::string inbox = ctl.Ok({"--as", "ana", "inbox"});
  CHECK(Contains(inbox, chat));
  CHECK(Contains(inbox, "@ben: Sure!"));
  auto inbox_json = ctl.Json({"--as", "ana", "inbox", "--unread"});
  REQUIRE(inbox_json["conversations"].size() == 1);
  CHECK(inbox_json["conversations"][0]["state"]["unreadCount"] == "1");
  CHECK(inbox_json["conversations"][0]["lastMessage"]["body"] == "Sure!");
  CHECK(Contains(ctl.Ok({"--as", "ana", "unread"}), "focused"));
  CHECK(Contains(ctl.Ok({"--as", "ana", "read", chat}), "read up to #2"));
  CHECK(Contains(ctl.Ok({"--as", "ana", "unread"}), "Nothing unread."));
  {
    INFO(watch->Log());
    CHECK(watch->WaitForLine("@ana read " + chat + " up to #2", 10).has_value());
  }
  watch->Signal(SIGINT);
  CHECK(watch->Wait() == 0);
  CHECK(Contains(watch->Log(), "resume with --cursor 3"));
  // Resuming the idle watch's cursor replays what came since, from the first.
  CHECK(Contains(ctl.Ok({"--as", "ben", "watch", "--cursor", "0", "--count", "1"}),
                 "from @ana: Lunch tomorrow?"));

  // Ana is basic: no path to a stranger.
  CommandResult refused = ctl.Run({"--as", "ana", "send", "sam", "Hi there"});
  CHECK(refused.exit_code == 1);
  CHECK(refused.output.rfind("liaisonctl: PERMISSION_DENIED: ", 0) == 0);
  refused = ctl.Run({"--as", "ana", "inmail", "sam", "--subject", "Hi", "--body", "Hello"});
  CHECK(refused.exit_code == 1);
  CHECK(Contains(refused.output, "PERMISSION_DENIED"));

  // Rex, a recruiter, InMails Sam; a retry with the same client id sends nothing new.
  CHECK(Contains(ctl.Ok({"--as", "rex", "balance"}), "recruiter-lite"));
  const std::vector<std::string> inmail = {"--as",        "rex",
                                           "inmail",      "sam",
                                           "--subject",   "A role for you",
                                           "--body",      "Are you open to offers?",
                                           "--client-id", "rex-1"};
  const std::string delivered = ctl.Ok(inmail);
  CHECK(Contains(delivered, "InMail \"A role for you\" sent to @sam"));
  CHECK(Contains(delivered, "pending"));
  CHECK(ConversationIn(ctl.Ok(inmail)) == ConversationIn(delivered));
  CHECK(ctl.Json({"--as", "rex", "balance"})["balance"]["available"] == "29");

  // Sam finds it in his InMail folder, accepts and replies: the credit comes back.
  const std::string sams = ctl.Ok({"--as", "sam", "inbox", "--folder", "inmail"});
  CHECK(Contains(sams, "\"A role for you\" from @rex"));
  const std::string inmail_chat = ConversationIn(delivered);
  CHECK(Contains(
      ctl.Ok({"--as", "sam", "respond", inmail_chat, "accept", "--body", "Yes, tell me more"}),
      "Accepted the InMail \"A role for you\" from @rex and replied"));
  CHECK(ctl.Json({"--as", "rex", "balance"})["balance"]["available"] == "30");
  const std::string ledger = ctl.Ok({"--as", "rex", "ledger"});
  CHECK(Contains(ledger, "refund"));
  CHECK(Contains(ledger, "+1 monthly"));
  auto entries = ctl.Json({"--as", "rex", "ledger"})["entries"];
  REQUIRE(entries.size() == 4);  // grant, hold, commit, refund
  CHECK(entries[0]["type"] == "ENTRY_TYPE_REFUND");
  const std::string thread = ctl.Ok({"--as", "rex", "show", inmail_chat});
  CHECK(Contains(thread, "accepted"));
  CHECK(Contains(thread, "@sam  Yes, tell me more"));

  // Ana opens a group with Ben and Cat; Cat answers; Ben reads it in order.
  auto group =
      ctl.Json({"--as", "ana", "send", "ben", "cat", "Friday at 10?", "--group-name", "Offsite"});
  CHECK(group["conversation"]["kind"] == "CONVERSATION_KIND_GROUP");
  CHECK(group["conversation"]["participantIds"].size() == 3);
  const std::string offsite = group["conversation"]["conversationId"];
  CHECK(Contains(ctl.Ok({"--as", "cat", "send", "--conversation", offsite, "Works for me"}),
                 "group \"Offsite\""));
  const std::string shown = ctl.Ok({"--as", "ben", "show", offsite});
  CHECK(Contains(shown, "@ana  Friday at 10?"));
  CHECK(Contains(shown, "@cat  Works for me"));
  CHECK(shown.find("Friday at 10?") < shown.find("Works for me"));
  // Ben comes back with his last cursor: what he missed is replayed.
  watch = std::make_unique<Process>(ctl.Argv({"--as", "ben", "watch", "--cursor", "3"}),
                                    std::map<std::string, std::string>{}, dir.Sub("rewatch"));
  {
    INFO(watch->Log());
    CHECK(watch->WaitForLine("from @cat: Works for me", 10).has_value());
    CHECK(Contains(watch->Log(), "from @ana: Friday at 10?"));
  }
  watch->Signal(SIGINT);
  CHECK(watch->Wait() == 0);

  // Cat keeps her own view of the group: star, archive, unread again,
  // report (to SPAM), delete for herself. The others' views do not change.
  CHECK(Contains(ctl.Ok({"--as", "cat", "star", offsite}), "starred"));
  CHECK(Contains(ctl.Ok({"--as", "cat", "inbox", "--starred"}), offsite));
  CHECK(Contains(ctl.Ok({"--as", "cat", "archive", offsite}), "(folder archived)"));
  CHECK(Contains(ctl.Ok({"--as", "cat", "inbox", "--folder", "archived"}), offsite));
  CHECK_FALSE(Contains(ctl.Ok({"--as", "cat", "inbox"}), offsite));
  CHECK(Contains(ctl.Ok({"--as", "cat", "unarchive", offsite}), "no longer archived"));
  CHECK(Contains(ctl.Ok({"--as", "cat", "mark-unread", offsite}), "marked unread"));
  CHECK(ctl.Json({"--as", "cat", "unread"})["counts"][0]["conversations"] == "1");
  CHECK(Contains(ctl.Ok({"--as", "cat", "report", offsite, "--reason", "spam"}), "in SPAM"));
  CHECK(Contains(ctl.Ok({"--as", "cat", "inbox", "--folder", "spam"}), offsite));
  CHECK(Contains(ctl.Ok({"--as", "cat", "delete", offsite}), "deleted for you"));
  CHECK_FALSE(Contains(ctl.Ok({"--as", "cat", "inbox", "--folder", "spam"}), offsite));
  CHECK(Contains(ctl.Ok({"--as", "ben", "inbox"}), offsite));
  CHECK(ctl.Run({"--as", "ben", "star", "123"}).exit_code == 1);  // not his: NOT_FOUND

  // Ben blocks Ana: their chat is closed, both ways.
  CHECK(Contains(ctl.Ok({"--as", "ben", "block", "ana"}), "Blocked @ana"));
  refused = ctl.Run({"--as", "ana", "send", "--conversation", chat, "Hello?"});
  CHECK(refused.exit_code == 1);
  CHECK(refused.output.rfind("liaisonctl: PERMISSION_DENIED: ", 0) == 0);
  CHECK(ctl.Run({"--as", "ben", "send", "ana", "Bye"}).exit_code == 1);
  CHECK(Contains(ctl.Ok({"--as", "ben", "relationship", "ana"}), "you blocked them"));

  // Members may not call internal methods, whatever the CLI can mint.
  refused = ctl.Run({"--as", "ana", "member", "tier", "ana", "premium-career"});
  CHECK(refused.exit_code == 1);
  CHECK(Contains(refused.output, "PERMISSION_DENIED"));

  messaging.process->Signal(SIGTERM);
  CHECK(messaging.process->Wait() == 0);
  // A dead endpoint: UNAVAILABLE, naming the service and its address.
  refused = ctl.Run({"--as", "ana", "inbox"});
  CHECK(refused.exit_code == 1);
  CHECK(Contains(refused.output,
                 "liaisonctl: UNAVAILABLE: messaging at " + Address(messaging.grpc_port)));
  for (RunningService* s : {&deps.credits, &deps.identity, &deps.privacy}) {
    s->process->Signal(SIGTERM);
    CHECK(s->process->Wait() == 0);
  }
}

TEST_CASE("liaisonctl exits 2 on usage errors and 1 when no service answers") {
  TempDir dir;
  const std::string key = WriteKey(dir);
  const int port = ClosedPort();
  const Ctl ctl(key, port, port, port, port);

  CommandResult result = ctl.Run({"--as", "42", "send", "Only text"});
  CHECK(result.exit_code == 2);
  CHECK(Contains(result.output, "give the recipients"));
  result = ctl.Run({"--as", "42", "inbox", "--folder", "junk"});
  CHECK(result.exit_code == 2);
  CHECK(Contains(result.output, "one of: focused, other, inmail"));
  result = ctl.Run({"frobnicate"});
  CHECK(result.exit_code == 2);
  CHECK(Contains(result.output, "unknown command \"frobnicate\""));
  result = RunCommand({LIAISON_CTL_BIN, "inbox", "--identity", Address(port)});
  CHECK(result.exit_code == 2);
  CHECK(Contains(result.output, "who is acting?"));

  result = ctl.Run({"--as", "42", "unread"});
  CHECK(result.exit_code == 1);
  CHECK(Contains(result.output, "liaisonctl: UNAVAILABLE: messaging at " + Address(port)));
  // The token command is unchanged: a token on its own line.
  CHECK(CtlToken(key, {"42"}).find('.') != std::string::npos);
  result = ctl.Run({"token", ""});
  CHECK(result.exit_code == 2);
  CHECK(Contains(result.output, "give a member id or --service <name>"));
  CHECK_FALSE(Contains(result.output, "not both"));
  result = ctl.Run({"token", "42", "--service", "billing"});
  CHECK(result.exit_code == 2);
  CHECK(Contains(result.output, "give a member id or --service, not both"));
}

TEST_CASE("liaisonctl's default addresses follow LIAISON_PORT_OFFSET, and given ones win") {
  TempDir dir;
  const std::string key = WriteKey(dir);
  const int port = ClosedPort();
  auto with_offset = [&](const std::string& offset, const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"/usr/bin/env", "LIAISON_PORT_OFFSET=" + offset,
                                     LIAISON_CTL_BIN, "--signing-key-file", key};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  };
  // messaging's default port, 50052, moved onto the closed port.
  CommandResult result = with_offset(std::to_string(port - 50052), {"--as", "42", "unread"});
  CHECK(result.exit_code == 1);
  CHECK(Contains(result.output, "UNAVAILABLE: messaging at " + Address(port)));
  result = with_offset(std::to_string(port - 50051), {"--as", "42", "member", "get", "42"});
  CHECK(result.exit_code == 1);
  CHECK(Contains(result.output, "UNAVAILABLE: identity at " + Address(port)));
  // An address given as an option is used as it is.
  const int other = ClosedPort();
  result = with_offset("1000", {"--as", "42", "--messaging", Address(other), "unread"});
  CHECK(result.exit_code == 1);
  CHECK(Contains(result.output, "UNAVAILABLE: messaging at " + Address(other)));
  // What no local run could have.
  for (const char* bad : {"ten", "16000", "-50052", "1.5"}) {
    INFO(bad);
    result = with_offset(bad, {"--as", "42", "unread"});
    CHECK(result.exit_code == 2);
    CHECK(Contains(result.output, "LIAISON_PORT_OFFSET \"" + std::string(bad) + "\" is not"));
  }
}

}  // namespace
}  // namespace liaison::testing
