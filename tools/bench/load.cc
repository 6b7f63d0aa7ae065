#include "tools/bench/load.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

namespace liaison::bench {
namespace {

using Seconds = std::chrono::duration<double>;

struct Loop {
  const Issue* issue;
  Recorder* calls;
  SteadyClock::time_point measure_from, end;
  std::atomic<uint64_t> next{0};
  std::atomic<int64_t> finished{0}, failed{0};
  std::atomic<int> outstanding{0};
  std::mutex mu;
  std::condition_variable drained;

  // Starts call n, timed from `due`; `again` keeps a closed loop going.
  void Start(SteadyClock::time_point due, bool again) {
    ++outstanding;
    (*issue)(next++, [this, due, again](grpc::StatusCode code) {
      const auto now = SteadyClock::now();
      if (due >= measure_from && due < end) {
        calls->Record(code,
                      std::chrono::duration_cast<std::chrono::nanoseconds>(now - due).count());
      }
      ++finished;
      if (code != grpc::StatusCode::OK) ++failed;
      if (again && now < end) Start(now, true);
      if (--outstanding == 0) {
        std::lock_guard<std::mutex> lock(mu);
        drained.notify_all();
      }
    });
  }

  void AwaitDrained() {
    std::unique_lock<std::mutex> lock(mu);
    drained.wait(lock, [this] { return outstanding.load() == 0; });
  }
};

// One line a second on a terminal (rewritten in place), one every 5 s in a log.
class Progress final {
 public:
  Progress(const LoadOptions& o, Loop* loop) : options_(o), loop_(loop) {
    if (!o.progress) return;
    thread_ = std::thread([this] { Run(); });
  }
  ~Progress() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Run() {
    const bool tty = isatty(STDERR_FILENO);
    const auto start = SteadyClock::now();
    int64_t last = 0;
    auto last_time = start;
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, std::chrono::seconds(tty ? 1 : 5), [this] { return stop_; })) {
      const auto now = SteadyClock::now();
      const int64_t finished = loop_->finished.load();
      std::fprintf(stderr, "%s%-16s %-9s %6.1f s  %9lld calls  %9.0f/s  %lld errors%s",
                   tty ? "\r" : "", options_.label.c_str(),
                   now < loop_->measure_from ? "warm-up" : "measuring",
                   Seconds(now - start).count(), static_cast<long long>(finished),
                   (finished - last) / Seconds(now - last_time).count(),
                   static_cast<long long>(loop_->failed.load()), tty ? "" : "\n");
      last = finished;
      last_time = now;
    }
    if (tty) std::fprintf(stderr, "\n");
  }

  const LoadOptions& options_;
  Loop* loop_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// The CPU seconds (user + system) `pids` have used so far: fields 14 and 15
// of /proc/<pid>/stat, after the parenthesised name. A process that is gone
// counts nothing.
double CpuSeconds(const std::vector<int>& pids) {
  static const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  double total = 0;
  for (int pid : pids) {
    std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    const size_t name_end = stat.rfind(')');
    if (name_end == std::string::npos) continue;
    std::istringstream fields(stat.substr(name_end + 2));
    std::string field;
    double utime = 0, stime = 0;
    for (int i = 3; i <= 15 && fields >> field; ++i) {
      if (i == 14) utime = std::strtod(field.c_str(), nullptr);
      if (i == 15) stime = std::strtod(field.c_str(), nullptr);
    }
    total += (utime + stime) / ticks;
  }
  return total;
}

}  // namespace

void RunLoadInto(const LoadOptions& o, const Issue& issue, Window* window, Recorder* calls) {
  Loop loop;
  loop.issue = &issue;
  loop.calls = calls;
  const auto start = SteadyClock::now();
  loop.measure_from =
      start + std::chrono::duration_cast<SteadyClock::duration>(Seconds(o.warmup_seconds));
  loop.end = loop.measure_from +
             std::chrono::duration_cast<SteadyClock::duration>(Seconds(o.duration_seconds));
  {
    Progress progress(o, &loop);
    double cpu_from = -1;
    if (o.rate > 0) {
      // Open loop: call k is due at start + k / rate.
      const auto interval = std::chrono::duration_cast<SteadyClock::duration>(Seconds(1 / o.rate));
      for (auto due = start; due < loop.end; due += interval) {
        std::this_thread::sleep_until(due);
        if (cpu_from < 0 && due >= loop.measure_from) cpu_from = CpuSeconds(o.cpu_pids);
        if (loop.outstanding.load() >= o.max_outstanding) {
          if (due >= loop.measure_from) calls->NotStarted();
          continue;
        }
        loop.Start(due, false);
      }
    } else {
      for (int i = 0; i < o.concurrency; ++i) loop.Start(SteadyClock::now(), true);
      std::this_thread::sleep_until(loop.measure_from);
      cpu_from = CpuSeconds(o.cpu_pids);
      std::this_thread::sleep_until(loop.end);
    }
    window->cpu_seconds = CpuSeconds(o.cpu_pids) - std::max(cpu_from, 0.0);
    loop.AwaitDrained();
  }
  window->start = loop.measure_from;
  window->end = loop.end;
}

Result RunLoad(const LoadOptions& o, const Issue& issue) {
  Recorder calls;
  Window window;
  RunLoadInto(o, issue, &window, &calls);
  Result result;
  result.mode = o.rate > 0 ? "open" : "closed";
  result.concurrency = o.concurrency;
  result.target_rate = o.rate;
  result.seconds = Seconds(window.end - window.start).count();
  result.codes = calls.Codes();
  result.latencies_ns = calls.TakeLatencies();
  if (!o.cpu_pids.empty()) {
    result.counters["server_cpu_ms"] = static_cast<int64_t>(window.cpu_seconds * 1e3);
    if (result.Count() > 0) {
      result.counters["server_cpu_us_per_call"] =
          static_cast<int64_t>(window.cpu_seconds * 1e6 / static_cast<double>(result.Count()));
    }
  }
  return result;
}

}  // namespace liaison::bench
