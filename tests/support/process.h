// Real processes for system tests: start a service binary with flags and
// environment, wait until it logs that it is serving (and read its ports
// from that line), signal it, and collect its exit code. Plus running a
// command (buf, promtool, curl) and capturing what it prints.
#ifndef LIAISON_TESTS_SUPPORT_PROCESS_H_
#define LIAISON_TESTS_SUPPORT_PROCESS_H_

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace liaison::testing {

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs argv[0] with the rest as arguments (no shell), waits up to
// `timeout_seconds`, and returns its exit code and output.
CommandResult RunCommand(const std::vector<std::string>& argv, int timeout_seconds = 60);

// A loopback TCP port nothing listens on right now (for a config that must
// name a port before the process behind it starts, e.g. a shard map).
int FreePort();

class Process final {
 public:
  // Starts `argv` with the parent's environment plus `env`; stdout and
  // stderr go to `log_path`.
  Process(std::vector<std::string> argv, std::map<std::string, std::string> env,
          std::string log_path);
  ~Process();  // SIGKILLs the process if it is still running.

  // Waits until the process logs a line with "event":"serving" and returns
  // that line; nullopt if it exited or `timeout_seconds` passed first.
  std::optional<std::string> WaitForServing(int timeout_seconds = 30);
  // Waits until the process prints a line containing `needle`; returns it,
  // or nullopt if it exited or `timeout_seconds` passed first.
  std::optional<std::string> WaitForLine(const std::string& needle, int timeout_seconds = 30);
  // Sends a signal.
  void Signal(int signal_number);
  // Waits for the exit; returns the exit code, 128+N if killed by signal N,
  // or nullopt on timeout.
  std::optional<int> Wait(int timeout_seconds = 30);
  std::string Log() const;
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  std::string log_path_;
  std::optional<int> exit_code_;
};

}  // namespace liaison::testing

#endif  // LIAISON_TESTS_SUPPORT_PROCESS_H_
