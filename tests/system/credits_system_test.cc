// The real liaison-credits binary with liaison-identity, as an operator and a
// client see it: buf curl, liaisonctl tokens, /metrics through promtool.
#include <signal.h>

#include <catch2/catch.hpp>

#include "tests/system/system_support.h"

namespace liaison::testing {
namespace {

const std::string kCredits = "liaison.credits.v1.CreditService/";

TEST_CASE("liaison-credits serves balances and holds over reflection, with checked metrics") {
  TempDir dir;
  const std::string key = WriteKey(dir);
  RunningService identity =
      StartService(LIAISON_IDENTITY_BIN, dir.Sub("identity"), key, dir.Sub("i.log"));
  RunningService credits =
      StartService(LIAISON_CREDITS_BIN, dir.Sub("credits"), key, dir.Sub("c.log"),
                   {"--identity-address", "127.0.0.1:" + std::to_string(identity.grpc_port)});
  const std::string admin = CtlToken(key, {"--service", "admin"});
  auto created = nlohmann::json::parse(
      CallRpc(identity, "liaison.identity.v1.IdentityService/CreateMember", admin,
              R"({"handle":"rita","displayName":"Rita","email":"rita@example.com"})")
          .output);
  const std::string rita = created["member"]["memberId"];
  REQUIRE(
      CallRpc(identity, "liaison.identity.v1.IdentityService/SetAccountTier", admin,
              nlohmann::json{{"memberId", rita}, {"tier", "ACCOUNT_TIER_SALES_NAVIGATOR"}}.dump())
          .exit_code == 0);
  const std::string token = CtlToken(key, {rita});

  auto methods = BufCurl({"--list-methods", credits.Url()});
  CHECK(Contains(methods.output, "liaison.credits.v1.CreditService/ReserveCredit"));
  auto balance = nlohmann::json::parse(CallRpc(credits, kCredits + "GetBalance", token).output);
  CHECK(balance["balance"]["monthlyAvailable"] == "50");
  CHECK(balance["balance"]["rolloverCap"] == "150");

  const std::string hold = nlohmann::json{{"memberId", rita}, {"inmailId", "im-1"}}.dump();
  CHECK(Contains(CallRpc(credits, kCredits + "ReserveCredit", token, hold).output,
                 "\"code\": \"permission_denied\""));
  REQUIRE(CallRpc(credits, kCredits + "ReserveCredit", admin, hold).exit_code == 0);
  REQUIRE(CallRpc(credits, kCredits + "CommitHold", admin, hold).exit_code == 0);
  CHECK(Contains(CallRpc(credits, kCredits + "PurchaseCredits", token,
                         R"({"packId":"5","idempotencyKey":"k1"})")
                     .output,
                 "\"code\": \"failed_precondition\""));  // Sales Navigator cannot buy

  const std::string exposition = ScrapeAndCheck(credits, dir.Sub("metrics.txt"));
  CHECK(Contains(exposition, "liaison_inmail_credits_entries_total{type=\"ENTRY_TYPE_COMMIT\"} 1"));
  CHECK(MetricFamilies(exposition) ==
        ReadLines(std::string(LIAISON_SOURCE_DIR) + "/tests/golden/credits_metrics.txt"));

  credits.process->Signal(SIGTERM);
  CHECK(credits.process->Wait() == 0);
  RunningService again =
      StartService(LIAISON_CREDITS_BIN, dir.Sub("credits"), key, dir.Sub("c2.log"),
                   {"--identity-address", "127.0.0.1:" + std::to_string(identity.grpc_port)});
  balance = nlohmann::json::parse(CallRpc(again, kCredits + "GetBalance", token).output);
  CHECK(balance["balance"]["monthlyAvailable"] == "49");
  again.process->Signal(SIGTERM);
  CHECK(again.process->Wait() == 0);
  identity.process->Signal(SIGTERM);
  CHECK(identity.process->Wait() == 0);
}

TEST_CASE("A bad credit pack table stops liaison-credits at start") {
  TempDir dir;
  const std::string key = WriteKey(dir);
  Process p({LIAISON_CREDITS_BIN, "--data-dir", dir.Sub("d"), "--signing-key-file", key,
             "--grpc-port", "0", "--metrics-port", "0", "--credit-packs", "five:10"},
            {}, dir.Sub("log"));
  CHECK(p.Wait() == 1);
  CHECK(Contains(p.Log(), "credit pack \\\"five:10\\\""));
}

}  // namespace
}  // namespace liaison::testing
