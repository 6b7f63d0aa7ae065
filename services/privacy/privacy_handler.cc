#include "services/privacy/privacy_handler.h"

#include "common/clock.h"
#include "common/logging.h"
#include "common/rpc.h"
#include "common/status.h"

namespace liaison::privacy {

grpc::ServerUnaryReactor* PrivacyHandler::GetSettings(grpc::CallbackServerContext* context,
                                                      const v1::GetSettingsRequest* request,
                                                      v1::GetSettingsResponse* response) {
  return ServeUnary(context, *verifier_, Access::kMemberOrService, [&](const Caller& caller) {
    const uint64_t cursor = feed_->Head();  // before the read: the answer reflects at least it
    RETURN_IF_ERROR(logic_->GetSettings(caller, *request, response));
    if (caller.is_service()) response->set_change_cursor(cursor);
    return absl::OkStatus();
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
  return ServeUnary(context, *verifier_, Access::kService, [&](const Caller&) {
    const uint64_t cursor = feed_->Head();
    RETURN_IF_ERROR(logic_->BatchGetSettings(*request, response));
    response->set_change_cursor(cursor);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* PrivacyHandler::RegisterMembers(
    grpc::CallbackServerContext* context, const v1::RegisterMembersRequest* request,
    v1::RegisterMembersResponse* response) {
  (void)response;
  return ServeUnaryOnPool(
      context, *verifier_, Access::kService, *writers_,
      [this, request](const Caller&) { return logic_->RegisterMembers(*request); });
}

grpc::ServerWriteReactor<v1::WatchChangesResponse>* PrivacyHandler::WatchChanges(
    grpc::CallbackServerContext* context, const v1::WatchChangesRequest* request) {
  using Stream = FeedStream<v1::WatchChangesResponse>;
  absl::StatusOr<Caller> caller = verifier_->Authorize(*context, Access::kService);
  if (!caller.ok()) return Stream::Refuse(ToGrpcStatus(caller.status()));
  std::optional<uint64_t> after;
  if (request->has_after_cursor()) after = request->after_cursor();
  return Stream::Open(feed_, readers_, after,
                      [](std::vector<FeedEntry> entries, v1::WatchChangesResponse* response) {
                        for (FeedEntry& entry : entries) {
                          v1::SettingsChange change;
                          if (!change.ParseFromString(entry.record)) {
                            LogError("feed_record_unparsable",
                                     {{"feed", "privacy"},
                                      {"cursor", static_cast<int64_t>(entry.cursor)}});
                            continue;
                          }
                          change.set_cursor(entry.cursor);
                          SetTimestamp(change.mutable_commit_time(), entry.commit_time);
                          *response->add_changes() = std::move(change);
                        }
                      });
}

}  // namespace liaison::privacy
