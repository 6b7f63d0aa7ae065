// liaison-privacy: the privacy settings service. Wiring only.
#include "common/config.h"
#include "common/server.h"
#include "services/privacy/privacy_module.h"

int main(int argc, char** argv) {
  liaison::BlockShutdownSignals();
  liaison::ServerConfig config;
  config.grpc_port = liaison::privacy::kDefaultGrpcPort;
  config.metrics_port = liaison::privacy::kDefaultMetricsPort;
  CLI::App app{"Liaison privacy settings service (liaison.privacy.v1.PrivacyService)",
               "liaison-privacy"};
  liaison::AddServerFlags(app, &config);
  liaison::privacy::PrivacyConfig privacy;
  liaison::AddChangeRetentionFlag(app, &privacy.change_retention);
  if (auto exit_code = liaison::ParseFlags(app, argc, argv)) return *exit_code;
  return liaison::RunService(liaison::privacy::PrivacyServiceSpec(privacy), config);
}
