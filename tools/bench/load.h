// The load loops of liaison-bench. Closed loop: `concurrency` calls always in
// flight, each completion starting the next. Open loop: calls started at a
// fixed rate whatever the server does, each timed from when it was due (so a
// slow server shows as latency, not as fewer calls). Both run a warm-up that
// is not measured, then the measured window; calls started in the window are
// timed and counted. A progress line goes to stderr while it runs.
#ifndef LIAISON_TOOLS_BENCH_LOAD_H_
#define LIAISON_TOOLS_BENCH_LOAD_H_

#include <grpcpp/support/status.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "tools/bench/report.h"

namespace liaison::bench {

using SteadyClock = std::chrono::steady_clock;

struct LoadOptions {
  std::string label;
  int concurrency = 1;  // closed loop
  double rate = 0;      // > 0: open loop at this many calls per second
  double warmup_seconds = 1;
  double duration_seconds = 10;
  int max_outstanding = 20000;  // open loop: calls beyond this are not started
  bool progress = true;
  // Processes (the servers) whose CPU time over the measured window is
  // reported: "server_cpu_ms" and "server_cpu_us_per_call" counters.
  std::vector<int> cpu_pids;
};

// Starts call number `n`; calls `done` exactly once, from any thread, with
// the call's status. Must not block.
using Done = std::function<void(grpc::StatusCode)>;
using Issue = std::function<void(uint64_t n, Done done)>;

// Runs the loop; fills every field of the Result but scenario/connections.
Result RunLoad(const LoadOptions& options, const Issue& issue);

// The load loop for scenarios that time something other than the call
// itself (e.g. delivery to a stream): `issue` as above, and `recorder` is
// filled by the scenario; the window is reported in `window`.
struct Window {
  SteadyClock::time_point start, end;
  double cpu_seconds = 0;  // of LoadOptions::cpu_pids, over [start, end]
};
void RunLoadInto(const LoadOptions& options, const Issue& issue, Window* window, Recorder* calls);

}  // namespace liaison::bench

#endif  // LIAISON_TOOLS_BENCH_LOAD_H_
