// The real binaries restarted later on the same data: each service's
// test-only --clock-offset moves the clock its time rules read (never token
// expiry), so a system test sees days and months pass without waiting.
#ifndef LIAISON_TESTS_SYSTEM_LATER_SUPPORT_H_
#define LIAISON_TESTS_SYSTEM_LATER_SUPPORT_H_

#include <signal.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/auth.h"
#include "common/clock.h"
#include "tests/system/retrying_client.h"
#include "tests/system/system_support.h"

namespace liaison::testing {

// The --clock-offset that puts a service started now at `when`, in whole
// seconds ("-3600s" for an hour ago).
inline std::string OffsetTo(absl::Time when) {
  return absl::StrCat(absl::ToInt64Seconds(when - absl::Now()), "s");
}

// One real service binary on its own data, started and restarted (SIGTERM,
// then the same data and gRPC port) with a given clock offset.
class LaterService final {
 public:
  LaterService(std::string binary, const TempDir& dir, const std::string& name,
               std::string key_file, std::vector<std::string> flags)
      : binary_(std::move(binary)),
        data_dir_(dir.Sub(name)),
        log_prefix_(dir.Sub(name)),
        key_file_(std::move(key_file)),
        flags_(std::move(flags)) {}
  ~LaterService() { Stop(); }

  // Starts the binary with --clock-offset=`offset`, stopping it first if it
  // runs (it must exit 0). A restart keeps the gRPC port, so clients and the
  // services that call this one reconnect to it.
  void StartAt(const std::string& offset) {
    Stop();
    std::vector<std::string> flags = flags_;
    flags.push_back("--clock-offset=" + offset);
    // A log per run: a restart does not overwrite what the last run said.
    const std::string log_path = absl::StrCat(log_prefix_, ".", ++runs_, ".log");
    running_ = StartService(binary_, data_dir_, key_file_, log_path, flags, running_.grpc_port);
  }

  void Stop() {
    if (running_.process == nullptr) return;
    running_.process->Signal(SIGTERM);
    CHECK(running_.process->Wait() == 0);
    running_.process.reset();
  }

  const RunningService& running() const { return running_; }
  int port() const { return running_.grpc_port; }
  std::string Address() const { return "127.0.0.1:" + std::to_string(running_.grpc_port); }

 private:
  std::string binary_, data_dir_, log_prefix_, key_file_;
  int runs_ = 0;
  std::vector<std::string> flags_;
  RunningService running_;
};

// Tokens minted on real time: the clock offset never touches token expiry,
// so a token minted here is good on a service whatever its offset.
inline std::string MemberToken(const std::string& member_id) {
  auto id = ParseMemberId(member_id, "member_id");
  REQUIRE(id.ok());
  auto token = TokenMinter(kSystemKey, Clock::Real()).MintMember(*id, absl::Hours(1));
  REQUIRE(token.ok());
  return *token;
}

inline std::string AdminToken() {
  auto token = TokenMinter(kSystemKey, Clock::Real()).MintService("admin", absl::Hours(1));
  REQUIRE(token.ok());
  return *token;
}

}  // namespace liaison::testing

#endif  // LIAISON_TESTS_SYSTEM_LATER_SUPPORT_H_
