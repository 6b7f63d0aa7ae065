// gRPC in/out for liaison.privacy.v1.PrivacyService (callback API). Every
// method goes through common/rpc.h: authorize, run PrivacyLogic, map status.
// With several shards (DESIGN.md §8), a call about a member another shard
// owns is forwarded there once, and a batch naming members of several
// shards is split among them (common/shard_router.h).
#ifndef LIAISON_SERVICES_PRIVACY_PRIVACY_HANDLER_H_
#define LIAISON_SERVICES_PRIVACY_PRIVACY_HANDLER_H_

#include "common/auth.h"
#include "common/change_feed.h"
#include "common/shard_router.h"
#include "common/worker_pool.h"
#include "liaison/privacy/v1/privacy.grpc.pb.h"
#include "services/privacy/privacy_logic.h"

namespace liaison::privacy {

class PrivacyHandler final : public v1::PrivacyService::CallbackService {
 public:
  // UpdateSettings and RegisterMembers run on `writers` (they wait for an
  // fsync).
  // WatchChanges streams read `feed` on `readers`.
  // `shards`: this shard's peers (this one included), where calls about
  // members this shard does not own go.
  PrivacyHandler(PrivacyLogic* logic, const TokenVerifier* verifier, WorkerPool* writers,
                 WorkerPool* readers, ChangeFeed* feed, const ShardIdentity* shard,
                 const ShardStubs<v1::PrivacyService>* shards)
      : logic_(logic),
        verifier_(verifier),
        writers_(writers),
        readers_(readers),
        feed_(feed),
        shards_(shards),
        forwarder_(shard, shards) {}

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
  // Parses a batch's member_ids and plans it (common/shard_router.h,
  // PlanBatch); false when `reactor` was finished with a refusal.
  bool Plan(grpc::CallbackServerContext* context, grpc::ServerUnaryReactor* reactor,
            const google::protobuf::RepeatedPtrField<std::string>& member_ids,
            std::vector<std::vector<int>>* parts, std::vector<size_t>* shards) const;

  PrivacyLogic* logic_;
  const TokenVerifier* verifier_;
  WorkerPool* writers_;
  WorkerPool* readers_;
  ChangeFeed* feed_;
  const ShardStubs<v1::PrivacyService>* shards_;
  ShardForwarder<v1::PrivacyService> forwarder_;
};

}  // namespace liaison::privacy

#endif  // LIAISON_SERVICES_PRIVACY_PRIVACY_HANDLER_H_
