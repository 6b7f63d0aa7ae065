// liaison-credits: the InMail credit ledger. Wiring only.
#include "common/config.h"
#include "common/server.h"
#include "services/credits/credit_module.h"

int main(int argc, char** argv) {
  liaison::BlockShutdownSignals();
  liaison::ServerConfig config;
  config.grpc_port = liaison::credits::kDefaultGrpcPort;
  config.metrics_port = liaison::credits::kDefaultMetricsPort;
  liaison::credits::CreditsConfig credits;
  CLI::App app{"Liaison InMail credit service (liaison.credits.v1.CreditService)",
               "liaison-credits"};
  liaison::AddServerFlags(app, &config);
  auto add = [&app](const std::string& name, auto* value, const std::string& help) {
    return app.add_option("--" + name, *value, help)
        ->envname(liaison::EnvName(name))
        ->capture_default_str();
  };
  add("identity-address", &credits.identity_address, "host:port of the identity service");
  add("hold-timeout-seconds", &credits.hold_timeout_seconds,
      "How long a credit hold lasts before it is voided and its credit returned")
      ->check(CLI::Range(0.1, 86400.0));
  add("hold-sweep-seconds", &credits.sweep_interval_seconds,
      "How often expired holds are looked for")
      ->check(CLI::Range(0.05, 3600.0));
  add("credit-packs", &credits.packs, "Packs for sale: <credits>:<price in cents>,...");
  if (auto exit_code = liaison::ParseFlags(app, argc, argv)) return *exit_code;
  return liaison::RunService(liaison::credits::CreditServiceSpec(credits), config);
}
