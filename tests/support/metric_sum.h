// Reading an in-process service's metrics the way Prometheus would.
#ifndef LIAISON_TESTS_SUPPORT_METRIC_SUM_H_
#define LIAISON_TESTS_SUPPORT_METRIC_SUM_H_

#include <map>
#include <string>

#include "tests/support/test_service.h"

namespace liaison::testing {

// The sum of the values (counter or gauge) of family `name`'s series whose
// labels include every one of `want`; 0 if none.
inline double MetricSum(const TestService& service, const std::string& name,
                        const std::map<std::string, std::string>& want = {}) {
  double sum = 0;
  if (service.metrics() == nullptr) return sum;  // stopped
  for (const auto& family : service.metrics()->registry().Collect()) {
    if (family.name != name) continue;
    for (const auto& metric : family.metric) {
      size_t matched = 0;
      for (const auto& label : metric.label) {
        auto it = want.find(label.name);
        if (it != want.end() && it->second == label.value) ++matched;
      }
      if (matched == want.size()) sum += metric.counter.value + metric.gauge.value;
    }
  }
  return sum;
}

}  // namespace liaison::testing

#endif  // LIAISON_TESTS_SUPPORT_METRIC_SUM_H_
