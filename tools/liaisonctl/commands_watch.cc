// `liaisonctl watch`: the caller's events as they happen (StreamEvents), one
// line each, until Ctrl-C (exit 0), --count events, or the stream breaks
// (exit 1, saying which --cursor resumes it).
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <iostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "tools/liaisonctl/commands.h"
#include "tools/liaisonctl/output.h"

namespace liaison::ctl {
namespace {

namespace mv = messaging::v1;

// A signal handler may only do async-signal-safe things: it writes a byte to
// a pipe, and a thread that reads the pipe cancels the stream. This works
// whichever thread (ours or one of gRPC's) the signal lands on.
int wake_fd = -1;
constexpr char kInterrupted = 1;
constexpr char kDone = 0;

void OnSignal(int) {
  const char byte = kInterrupted;
  [[maybe_unused]] ssize_t n = write(wake_fd, &byte, 1);
}

std::string Describe(Cli& cli, const mv::StreamEventsResponse& e) {
  switch (e.event_case()) {
    case mv::StreamEventsResponse::kNewMessage: {
      const auto& m = e.new_message().message();
      return absl::StrCat("message in ", m.conversation_id(), " (#", m.sequence(), ") from ",
                          DescribeSender(cli, m), ": ", Snippet(m.body(), 200));
    }
    case mv::StreamEventsResponse::kReadReceipt: {
      const auto& r = e.read_receipt();
      return absl::StrCat(cli.MemberLabel(r.reader_id()), " read ", r.conversation_id(), " up to #",
                          r.read_sequence());
    }
    case mv::StreamEventsResponse::kTyping:
      return absl::StrCat(cli.MemberLabel(e.typing().member_id()), " is typing in ",
                          e.typing().conversation_id());
    case mv::StreamEventsResponse::kConversationChanged: {
      const auto& c = e.conversation_changed().conversation();
      std::string text = absl::StrCat("conversation ", c.conversation_id(),
                                      " changed: ", DescribeConversation(cli, c));
      if (c.kind() == mv::CONVERSATION_KIND_INMAIL)
        absl::StrAppend(&text, ", ", ShortName(c.inmail().status()));
      return text;
    }
    default:
      return "an event this liaisonctl does not know (use --json)";
  }
}

void PrintEvent(Cli& cli, const mv::StreamEventsResponse& e) {
  if (cli.json()) return PrintJson(e, /*one_line=*/true);
  std::string line;
  if (!e.cursor().empty()) line = absl::StrCat("[", e.cursor(), "] ");
  absl::StrAppend(&line, FormatClock(e.time()), " ", Describe(cli, e));
  std::cout << line << std::endl;  // flushed: the reader may be a pipe or a file
}

struct Args {
  std::string cursor;
  int count = 0;
};

absl::Status Watch(Cli& cli, const Args& args) {
  auto stub = cli.StubFor<MessagingStub>();
  if (!stub.ok()) return stub.status();
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return absl::InternalError("cannot create a pipe");
  wake_fd = pipe_fds[1];
  struct sigaction action = {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  struct sigaction old_int = {};
  struct sigaction old_term = {};
  sigaction(SIGINT, &action, &old_int);
  sigaction(SIGTERM, &action, &old_term);

  grpc::ClientContext context;
  cli.Prepare(&context);
  mv::StreamEventsRequest request;
  request.set_cursor(args.cursor);
  std::unique_ptr<grpc::ClientReader<mv::StreamEventsResponse>> reader =
      (*stub)->StreamEvents(&context, request);
  std::atomic<bool> interrupted{false};
  std::thread stopper([&] {
    char byte = kDone;
    while (read(pipe_fds[0], &byte, 1) < 0 && errno == EINTR) {
    }
    if (byte == kInterrupted) interrupted = true;
    context.TryCancel();
  });
  // The server sends its headers once the stream is registered: from then
  // on every event shows. Say so, so that a person (or a test) knows. (A
  // refused stream returns at once; Read and Finish below report why.)
  reader->WaitForInitialMetadata();
  if (!cli.json()) {
    std::cerr << "Watching events"
              << (cli.acting_member().empty() ? "" : " for " + cli.MemberLabel(cli.acting_member()))
              << (args.cursor.empty() ? "" : " after cursor " + args.cursor) << " (Ctrl-C stops)"
              << std::endl;
  }

  // Without --cursor, the stream's headers give the cursor to resume from if
  // no event arrives.
  std::string last_cursor = args.cursor;
  if (last_cursor.empty()) {
    const auto& headers = context.GetServerInitialMetadata();
    auto it = headers.find("liaison-cursor");
    if (it != headers.end()) last_cursor.assign(it->second.data(), it->second.size());
  }
  int received = 0;
  mv::StreamEventsResponse event;
  while (reader->Read(&event)) {
    if (!event.cursor().empty()) last_cursor = event.cursor();
    PrintEvent(cli, event);
    if (args.count > 0 && ++received >= args.count) break;
  }
  const bool enough = args.count > 0 && received >= args.count;
  if (enough) context.TryCancel();
  const grpc::Status status = reader->Finish();

  const char done = kDone;
  [[maybe_unused]] ssize_t n = write(pipe_fds[1], &done, 1);
  stopper.join();
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  close(pipe_fds[0]);
  close(pipe_fds[1]);

  // A server that sends no cursor header leaves nothing to resume from.
  const std::string resume =
      last_cursor.empty()
          ? "the server sent no cursor to resume from: watch again without --cursor"
          : absl::StrCat("resume with --cursor ", last_cursor);
  if (interrupted || enough) {
    if (!cli.json() && interrupted) std::cerr << resume << std::endl;
    return absl::OkStatus();
  }
  absl::Status error = status.ok() ? cli.StreamError<MessagingStub>(grpc::Status(
                                         grpc::StatusCode::UNAVAILABLE, "the stream ended"))
                                   : cli.StreamError<MessagingStub>(status);
  return WithNote(error, resume);
}

}  // namespace

void AddWatchCommand(CLI::App& app, Runner& runner) {
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "watch", "Follow your events live: new messages, read receipts, typing, changes");
  cmd->group(kGroupMessages);
  cmd->add_option("--cursor", args->cursor,
                  "Resume after this event's cursor (replays what you missed)");
  cmd->add_option("--count", args->count, "Stop after this many events")
      ->check(CLI::PositiveNumber);
  runner.On(cmd, Actor::kMember, [&runner, args] { return Watch(runner.cli(), *args); });
}

}  // namespace liaison::ctl
