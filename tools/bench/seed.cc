#include "tools/bench/seed.h"

#include <grpcpp/client_context.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status.h"

namespace liaison::bench {
namespace {

absl::Status FromGrpc(const grpc::Status& s, const std::string& what) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      absl::StrCat(what, ": ", s.error_message()));
}

// A call with a token and a deadline; seeding waits for each answer.
template <typename Call>
grpc::Status Sync(const std::string& token, Call call) {
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + token);
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return call(&context);
}

}  // namespace

absl::Status ParallelFor(size_t n, int threads, const std::function<absl::Status(size_t)>& fn) {
  std::atomic<size_t> next{0};
  std::mutex mu;
  absl::Status first;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (size_t i; (i = next.fetch_add(1)) < n;) {
        absl::Status s = fn(i);
        if (s.ok()) continue;
        std::lock_guard<std::mutex> lock(mu);
        if (first.ok()) first = s;
        next = n;  // stop the others
      }
    });
  }
  for (auto& w : workers) w.join();
  return first;
}

std::string RunTag() {
  std::random_device random;
  return absl::StrCat(absl::ToUnixSeconds(absl::Now()) % 100000, "x", random() % 1000);
}

std::string Seeder::MemberToken(MemberId m) const {
  return minter_->MintMember(m, absl::Hours(2)).value();
}

absl::StatusOr<std::vector<MemberId>> Seeder::Members(const std::string& prefix, int count,
                                                      identity::v1::AccountTier tier) {
  const std::string tag = RunTag();
  std::vector<MemberId> out(count);
  absl::Status s = ParallelFor(count, concurrency_, [&](size_t i) -> absl::Status {
    identity::v1::CreateMemberRequest create;
    create.set_handle(absl::StrCat("bench-", tag, "-", prefix, i));
    create.set_display_name(absl::StrCat("Bench ", prefix, i));
    create.set_email(create.handle() + "@example.com");
    identity::v1::CreateMemberResponse created;
    grpc::Status g =
        Sync(service_token_, [&](auto* c) { return identity_->CreateMember(c, create, &created); });
    if (!g.ok()) return FromGrpc(g, "CreateMember");
    out[i] = std::stoull(created.member().member_id());
    if (tier == identity::v1::ACCOUNT_TIER_BASIC) return absl::OkStatus();
    identity::v1::SetAccountTierRequest set;
    set.set_member_id(created.member().member_id());
    set.set_tier(tier);
    identity::v1::SetAccountTierResponse done;
    return FromGrpc(
        Sync(service_token_, [&](auto* c) { return identity_->SetAccountTier(c, set, &done); }),
        "SetAccountTier");
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::vector<MemberId>> Seeder::Connections(MemberId member, size_t limit) {
  std::vector<MemberId> out;
  identity::v1::ListConnectionsRequest list;
  list.set_member_id(FormatMemberId(member));
  list.set_page_size(1000);
  while (out.size() < limit) {
    identity::v1::ListConnectionsResponse page;
    grpc::Status g =
        Sync(service_token_, [&](auto* c) { return identity_->ListConnections(c, list, &page); });
    if (!g.ok()) return FromGrpc(g, "ListConnections");
    for (const auto& c : page.connections()) {
      if (out.size() < limit) out.push_back(std::stoull(c.member_id()));
    }
    if (page.next_page_token().empty()) break;
    list.set_page_token(page.next_page_token());
  }
  return out;
}

absl::StatusOr<std::vector<std::pair<MemberId, MemberId>>> Seeder::GraphPairs(
    uint64_t members, int count, const std::function<bool(MemberId, MemberId)>& keep) {
  std::mt19937_64 rng(7);
  std::vector<std::pair<MemberId, MemberId>> out;
  for (int tries = 0; static_cast<int>(out.size()) < count && tries < count * 20; ++tries) {
    const MemberId a = 1 + rng() % members;
    ASSIGN_OR_RETURN(auto connections, Connections(a, keep == nullptr ? 1 : 16));
    for (MemberId b : connections) {
      if (keep != nullptr && !keep(a, b)) continue;
      out.emplace_back(a, b);
      break;
    }
  }
  if (static_cast<int>(out.size()) < count) {
    return absl::FailedPreconditionError("the graph has too few connected members");
  }
  return out;
}

absl::Status Seeder::Messages(const std::vector<MemberId>& from, MemberId to) {
  const std::string tag = RunTag();
  return ParallelFor(from.size(), concurrency_, [&](size_t i) -> absl::Status {
    messaging::v1::SendMessageRequest send;
    send.set_recipient_id(FormatMemberId(to));
    send.set_body(absl::StrCat("Hello from ", from[i], " (seed ", tag, ")"));
    send.set_client_message_id(absl::StrCat("seed-", tag, "-", i));
    messaging::v1::SendMessageResponse sent;
    return FromGrpc(Sync(MemberToken(from[i]),
                         [&](auto* c) { return messaging_->SendMessage(c, send, &sent); }),
                    "SendMessage");
  });
}

}  // namespace liaison::bench
