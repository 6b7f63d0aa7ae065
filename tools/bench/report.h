// What one benchmark run measured, and how it is reported: like ghz (count,
// total, requests per second, fastest, slowest, average, percentiles, status
// code distribution), as text for people and JSON for scripts and plots.
#ifndef LIAISON_TOOLS_BENCH_REPORT_H_
#define LIAISON_TOOLS_BENCH_REPORT_H_

#include <grpcpp/support/status.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace liaison::bench {

// Thread-safe: completions arrive on gRPC's callback threads.
class Recorder final {
 public:
  void Record(grpc::StatusCode code, int64_t latency_ns);
  // An open-loop call that was due but not started (too many in flight).
  void NotStarted();

  std::vector<int64_t> TakeLatencies();
  std::map<std::string, int64_t> Codes() const;
  int64_t Errors() const;

 private:
  mutable std::mutex mu_;
  std::vector<int64_t> latencies_ns_;
  std::map<grpc::StatusCode, int64_t> codes_;
  int64_t not_started_ = 0;
};

struct Result {
  std::string scenario;
  std::string mode;  // "closed" (-c in flight) or "open" (-q per second)
  int concurrency = 0;
  double target_rate = 0;
  int connections = 0;
  double seconds = 0;                 // the measured window
  std::vector<int64_t> latencies_ns;  // sorted
  std::map<std::string, int64_t> codes;
  // Scenario-specific tallies beside the calls (e.g. block-to-refusal's sends
  // that slipped through); printed after the status codes, "counters" in JSON.
  std::map<std::string, int64_t> counters;

  int64_t Count() const { return static_cast<int64_t>(latencies_ns.size()); }
  double Rps() const { return seconds > 0 ? Count() / seconds : 0; }
  // The q-quantile (0 <= q <= 1) in milliseconds; 0 with no samples.
  double Ms(double q) const;
  double AverageMs() const;
  int64_t NonOk() const;
};

std::string ToText(const Result& result);
nlohmann::json ToJson(const Result& result);

}  // namespace liaison::bench

#endif  // LIAISON_TOOLS_BENCH_REPORT_H_
