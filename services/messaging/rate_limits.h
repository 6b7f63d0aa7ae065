// Abuse limits (DESIGN.md §4 rule 9), per sender and in memory: token
// buckets for messages and for InMails, and a cap on sending identical text
// to many different conversations in a short window. Numbers are config.
// RESOURCE_EXHAUSTED with when to try again.
#ifndef LIAISON_SERVICES_MESSAGING_RATE_LIMITS_H_
#define LIAISON_SERVICES_MESSAGING_RATE_LIMITS_H_

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/ids.h"

namespace liaison::messaging {

struct RateLimitConfig {
  double messages_per_minute = 60;
  double message_burst = 30;
  double inmails_per_hour = 30;
  double inmail_burst = 10;
  // The same text to more than this many conversations within the window.
  int identical_targets = 10;
  absl::Duration identical_window = absl::Minutes(10);
};

class RateLimiter final {
 public:
  RateLimiter(RateLimitConfig config, const Clock* clock) : config_(config), clock_(clock) {}

  // Takes a token for one message from `sender` with `body` to `target` (a
  // conversation or recipient id). ResourceExhaustedError when over a limit.
  absl::Status Message(MemberId sender, const std::string& body, uint64_t target);
  absl::Status InMail(MemberId sender, const std::string& body, uint64_t target);

 private:
  struct Bucket {
    double tokens = -1;  // < 0: full (new)
    absl::Time updated;
  };
  struct Repeat {
    uint64_t body_hash = 0;
    absl::Time since;
    std::vector<uint64_t> targets;
  };
  absl::Status Take(absl::flat_hash_map<MemberId, Bucket>& buckets, MemberId sender,
                    double rate_per_second, double burst, const char* what)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Identical(MemberId sender, const std::string& body, uint64_t target)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  RateLimitConfig config_;
  const Clock* clock_;
  absl::Mutex mu_;
  absl::flat_hash_map<MemberId, Bucket> messages_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<MemberId, Bucket> inmails_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<MemberId, Repeat> repeats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace liaison::messaging

#endif  // LIAISON_SERVICES_MESSAGING_RATE_LIMITS_H_
