// liaison-bench-relationship: GetRelationship latency and throughput over
// gRPC, per degree class, against an identity service holding a seeded graph
// (liaison-seed-graph). Pairs are found by walking the graph through
// ListConnections and classified by the service's own first answer; then
// each class is replayed in a closed loop with -c calls in flight and every
// answer is checked against its class.
#include <grpcpp/create_channel.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <random>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "common/auth.h"
#include "common/config.h"
#include "liaison/identity/v1/identity.grpc.pb.h"

namespace {

using liaison::identity::v1::Degree;
using liaison::identity::v1::IdentityService;

struct Options {
  std::string target = "127.0.0.1:50051";
  std::string key_file;
  uint64_t members = 1'000'000;
  uint64_t outsiders_below = 20'001;
  int hubs = 10;
  int pairs = 500;
  int requests = 20'000;
  int concurrency = 8;
  int channels = 4;
};

struct Pair {
  uint64_t a, b;
};

class Client {
 public:
  Client(const Options& o, std::string token) : token_(std::move(token)) {
    for (int i = 0; i < o.channels; ++i) {
      grpc::ChannelArguments args;
      args.SetInt("liaison.bench.channel", i);  // a connection per channel
      stubs_.push_back(IdentityService::NewStub(
          grpc::CreateCustomChannel(o.target, grpc::InsecureChannelCredentials(), args)));
    }
  }

  grpc::Status Relationship(int worker, Pair p, liaison::identity::v1::Relationship* out) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + token_);
    liaison::identity::v1::GetRelationshipRequest request;
    request.set_member_id(absl::StrCat(p.a));
    request.set_other_member_id(absl::StrCat(p.b));
    liaison::identity::v1::GetRelationshipResponse response;
    auto status = stubs_[worker % stubs_.size()]->GetRelationship(&context, request, &response);
    *out = response.relationship();
    return status;
  }

  std::vector<uint64_t> Connections(uint64_t member) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + token_);
    liaison::identity::v1::ListConnectionsRequest request;
    request.set_member_id(absl::StrCat(member));
    request.set_page_size(1000);
    liaison::identity::v1::ListConnectionsResponse response;
    std::vector<uint64_t> out;
    if (stubs_[0]->ListConnections(&context, request, &response).ok()) {
      for (const auto& c : response.connections()) out.push_back(std::stoull(c.member_id()));
    }
    return out;
  }

 private:
  std::string token_;
  std::vector<std::unique_ptr<IdentityService::Stub>> stubs_;
};

const char* ClassName(Degree d) {
  switch (d) {
    case liaison::identity::v1::DEGREE_FIRST:
      return "FIRST";
    case liaison::identity::v1::DEGREE_SECOND:
      return "SECOND";
    case liaison::identity::v1::DEGREE_THIRD:
      return "THIRD";
    case liaison::identity::v1::DEGREE_OUT_OF_NETWORK:
      return "OUT_OF_NETWORK";
    default:
      return "OTHER";
  }
}

void Report(const std::string& name, const std::vector<Pair>& pairs, Degree expected,
            Client& client, const Options& o) {
  if (pairs.empty()) {
    std::printf("| %s | no pairs found | | | | | |\n", name.c_str());
    return;
  }
  std::vector<double> latencies(o.requests);
  std::atomic<int> next{0}, errors{0}, wrong{0};
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int w = 0; w < o.concurrency; ++w) {
    workers.emplace_back([&, w] {
      for (int i; (i = next.fetch_add(1)) < o.requests;) {
        liaison::identity::v1::Relationship r;
        auto t0 = std::chrono::steady_clock::now();
        auto status = client.Relationship(w, pairs[i % pairs.size()], &r);
        latencies[i] =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                .count();
        if (!status.ok())
          ++errors;
        else if (r.degree() != expected)
          ++wrong;
      }
    });
  }
  for (auto& t : workers) t.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double q) { return latencies[static_cast<size_t>(q * (latencies.size() - 1))]; };
  std::printf("| %s | %zu | %.3f | %.3f | %.3f | %.3f | %.0f | %d / %d |\n", name.c_str(),
              pairs.size(), pct(0.5), pct(0.9), pct(0.99), latencies.back(), o.requests / seconds,
              errors.load(), wrong.load());
  std::fflush(stdout);
}

