#include "services/privacy/privacy_handler.h"

#include "common/rpc.h"

namespace liaison::privacy {

grpc::ServerUnaryReactor* PrivacyHandler::GetSettings(grpc::CallbackServerContext* context,
                                                      const v1::GetSettingsRequest* request,
                                                      v1::GetSettingsResponse* response) {
  return ServeUnary(context, *verifier_, Access::kMemberOrService, [&](const Caller& caller) {
    return logic_->GetSettings(caller, *request, response);
  });
}

grpc::ServerUnaryReactor* PrivacyHandler::UpdateSettings(grpc::CallbackServerContext* context,
                                                         const v1::UpdateSettingsRequest* request,
                                                         v1::UpdateSettingsResponse* response) {
  return ServeUnaryOnPool(context, *verifier_, Access::kMember, *writers_,
                          [this, request, response](const Caller& caller) {
                            return logic_->UpdateSettings(caller, *request, response);
                          });
}

grpc::ServerUnaryReactor* PrivacyHandler::BatchGetSettings(
    grpc::CallbackServerContext* context, const v1::BatchGetSettingsRequest* request,
    v1::BatchGetSettingsResponse* response) {
  return ServeUnary(context, *verifier_, Access::kService,
                    [&](const Caller&) { return logic_->BatchGetSettings(*request, response); });
}

grpc::ServerUnaryReactor* PrivacyHandler::RegisterMembers(
    grpc::CallbackServerContext* context, const v1::RegisterMembersRequest* request,
    v1::RegisterMembersResponse* response) {
  (void)response;
  return ServeUnaryOnPool(
      context, *verifier_, Access::kService, *writers_,
      [this, request](const Caller&) { return logic_->RegisterMembers(*request); });
}

}  // namespace liaison::privacy
