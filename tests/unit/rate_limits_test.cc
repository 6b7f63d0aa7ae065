#include "services/messaging/rate_limits.h"

#include <catch2/catch.hpp>

namespace liaison::messaging {
namespace {

TEST_CASE("Message buckets allow the burst, then the rate, per sender") {
  ManualClock clock(absl::FromUnixSeconds(1'800'000'000));
  RateLimiter limiter({/*messages_per_minute=*/60, /*message_burst=*/3}, &clock);
  for (int i = 0; i < 3; ++i) CHECK(limiter.Message(1, "m" + std::to_string(i), i).ok());
  auto refused = limiter.Message(1, "m3", 3);
  CHECK(refused.code() == absl::StatusCode::kResourceExhausted);
  CHECK(std::string(refused.message()).find("try again in 1 s") != std::string::npos);
  CHECK(limiter.Message(2, "other sender", 9).ok());
  clock.Advance(absl::Seconds(1));  // one token back at 1 a second
  CHECK(limiter.Message(1, "m4", 4).ok());
  CHECK_FALSE(limiter.Message(1, "m5", 5).ok());
}

TEST_CASE("InMail buckets are separate and slower") {
  ManualClock clock(absl::FromUnixSeconds(1'800'000'000));
  RateLimitConfig config;
  config.inmails_per_hour = 2;
  config.inmail_burst = 2;
  RateLimiter limiter(config, &clock);
  CHECK(limiter.InMail(1, "a", 1).ok());
  CHECK(limiter.InMail(1, "b", 2).ok());
  CHECK(limiter.InMail(1, "c", 3).code() == absl::StatusCode::kResourceExhausted);
  CHECK(limiter.Message(1, "d", 4).ok());  // messages have their own bucket
  clock.Advance(absl::Minutes(30));
  CHECK(limiter.InMail(1, "e", 5).ok());
}

TEST_CASE("The same text to too many conversations is throttled, then allowed after the window") {
  ManualClock clock(absl::FromUnixSeconds(1'800'000'000));
  RateLimitConfig config;
  config.message_burst = 1000;
  config.identical_targets = 3;
  RateLimiter limiter(config, &clock);
  for (uint64_t target = 1; target <= 3; ++target)
    CHECK(limiter.Message(1, "Buy now", target).ok());
  CHECK(limiter.Message(1, "Buy now", 2).ok());  // again to the same conversation
  auto refused = limiter.Message(1, "Buy now", 4);
  CHECK(refused.code() == absl::StatusCode::kResourceExhausted);
  CHECK(std::string(refused.message()).find("same text") != std::string::npos);
  CHECK(limiter.Message(1, "Something personal", 4).ok());
  clock.Advance(absl::Minutes(11));
  CHECK(limiter.Message(1, "Buy now", 5).ok());
}

}  // namespace
}  // namespace liaison::messaging
