// Waiting, bounded, for what another thread or process is about to do.
#ifndef LIAISON_TESTS_SUPPORT_EVENTUALLY_H_
#define LIAISON_TESTS_SUPPORT_EVENTUALLY_H_

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace liaison::testing {

// Polls `done` until it holds (true) or a generous deadline passes (false,
// after one last look). The deadline only bounds a failing test.
template <typename Done>
bool Eventually(Done done, absl::Duration limit = absl::Seconds(30)) {
  const absl::Time give_up = absl::Now() + limit;
  while (absl::Now() < give_up) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return done();
}

}  // namespace liaison::testing

#endif  // LIAISON_TESTS_SUPPORT_EVENTUALLY_H_
