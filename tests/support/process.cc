#include "tests/support/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace liaison::testing {
namespace {

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

pid_t Spawn(std::vector<std::string> argv, const std::map<std::string, std::string>& env,
            int output_fd) {
  std::map<std::string, std::string> merged;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    size_t eq = entry.find('=');
    if (eq != std::string::npos) merged[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  for (const auto& [key, value] : env) merged[key] = value;
  std::vector<std::string> env_strings;
  for (const auto& [key, value] : merged) env_strings.push_back(key + "=" + value);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, output_fd, 1);
  posix_spawn_file_actions_adddup2(&actions, output_fd, 2);
  // The child starts with no signals blocked, whatever the test runner did.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  auto args = CStrings(argv);
  auto envp = CStrings(env_strings);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0], &actions, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw std::runtime_error("cannot start " + argv[0]);
  return pid;
}

std::optional<int> WaitPid(pid_t pid, int timeout_seconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  while (true) {
    int status = 0;
    pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    }
    if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace

CommandResult RunCommand(const std::vector<std::string>& argv, int timeout_seconds) {
  char path[] = "/tmp/liaison-cmd-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) throw std::runtime_error("mkstemp failed");
  pid_t pid = Spawn(argv, {}, fd);
  close(fd);
  CommandResult result;
  auto code = WaitPid(pid, timeout_seconds);
  if (!code) {
    kill(pid, SIGKILL);
    WaitPid(pid, 5);
  }
  result.exit_code = code.value_or(-1);
  result.output = ReadAll(path);
  unlink(path);
  return result;
}

Process::Process(std::vector<std::string> argv, std::map<std::string, std::string> env,
                 std::string log_path)
    : log_path_(std::move(log_path)) {
  int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot open " + log_path_);
  pid_ = Spawn(std::move(argv), env, fd);
  close(fd);
}

Process::~Process() {
  if (!exit_code_) {
    kill(pid_, SIGKILL);
    WaitPid(pid_, 10);
  }
}

std::optional<std::string> Process::WaitForServing(int timeout_seconds) {
  return WaitForLine("\"event\":\"serving\"", timeout_seconds);
}

std::optional<std::string> Process::WaitForLine(const std::string& needle, int timeout_seconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    std::istringstream lines(Log());
    for (std::string line; std::getline(lines, line);) {
      if (line.find(needle) != std::string::npos) return line;
    }
    if (!exit_code_) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
    }
    if (exit_code_) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return std::nullopt;
}

void Process::Signal(int signal_number) {
  if (!exit_code_) kill(pid_, signal_number);
}

std::optional<int> Process::Wait(int timeout_seconds) {
  if (!exit_code_) exit_code_ = WaitPid(pid_, timeout_seconds);
  return exit_code_;
}

std::string Process::Log() const { return ReadAll(log_path_); }

int FreePort() {
  // Below the kernel's ephemeral range (32768-60999 by default), which also
  // hands out the local ports of outgoing connections: a port taken from it
  // can be some client's by the time a server binds it. Here only another
  // test picking the same port can collide, and the start is random.
  static std::mutex mu;
  static std::set<int> given;  // never the same port twice in one process
  static std::mt19937 random(std::random_device{}());
  std::lock_guard<std::mutex> lock(mu);
  constexpr int kLow = 20000, kHigh = 32000;
  const int start = std::uniform_int_distribution<int>(kLow, kHigh - 1)(random);
  for (int i = 0; i < kHigh - kLow; ++i) {
    const int port = kLow + (start - kLow + i) % (kHigh - kLow);
    if (given.count(port) > 0) continue;
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw std::runtime_error("socket() failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    close(fd);
    if (ok) {
      given.insert(port);
      return port;
    }
  }
  throw std::runtime_error("no free loopback port from 20000 to 31999");
}

}  // namespace liaison::testing
