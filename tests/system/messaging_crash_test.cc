// The InMail saga across real crashes (DESIGN.md §6): SIGKILL the real
// liaison-messaging binary again and again while recruiters send InMails
// (retrying with the same client_message_id), restart it each time, then
// check that every InMail is either delivered with exactly one committed
// debit or not delivered with no debit, that nothing acknowledged was lost,
// and that no hold outlived its timeout.
#include <signal.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "common/auth.h"
#include "liaison/credits/v1/credits.grpc.pb.h"
#include "liaison/identity/v1/identity.grpc.pb.h"
#include "liaison/messaging/v1/messaging.grpc.pb.h"
#include "tests/system/retrying_client.h"
#include "tests/system/system_support.h"

namespace liaison::testing {
namespace {

using credits::v1::CreditService;
using identity::v1::IdentityService;
using messaging::v1::MessagingService;

constexpr int kSenders = 4;
constexpr int kRecipients = 200;
constexpr int kCredits = 150;  // RECRUITER_CORPORATE's monthly allotment
constexpr int kKills = 12;

// The ledger entries of `member`, counted by reference and type.
std::map<std::string, std::map<std::string, int>> Ledger(RetryingClient<CreditService>& credits,
                                                         const std::string& member) {
  std::map<std::string, std::map<std::string, int>> seen;
  credits::v1::ListLedgerRequest list;
  list.set_member_id(member);
  list.set_page_size(1000);
  while (true) {
    credits::v1::ListLedgerResponse page;
    REQUIRE(credits.Retry([&](auto* c) { return credits.stub->ListLedger(c, list, &page); }).ok());
    for (const auto& e : page.entries()) {
      ++seen[e.reference()][credits::v1::EntryType_Name(e.type())];
    }
    if (page.next_page_token().empty()) return seen;
    list.set_page_token(page.next_page_token());
  }
}

TEST_CASE("InMails survive repeated SIGKILLs of liaison-messaging: one debit per delivery") {
  TempDir dir;
  const std::string key = WriteKey(dir);
  MessagingDependencies deps = StartMessagingDependencies(
      dir, key, {"--hold-timeout-seconds", "2", "--hold-sweep-seconds", "0.2"});
  auto& [privacy, identity, credits] = deps;
  std::vector<std::string> messaging_flags = deps.MessagingFlags();
  // The load is the point here, not the abuse limits.
  messaging_flags.insert(messaging_flags.end(), {"--inmails-per-hour", "1000000", "--inmail-burst",
                                                 "100000", "--outbox-interval-seconds", "0.2"});
  RunningService messaging = StartService(LIAISON_MESSAGING_BIN, dir.Sub("messaging"), key,
                                          dir.Sub("messaging-0.log"), messaging_flags);
  const int port = messaging.grpc_port;

  TokenMinter minter(kSystemKey, Clock::Real());
  const std::string svc = minter.MintService("admin", absl::Hours(1)).value();
  RetryingClient<IdentityService> people(identity.grpc_port, svc);
  std::vector<std::string> senders, recipients;
  for (int i = 0; i < kSenders; ++i) {
    senders.push_back(NewMember(people, "recruiter-" + std::to_string(i),
                                identity::v1::ACCOUNT_TIER_RECRUITER_CORPORATE));
  }
  for (int i = 0; i < kRecipients; ++i) {
    recipients.push_back(
        NewMember(people, "candidate-" + std::to_string(i), identity::v1::ACCOUNT_TIER_BASIC));
  }

  // What the senders were told: every OK, as (sender, recipient).
  std::mutex mu;
  std::vector<std::pair<std::string, std::string>> acked;
  std::atomic<bool> stop{false};
  std::atomic<int> attempts{0};
  std::atomic<int> answered{0};  // OKs since the last restart
  std::vector<std::thread> load;
  for (int t = 0; t < kSenders; ++t) {
    load.emplace_back([&, t] {
      RetryingClient<MessagingService> client(
          port, minter.MintMember(std::stoull(senders[t]), absl::Hours(1)).value());
      // Each recipient at most once: a second InMail would wait for an answer.
      for (int r = 0; r < kRecipients && !stop; ++r) {
        messaging::v1::SendInMailRequest send;
        send.set_recipient_id(recipients[(r + t * 7) % kRecipients]);
        send.set_subject("A role for you");
        send.set_body("Hello candidate " + std::to_string(r) + ", from recruiter " +
                      std::to_string(t));
        send.set_client_message_id("s" + std::to_string(t) + "-" + std::to_string(r));
        messaging::v1::SendInMailResponse sent;
        ++attempts;
        // Half the senders retry until they get an answer; the others give up
        // at the first failure, leaving whatever the crash cut short to the
        // outbox loop (finish it) or the hold's timeout (void it).
        grpc::Status status =
            t % 2 == 0
                ? client.Retry([&](auto* c) { return client.stub->SendInMail(c, send, &sent); })
                : client.Once([&](auto* c) { return client.stub->SendInMail(c, send, &sent); });
        if (status.ok()) {
          ++answered;
          std::lock_guard<std::mutex> lock(mu);
          acked.emplace_back(senders[t], send.recipient_id());
        } else if (t % 2 == 1) {
          // ABORTED: the hold expired while messaging was down; not sent, no
          // debit. The others keep a send in flight nearly all the time, so
          // most kills cut one of their sagas short. After a failure they
          // wait out the restart (a read retried until it is answered)
          // rather than spend their recipients on a server that is not there.
          messaging::v1::ListConversationsRequest probe;
          probe.set_page_size(1);
          messaging::v1::ListConversationsResponse ignored;
          client.Retry([&](auto* c) { return client.stub->ListConversations(c, probe, &ignored); });
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(t % 2 == 0 ? 20 : 5));
      }
    });
  }

  std::mt19937 rng(7);
  for (int round = 1; round <= kKills; ++round) {
    // Kill only under load: wait (bounded) until the restarted server has
    // answered a few sends, so every kill finds sagas in flight.
    for (int i = 0; i < 400 && answered < 3; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng() % 80));
    KillAndRestart(&messaging, LIAISON_MESSAGING_BIN, dir.Sub("messaging"), key,
                   dir.Sub("messaging-" + std::to_string(round) + ".log"), messaging_flags);
    answered = 0;
  }
  stop = true;
  for (auto& t : load) t.join();
  INFO("sends attempted: " << attempts.load() << ", acknowledged: " << acked.size());
  CHECK(acked.size() > 40);

