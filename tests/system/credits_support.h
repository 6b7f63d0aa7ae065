// Reading a member's credits on the real credits binary, as the member: the
// balance, the ledger, and counting its entries.
#ifndef LIAISON_TESTS_SYSTEM_CREDITS_SUPPORT_H_
#define LIAISON_TESTS_SYSTEM_CREDITS_SUPPORT_H_

#include <string>
#include <vector>

#include "liaison/credits/v1/credits.grpc.pb.h"
#include "tests/system/later_support.h"

namespace liaison::testing {

inline credits::v1::Balance BalanceOf(int credits_port, const std::string& member) {
  RetryingClient<credits::v1::CreditService> client(credits_port, MemberToken(member));
  credits::v1::GetBalanceRequest request;
  credits::v1::GetBalanceResponse response;
  grpc::Status status =
      client.Retry([&](auto* c) { return client.stub->GetBalance(c, request, &response); });
  INFO(status.error_message());
  REQUIRE(status.ok());
  return response.balance();
}

// The member's ledger entries, newest first (one page is plenty here).
inline std::vector<credits::v1::LedgerEntry> LedgerOf(int credits_port, const std::string& member) {
  RetryingClient<credits::v1::CreditService> client(credits_port, MemberToken(member));
  credits::v1::ListLedgerRequest request;
  request.set_page_size(100);
  credits::v1::ListLedgerResponse response;
  REQUIRE(
      client.Retry([&](auto* c) { return client.stub->ListLedger(c, request, &response); }).ok());
  REQUIRE(response.next_page_token().empty());
  return {response.entries().begin(), response.entries().end()};
}

// Entries of `type`, with `reference` unless it is empty.
inline int CountEntries(const std::vector<credits::v1::LedgerEntry>& ledger,
                        credits::v1::EntryType type, const std::string& reference = "") {
  int n = 0;
  for (const auto& entry : ledger) {
    n += entry.type() == type && (reference.empty() || entry.reference() == reference);
  }
  return n;
}

}  // namespace liaison::testing

#endif  // LIAISON_TESTS_SYSTEM_CREDITS_SUPPORT_H_
