// Credits follows identity's change feed, on the real binaries: a tier change
// becomes its FORFEIT / GRANT entries when it happens, whatever is read in
// between; after credits restarts (SIGTERM or SIGKILL) every change made
// meanwhile is applied once; and when its cursor fell out of identity's
// retention it rebuilds from identity's answers.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <sstream>

#include "tests/support/eventually.h"
#include "tests/system/credits_support.h"

namespace liaison::testing {
namespace {

using identity::v1::IdentityService;

// The sum of the samples of `name` whose labels include every one of `labels`
// (each as `key="value"`) on `metrics_port`'s /metrics; 0 when none.
double Metric(int metrics_port, const std::string& name, std::vector<std::string> labels = {}) {
  auto scraped = RunCommand(
      {LIAISON_CURL, "-sf", "http://127.0.0.1:" + std::to_string(metrics_port) + "/metrics"});
  REQUIRE(scraped.exit_code == 0);
  double sum = 0;
  std::istringstream lines(scraped.output);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(name, 0) != 0) continue;
    const char next = line.size() > name.size() ? line[name.size()] : '\0';
    if (next != '{' && next != ' ') continue;
    bool all = true;
    for (const auto& label : labels) all = all && Contains(line, label);
    if (all) sum += std::strtod(line.substr(line.rfind(' ') + 1).c_str(), nullptr);
  }
  return sum;
}

bool FeedLive(const RunningService& credits) {
  return Metric(credits.metrics_port, "liaison_feed_consumer_live",
                {"feed=\"identity\"", "consumer=\"credits\""}) == 1;
}

// Entries of `type` this credits process wrote since it started.
double EntriesWritten(const RunningService& credits, const std::string& type) {
  return Metric(credits.metrics_port, "liaison_inmail_credits_entries_total",
                {"type=\"" + type + "\""});
}

void SetTier(RetryingClient<IdentityService>& admin, const std::string& member,
             identity::v1::AccountTier tier) {
  identity::v1::SetAccountTierRequest request;
  request.set_member_id(member);
  request.set_tier(tier);
  identity::v1::SetAccountTierResponse response;
  grpc::Status status =
      admin.Retry([&](auto* c) { return admin.stub->SetAccountTier(c, request, &response); });
  INFO(status.error_message());
  REQUIRE(status.ok());
}

const std::string kUpgradePc = "upgrade:ACCOUNT_TIER_PREMIUM_CAREER";
const std::string kUpgradeRc = "upgrade:ACCOUNT_TIER_RECRUITER_CORPORATE";
const std::string kUpgradePb = "upgrade:ACCOUNT_TIER_PREMIUM_BUSINESS";

// Privacy and identity running, and the flags that point credits at identity.
struct Upstream {
  TempDir dir;
  std::string key = WriteKey(dir);
  RunningService privacy =
      StartService(LIAISON_PRIVACY_BIN, dir.Sub("privacy"), key, dir.Sub("privacy.log"));
  std::string privacy_address = "127.0.0.1:" + std::to_string(privacy.grpc_port);
};

