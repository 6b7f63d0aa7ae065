#include "services/credits/credit_handler.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "common/rpc.h"

namespace liaison::credits {
namespace {

constexpr absl::Duration kIdentityTimeout = absl::Seconds(2);

// The member a call is about: members act only for themselves; services name
// the member.
absl::StatusOr<MemberId> Target(const Caller& caller, const std::string& member_id) {
  if (member_id.empty()) {
    if (caller.is_member()) return caller.member_id;
    return absl::InvalidArgumentError("member_id is required when a service calls");
  }
  ASSIGN_OR_RETURN(MemberId member, ParseMemberId(member_id, "member_id"));
  if (caller.is_member() && member != caller.member_id) {
    return absl::PermissionDeniedError("members can see only their own credits");
  }
  return member;
}

absl::Status FromIdentity(const grpc::Status& status, MemberId member) {
  if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
    return absl::NotFoundError(absl::StrCat("member_id: no member ", member));
  }
  return DependencyError("identity", status);
}

}  // namespace

grpc::ServerUnaryReactor* CreditHandler::ServeWithFacts(grpc::CallbackServerContext* context,
                                                        Access access, const std::string& member_id,
                                                        WithFacts logic, Forward forward) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<Caller> caller = verifier_->Authorize(*context, access);
  absl::StatusOr<MemberId> member = caller.ok() ? Target(*caller, member_id) : caller.status();
  if (!member.ok()) {
    reactor->Finish(ToGrpcStatus(member.status()));
    return reactor;
  }
  if (forwarder_.Forward(context, reactor, *member, std::move(forward))) return reactor;
  auto fetch = std::make_shared<
      OutgoingCall<identity::v1::GetMemberRequest, identity::v1::GetMemberResponse>>();
  tokens_->Prepare(&fetch->context, kIdentityTimeout);
  fetch->request.set_member_id(FormatMemberId(*member));
  identity_->async()->GetMember(
      &fetch->context, &fetch->request, &fetch->response,
      [this, reactor, fetch, member = *member, logic = std::move(logic)](grpc::Status status) {
        if (!status.ok()) {
          reactor->Finish(ToGrpcStatus(FromIdentity(status, member)));
          return;
        }
        MemberFacts facts;
        facts.tier = fetch->response.member().tier();
        if (fetch->response.member().has_billing_anchor_time()) {
          facts.anchor = FromTimestamp(fetch->response.member().billing_anchor_time());
        }
        facts.cursor = fetch->response.change_cursor();
        auto run = [this, reactor, member, logic](const MemberFacts& resolved) {
          writers_->Post([reactor, member, resolved, logic] {
            reactor->Finish(ToGrpcStatus(logic(member, resolved)));
          });
        };
        if (tiers_ == nullptr) {
          run(facts);
          return;
        }
        tiers_->Resolve(facts, std::move(run));
      });
  return reactor;
}

grpc::ServerUnaryReactor* CreditHandler::ServeHold(grpc::CallbackServerContext* context,
                                                   const std::string& member_id,
                                                   const std::string& inmail_id, v1::Hold* hold,
                                                   OnHold method, Forward forward) {
  return ServeUnaryAsync(
      context, *verifier_, Access::kService,
      [&](const Caller& caller, grpc::ServerUnaryReactor* reactor) {
        absl::StatusOr<MemberId> member = Target(caller, member_id);
        if (member.ok() && forwarder_.Forward(context, reactor, *member, std::move(forward))) {
          return;
        }
        FinishOnPool(context, reactor, *writers_,
                     [this, member, inmail = &inmail_id, hold, method]() -> absl::Status {
                       if (!member.ok()) return member.status();
                       return (logic_->*method)(*member, *inmail, hold);
                     });
      });
}

grpc::ServerUnaryReactor* CreditHandler::GetBalance(grpc::CallbackServerContext* context,
                                                    const v1::GetBalanceRequest* request,
                                                    v1::GetBalanceResponse* response) {
  return ServeWithFacts(
      context, Access::kMemberOrService, request->member_id(),
      [this, response](MemberId member, const MemberFacts& facts) {
        return logic_->GetBalance(member, facts, response->mutable_balance());
      },
      [request, response](auto* stub, auto* outgoing, auto done) {
        stub->async()->GetBalance(outgoing, request, response, std::move(done));
      });
}

