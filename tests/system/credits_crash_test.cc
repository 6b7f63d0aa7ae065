// Crash safety of the real liaison-credits binary: SIGKILL it again and again
// while clients reserve, commit, void, refund and purchase (retrying with the
// same ids), restart it each time, then check that no acknowledged operation
// was lost, no credit was made or destroyed outside the ledger rules, every
// balance equals the sum of its ledger, and no hold outlived its timeout.
#include <signal.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "common/auth.h"
#include "liaison/credits/v1/credits.grpc.pb.h"
#include "liaison/identity/v1/identity.grpc.pb.h"
#include "tests/system/retrying_client.h"
#include "tests/system/system_support.h"

namespace liaison::testing {
namespace {

using credits::v1::CreditService;

using Client = RetryingClient<CreditService>;

// What the clients were told, which must survive every crash.
struct Acknowledged {
  std::mutex mu;
  std::map<std::string, std::string>
      holds;  // inmail id -> "held", "committed", "voided", "refunded"
  std::map<std::string, std::string> owner;                    // inmail id -> member id
  std::vector<std::pair<std::string, std::string>> purchases;  // member, key
};

TEST_CASE(
    "liaison-credits survives repeated SIGKILLs under load without losing or making credits") {
  TempDir dir;
  const std::string key = WriteKey(dir);
  RunningService identity =
      StartService(LIAISON_IDENTITY_BIN, dir.Sub("identity"), key, dir.Sub("identity.log"));
  const std::vector<std::string> credit_flags = {
      "--identity-address",     "127.0.0.1:" + std::to_string(identity.grpc_port),
      "--hold-timeout-seconds", "1.5",
      "--hold-sweep-seconds",   "0.2"};
  RunningService credits = StartService(LIAISON_CREDITS_BIN, dir.Sub("credits"), key,
                                        dir.Sub("credits-0.log"), credit_flags);
  const int port = credits.grpc_port;

  TokenMinter minter(kSystemKey, Clock::Real());
  const std::string svc = minter.MintService("messaging", absl::Hours(1)).value();
  auto people = identity::v1::IdentityService::NewStub(RetryingChannel(identity.grpc_port));
  std::vector<std::string> members;
  const identity::v1::AccountTier tiers[] = {identity::v1::ACCOUNT_TIER_PREMIUM_CAREER,
                                             identity::v1::ACCOUNT_TIER_PREMIUM_BUSINESS,
                                             identity::v1::ACCOUNT_TIER_SALES_NAVIGATOR};
  for (int i = 0; i < 3; ++i) {
    grpc::ClientContext c1, c2;
    c1.AddMetadata("authorization", "Bearer " + svc);
    c2.AddMetadata("authorization", "Bearer " + svc);
    identity::v1::CreateMemberRequest create;
    create.set_handle("member-" + std::to_string(i));
    create.set_display_name("Member");
    create.set_email(create.handle() + "@example.com");
    identity::v1::CreateMemberResponse created;
    REQUIRE(people->CreateMember(&c1, create, &created).ok());
    identity::v1::SetAccountTierRequest tier;
    tier.set_member_id(created.member().member_id());
    tier.set_tier(tiers[i]);
    identity::v1::SetAccountTierResponse done;
    REQUIRE(people->SetAccountTier(&c2, tier, &done).ok());
    members.push_back(created.member().member_id());
  }

  Acknowledged acked;
  std::atomic<bool> stop{false};
  std::atomic<int> operations{0};
  std::vector<std::thread> load;
  for (int t = 0; t < 4; ++t) {
    load.emplace_back([&, t] {
      Client client(port, svc);
      std::mt19937 rng(t);
      for (int n = 0; !stop; ++n) {
        const std::string member = members[rng() % members.size()];
        const std::string id = "t" + std::to_string(t) + "-" + std::to_string(n);
        if (rng() % 8 == 0 && member != members[2]) {  // career and business may buy
          credits::v1::PurchaseCreditsRequest buy;
          buy.set_pack_id("5");
          buy.set_idempotency_key(id);
          credits::v1::PurchaseCreditsResponse bought;
          Client buyer(port, minter.MintMember(std::stoull(member), absl::Hours(1)).value());
          if (buyer
                  .Retry([&](grpc::ClientContext* c) {
                    return buyer.stub->PurchaseCredits(c, buy, &bought);
                  })
                  .ok()) {
            std::lock_guard<std::mutex> lock(acked.mu);
            acked.purchases.emplace_back(member, id);
          }
          continue;
        }
        credits::v1::ReserveCreditRequest reserve;
        reserve.set_member_id(member);
        reserve.set_inmail_id(id);
        credits::v1::ReserveCreditResponse reserved;
        if (!client
                 .Retry([&](grpc::ClientContext* c) {
                   return client.stub->ReserveCredit(c, reserve, &reserved);
                 })
                 .ok()) {
          continue;  // no credit left, or the hold expired while we retried
        }
        {
          std::lock_guard<std::mutex> lock(acked.mu);
          acked.holds[id] = "held";
          acked.owner[id] = member;
        }
        ++operations;
        const int choice = rng() % 10;
        if (choice < 6) {
          credits::v1::CommitHoldRequest commit;
          commit.set_member_id(member);
          commit.set_inmail_id(id);
          credits::v1::CommitHoldResponse committed;
          if (!client
                   .Retry([&](grpc::ClientContext* c) {
                     return client.stub->CommitHold(c, commit, &committed);
                   })
                   .ok()) {
            continue;  // expired while the server was down: voided by the sweeper
          }
          std::lock_guard<std::mutex> lock(acked.mu);
          acked.holds[id] = "committed";
          if (choice < 2) {
            credits::v1::RefundInMailRequest refund;
            refund.set_member_id(member);
            refund.set_inmail_id(id);
            credits::v1::RefundInMailResponse refunded;
            if (client
                    .Retry([&](grpc::ClientContext* c) {
                      return client.stub->RefundInMail(c, refund, &refunded);
                    })
                    .ok()) {
              acked.holds[id] = "refunded";
            }
          }
        } else if (choice < 9) {
          credits::v1::VoidHoldRequest void_request;
          void_request.set_member_id(member);
          void_request.set_inmail_id(id);
          credits::v1::VoidHoldResponse voided;
          if (client
                  .Retry([&](grpc::ClientContext* c) {
                    return client.stub->VoidHold(c, void_request, &voided);
                  })
                  .ok()) {
            std::lock_guard<std::mutex> lock(acked.mu);
            acked.holds[id] = "voided";
          }
        }  // else: left to expire
      }
    });
  }

  std::mt19937 rng(99);
  for (int round = 1; round <= 6; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(400 + rng() % 600));
    KillAndRestart(&credits, LIAISON_CREDITS_BIN, dir.Sub("credits"), key,
                   dir.Sub("credits-" + std::to_string(round) + ".log"), credit_flags);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  stop = true;
  for (auto& t : load) t.join();
  INFO("acknowledged reserves: " << operations.load());
  CHECK(operations.load() > 20);
  // Past every hold's timeout, the sweeper has settled what nobody did.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));

  Client client(port, svc);
  std::map<std::string, std::map<std::string, int>> seen;  // reference -> type -> count
  for (const std::string& member : members) {
    credits::v1::GetBalanceRequest get;
    get.set_member_id(member);
    credits::v1::GetBalanceResponse balance;
    REQUIRE(client
                .Retry([&](grpc::ClientContext* c) {
                  return client.stub->GetBalance(c, get, &balance);
                })
                .ok());
    int64_t monthly = 0, purchased = 0, held = 0;
    credits::v1::ListLedgerRequest list;
    list.set_member_id(member);
    list.set_page_size(1000);
    while (true) {
      credits::v1::ListLedgerResponse page;
      REQUIRE(client
                  .Retry([&](grpc::ClientContext* c) {
                    return client.stub->ListLedger(c, list, &page);
                  })
                  .ok());
      for (const auto& e : page.entries()) {
        monthly += e.monthly_delta();
        purchased += e.purchased_delta();
        held += e.held_delta();
        ++seen[e.reference()][credits::v1::EntryType_Name(e.type())];
      }
      if (page.next_page_token().empty()) break;
      list.set_page_token(page.next_page_token());
    }
    INFO("member " << member);
    CHECK(monthly == balance.balance().monthly_available());
    CHECK(purchased == balance.balance().purchased_available());
    CHECK(held == balance.balance().held());
    CHECK(held == 0);  // no hold outlived its timeout
    CHECK(balance.balance().monthly_available() >= 0);
    CHECK(balance.balance().monthly_available() <= balance.balance().rollover_cap());
  }
  // Every InMail: one hold at most, settled exactly one way, refunded at most once.
  for (const auto& [reference, types] : seen) {
    if (reference.rfind("inmail:", 0) != 0) continue;
    INFO(reference);
    for (const auto& [type, count] : types) CHECK(count == 1);
    const int committed = types.count("ENTRY_TYPE_COMMIT");
    CHECK(committed + static_cast<int>(types.count("ENTRY_TYPE_VOID") > 0 ||
                                       seen.count("expired:" + reference.substr(7)) > 0 ||
                                       seen.count("void:" + reference.substr(7)) > 0) <=
          1);
  }
  // Nothing acknowledged was lost.
  for (const auto& [id, state] : acked.holds) {
    INFO(id << " acknowledged as " << state);
    const auto& types = seen["inmail:" + id];
    CHECK(types.count("ENTRY_TYPE_HOLD") == 1);
    if (state == "committed" || state == "refunded") CHECK(types.count("ENTRY_TYPE_COMMIT") == 1);
    if (state == "refunded") CHECK(types.count("ENTRY_TYPE_REFUND") == 1);
    if (state == "voided") CHECK(seen.count("void:" + id) + seen.count("expired:" + id) == 1);
  }
  for (const auto& [member, key_id] : acked.purchases) {
    INFO(key_id);
    CHECK(seen["purchase:" + key_id]["ENTRY_TYPE_PURCHASE"] == 1);
  }
  credits.process->Signal(SIGTERM);
  CHECK(credits.process->Wait() == 0);
  identity.process->Signal(SIGTERM);
  CHECK(identity.process->Wait() == 0);
}

}  // namespace
}  // namespace liaison::testing
