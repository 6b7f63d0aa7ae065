#include "services/messaging/rate_limits.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "absl/strings/str_cat.h"

namespace liaison::messaging {

absl::Status RateLimiter::Take(absl::flat_hash_map<MemberId, Bucket>& buckets, MemberId sender,
                               double rate_per_second, double burst, const char* what) {
  const absl::Time now = clock_->Now();
  Bucket& b = buckets[sender];
  if (b.tokens < 0) {
    b.tokens = burst;
  } else {
    b.tokens = std::min(burst, b.tokens + absl::ToDoubleSeconds(now - b.updated) * rate_per_second);
  }
  b.updated = now;
  if (b.tokens < 1) {
    const double wait = std::ceil((1 - b.tokens) / rate_per_second);
    return absl::ResourceExhaustedError(
        absl::StrCat("too many ", what, " too fast; try again in ", wait, " s"));
  }
  b.tokens -= 1;
  return absl::OkStatus();
}

absl::Status RateLimiter::Identical(MemberId sender, const std::string& body, uint64_t target) {
  const absl::Time now = clock_->Now();
  const uint64_t hash = std::hash<std::string>()(body);
  Repeat& r = repeats_[sender];
  if (r.body_hash != hash || now - r.since > config_.identical_window) {
    r = Repeat{hash, now, {}};
  }
  if (std::find(r.targets.begin(), r.targets.end(), target) != r.targets.end()) {
    return absl::OkStatus();
  }
  if (static_cast<int>(r.targets.size()) >= config_.identical_targets) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the same text went to ", r.targets.size(), " conversations in the last ",
        absl::FormatDuration(config_.identical_window), "; send something personal, or wait"));
  }
  r.targets.push_back(target);
  return absl::OkStatus();
}

absl::Status RateLimiter::Message(MemberId sender, const std::string& body, uint64_t target) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = Identical(sender, body, target); !s.ok()) return s;
  return Take(messages_, sender, config_.messages_per_minute / 60, config_.message_burst,
              "messages");
}

absl::Status RateLimiter::InMail(MemberId sender, const std::string& body, uint64_t target) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = Identical(sender, body, target); !s.ok()) return s;
  return Take(inmails_, sender, config_.inmails_per_hour / 3600, config_.inmail_burst, "InMails");
}

}  // namespace liaison::messaging