grpc::ServerUnaryReactor* CreditHandler::ListLedger(grpc::CallbackServerContext* context,
                                                    const v1::ListLedgerRequest* request,
                                                    v1::ListLedgerResponse* response) {
  return ServeWithFacts(
      context, Access::kMemberOrService, request->member_id(),
      [this, request, response](MemberId member, const MemberFacts& facts) {
        return logic_->ListLedger(member, facts, *request, response);
      },
      [request, response](auto* stub, auto* outgoing, auto done) {
        stub->async()->ListLedger(outgoing, request, response, std::move(done));
      });
}

grpc::ServerUnaryReactor* CreditHandler::ListCreditPacks(grpc::CallbackServerContext* context,
                                                         const v1::ListCreditPacksRequest* request,
                                                         v1::ListCreditPacksResponse* response) {
  return ServeUnary(context, *verifier_, Access::kMemberOrService, [&](const Caller&) {
    for (const auto& pack : logic_->packs()) *response->add_packs() = pack;
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* CreditHandler::PurchaseCredits(grpc::CallbackServerContext* context,
                                                         const v1::PurchaseCreditsRequest* request,
                                                         v1::PurchaseCreditsResponse* response) {
  return ServeWithFacts(
      context, Access::kMember, "",
      [this, request, response](MemberId member, const MemberFacts& facts) {
        return logic_->Purchase(member, facts, *request, response);
      },
      [request, response](auto* stub, auto* outgoing, auto done) {
        stub->async()->PurchaseCredits(outgoing, request, response, std::move(done));
      });
}

grpc::ServerUnaryReactor* CreditHandler::ReserveCredit(grpc::CallbackServerContext* context,
                                                       const v1::ReserveCreditRequest* request,
                                                       v1::ReserveCreditResponse* response) {
  if (absl::Status bad = CreditLogic::ValidateId(request->inmail_id(), "inmail_id"); !bad.ok()) {
    // Refuse malformed ids before asking identity anything (after auth).
    auto caller = verifier_->Authorize(*context, Access::kService);
    auto* reactor = context->DefaultReactor();
    reactor->Finish(ToGrpcStatus(caller.ok() ? bad : caller.status()));
    return reactor;
  }
  return ServeWithFacts(
      context, Access::kService, request->member_id(),
      [this, request, response](MemberId member, const MemberFacts& facts) {
        return logic_->Reserve(member, facts, request->inmail_id(), response->mutable_hold());
      },
      [request, response](auto* stub, auto* outgoing, auto done) {
        stub->async()->ReserveCredit(outgoing, request, response, std::move(done));
      });
}

grpc::ServerUnaryReactor* CreditHandler::CommitHold(grpc::CallbackServerContext* context,
                                                    const v1::CommitHoldRequest* request,
                                                    v1::CommitHoldResponse* response) {
  return ServeHold(context, request->member_id(), request->inmail_id(), response->mutable_hold(),
                   &CreditLogic::Commit,
                   [request, response](auto* stub, auto* outgoing, auto done) {
                     stub->async()->CommitHold(outgoing, request, response, std::move(done));
                   });
}

grpc::ServerUnaryReactor* CreditHandler::VoidHold(grpc::CallbackServerContext* context,
                                                  const v1::VoidHoldRequest* request,
                                                  v1::VoidHoldResponse* response) {
  return ServeHold(context, request->member_id(), request->inmail_id(), response->mutable_hold(),
                   &CreditLogic::Void, [request, response](auto* stub, auto* outgoing, auto done) {
                     stub->async()->VoidHold(outgoing, request, response, std::move(done));
                   });
}

grpc::ServerUnaryReactor* CreditHandler::RefundInMail(grpc::CallbackServerContext* context,
                                                      const v1::RefundInMailRequest* request,
                                                      v1::RefundInMailResponse* response) {
  return ServeHold(context, request->member_id(), request->inmail_id(), response->mutable_hold(),
                   &CreditLogic::Refund,
                   [request, response](auto* stub, auto* outgoing, auto done) {
                     stub->async()->RefundInMail(outgoing, request, response, std::move(done));
                   });
}

}  // namespace liaison::credits