int Run(const Options& o) {
  auto key = liaison::ReadSigningKey(o.key_file);
  if (!key.ok()) {
    std::cerr << key.status() << std::endl;
    return 2;
  }
  liaison::TokenMinter minter(*key, liaison::Clock::Real());
  Client client(o, minter.MintService("bench", absl::Hours(4)).value());
  std::mt19937_64 rng(7);
  auto any_member = [&] {
    return std::uniform_int_distribution<uint64_t>(o.outsiders_below, o.members)(rng);
  };
  auto pick = [&](const std::vector<uint64_t>& v) { return v[rng() % v.size()]; };

  std::map<int, std::vector<Pair>> found;
  std::vector<Pair> hub_pairs;
  auto classify = [&](Pair p, std::vector<Pair>* sink) {
    liaison::identity::v1::Relationship r;
    if (!client.Relationship(0, p, &r).ok()) return;
    auto& bucket = sink != nullptr ? *sink : found[r.degree()];
    if (static_cast<int>(bucket.size()) < o.pairs) bucket.push_back(p);
  };
  auto enough = [&](Degree d) { return static_cast<int>(found[d].size()) >= o.pairs; };
  for (int tries = 0; tries < 50 * o.pairs; ++tries) {
    if (enough(liaison::identity::v1::DEGREE_FIRST) &&
        enough(liaison::identity::v1::DEGREE_SECOND) &&
        enough(liaison::identity::v1::DEGREE_THIRD)) {
      break;
    }
    const uint64_t a = any_member();
    auto na = client.Connections(a);
    if (na.empty()) continue;
    const uint64_t x = pick(na);
    if (!enough(liaison::identity::v1::DEGREE_FIRST)) classify({a, x}, nullptr);
    auto nx = client.Connections(x);
    if (nx.empty()) continue;
    const uint64_t y = pick(nx);
    if (y != a && !enough(liaison::identity::v1::DEGREE_SECOND)) classify({a, y}, nullptr);
    auto ny = client.Connections(y);
    if (ny.empty()) continue;
    const uint64_t z = pick(ny);
    if (z != a) classify({a, z}, nullptr);
  }
  // Outside the network: outsiders (isolated members and cut-off groups)
  // against members of the main network, and against each other.
  for (int tries = 0; tries < 4 * o.pairs && !enough(liaison::identity::v1::DEGREE_OUT_OF_NETWORK);
       ++tries) {
    const uint64_t outsider =
        std::uniform_int_distribution<uint64_t>(1, o.outsiders_below - 1)(rng);
    classify(
        {tries % 2 == 0 ? any_member()
                        : std::uniform_int_distribution<uint64_t>(1, o.outsiders_below - 1)(rng),
         outsider},
        nullptr);
  }
  // Hubs (about 29,000 connections) against anyone.
  for (int tries = 0; tries < o.pairs && o.hubs > 0; ++tries) {
    const uint64_t hub = o.members - rng() % o.hubs;
    classify({hub, any_member()}, &hub_pairs);
  }

  std::printf(
      "| pairs | distinct pairs | p50 ms | p90 ms | p99 ms | max ms | QPS | errors / wrong |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  for (Degree d :
       {liaison::identity::v1::DEGREE_FIRST, liaison::identity::v1::DEGREE_SECOND,
        liaison::identity::v1::DEGREE_THIRD, liaison::identity::v1::DEGREE_OUT_OF_NETWORK}) {
    Report(ClassName(d), found[d], d, client, o);
  }
  // Hub pairs fall in several classes; replay each class separately.
  std::map<int, std::vector<Pair>> hubs_by_class;
  for (Pair p : hub_pairs) {
    liaison::identity::v1::Relationship r;
    if (client.Relationship(0, p, &r).ok()) hubs_by_class[r.degree()].push_back(p);
  }
  for (auto& [d, pairs] : hubs_by_class) {
    Report(absl::StrCat(ClassName(static_cast<Degree>(d)), ", one side a hub"), pairs,
           static_cast<Degree>(d), client, o);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"GetRelationship benchmark against a seeded identity service",
               "liaison-bench-relationship"};
  app.add_option("--target", o.target, "identity host:port")->capture_default_str();
  app.add_option("--signing-key-file", o.key_file, "HS256 key file")
      ->envname(liaison::EnvName("signing-key-file"))
      ->required();
  app.add_option("--members", o.members, "Members in the seeded graph")->capture_default_str();
  app.add_option("--outsiders-below", o.outsiders_below,
                 "Ids below this are outside the main network (the seeder prints it)")
      ->capture_default_str();
  app.add_option("--hubs", o.hubs, "Hubs the seeder made (the top ids)")->capture_default_str();
  app.add_option("--pairs", o.pairs, "Distinct pairs per class")->capture_default_str();
  app.add_option("-n,--requests", o.requests, "Calls per class")->capture_default_str();
  app.add_option("-c,--concurrency", o.concurrency, "Calls in flight")->capture_default_str();
  app.add_option("--channels", o.channels, "gRPC connections")->capture_default_str();
  if (auto exit_code = liaison::ParseFlags(app, argc, argv)) return *exit_code;
  return Run(o);
}