  // Past every hold's timeout the sweeper and the outbox loop have settled
  // whatever the crashes left; wait until no hold is open (bounded).
  RetryingClient<CreditService> ledger(credits.grpc_port, svc);
  for (int i = 0; i < 100; ++i) {
    int64_t held = 0;
    for (const auto& sender : senders) {
      credits::v1::GetBalanceRequest get;
      get.set_member_id(sender);
      credits::v1::GetBalanceResponse balance;
      REQUIRE(
          ledger.Retry([&](auto* c) { return ledger.stub->GetBalance(c, get, &balance); }).ok());
      held += balance.balance().held();
    }
    if (held == 0 && i > 50) break;  // and at least one outbox pass past the timeout
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }

  // Delivered InMails, as the recipients see them: InMail id -> count.
  std::map<std::string, std::map<std::string, int>> delivered;  // sender -> recipient -> n
  for (const auto& recipient : recipients) {
    RetryingClient<MessagingService> inbox(
        port, minter.MintMember(std::stoull(recipient), absl::Hours(1)).value());
    messaging::v1::ListConversationsRequest list;
    list.set_folder(messaging::v1::FOLDER_INMAIL);
    list.set_page_size(100);
    messaging::v1::ListConversationsResponse page;
    REQUIRE(
        inbox.Retry([&](auto* c) { return inbox.stub->ListConversations(c, list, &page); }).ok());
    for (const auto& c : page.conversations()) {
      CHECK(c.inmail().status() == messaging::v1::IN_MAIL_STATUS_PENDING);
      ++delivered[c.inmail().sender_id()][recipient];
    }
  }

  int total_delivered = 0, voided = 0;
  for (const auto& sender : senders) {
    INFO("sender " << sender);
    credits::v1::GetBalanceRequest get;
    get.set_member_id(sender);
    credits::v1::GetBalanceResponse balance;
    REQUIRE(ledger.Retry([&](auto* c) { return ledger.stub->GetBalance(c, get, &balance); }).ok());
    CHECK(balance.balance().held() == 0);  // no hold outlived its timeout
    auto entries = Ledger(ledger, sender);
    int commits = 0;
    for (const auto& [reference, types] : entries) {
      if (reference.rfind("expired:", 0) == 0 || reference.rfind("void:", 0) == 0) ++voided;
      if (reference.rfind("inmail:", 0) != 0) continue;
      INFO(reference);
      CHECK(types.count("ENTRY_TYPE_HOLD") == 1);
      CHECK(types.count("ENTRY_TYPE_COMMIT") <= 1);  // never a double debit
      commits += types.count("ENTRY_TYPE_COMMIT") ? 1 : 0;
    }
    int received = 0;
    for (const auto& [recipient, n] : delivered[sender]) {
      INFO("recipient " << recipient);
      CHECK(n == 1);  // one InMail per pair, never a duplicate
      received += n;
    }
    // Exactly one committed debit per delivered InMail, and no debit without one.
    CHECK(commits == received);
    CHECK(balance.balance().available() == kCredits - commits);
    total_delivered += received;
  }
  // Nothing acknowledged was lost.
  for (const auto& [sender, recipient] : acked) {
    INFO("acknowledged: " << sender << " to " << recipient);
    CHECK(delivered[sender][recipient] == 1);
  }
  CHECK(total_delivered >= static_cast<int>(acked.size()));
  // The crashes did cut sagas short: some holds were voided, or some InMails
  // were delivered by the outbox loop after their sender had given up.
  CHECK(voided + total_delivered - static_cast<int>(acked.size()) > 0);
  WARN("InMails: " << attempts.load() << " sent, " << acked.size() << " acknowledged, "
                   << total_delivered << " delivered, " << voided << " holds voided");

  for (RunningService* s : {&messaging, &credits, &identity, &privacy}) {
    s->process->Signal(SIGTERM);
    CHECK(s->process->Wait() == 0);
  }
}

}  // namespace
}  // namespace liaison::testing