TEST_CASE("Cancelling and resubscribing with no read between forfeits every credit") {
  Upstream up;
  RunningService identity =
      StartService(LIAISON_IDENTITY_BIN, up.dir.Sub("identity"), up.key, up.dir.Sub("identity.log"),
                   {"--privacy-address", up.privacy_address});
  RunningService credits =
      StartService(LIAISON_CREDITS_BIN, up.dir.Sub("credits"), up.key, up.dir.Sub("credits.log"),
                   {"--identity-address", "127.0.0.1:" + std::to_string(identity.grpc_port)});
  REQUIRE(Eventually([&] { return FeedLive(credits); }));
  RetryingClient<IdentityService> admin(identity.grpc_port, AdminToken());
  const std::string m = NewMember(admin, "rena", identity::v1::ACCOUNT_TIER_RECRUITER_CORPORATE);
  CHECK(BalanceOf(credits.grpc_port, m).available() == 150);

  SetTier(admin, m, identity::v1::ACCOUNT_TIER_BASIC);
  SetTier(admin, m, identity::v1::ACCOUNT_TIER_PREMIUM_CAREER);
  // No read: the entries are written as the changes arrive.
  CHECK(Eventually([&] {
    return EntriesWritten(credits, "ENTRY_TYPE_FORFEIT") == 1 &&
           EntriesWritten(credits, "ENTRY_TYPE_GRANT") == 2;
  }));

  const credits::v1::Balance balance = BalanceOf(credits.grpc_port, m);
  CHECK(balance.available() == 5);
  CHECK(balance.tier() == identity::v1::ACCOUNT_TIER_PREMIUM_CAREER);
  const auto ledger = LedgerOf(credits.grpc_port, m);
  CHECK(CountEntries(ledger, credits::v1::ENTRY_TYPE_FORFEIT) == 1);
  CHECK(CountEntries(ledger, credits::v1::ENTRY_TYPE_GRANT, kUpgradeRc) == 1);
  CHECK(CountEntries(ledger, credits::v1::ENTRY_TYPE_GRANT, kUpgradePc) == 1);
  CHECK(CountEntries(ledger, credits::v1::ENTRY_TYPE_EXPIRE) == 0);
  REQUIRE(ledger.size() == 3);
  CHECK(ledger[1].type() == credits::v1::ENTRY_TYPE_FORFEIT);
  CHECK(ledger[1].monthly_delta() == -150);
  CHECK(Metric(credits.metrics_port, "liaison_credits_tier_fallback_total") == 0);
}

TEST_CASE("Tier changes made while credits is down are each applied once when it is back") {
  Upstream up;
  RunningService identity =
      StartService(LIAISON_IDENTITY_BIN, up.dir.Sub("identity"), up.key, up.dir.Sub("identity.log"),
                   {"--privacy-address", up.privacy_address});
  const std::vector<std::string> flags = {"--identity-address",
                                          "127.0.0.1:" + std::to_string(identity.grpc_port)};
  const std::string data = up.dir.Sub("credits");
  RunningService credits =
      StartService(LIAISON_CREDITS_BIN, data, up.key, up.dir.Sub("credits.1.log"), flags);
  RetryingClient<IdentityService> admin(identity.grpc_port, AdminToken());
  const std::string m = NewMember(admin, "remy", identity::v1::ACCOUNT_TIER_RECRUITER_CORPORATE);
  CHECK(BalanceOf(credits.grpc_port, m).available() == 150);
  const int port = credits.grpc_port;

  // A clean stop, two changes, a start.
  credits.process->Signal(SIGTERM);
  REQUIRE(credits.process->Wait() == 0);
  SetTier(admin, m, identity::v1::ACCOUNT_TIER_BASIC);
  SetTier(admin, m, identity::v1::ACCOUNT_TIER_PREMIUM_CAREER);
  credits =
      StartService(LIAISON_CREDITS_BIN, data, up.key, up.dir.Sub("credits.2.log"), flags, port);
  CHECK(Eventually([&] {
    return EntriesWritten(credits, "ENTRY_TYPE_FORFEIT") == 1 &&
           EntriesWritten(credits, "ENTRY_TYPE_GRANT") == 1;
  }));
  CHECK(BalanceOf(port, m).available() == 5);

  // A crash, two more changes, a start.
  credits.process->Signal(SIGKILL);
  REQUIRE(credits.process->Wait() == 128 + SIGKILL);
  SetTier(admin, m, identity::v1::ACCOUNT_TIER_BASIC);
  SetTier(admin, m, identity::v1::ACCOUNT_TIER_PREMIUM_BUSINESS);
  credits =
      StartService(LIAISON_CREDITS_BIN, data, up.key, up.dir.Sub("credits.3.log"), flags, port);
  CHECK(Eventually([&] {
    return EntriesWritten(credits, "ENTRY_TYPE_FORFEIT") == 1 &&
           EntriesWritten(credits, "ENTRY_TYPE_GRANT") == 1;
  }));
  CHECK(BalanceOf(port, m).available() == 15);

  // And once more with nothing changed: nothing is replayed.
  credits.process->Signal(SIGTERM);
  REQUIRE(credits.process->Wait() == 0);
  credits =
      StartService(LIAISON_CREDITS_BIN, data, up.key, up.dir.Sub("credits.4.log"), flags, port);
  REQUIRE(Eventually([&] { return FeedLive(credits); }));
  const auto ledger = LedgerOf(port, m);
  CHECK(EntriesWritten(credits, "ENTRY_TYPE_FORFEIT") == 0);
  CHECK(EntriesWritten(credits, "ENTRY_TYPE_GRANT") == 0);
  CHECK(CountEntries(ledger, credits::v1::ENTRY_TYPE_FORFEIT) == 2);
  CHECK(CountEntries(ledger, credits::v1::ENTRY_TYPE_GRANT, kUpgradeRc) == 1);
  CHECK(CountEntries(ledger, credits::v1::ENTRY_TYPE_GRANT, kUpgradePc) == 1);
  CHECK(CountEntries(ledger, credits::v1::ENTRY_TYPE_GRANT, kUpgradePb) == 1);
  CHECK(ledger.size() == 5);
  CHECK(BalanceOf(port, m).available() == 15);
}

