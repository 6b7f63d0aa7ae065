// The test-only --clock-offset as an operator meets it on a real binary: a
// warning at start and a gauge while it is set, and one clear line for a bad
// value.
#include <catch2/catch.hpp>

#include "tests/system/later_support.h"

namespace liaison::testing {
namespace {

TEST_CASE("A moved clock is logged as a warning and exported as a gauge while it is set") {
  TempDir dir;
  const std::string key = WriteKey(dir);
  LaterService privacy(LIAISON_PRIVACY_BIN, dir, "privacy", key, {});
  privacy.StartAt("90d");
  const std::string log = privacy.running().process->Log();
  CHECK(Contains(log, "\"event\":\"clock_offset\""));
  CHECK(Contains(log, "\"offset\":\"90d\""));
  std::string exposition = ScrapeAndCheck(privacy.running(), dir.Sub("moved.txt"));
  CHECK(Contains(exposition, "# TYPE liaison_clock_offset_seconds gauge"));
  CHECK(Contains(exposition, "\nliaison_clock_offset_seconds 7776000\n"));

  privacy.StartAt("-1h30m");
  exposition = ScrapeAndCheck(privacy.running(), dir.Sub("back.txt"));
  CHECK(Contains(exposition, "\nliaison_clock_offset_seconds -5400\n"));

  privacy.StartAt("0");
  CHECK_FALSE(Contains(privacy.running().process->Log(), "clock_offset"));
  exposition = ScrapeAndCheck(privacy.running(), dir.Sub("real.txt"));
  CHECK_FALSE(Contains(exposition, "liaison_clock_offset_seconds"));
}

TEST_CASE("A bad clock offset stops start-up with one line naming it") {
  TempDir dir;
  const std::string key = WriteKey(dir);
  std::vector<std::string> base = {LIAISON_IDENTITY_BIN, "--data-dir", dir.Sub("d")};
  base.insert(base.end(), {"--signing-key-file", key, "--grpc-port", "0", "--metrics-port", "0"});
  for (const std::string bad : {"90", "1.5d", "3w", "d", "", "99999999d"}) {
    auto argv = base;
    argv.push_back("--clock-offset=" + bad);
    Process p(argv, {}, dir.Sub("flag.log"));
    CHECK(p.Wait() == 2);
    const std::string log = p.Log();
    INFO(log);
    CHECK(Contains(log, "--clock-offset"));
    CHECK(std::count(log.begin(), log.end(), '\n') == 1);
  }
  Process from_env(base, {{"LIAISON_CLOCK_OFFSET", "2 days"}}, dir.Sub("env.log"));
  CHECK(from_env.Wait() == 2);
  INFO(from_env.Log());
  CHECK(Contains(from_env.Log(), "clock offset \"2 days\""));
}

}  // namespace
}  // namespace liaison::testing
