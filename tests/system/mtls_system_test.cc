// Optional mTLS between services (DESIGN.md §3) with the real binaries and
// certificates the test makes with the openssl CLI, as an operator would: a
// CA, a certificate per service (for 127.0.0.1 and localhost), client
// certificates, an unrelated second CA and an expired certificate. The four
// services serve each other and liaisonctl over mTLS; a client without a
// certificate from the CA is refused during the handshake; a service's own
// calls refuse a server whose certificate is from another CA or for another
// name; wrong TLS files stop a service at start with one line.
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "grpc/health/v1/health.grpc.pb.h"
#include "liaison/identity/v1/identity.grpc.pb.h"
#include "tests/system/system_support.h"
#include "tests/system/test_pki.h"

namespace liaison::testing {
namespace {

const std::string kIdentityService = "grpc_service=\"liaison.identity.v1.IdentityService\"";

std::string Address(const RunningService& s) {
  return "127.0.0.1:" + std::to_string(s.grpc_port);
}

// What `s` logged past its first `from` bytes, once that holds `needle`
// (the server may log a failed handshake just after the client gave up), or
// after 5 s.
std::string LoggedSince(const RunningService& s, size_t from, const std::string& needle) {
  std::string added;
  for (int i = 0; i < 100; ++i) {
    added = s.process->Log().substr(from);
    if (Contains(added, needle)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return added;
}

// Every line `s` logged is one JSON object, gRPC's own lines included.
void CheckJsonLog(const RunningService& s) {
  std::istringstream lines(s.process->Log());
  for (std::string line; std::getline(lines, line);) {
    INFO(line);
    CHECK(nlohmann::json::accept(line));
  }
}

// The port a service logged for --health-port.
int HealthPort(const RunningService& s) {
  std::istringstream lines(s.process->Log());
  for (std::string line; std::getline(lines, line);) {
    if (Contains(line, "\"event\":\"serving\"")) {
      return nlohmann::json::parse(line).at("health_port").get<int>();
    }
  }
  FAIL("no serving line");
  return -1;
}

// The four services, each with its own certificate from `pki`'s "ca".
struct System {
  RunningService privacy, identity, credits, messaging;

  // liaisonctl pointed at them, with `tls` flags (none: plaintext).
  std::vector<std::string> Ctl(const std::string& key, std::vector<std::string> tls,
                               std::vector<std::string> args) const {
    std::vector<std::string> argv = {LIAISON_CTL_BIN,  "--signing-key-file", key,
                                     "--identity",     Address(identity),    "--messaging",
                                     Address(messaging), "--credits",         Address(credits),
                                     "--privacy",      Address(privacy)};
    argv.insert(argv.end(), tls.begin(), tls.end());
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
};

System StartSystem(const TempDir& dir, const Pki& pki, const std::string& key) {
  auto start = [&](const std::string& binary, const std::string& name,
                   std::vector<std::string> extra) {
    std::vector<std::string> flags = pki.ServiceFlags(name);
    flags.insert(flags.end(), extra.begin(), extra.end());
    return StartService(binary, dir.Sub(name), key, dir.Sub(name + ".log"), flags);
  };
  System s;
  s.privacy = start(LIAISON_PRIVACY_BIN, "privacy", {});
  s.identity = start(LIAISON_IDENTITY_BIN, "identity", {"--privacy-address", Address(s.privacy)});
  s.credits = start(LIAISON_CREDITS_BIN, "credits", {"--identity-address", Address(s.identity)});
  s.messaging = start(LIAISON_MESSAGING_BIN, "messaging",
                      {"--identity-address", Address(s.identity), "--privacy-address",
                       Address(s.privacy), "--credits-address", Address(s.credits),
                       "--health-port", "0"});
  return s;
}

// The output of a liaisonctl run that must succeed.
std::string Ok(const std::vector<std::string>& argv) {
  CommandResult result = RunCommand(argv);
  INFO(result.output);
  REQUIRE(result.exit_code == 0);
  return result.output;
}

// A liaisonctl run refused during the TLS handshake: exit 1, UNAVAILABLE.
void RequireRefused(const std::vector<std::string>& argv) {
  CommandResult result = RunCommand(argv);
  INFO(result.output);
  CHECK(result.exit_code == 1);
  CHECK(Contains(result.output, "liaisonctl: UNAVAILABLE: "));
}

// Whether a line of `exposition` starts with `prefix` and holds every one of `parts`.
bool AnyLine(const std::string& exposition, const std::string& prefix,
             const std::vector<std::string>& parts) {
  std::istringstream lines(exposition);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(prefix, 0) != 0) continue;
    bool all = true;
    for (const std::string& part : parts) all = all && Contains(line, part);
    if (all) return true;
  }
  return false;
}

grpc::health::v1::HealthCheckResponse::ServingStatus PlaintextHealth(int port) {
  auto stub = grpc::health::v1::Health::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = stub->Check(&context, request, &response);
  INFO(status.error_message());
  REQUIRE(status.ok());
  return response.status();
}

TEST_CASE("Over mTLS the four services serve each other and liaisonctl, and refuse uncertified "
          "clients") {
  TempDir dir;
  const std::string key = WriteKey(dir);
  Pki pki(dir);
  pki.Leaves({"privacy", "identity", "credits", "messaging", "ctl"});
  pki.Leaf("stranger", "other-ca", kLoopback);
  pki.Leaf("expired", "ca", kLoopback, /*expired=*/true);
  System s = StartSystem(dir, pki, key);
  const std::vector<std::string> tls = {"--tls-ca-file", pki.Cert("ca"), "--tls-cert-file",
                                        pki.Cert("ctl"), "--tls-key-file", pki.Key("ctl")};
  auto ctl = [&](std::vector<std::string> args) { return s.Ctl(key, tls, std::move(args)); };

  // Members and a tier (identity -> privacy on creation, credits reads identity).
  for (const char* handle : {"ana", "ben", "rex", "sam"}) {
    Ok(ctl({"member", "create", "--handle", handle, "--name", handle, "--email",
            std::string(handle) + "@example.com"}));
  }
  CHECK(Contains(Ok(ctl({"member", "tier", "rex", "recruiter-lite"})), "is now recruiter-lite"));
  // A message between connections: messaging -> identity and privacy.
  Ok(ctl({"--as", "ana", "invite", "ben"}));
  Ok(ctl({"--as", "ben", "accept", "ana"}));
  CHECK(Contains(Ok(ctl({"--as", "ana", "send", "ben", "Hello over mTLS"})), "Sent #1 to @ben"));
  CHECK(Contains(Ok(ctl({"--as", "ben", "inbox"})), "@ana: Hello over mTLS"));
  // An InMail: messaging -> credits (a hold) -> identity (the tier).
  CHECK(Contains(Ok(ctl({"--as", "rex", "inmail", "sam", "--subject", "A role", "--body",
                         "Open to offers?"})),
                 "sent to @sam"));
  CHECK(nlohmann::json::parse(Ok(ctl({"--as", "rex", "balance", "--json"})))["balance"]
                                                                            ["available"] == "29");

  // Refused by identity during the handshake, before any RPC, so nothing is
  // created: no client certificate, one from another CA, an expired one,
  // plaintext. Each attempt adds a failed handshake to identity's log.
  const std::vector<std::string> create = {"member", "create", "--handle", "zed", "--name",
                                           "Zed",    "--email", "zed@example.com"};
  auto client = [&](const std::string& name) {
    return std::vector<std::string>{"--tls-ca-file", pki.Cert("ca"), "--tls-cert-file",
                                    pki.Cert(name), "--tls-key-file", pki.Key(name)};
  };
  const std::vector<std::pair<std::vector<std::string>, std::string>> refusals = {
      {{"--tls-ca-file", pki.Cert("ca")}, "peer did not return a certificate"},
      {client("stranger"), "certificate verify failed"},
      {client("expired"), "certificate verify failed"},
      {{}, "wrong version number"},
  };
  for (const auto& [tls_flags, reason] : refusals) {
    const size_t logged = s.identity.process->Log().size();
    RequireRefused(s.Ctl(key, tls_flags, create));
    const std::string added = LoggedSince(s.identity, logged, reason);
    INFO(added);
    CHECK(Contains(added, "Handshake failed"));
    CHECK(Contains(added, reason));
  }
  // liaisonctl checks the servers too: a CA that did not sign them.
  RequireRefused(s.Ctl(key,
                       {"--tls-ca-file", pki.Cert("other-ca"), "--tls-cert-file", pki.Cert("ctl"),
                        "--tls-key-file", pki.Key("ctl")},
                       {"--as", "ana", "inbox"}));
  CommandResult zed = RunCommand(ctl({"--as", "ana", "member", "get", "zed"}));
  CHECK(zed.exit_code == 1);
  CHECK(Contains(zed.output, "NOT_FOUND"));

  // The probe port answers health in plaintext and serves nothing else;
  // the service port does not speak plaintext at all.
  const int health_port = HealthPort(s.messaging);
  REQUIRE(health_port > 0);
  CHECK(PlaintextHealth(health_port) == grpc::health::v1::HealthCheckResponse::SERVING);
  auto probe_channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(health_port),
                                           grpc::InsecureChannelCredentials());
  grpc::ClientContext context;
  identity::v1::GetMemberRequest request;
  identity::v1::GetMemberResponse response;
  CHECK(identity::v1::IdentityService::NewStub(probe_channel)
            ->GetMember(&context, request, &response)
            .error_code() == grpc::StatusCode::UNIMPLEMENTED);
  CHECK(BufCurl({"--list-services", "http://127.0.0.1:" + std::to_string(health_port)})
            .exit_code != 0);
  CHECK(BufCurl({s.messaging.Url() + "/grpc.health.v1.Health/Check"}).exit_code != 0);

  // Calls between the services arrived (the same check finds none below).
  CHECK(AnyLine(ScrapeAndCheck(s.identity, dir.Sub("identity.txt")),
                "grpc_server_started_total{", {kIdentityService}));

  for (RunningService* service : {&s.messaging, &s.credits, &s.identity, &s.privacy}) {
    service->process->Signal(SIGTERM);
    CHECK(service->process->Wait() == 0);
    CheckJsonLog(*service);
  }
}

TEST_CASE("A service's calls refuse a server whose certificate is from another CA or for "
          "another name") {
  TempDir dir;
  const std::string key = WriteKey(dir);
  Pki pki(dir);
  pki.Leaves({"privacy", "credits", "messaging", "ctl"});
  pki.Leaf("foreign", "other-ca", kLoopback);
  pki.Leaf("misnamed", "ca", "DNS:identity.example.com");

  RunningService privacy = StartService(LIAISON_PRIVACY_BIN, dir.Sub("privacy"), key,
                                        dir.Sub("privacy.log"), pki.ServiceFlags("privacy"));
  const std::vector<std::string> ctl_tls = {"--tls-ca-file", pki.Cert("ca"), "--tls-cert-file",
                                            pki.Cert("ctl"), "--tls-key-file", pki.Key("ctl")};
  for (const char* name : {"foreign", "misnamed"}) {
    SECTION(std::string("identity's certificate is ") + name) {
      // This identity trusts the CA, so it would accept messaging's
      // certificate: only messaging's check of identity's can fail.
      std::vector<std::string> flags = pki.ServiceFlags(name);
      flags.insert(flags.end(), {"--privacy-address", Address(privacy)});
      RunningService identity = StartService(LIAISON_IDENTITY_BIN, dir.Sub("identity"), key,
                                             dir.Sub("identity.log"), flags);
      // It is up and takes a certificate from the CA.
      auto health = BufCurl({"--insecure", "--cert", pki.Cert("ctl"), "--key", pki.Key("ctl"),
                             "https://" + Address(identity) + "/grpc.health.v1.Health/Check"});
      INFO(health.output);
      REQUIRE(Contains(health.output, "SERVING"));

      flags = pki.ServiceFlags("credits");
      flags.insert(flags.end(), {"--identity-address", Address(identity)});
      RunningService credits = StartService(LIAISON_CREDITS_BIN, dir.Sub("credits"), key,
                                            dir.Sub("credits.log"), flags);
      flags = pki.ServiceFlags("messaging");
      flags.insert(flags.end(), {"--identity-address", Address(identity), "--privacy-address",
                                 Address(privacy), "--credits-address", Address(credits)});
      RunningService messaging = StartService(LIAISON_MESSAGING_BIN, dir.Sub("messaging"), key,
                                              dir.Sub("messaging.log"), flags);

      const auto started = std::chrono::steady_clock::now();
      CommandResult sent = RunCommand(
          {LIAISON_CTL_BIN, "--signing-key-file", key, "--messaging", Address(messaging),
           ctl_tls[0], ctl_tls[1], ctl_tls[2], ctl_tls[3], ctl_tls[4], ctl_tls[5], "--as", "1",
           "send", "2", "Hello?"});
      INFO(sent.output);
      CHECK(sent.exit_code == 1);
      CHECK(sent.output.rfind("liaisonctl: UNAVAILABLE: ", 0) == 0);
      CHECK(Contains(sent.output, "the identity service is unavailable"));
      // Refused at once, not at the deadline.
      CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(8));
      // Identity never got the call: the handshake failed before it.
      const std::string identity_metrics = ScrapeAndCheck(identity, dir.Sub("identity.txt"));
      CHECK_FALSE(AnyLine(identity_metrics, "grpc_server_started_total{", {kIdentityService}));
      CHECK(AnyLine(ScrapeAndCheck(messaging, dir.Sub("messaging.txt")),
                    "grpc_client_handled_total{",
                    {kIdentityService, "grpc_code=\"Unavailable\""}));
      CHECK(Contains(messaging.process->Log(), "dependency_call_failed"));

      for (RunningService* service : {&messaging, &credits, &identity}) {
        service->process->Signal(SIGTERM);
        CHECK(service->process->Wait() == 0);
        CheckJsonLog(*service);
      }
    }
  }
  privacy.process->Signal(SIGTERM);
  CHECK(privacy.process->Wait() == 0);
}

TEST_CASE("A service does not start with TLS files that are incomplete or wrong, and says why") {
  TempDir dir;
  const std::string key = WriteKey(dir);
  Pki pki(dir);
  pki.Leaves({"privacy", "other"});
  pki.Leaf("expired", "ca", kLoopback, /*expired=*/true);
  const std::string garbage = dir.Sub("garbage.pem");
  std::ofstream(garbage) << "not a certificate\n";
  const std::string cert = pki.Cert("privacy"), tls_key = pki.Key("privacy"), ca = pki.Cert("ca");

  struct Case {
    std::vector<std::string> flags;
    int exit_code;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{"--tls-cert-file", cert, "--tls-key-file", tls_key},
       1,
       "mTLS needs all of --tls-cert-file, --tls-key-file and --tls-ca-file"},
      {{"--tls-cert-file", garbage, "--tls-key-file", tls_key, "--tls-ca-file", ca},
       1,
       "--tls-cert-file: " + garbage + " holds no PEM certificate"},
      {{"--tls-cert-file", cert, "--tls-key-file", garbage, "--tls-ca-file", ca},
       1,
       "--tls-key-file: " + garbage + " holds no unencrypted PEM private key"},
      {{"--tls-cert-file", cert, "--tls-key-file", tls_key, "--tls-ca-file", garbage},
       1,
       "--tls-ca-file: " + garbage + " holds no PEM certificate"},
      {{"--tls-cert-file", cert, "--tls-key-file", pki.Key("other"), "--tls-ca-file", ca},
       1,
       "--tls-key-file: " + pki.Key("other") + " is not the key of the certificate in " + cert},
      {{"--tls-cert-file", pki.Cert("expired"), "--tls-key-file", pki.Key("expired"),
        "--tls-ca-file", ca},
       1,
       "expired on Feb  1 00:00:00 2025 GMT"},
      {{"--tls-cert-file", dir.Sub("missing.pem"), "--tls-key-file", tls_key, "--tls-ca-file", ca},
       2,
       "--tls-cert-file: File does not exist"},
      {{"--health-port", "-2"}, 2, "--health-port"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> argv = {LIAISON_PRIVACY_BIN, "--data-dir",       dir.Sub("data"),
                                     "--grpc-port",       "0",                "--metrics-port",
                                     "0",                 "--listen-host",    "127.0.0.1",
                                     "--signing-key-file", key};
    argv.insert(argv.end(), c.flags.begin(), c.flags.end());
    CommandResult result = RunCommand(argv, 30);
    INFO(result.output);
    CHECK(result.exit_code == c.exit_code);
    CHECK(Contains(result.output, c.says));
    CHECK_FALSE(Contains(result.output, "\"event\":\"serving\""));
  }
}

}  // namespace
}  // namespace liaison::testing
