// InMail credits: balance, ledger, packs and buying one.
#include <iostream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "tools/liaisonctl/commands.h"
#include "tools/liaisonctl/output.h"

namespace liaison::ctl {
namespace {

namespace cv = credits::v1;

// Services may ask about anyone; a member asks about themselves.
std::function<Actor()> SelfOrNamed(const std::shared_ptr<std::string>& member) {
  return [member] { return member->empty() ? Actor::kMember : Actor::kAny; };
}

void PrintBalance(Cli& cli, const cv::Balance& b) {
  PrintFields(std::cout,
              {{"member", absl::StrCat(cli.MemberLabel(b.member_id()), " (", b.member_id(), ")")},
               {"tier", ShortName(b.tier())},
               {"available", absl::StrCat(b.available(), " (", b.monthly_available(), " monthly, ",
                                          b.purchased_available(), " purchased)")},
               {"held", absl::StrCat(b.held())},
               {"allotment", b.monthly_allotment() == 0
                                 ? ""
                                 : absl::StrCat(b.monthly_allotment(), " a month, rollover cap ",
                                                b.rollover_cap())},
               {"next refresh", FormatTime(b.next_refresh_time())}});
}

// "+5 monthly, -1 held": what an entry changed.
std::string Change(const cv::LedgerEntry& e) {
  std::vector<std::string> parts;
  auto add = [&parts](int64_t delta, const char* pool) {
    if (delta != 0) parts.push_back(absl::StrCat(delta > 0 ? "+" : "", delta, " ", pool));
  };
  add(e.monthly_delta(), "monthly");
  add(e.purchased_delta(), "purchased");
  add(e.held_delta(), "held");
  return parts.empty() ? "0" : absl::StrJoin(parts, ", ");
}

void AddBalance(CLI::App& app, Runner& runner) {
  auto member = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("balance", "Your InMail credits (services: anyone's)");
  cmd->group(kGroupCredits);
  cmd->add_option("member", *member, "Whose (services only; default: yours)");
  runner.On(cmd, SelfOrNamed(member), [&runner, member]() -> absl::Status {
    Cli& cli = runner.cli();
    cv::GetBalanceRequest request;
    if (!member->empty()) {
      auto id = cli.ResolveMember(*member);
      if (!id.ok()) return id.status();
      request.set_member_id(*id);
    }
    cv::GetBalanceResponse response;
    auto status = cli.Call(&CreditsStub::GetBalance, request, &response);
    if (!status.ok() || PrintedJson(cli, response)) return status;
    PrintBalance(cli, response.balance());
    return absl::OkStatus();
  });
}

void AddLedger(CLI::App& app, Runner& runner) {
  struct Args {
    std::shared_ptr<std::string> member = std::make_shared<std::string>();
    Paging paging;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("ledger", "Every change to your credits, newest first");
  cmd->group(kGroupCredits);
  cmd->add_option("member", *args->member, "Whose (services only; default: yours)");
  AddPaging(cmd, &args->paging);
  runner.On(cmd, SelfOrNamed(args->member), [&runner, args]() -> absl::Status {
    Cli& cli = runner.cli();
    cv::ListLedgerRequest request;
    if (!args->member->empty()) {
      auto id = cli.ResolveMember(*args->member);
      if (!id.ok()) return id.status();
      request.set_member_id(*id);
    }
    request.set_page_size(args->paging.limit);
    request.set_page_token(args->paging.page_token);
    cv::ListLedgerResponse response;
    auto status = cli.Call(&CreditsStub::ListLedger, request, &response);
    if (!status.ok() || PrintedJson(cli, response)) return status;
    Table table({"#", "WHEN", "TYPE", "CHANGE", "AVAILABLE", "HELD", "REFERENCE"});
    for (const auto& e : response.entries()) {
      table.Add({absl::StrCat(e.sequence()), FormatTime(e.time()), ShortName(e.type()), Change(e),
                 absl::StrCat(e.monthly_after() + e.purchased_after()),
                 absl::StrCat(e.held_after()), e.reference()});
    }
    table.Print(std::cout, "No ledger entries.");
    PrintMoreHint(response.next_page_token());
    return absl::OkStatus();
  });
}

void AddPacks(CLI::App& app, Runner& runner) {
  CLI::App* cmd = app.add_subcommand("packs", "Credit packs for sale (premium career/business)");
  cmd->group(kGroupCredits);
  runner.On(cmd, Actor::kAny, [&runner]() -> absl::Status {
    cv::ListCreditPacksResponse response;
    auto status =
        runner.cli().Call(&CreditsStub::ListCreditPacks, cv::ListCreditPacksRequest(), &response);
    if (!status.ok() || PrintedJson(runner.cli(), response)) return status;
    Table table({"PACK", "CREDITS", "PRICE"});
    for (const auto& p : response.packs()) {
      table.Add({p.pack_id(), absl::StrCat(p.credits()),
                 absl::StrFormat("%d.%02d %s", p.price_cents() / 100, p.price_cents() % 100,
                                 p.currency())});
    }
    table.Print(std::cout, "No packs for sale.");
    return absl::OkStatus();
  });
}

void AddBuy(CLI::App& app, Runner& runner) {
  struct Args {
    cv::PurchaseCreditsRequest request;
    int quantity = 1;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("buy", "Buy a credit pack (see packs)");
  cmd->group(kGroupCredits);
  cmd->add_option("pack", *args->request.mutable_pack_id(), "Pack id")->required();
  cmd->add_option("--quantity", args->quantity, "How many of the pack, 1-10")
      ->check(CLI::Range(1, 10))
      ->capture_default_str();
  cmd->add_option("--key", *args->request.mutable_idempotency_key(),
                  "Idempotency key (default: a new random one); reuse it to retry safely");
  runner.On(cmd, Actor::kMember, [&runner, args]() -> absl::Status {
    args->request.set_quantity(args->quantity);
    if (args->request.idempotency_key().empty()) {
      args->request.set_idempotency_key(Cli::NewClientId());
    }
    cv::PurchaseCreditsResponse response;
    auto status = runner.cli().Call(&CreditsStub::PurchaseCredits, args->request, &response);
    if (!status.ok()) return WithRetryHint(status, "--key", args->request.idempotency_key());
    if (PrintedJson(runner.cli(), response)) return absl::OkStatus();
    std::cout << "Bought " << response.entry().purchased_delta() << " credits; "
              << response.balance().available() << " available" << std::endl;
    return absl::OkStatus();
  });
}

}  // namespace

void AddCreditCommands(CLI::App& app, Runner& runner) {
  AddBalance(app, runner);
  AddLedger(app, runner);
  AddPacks(app, runner);
  AddBuy(app, runner);
}

}  // namespace liaison::ctl
