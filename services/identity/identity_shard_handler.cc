#include "services/identity/identity_shard_handler.h"

#include "common/rpc.h"

namespace liaison::identity {

grpc::ServerUnaryReactor* IdentityShardHandler::ApplyPeerWrites(
    grpc::CallbackServerContext* context, const v1::ApplyPeerWritesRequest* request,
    v1::ApplyPeerWritesResponse*) {
  return ServeUnaryOnPool(
      context, *verifier_, Access::kService, *writers_,
      [this, request](const Caller&) { return logic_->ApplyPeerWrites(*request); });
}

grpc::ServerUnaryReactor* IdentityShardHandler::GetMemberFacts(
    grpc::CallbackServerContext* context, const v1::GetMemberFactsRequest* request,
    v1::GetMemberFactsResponse* response) {
  return ServeUnaryOnPool(context, *verifier_, Access::kService, *readers_,
                          [this, request, response](const Caller&) {
                            return logic_->GetMemberFacts(*request, response);
                          });
}

grpc::ServerUnaryReactor* IdentityShardHandler::ClaimName(grpc::CallbackServerContext* context,
                                                          const v1::ClaimNameRequest* request,
                                                          v1::ClaimNameResponse*) {
  // May ask the holder's shard whether the holder still holds the name.
  return ServeUnaryOnPool(context, *verifier_, Access::kService, *writers_,
                          [this, request](const Caller&) { return logic_->ClaimName(*request); });
}

grpc::ServerUnaryReactor* IdentityShardHandler::LookupName(grpc::CallbackServerContext* context,
                                                           const v1::LookupNameRequest* request,
                                                           v1::LookupNameResponse* response) {
  return ServeUnary(context, *verifier_, Access::kService,
                    [&](const Caller&) { return logic_->LookupName(*request, response); });
}

grpc::ServerUnaryReactor* IdentityShardHandler::ReleaseName(grpc::CallbackServerContext* context,
                                                            const v1::ReleaseNameRequest* request,
                                                            v1::ReleaseNameResponse*) {
  return ServeUnaryOnPool(context, *verifier_, Access::kService, *writers_,
                          [this, request](const Caller&) { return logic_->ReleaseName(*request); });
}

}  // namespace liaison::identity
