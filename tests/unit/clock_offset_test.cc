#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>

#include "common/clock.h"
#include "common/config.h"
#include "tests/support/temp_dir.h"

namespace liaison {
namespace {

absl::Duration Parsed(const std::string& text) {
  auto offset = ParseClockOffset(text);
  INFO(text << ": " << offset.status());
  REQUIRE(offset.ok());
  return *offset;
}

std::string Refusal(const std::string& text) {
  auto offset = ParseClockOffset(text);
  REQUIRE_FALSE(offset.ok());
  CHECK(offset.status().code() == absl::StatusCode::kInvalidArgument);
  return std::string(offset.status().message());
}

TEST_CASE("Clock offsets are days, hours, minutes and seconds, with a sign") {
  CHECK(Parsed("0") == absl::ZeroDuration());
  CHECK(Parsed("-0") == absl::ZeroDuration());
  CHECK(Parsed("90d") == absl::Hours(24 * 90));
  CHECK(Parsed("48h") == absl::Hours(48));
  CHECK(Parsed("-1h30m") == -absl::Minutes(90));
  CHECK(Parsed("+20d23h") == absl::Hours(24 * 20 + 23));
  CHECK(Parsed("3600s") == absl::Hours(1));
  CHECK(Parsed("-7776000s") == -absl::Hours(24 * 90));
  CHECK(Parsed("1d1d") == absl::Hours(48));
  CHECK(Parsed("36525d") == kMaxClockOffset);
  CHECK(Parsed("-36525d") == -kMaxClockOffset);
}

TEST_CASE("A clock offset without a unit, with a fraction or past 100 years is refused") {
  CHECK(Refusal("90") ==
        "clock offset \"90\" needs a unit (d, h, m or s) after each number; "
        "write e.g. 90d, 48h, -1h30m or 0");
  CHECK(Refusal("") == "clock offset \"\" is empty; write e.g. 90d, 48h, -1h30m or 0");
  CHECK(Refusal("-").find("is empty") != std::string::npos);
  CHECK(Refusal("3w").find("unknown unit 'w'") != std::string::npos);
  CHECK(Refusal("1.5d").find("unknown unit '.'") != std::string::npos);
  CHECK(Refusal("d").find("whole number before each unit") != std::string::npos);
  CHECK(Refusal("1h-30m").find("whole number before each unit") != std::string::npos);
  CHECK(Refusal("--1h").find("whole number before each unit") != std::string::npos);
  CHECK(Refusal(" 1h").find("whole number before each unit") != std::string::npos);
  CHECK(Refusal("1h ").find("whole number before each unit") != std::string::npos);
  CHECK(Refusal("36526d").find("beyond 100 years") != std::string::npos);
  CHECK(Refusal("9999999999999999999s").find("beyond 100 years") != std::string::npos);
  CHECK(Refusal("36525d1s").find("beyond 100 years") != std::string::npos);
  CHECK(Refusal("inf").find("whole number before each unit") != std::string::npos);
}

TEST_CASE("An offset clock reads its base clock moved by the offset") {
  ManualClock base(absl::FromUnixSeconds(1'800'000'000));
  OffsetClock later(&base, absl::Hours(48));
  CHECK(later.Now() == absl::FromUnixSeconds(1'800'000'000) + absl::Hours(48));
  base.Advance(absl::Seconds(5));
  CHECK(later.Now() == absl::FromUnixSeconds(1'800'000'000 + 5) + absl::Hours(48));
  CHECK(later.offset() == absl::Hours(48));
}

TEST_CASE("The clock offset flag and LIAISON_CLOCK_OFFSET are checked while parsing") {
  testing::TempDir dir;
  std::ofstream(dir.Sub("key")) << "k";
  auto parse = [&dir](ServerConfig* config, std::vector<std::string> args) {
    CLI::App app{"test", "liaison-test"};
    AddServerFlags(app, config);
    args.insert(args.begin(),
                {"liaison-test", "--data-dir", "d", "--signing-key-file", dir.Sub("key")});
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    return ParseFlags(app, static_cast<int>(argv.size()), argv.data());
  };
  ServerConfig config;
  CHECK_FALSE(parse(&config, {}));
  CHECK(config.clock_offset == "0");
  CHECK_FALSE(parse(&config, {"--clock-offset", "21d1h"}));
  CHECK(config.clock_offset == "21d1h");
  CHECK(parse(&config, {"--clock-offset", "21 days"}) == 2);
  setenv("LIAISON_CLOCK_OFFSET", "-48h", 1);
  ServerConfig from_env;
  CHECK_FALSE(parse(&from_env, {}));
  CHECK(from_env.clock_offset == "-48h");
  setenv("LIAISON_CLOCK_OFFSET", "48", 1);
  CHECK(parse(&from_env, {}) == 2);
  unsetenv("LIAISON_CLOCK_OFFSET");
}

}  // namespace
}  // namespace liaison
