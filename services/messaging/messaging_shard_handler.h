// gRPC in/out for liaison.messaging.v1.MessagingShardService (callback
// API): what the shards of messaging ask each other. Service tokens only.
// Deliveries are applied on a pool of their own: a shard's writers may
// wait on a delivery to another shard (a send acknowledged once the
// sender's shard holds it), so two shards' writers must never wait on
// each other's.
#ifndef LIAISON_SERVICES_MESSAGING_MESSAGING_SHARD_HANDLER_H_
#define LIAISON_SERVICES_MESSAGING_MESSAGING_SHARD_HANDLER_H_

#include "common/auth.h"
#include "common/worker_pool.h"
#include "liaison/messaging/shard/v1/messaging_shard.grpc.pb.h"
#include "services/messaging/messaging_logic.h"

namespace liaison::messaging {

class MessagingShardHandler final : public shard::v1::MessagingShardService::CallbackService {
 public:
  MessagingShardHandler(MessagingLogic* logic, const TokenVerifier* verifier, WorkerPool* appliers)
      : logic_(logic), verifier_(verifier), appliers_(appliers) {}

  grpc::ServerUnaryReactor* ApplyDelivery(grpc::CallbackServerContext* context,
                                          const shard::v1::ApplyDeliveryRequest* request,
                                          shard::v1::ApplyDeliveryResponse* response) override;
  grpc::ServerUnaryReactor* ApplyDeliveries(grpc::CallbackServerContext* context,
                                            const shard::v1::ApplyDeliveriesRequest* request,
                                            shard::v1::ApplyDeliveriesResponse* response) override;
  grpc::ServerUnaryReactor* PublishEvent(grpc::CallbackServerContext* context,
                                         const shard::v1::PublishEventRequest* request,
                                         shard::v1::PublishEventResponse* response) override;

 private:
  MessagingLogic* logic_;
  const TokenVerifier* verifier_;
  WorkerPool* appliers_;
};

}  // namespace liaison::messaging

#endif  // LIAISON_SERVICES_MESSAGING_MESSAGING_SHARD_HANDLER_H_
