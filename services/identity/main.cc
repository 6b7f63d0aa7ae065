// liaison-identity: members, pages, invitations, connections and blocks.
// Wiring only.
#include "common/config.h"
#include "common/server.h"
#include "services/identity/identity_module.h"

int main(int argc, char** argv) {
  liaison::BlockShutdownSignals();
  liaison::ServerConfig config;
  config.grpc_port = liaison::identity::kDefaultGrpcPort;
  config.metrics_port = liaison::identity::kDefaultMetricsPort;
  liaison::identity::IdentityConfig identity;
  CLI::App app{
      "Liaison identity and connection-graph service (liaison.identity.v1.IdentityService)",
      "liaison-identity"};
  liaison::AddServerFlags(app, &config);
  app.add_option("--privacy-address", identity.privacy_address, "host:port of the privacy service")
      ->envname(liaison::EnvName("privacy-address"))
      ->capture_default_str();
  liaison::AddChangeRetentionFlag(app, &identity.change_retention);
  if (auto exit_code = liaison::ParseFlags(app, argc, argv)) return *exit_code;
  return liaison::RunService(liaison::identity::IdentityServiceSpec(identity), config);
}
