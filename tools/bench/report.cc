#include "tools/bench/report.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/strings/str_format.h"

namespace liaison::bench {
namespace {

// The names ghz and grpcurl print.
std::string CodeName(grpc::StatusCode code) {
  static const char* const kNames[] = {
      "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
      "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
      "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
      "DataLoss", "Unauthenticated"};
  const int i = static_cast<int>(code);
  return i >= 0 && i < 17 ? kNames[i] : absl::StrFormat("Code(%d)", i);
}

}  // namespace

void Recorder::Record(grpc::StatusCode code, int64_t latency_ns) {
  std::lock_guard<std::mutex> lock(mu_);
  latencies_ns_.push_back(latency_ns);
  ++codes_[code];
}

void Recorder::NotStarted() {
  std::lock_guard<std::mutex> lock(mu_);
  ++not_started_;
}

std::vector<int64_t> Recorder::TakeLatencies() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<int64_t> out = std::move(latencies_ns_);
  latencies_ns_.clear();
  std::sort(out.begin(), out.end());
  return out;
}

std::map<std::string, int64_t> Recorder::Codes() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::map<std::string, int64_t> out;
  for (const auto& [code, n] : codes_) out[CodeName(code)] += n;
  if (not_started_ > 0) out["NotStarted"] = not_started_;
  return out;
}

int64_t Recorder::Errors() const {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t n = 0;
  for (const auto& [code, count] : codes_) {
    if (code != grpc::StatusCode::OK) n += count;
  }
  return n + not_started_;
}

double Result::Ms(double q) const {
  if (latencies_ns.empty()) return 0;
  const size_t i = static_cast<size_t>(std::ceil(q * latencies_ns.size()));
  return latencies_ns[std::min(latencies_ns.size() - 1, i == 0 ? 0 : i - 1)] / 1e6;
}

double Result::AverageMs() const {
  if (latencies_ns.empty()) return 0;
  const double sum = std::accumulate(latencies_ns.begin(), latencies_ns.end(), 0.0);
  return sum / latencies_ns.size() / 1e6;
}

int64_t Result::NonOk() const {
  int64_t n = 0;
  for (const auto& [code, count] : codes) {
    if (code != "OK") n += count;
  }
  return n;
}

std::string ToText(const Result& r) {
  std::string out = absl::StrFormat("\n%s (%s loop, ", r.scenario, r.mode);
  out += r.mode == "open" ? absl::StrFormat("%.0f/s target", r.target_rate)
                          : absl::StrFormat("%d in flight", r.concurrency);
  out += absl::StrFormat(", %d connections)\n\nSummary:\n", r.connections);
  out += absl::StrFormat("  Count:        %d\n", r.Count());
  out += absl::StrFormat("  Total:        %.2f s\n", r.seconds);
  out += absl::StrFormat("  Slowest:      %.3f ms\n", r.Ms(1));
  out += absl::StrFormat("  Fastest:      %.3f ms\n", r.Ms(0));
  out += absl::StrFormat("  Average:      %.3f ms\n", r.AverageMs());
  out += absl::StrFormat("  Requests/sec: %.1f\n\nLatency distribution:\n", r.Rps());
  for (double q : {0.5, 0.9, 0.95, 0.99, 0.999}) {
    out += absl::StrFormat("  %5.1f %% in %.3f ms\n", q * 100, r.Ms(q));
  }
  out += "\nStatus code distribution:\n";
  for (const auto& [code, n] : r.codes) out += absl::StrFormat("  [%s]   %d responses\n", code, n);
  if (!r.counters.empty()) {
    out += "\nCounters:\n";
    for (const auto& [name, n] : r.counters) out += absl::StrFormat("  %-16s %d\n", name, n);
  }
  return out;
}

nlohmann::json ToJson(const Result& r) {
  nlohmann::json percentiles;
  for (double q : {0.5, 0.9, 0.95, 0.99, 0.999}) {
    percentiles[absl::StrFormat("p%g", q * 100)] = r.Ms(q);
  }
  nlohmann::json out = {{"scenario", r.scenario},       {"mode", r.mode},
                        {"concurrency", r.concurrency}, {"target_rate", r.target_rate},
                        {"connections", r.connections}, {"count", r.Count()},
                        {"total_seconds", r.seconds},   {"rps", r.Rps()},
                        {"fastest_ms", r.Ms(0)},        {"slowest_ms", r.Ms(1)},
                        {"average_ms", r.AverageMs()},  {"latency_ms", percentiles},
                        {"status_codes", r.codes}};
  if (!r.counters.empty()) out["counters"] = r.counters;
  return out;
}

}  // namespace liaison::bench
