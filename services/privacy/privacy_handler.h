// gRPC in/out for liaison.privacy.v1.PrivacyService (callback API). Every
// method goes through common/rpc.h: authorize, run PrivacyLogic, map status.
#ifndef LIAISON_SERVICES_PRIVACY_PRIVACY_HANDLER_H_
#define LIAISON_SERVICES_PRIVACY_PRIVACY_HANDLER_H_

#include "common/auth.h"
#include "common/change_feed.h"
#include "common/worker_pool.h"
#include "liaison/privacy/v1/privacy.grpc.pb.h"
#include "services/privacy/privacy_logic.h"

namespace liaison::privacy {

class PrivacyHandler final : public v1::PrivacyService::CallbackService {
 public:
  // UpdateSettings and RegisterMembers run on `writers` (they wait for an
  // fsync).
  // WatchChanges streams read `feed` on `readers`.
  PrivacyHandler(PrivacyLogic* logic, const TokenVerifier* verifier, WorkerPool* writers,
                 WorkerPool* readers, ChangeFeed* feed)
      : logic_(logic), verifier_(verifier), writers_(writers), readers_(readers), feed_(feed) {}

  grpc::ServerUnaryReactor* GetSettings(grpc::CallbackServerContext* context,
                                        const v1::GetSettingsRequest* request,
                                        v1::GetSettingsResponse* response) override;
  grpc::ServerUnaryReactor* UpdateSettings(grpc::CallbackServerContext* context,
                                           const v1::UpdateSettingsRequest* request,
                                           v1::UpdateSettingsResponse* response) override;
  grpc::ServerUnaryReactor* BatchGetSettings(grpc::CallbackServerContext* context,
                                             const v1::BatchGetSettingsRequest* request,
                                             v1::BatchGetSettingsResponse* response) override;
  grpc::ServerUnaryReactor* RegisterMembers(grpc::CallbackServerContext* context,
                                            const v1::RegisterMembersRequest* request,
                                            v1::RegisterMembersResponse* response) override;
  grpc::ServerWriteReactor<v1::WatchChangesResponse>* WatchChanges(
      grpc::CallbackServerContext* context, const v1::WatchChangesRequest* request) override;

 private:
  PrivacyLogic* logic_;
  const TokenVerifier* verifier_;
  WorkerPool* writers_;
  WorkerPool* readers_;
  ChangeFeed* feed_;
};

}  // namespace liaison::privacy

#endif  // LIAISON_SERVICES_PRIVACY_PRIVACY_HANDLER_H_
