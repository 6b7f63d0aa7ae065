#include "services/messaging/messaging_shard_handler.h"

#include "common/rpc.h"

namespace liaison::messaging {

grpc::ServerUnaryReactor* MessagingShardHandler::ApplyDelivery(
    grpc::CallbackServerContext* context, const shard::v1::ApplyDeliveryRequest* request,
    shard::v1::ApplyDeliveryResponse*) {
  return ServeUnaryOnPool(context, *verifier_, Access::kService, *appliers_,
                          [this, request](const Caller&) {
                            return logic_->ApplyDelivery(request->source_shard(),
                                                         request->sequence(), request->delivery());
                          });
}

grpc::ServerUnaryReactor* MessagingShardHandler::ApplyDeliveries(
    grpc::CallbackServerContext* context, const shard::v1::ApplyDeliveriesRequest* request,
    shard::v1::ApplyDeliveriesResponse*) {
  return ServeUnaryOnPool(context, *verifier_, Access::kService, *appliers_,
                          [this, request](const Caller&) {
                            std::vector<MessagingLogic::SequencedDelivery> deliveries;
                            for (const auto& d : request->deliveries()) {
                              deliveries.emplace_back(d.sequence(), &d.delivery());
                            }
                            return logic_->ApplyDeliveries(request->source_shard(), deliveries);
                          });
}

grpc::ServerUnaryReactor* MessagingShardHandler::PublishEvent(
    grpc::CallbackServerContext* context, const shard::v1::PublishEventRequest* request,
    shard::v1::PublishEventResponse*) {
  // Memory only, never blocks: served on the callback thread.
  return ServeUnary(context, *verifier_, Access::kService, [this, request](const Caller&) {
    return logic_->PublishLive(request->member_ids(), request->event());
  });
}

}  // namespace liaison::messaging
