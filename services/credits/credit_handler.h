// gRPC in/out for liaison.credits.v1.CreditService (callback API). Methods
// that need the member's tier ask identity asynchronously first, then wait
// (without blocking) until the tier feed has applied what identity's answer
// reflects; every ledger change then runs on the writer pool (it waits for an
// fsync).
#ifndef LIAISON_SERVICES_CREDITS_CREDIT_HANDLER_H_
#define LIAISON_SERVICES_CREDITS_CREDIT_HANDLER_H_

#include <functional>

#include "common/auth.h"
#include "common/client.h"
#include "common/shard_router.h"
#include "common/worker_pool.h"
#include "liaison/credits/v1/credits.grpc.pb.h"
#include "liaison/identity/v1/identity.grpc.pb.h"
#include "services/credits/credit_logic.h"
#include "services/credits/tier_feed.h"

namespace liaison::credits {

class CreditHandler final : public v1::CreditService::CallbackService {
 public:
  // `shard` and `shards`: which shard this is and its peers (this one
  // included); a call about a member another shard owns is forwarded there
  // (common/shard_router.h).
  CreditHandler(CreditLogic* logic, const TokenVerifier* verifier, WorkerPool* writers,
                identity::v1::IdentityService::Stub* identity, ServiceTokenSource* tokens,
                TierFeed* tiers, const ShardIdentity* shard,
                const ShardStubs<v1::CreditService>* shards)
      : logic_(logic),
        verifier_(verifier),
        writers_(writers),
        identity_(identity),
        tokens_(tokens),
        tiers_(tiers),
        forwarder_(shard, shards) {}

  grpc::ServerUnaryReactor* GetBalance(grpc::CallbackServerContext* context,
                                       const v1::GetBalanceRequest* request,
                                       v1::GetBalanceResponse* response) override;
  grpc::ServerUnaryReactor* ListLedger(grpc::CallbackServerContext* context,
                                       const v1::ListLedgerRequest* request,
                                       v1::ListLedgerResponse* response) override;
  grpc::ServerUnaryReactor* ListCreditPacks(grpc::CallbackServerContext* context,
                                            const v1::ListCreditPacksRequest* request,
                                            v1::ListCreditPacksResponse* response) override;
  grpc::ServerUnaryReactor* PurchaseCredits(grpc::CallbackServerContext* context,
                                            const v1::PurchaseCreditsRequest* request,
                                            v1::PurchaseCreditsResponse* response) override;
  grpc::ServerUnaryReactor* ReserveCredit(grpc::CallbackServerContext* context,
                                          const v1::ReserveCreditRequest* request,
                                          v1::ReserveCreditResponse* response) override;
  grpc::ServerUnaryReactor* CommitHold(grpc::CallbackServerContext* context,
                                       const v1::CommitHoldRequest* request,
                                       v1::CommitHoldResponse* response) override;
  grpc::ServerUnaryReactor* VoidHold(grpc::CallbackServerContext* context,
                                     const v1::VoidHoldRequest* request,
                                     v1::VoidHoldResponse* response) override;
  grpc::ServerUnaryReactor* RefundInMail(grpc::CallbackServerContext* context,
                                         const v1::RefundInMailRequest* request,
                                         v1::RefundInMailResponse* response) override;

 private:
  using WithFacts = std::function<absl::Status(MemberId, const MemberFacts&)>;
  using OnHold = absl::Status (CreditLogic::*)(MemberId, const std::string&, v1::Hold*);
  // Makes the same call on another shard (ShardForwarder::Forward).
  using Forward = std::function<void(v1::CreditService::Stub*, grpc::ClientContext*,
                                     std::function<void(grpc::Status)>)>;

  // Authorizes, resolves the member (`member_id`, empty meaning a member
  // caller), fetches their tier from identity and resolves it against the
  // tier feed without blocking, then runs `logic` on the writer pool and
  // finishes the call. A member another shard owns: `forward` instead.
  grpc::ServerUnaryReactor* ServeWithFacts(grpc::CallbackServerContext* context, Access access,
                                           const std::string& member_id, WithFacts logic,
                                           Forward forward);
  // The internal hold methods: service token, member_id and inmail_id.
  grpc::ServerUnaryReactor* ServeHold(grpc::CallbackServerContext* context,
                                      const std::string& member_id, const std::string& inmail_id,
                                      v1::Hold* hold, OnHold method, Forward forward);

  CreditLogic* logic_;
  const TokenVerifier* verifier_;
  WorkerPool* writers_;
  identity::v1::IdentityService::Stub* identity_;
  ServiceTokenSource* tokens_;
  TierFeed* tiers_;  // null: identity's answer alone (the lazy path)
  ShardForwarder<v1::CreditService> forwarder_;
};

}  // namespace liaison::credits

#endif  // LIAISON_SERVICES_CREDITS_CREDIT_HANDLER_H_
