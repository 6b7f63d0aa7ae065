// liaison-messaging: conversations, messages, InMail and the inbox. Wiring only.
#include "common/config.h"
#include "common/server.h"
#include "services/messaging/messaging_module.h"

int main(int argc, char** argv) {
  liaison::BlockShutdownSignals();
  liaison::ServerConfig config;
  config.grpc_port = liaison::messaging::kDefaultGrpcPort;
  config.metrics_port = liaison::messaging::kDefaultMetricsPort;
  liaison::messaging::MessagingServiceConfig messaging;
  CLI::App app{"Liaison messaging service (liaison.messaging.v1.MessagingService)",
               "liaison-messaging"};
  liaison::AddServerFlags(app, &config);
  auto add = [&app](const std::string& name, auto* value, const std::string& help) {
    return app.add_option("--" + name, *value, help)
        ->envname(liaison::EnvName(name))
        ->capture_default_str();
  };
  add("identity-address", &messaging.identity_address, "host:port of the identity service");
  add("privacy-address", &messaging.privacy_address, "host:port of the privacy service");
  add("credits-address", &messaging.credits_address, "host:port of the credits service");
  add("premium-to-premium-inmail-override", &messaging.premium_to_premium_inmail_override,
      "Let premium members InMail premium members whatever their InMail setting");
  add("outbox-interval-seconds", &messaging.outbox_interval_seconds,
      "How often the InMail outbox is retried")
      ->check(CLI::Range(0.05, 3600.0));
  add("messages-per-minute", &messaging.limits.messages_per_minute,
      "Messages a member may send per minute (sustained)")
      ->check(CLI::Range(0.01, 1e6));
  add("message-burst", &messaging.limits.message_burst, "Messages a member may send at once")
      ->check(CLI::Range(1.0, 1e6));
  add("inmails-per-hour", &messaging.limits.inmails_per_hour,
      "InMails a member may send per hour (sustained)")
      ->check(CLI::Range(0.01, 1e6));
  add("inmail-burst", &messaging.limits.inmail_burst, "InMails a member may send at once")
      ->check(CLI::Range(1.0, 1e6));
  add("identical-text-limit", &messaging.limits.identical_targets,
      "Conversations the same text may go to within 10 minutes")
      ->check(CLI::Range(1, 100000));
  add("max-streams-per-member", &messaging.streams.per_member,
      "StreamEvents streams one member may hold; a newer one ends their oldest")
      ->check(CLI::Range(1, 1000));
  add("max-streams", &messaging.streams.per_process,
      "StreamEvents streams this process holds at most; past it new ones are refused")
      ->check(CLI::Range(1, 10000000));
  add("read-model-entries", &messaging.read_model_entries,
      "Pairs, tiers and privacy settings the read model holds in memory (about 200 bytes "
      "each; least recently used dropped first); 0 turns it off and every send asks")
      ->check(CLI::Range(size_t{0}, size_t{100'000'000}));
  if (auto exit_code = liaison::ParseFlags(app, argc, argv)) return *exit_code;
  return liaison::RunService(liaison::messaging::MessagingServiceSpec(messaging), config);
}
