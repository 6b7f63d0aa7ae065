// liaison-bench-credits: Reserve+Commit throughput and latency against a real
// credits service (with its identity service), every ledger write fsync'ed.
// Creates its own members (Recruiter Corporate: 150 credits each), then runs
// a closed loop of ReserveCredit followed by CommitHold with -c in flight.
#include <grpcpp/create_channel.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/auth.h"
#include "common/config.h"
#include "liaison/credits/v1/credits.grpc.pb.h"
#include "liaison/identity/v1/identity.grpc.pb.h"

namespace {

struct Options {
  std::string identity = "127.0.0.1:50051";
  std::string credits = "127.0.0.1:50053";
  std::string key_file;
  int operations = 5000;
  int concurrency = 16;
};

template <typename Call>
grpc::Status WithToken(const std::string& token, Call call) {
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + token);
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return call(&context);
}

int Run(const Options& o) {
  auto key = liaison::ReadSigningKey(o.key_file);
  if (!key.ok()) {
    std::cerr << key.status() << std::endl;
    return 2;
  }
  liaison::TokenMinter minter(*key, liaison::Clock::Real());
  const std::string svc = minter.MintService("bench", absl::Hours(2)).value();
  auto people = liaison::identity::v1::IdentityService::NewStub(
      grpc::CreateChannel(o.identity, grpc::InsecureChannelCredentials()));
  auto credits = liaison::credits::v1::CreditService::NewStub(
      grpc::CreateChannel(o.credits, grpc::InsecureChannelCredentials()));
  const int members_needed = o.operations / 150 + 1;
  std::vector<std::string> members;
  const std::string run = absl::StrCat(absl::ToUnixSeconds(absl::Now()));
  for (int i = 0; i < members_needed; ++i) {
    liaison::identity::v1::CreateMemberRequest create;
    create.set_handle(absl::StrCat("bench-", run, "-", i));
    create.set_display_name("Bench");
    create.set_email(create.handle() + "@example.com");
    liaison::identity::v1::CreateMemberResponse created;
    auto s = WithToken(svc, [&](auto* c) { return people->CreateMember(c, create, &created); });
    liaison::identity::v1::SetAccountTierRequest tier;
    tier.set_member_id(created.member().member_id());
    tier.set_tier(liaison::identity::v1::ACCOUNT_TIER_RECRUITER_CORPORATE);
    liaison::identity::v1::SetAccountTierResponse done;
    if (s.ok()) s = WithToken(svc, [&](auto* c) { return people->SetAccountTier(c, tier, &done); });
    if (!s.ok()) {
      std::cerr << "setting up members: " << s.error_message() << std::endl;
      return 1;
    }
    members.push_back(created.member().member_id());
  }
  std::vector<double> latencies(o.operations);
  std::atomic<int> next{0}, errors{0};
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int w = 0; w < o.concurrency; ++w) {
    workers.emplace_back([&] {
      for (int i; (i = next.fetch_add(1)) < o.operations;) {
        // Spread over members: ops on one member serialize on its lock.
        const std::string& member = members[i % members.size()];
        const std::string inmail = absl::StrCat("bench-", run, "-", i);
        auto t0 = std::chrono::steady_clock::now();
        liaison::credits::v1::ReserveCreditRequest reserve;
        reserve.set_member_id(member);
        reserve.set_inmail_id(inmail);
        liaison::credits::v1::ReserveCreditResponse reserved;
        auto s =
            WithToken(svc, [&](auto* c) { return credits->ReserveCredit(c, reserve, &reserved); });
        liaison::credits::v1::CommitHoldRequest commit;
        commit.set_member_id(member);
        commit.set_inmail_id(inmail);
        liaison::credits::v1::CommitHoldResponse committed;
        if (s.ok())
          s = WithToken(svc, [&](auto* c) { return credits->CommitHold(c, commit, &committed); });
        latencies[i] =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                .count();
        if (!s.ok()) ++errors;
      }
    });
  }
  for (auto& t : workers) t.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double q) { return latencies[static_cast<size_t>(q * (latencies.size() - 1))]; };
  std::printf("| %d | %d | %.0f | %.2f | %.2f | %.2f | %.2f | %d |\n", o.concurrency, o.operations,
              o.operations / seconds, pct(0.5), pct(0.9), pct(0.99), latencies.back(),
              errors.load());
  return errors.load() == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"Reserve+Commit benchmark against liaison-credits", "liaison-bench-credits"};
  app.add_option("--identity", o.identity, "identity host:port")->capture_default_str();
  app.add_option("--credits", o.credits, "credits host:port")->capture_default_str();
  app.add_option("--signing-key-file", o.key_file, "HS256 key file")
      ->envname(liaison::EnvName("signing-key-file"))
      ->required();
  app.add_option("-n,--operations", o.operations, "Reserve+Commit pairs")->capture_default_str();
  app.add_option("-c,--concurrency", o.concurrency, "Pairs in flight")->capture_default_str();
  if (auto exit_code = liaison::ParseFlags(app, argc, argv)) return *exit_code;
  return Run(o);
}
