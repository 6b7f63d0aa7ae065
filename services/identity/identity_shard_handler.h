// gRPC in/out for liaison.identity.v1.IdentityShardService (callback API):
// what the shards of identity ask each other. Service tokens only.
//
// It has pools of its own: a shard's writers and readers block on calls to
// the other shards, so serving those calls from the same pools could leave
// every thread of two shards waiting on the other's (a deadlock until the
// deadline). Reads (`reads`) never call another shard; writes (`writes`)
// only call reads.
#ifndef LIAISON_SERVICES_IDENTITY_IDENTITY_SHARD_HANDLER_H_
#define LIAISON_SERVICES_IDENTITY_IDENTITY_SHARD_HANDLER_H_

#include "common/auth.h"
#include "common/worker_pool.h"
#include "liaison/identity/v1/identity_shard.grpc.pb.h"
#include "services/identity/identity_logic.h"

namespace liaison::identity {

class IdentityShardHandler final : public v1::IdentityShardService::CallbackService {
 public:
  IdentityShardHandler(IdentityLogic* logic, const TokenVerifier* verifier, WorkerPool* writes,
                       WorkerPool* reads)
      : logic_(logic), verifier_(verifier), writers_(writes), readers_(reads) {}

  grpc::ServerUnaryReactor* ApplyPeerWrites(grpc::CallbackServerContext* context,
                                            const v1::ApplyPeerWritesRequest* request,
                                            v1::ApplyPeerWritesResponse* response) override;
  grpc::ServerUnaryReactor* GetMemberFacts(grpc::CallbackServerContext* context,
                                           const v1::GetMemberFactsRequest* request,
                                           v1::GetMemberFactsResponse* response) override;
  grpc::ServerUnaryReactor* ClaimName(grpc::CallbackServerContext* context,
                                      const v1::ClaimNameRequest* request,
                                      v1::ClaimNameResponse* response) override;
  grpc::ServerUnaryReactor* LookupName(grpc::CallbackServerContext* context,
                                       const v1::LookupNameRequest* request,
                                       v1::LookupNameResponse* response) override;
  grpc::ServerUnaryReactor* ReleaseName(grpc::CallbackServerContext* context,
                                        const v1::ReleaseNameRequest* request,
                                        v1::ReleaseNameResponse* response) override;

 private:
  IdentityLogic* logic_;
  const TokenVerifier* verifier_;
  WorkerPool* writers_;
  WorkerPool* readers_;
};

}  // namespace liaison::identity

#endif  // LIAISON_SERVICES_IDENTITY_IDENTITY_SHARD_HANDLER_H_
