// process_* metrics in the standard Prometheus client layout, read from
// /proc/self at scrape time.
#include <dirent.h>
#include <prometheus/metric_family.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/metrics.h"

namespace liaison {
namespace {

double BootTimeSeconds() {
  std::ifstream in("/proc/stat");
  std::string key;
  double value = 0;
  while (in >> key) {
    if (key == "btime") {
      in >> value;
      return value;
    }
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

int CountOpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  int count = 0;
  while (readdir(dir) != nullptr) ++count;
  closedir(dir);
  return count - 3;  // ".", ".." and the directory's own descriptor.
}

double MaxFds() {
  std::ifstream in("/proc/self/limits");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Max open files", 0) == 0) {
      std::istringstream fields(line.substr(14));
      double soft = 0;
      fields >> soft;
      return soft;
    }
  }
  return 0;
}

class ProcessCollector final : public prometheus::Collectable {
 public:
  ProcessCollector()
      : ticks_per_second_(static_cast<double>(sysconf(_SC_CLK_TCK))),
        page_bytes_(static_cast<double>(sysconf(_SC_PAGESIZE))),
        boot_time_(BootTimeSeconds()) {}

  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> out;
    auto add = [&](const char* name, const char* help, prometheus::MetricType type, double value) {
      prometheus::MetricFamily family{name, help, type, {}};
      prometheus::ClientMetric metric;
      if (type == prometheus::MetricType::Counter) {
        metric.counter.value = value;
      } else {
        metric.gauge.value = value;
      }
      family.metric.push_back(metric);
      out.push_back(std::move(family));
    };
    std::ifstream in("/proc/self/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // Fields after the command name, which is in parentheses and may hold spaces.
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));
    std::vector<std::string> f;
    for (std::string field; fields >> field;) f.push_back(field);
    // f[0] is field 3 (state) of proc(5).
    if (f.size() >= 22) {
      double utime = std::stod(f[11]), stime = std::stod(f[12]);
      add("process_cpu_seconds_total", "User and system CPU time spent in seconds.",
          prometheus::MetricType::Counter, (utime + stime) / ticks_per_second_);
      add("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
          prometheus::MetricType::Gauge, boot_time_ + std::stod(f[19]) / ticks_per_second_);
      add("process_virtual_memory_bytes", "Virtual memory size in bytes.",
          prometheus::MetricType::Gauge, std::stod(f[20]));
      add("process_resident_memory_bytes", "Resident memory size in bytes.",
          prometheus::MetricType::Gauge, std::stod(f[21]) * page_bytes_);
      add("process_threads", "Number of OS threads in the process.", prometheus::MetricType::Gauge,
          std::stod(f[17]));
    }
    add("process_open_fds", "Number of open file descriptors.", prometheus::MetricType::Gauge,
        CountOpenFds());
    add("process_max_fds", "Maximum number of open file descriptors.",
        prometheus::MetricType::Gauge, MaxFds());
    return out;
  }

 private:
  double ticks_per_second_;
  double page_bytes_;
  double boot_time_;
};

}  // namespace

std::shared_ptr<prometheus::Collectable> NewProcessCollector() {
  return std::make_shared<ProcessCollector>();
}

}  // namespace liaison
