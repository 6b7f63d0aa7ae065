// The injectable clock. Every rule that depends on time (token expiry,
// cooldowns, credit refreshes) reads time through a Clock so tests can move
// it by hand.
#ifndef LIAISON_COMMON_CLOCK_H_
#define LIAISON_COMMON_CLOCK_H_

#include <google/protobuf/timestamp.pb.h>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace liaison {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;

  // The process-wide wall clock.
  static Clock* Real();
};

// A clock that moves only when told to. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(absl::Time start) : now_(start) {}
  absl::Time Now() const override;
  void Set(absl::Time t);
  void Advance(absl::Duration d);

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

// absl::Time <-> google.protobuf.Timestamp, to the microsecond (the
// precision stored keys keep).
void SetTimestamp(google::protobuf::Timestamp* ts, absl::Time t);
absl::Time FromTimestamp(const google::protobuf::Timestamp& ts);

}  // namespace liaison

#endif  // LIAISON_COMMON_CLOCK_H_
