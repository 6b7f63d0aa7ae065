// The injectable clock. Every rule that depends on time (token expiry,
// cooldowns, credit refreshes) reads time through a Clock so tests can move
// it by hand.
#ifndef LIAISON_COMMON_CLOCK_H_
#define LIAISON_COMMON_CLOCK_H_

#include <google/protobuf/timestamp.pb.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
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

// Another clock moved by a fixed offset: what a service runs its rules on
// under the test-only --clock-offset, so a system test can restart the real
// binaries days later on the same data.
class OffsetClock final : public Clock {
 public:
  OffsetClock(const Clock* base, absl::Duration offset) : base_(base), offset_(offset) {}
  absl::Time Now() const override { return base_->Now() + offset_; }
  absl::Duration offset() const { return offset_; }

 private:
  const Clock* base_;
  absl::Duration offset_;
};

// The largest --clock-offset accepted either way: 100 years.
inline constexpr absl::Duration kMaxClockOffset = absl::Hours(24 * 36525);

// Parses a clock offset: an optional sign, then one or more <integer><unit>
// with unit d (24 h), h, m or s, e.g. "90d", "48h", "-1h30m", "+3600s"; or
// "0". InvalidArgumentError naming the problem otherwise (no unit, an unknown
// unit, a fraction, beyond kMaxClockOffset).
absl::StatusOr<absl::Duration> ParseClockOffset(absl::string_view text);

// absl::Time <-> google.protobuf.Timestamp, to the microsecond (the
// precision stored keys keep).
void SetTimestamp(google::protobuf::Timestamp* ts, absl::Time t);
absl::Time FromTimestamp(const google::protobuf::Timestamp& ts);

}  // namespace liaison

#endif  // LIAISON_COMMON_CLOCK_H_