TEST_CASE("A credits whose cursor fell out of identity's retention rebuilds from identity") {
  Upstream up;
  LaterService identity(LIAISON_IDENTITY_BIN, up.dir, "identity", up.key,
                        {"--privacy-address", up.privacy_address, "--change-retention", "7d"});
  identity.StartAt("0");
  const std::vector<std::string> flags = {"--identity-address", identity.Address()};
  const std::string data = up.dir.Sub("credits");
  RunningService credits =
      StartService(LIAISON_CREDITS_BIN, data, up.key, up.dir.Sub("credits.1.log"), flags);
  RetryingClient<IdentityService> admin(identity.port(), AdminToken());
  const std::string m = NewMember(admin, "rhea", identity::v1::ACCOUNT_TIER_RECRUITER_CORPORATE);
  const std::string other = NewMember(admin, "rolf", identity::v1::ACCOUNT_TIER_PREMIUM_CAREER);
  CHECK(BalanceOf(credits.grpc_port, m).available() == 150);
  CHECK(BalanceOf(credits.grpc_port, other).available() == 5);
  const int port = credits.grpc_port;
  credits.process->Signal(SIGTERM);
  REQUIRE(credits.process->Wait() == 0);

  // Two changes credits does not see before they are pruned.
  SetTier(admin, m, identity::v1::ACCOUNT_TIER_BASIC);
  SetTier(admin, other, identity::v1::ACCOUNT_TIER_PREMIUM_BUSINESS);
  // A month on, identity keeps only its newest change.
  identity.StartAt("30d");
  const double head =
      Metric(identity.running().metrics_port, "liaison_feed_head_cursor", {"feed=\"identity\""});
  REQUIRE(Eventually([&] {
    return Metric(identity.running().metrics_port, "liaison_feed_oldest_cursor",
                  {"feed=\"identity\""}) >= head - 1;
  }));

  credits =
      StartService(LIAISON_CREDITS_BIN, data, up.key, up.dir.Sub("credits.2.log"), flags, port);
  CHECK(Eventually([&] {
    return Metric(credits.metrics_port, "liaison_feed_consumer_rebuilds_total",
                  {"feed=\"identity\"", "consumer=\"credits\""}) >= 1 &&
           FeedLive(credits);
  }));
  // Set from identity's answers: the cancellation forfeited everything, the
  // upgrade granted the new tier's allotment.
  CHECK(BalanceOf(port, m).available() == 0);
  CHECK(BalanceOf(port, m).tier() == identity::v1::ACCOUNT_TIER_BASIC);
  CHECK(CountEntries(LedgerOf(port, m), credits::v1::ENTRY_TYPE_FORFEIT) == 1);
  CHECK(BalanceOf(port, other).available() == 20);
  CHECK(CountEntries(LedgerOf(port, other), credits::v1::ENTRY_TYPE_GRANT, kUpgradePb) == 1);

  // And it follows the feed again from there.
  SetTier(admin, m, identity::v1::ACCOUNT_TIER_PREMIUM_CAREER);
  CHECK(Eventually([&] { return EntriesWritten(credits, "ENTRY_TYPE_GRANT") == 2; }));
  CHECK(BalanceOf(port, m).available() == 5);
  CHECK(CountEntries(LedgerOf(port, m), credits::v1::ENTRY_TYPE_GRANT, kUpgradePc) == 1);
  CHECK(CountEntries(LedgerOf(port, other), credits::v1::ENTRY_TYPE_GRANT, kUpgradePb) == 1);
}

}  // namespace
}  // namespace liaison::testing
