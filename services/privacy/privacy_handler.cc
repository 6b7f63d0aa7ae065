#include "services/privacy/privacy_handler.h"

#include "common/clock.h"
#include "common/logging.h"
#include "common/rpc.h"
#include "common/status.h"

namespace liaison::privacy {

namespace {

// The member a call is about: the named one, else the caller; 0 when the
// name does not parse (served here, where validation says what is wrong).
MemberId RouteMember(const Caller& caller, const std::string& member_id) {
  if (member_id.empty()) return caller.is_member() ? caller.member_id : 0;
  auto member = ParseMemberId(member_id, "member_id");
  return member.ok() ? *member : 0;
}

}  // namespace

grpc::ServerUnaryReactor* PrivacyHandler::GetSettings(grpc::CallbackServerContext* context,
                                                      const v1::GetSettingsRequest* request,
                                                      v1::GetSettingsResponse* response) {
  return ServeUnaryAsync(
      context, *verifier_, Access::kMemberOrService,
      [&](const Caller& caller, grpc::ServerUnaryReactor* reactor) {
        const MemberId member = RouteMember(caller, request->member_id());
        if (member != 0 && forwarder_.Forward(context, reactor, member,
                                              [&](auto* stub, auto* outgoing, auto done) {
                                                stub->async()->GetSettings(outgoing, request,
                                                                           response, done);
                                              })) {
          return;
        }
        const uint64_t cursor = feed_->Head();  // before the read: the answer reflects at least it
        absl::Status status = logic_->GetSettings(caller, *request, response);
        if (status.ok() && caller.is_service()) response->set_change_cursor(cursor);
        reactor->Finish(ToGrpcStatus(status));
      });
}

grpc::ServerUnaryReactor* PrivacyHandler::UpdateSettings(grpc::CallbackServerContext* context,
                                                         const v1::UpdateSettingsRequest* request,
                                                         v1::UpdateSettingsResponse* response) {
  return ServeUnaryAsync(
      context, *verifier_, Access::kMember,
      [&](const Caller& caller, grpc::ServerUnaryReactor* reactor) {
        if (forwarder_.Forward(context, reactor, caller.member_id,
                               [&](auto* stub, auto* outgoing, auto done) {
                                 stub->async()->UpdateSettings(outgoing, request, response, done);
                               })) {
          return;
        }
        FinishOnPool(context, reactor, *writers_, [this, caller, request, response] {
          return logic_->UpdateSettings(caller, *request, response);
        });
      });
}

bool PrivacyHandler::Plan(grpc::CallbackServerContext* context, grpc::ServerUnaryReactor* reactor,
                          const google::protobuf::RepeatedPtrField<std::string>& member_ids,
                          std::vector<std::vector<int>>* parts, std::vector<size_t>* shards) const {
  auto members = PrivacyLogic::ParseBatch(member_ids);
  if (!members.ok()) {
    reactor->Finish(ToGrpcStatus(members.status()));
    return false;
  }
  return PlanBatch(context, reactor, *forwarder_.shard(), *members, parts, shards);
}

grpc::ServerUnaryReactor* PrivacyHandler::BatchGetSettings(
    grpc::CallbackServerContext* context, const v1::BatchGetSettingsRequest* request,
    v1::BatchGetSettingsResponse* response) {
  return ServeUnaryAsync(
      context, *verifier_, Access::kService, [&](const Caller&, grpc::ServerUnaryReactor* reactor) {
        std::vector<std::vector<int>> parts;
        std::vector<size_t> shards;
        if (!Plan(context, reactor, request->member_ids(), &parts, &shards)) return;
        if (shards.empty()) {
          const uint64_t cursor = feed_->Head();
          absl::Status status = logic_->BatchGetSettings(*request, response);
          if (status.ok()) response->set_change_cursor(cursor);
          reactor->Finish(ToGrpcStatus(status));
          return;
        }
        // Members of several shards: each answers for its own; the answer
        // keeps the request's order. Cursors are per shard, so a split
        // answer carries none (a caller that needs them asks each shard).
        SplitBatchCall<v1::BatchGetSettingsRequest, v1::BatchGetSettingsResponse>(
            *context, *forwarder_.shard(), *request, std::move(parts), shards,
            [this](size_t s, auto* outgoing, auto* sub, auto* answer, auto on_done) {
              shards_->At(s)->async()->BatchGetSettings(outgoing, sub, answer, std::move(on_done));
            },
            [reactor, response, count = request->member_ids_size()](
                grpc::Status status, const auto& parts, auto& answers) {
              if (status.ok()) {
                std::vector<v1::PrivacySettings> ordered(count);
                for (size_t s = 0; s < parts.size(); ++s) {
                  for (size_t j = 0; j < parts[s].size(); ++j) {
                    ordered[parts[s][j]] = std::move(*answers[s].mutable_settings(j));
                  }
                }
                for (auto& settings : ordered) *response->add_settings() = std::move(settings);
              }
              reactor->Finish(status);
            });
      });
}

grpc::ServerUnaryReactor* PrivacyHandler::RegisterMembers(grpc::CallbackServerContext* context,
                                                          const v1::RegisterMembersRequest* request,
                                                          v1::RegisterMembersResponse* response) {
  (void)response;
  return ServeUnaryAsync(
      context, *verifier_, Access::kService, [&](const Caller&, grpc::ServerUnaryReactor* reactor) {
        std::vector<std::vector<int>> parts;
        std::vector<size_t> shards;
        if (!Plan(context, reactor, request->member_ids(), &parts, &shards)) return;
        if (shards.empty()) {
          FinishOnPool(context, reactor, *writers_,
                       [this, request] { return logic_->RegisterMembers(*request); });
          return;
        }
        // Registering is idempotent: a failure on one shard is retried whole.
        SplitBatchCall<v1::RegisterMembersRequest, v1::RegisterMembersResponse>(
            *context, *forwarder_.shard(), *request, std::move(parts), shards,
            [this](size_t s, auto* outgoing, auto* sub, auto* answer, auto on_done) {
              shards_->At(s)->async()->RegisterMembers(outgoing, sub, answer, std::move(on_done));
            },
            [reactor](grpc::Status status, const auto&, auto&) { reactor->Finish(status); });
      });
}

grpc::ServerWriteReactor<v1::WatchChangesResponse>* PrivacyHandler::WatchChanges(
    grpc::CallbackServerContext* context, const v1::WatchChangesRequest* request) {
  using Stream = FeedStream<v1::WatchChangesResponse>;
  absl::StatusOr<Caller> caller = verifier_->Authorize(*context, Access::kService);
  if (!caller.ok()) return Stream::Refuse(ToGrpcStatus(caller.status()));
  std::optional<uint64_t> after;
  if (request->has_after_cursor()) after = request->after_cursor();
  return Stream::Open(
      feed_, readers_, after,
      [](std::vector<FeedEntry> entries, v1::WatchChangesResponse* response) {
        for (FeedEntry& entry : entries) {
          v1::SettingsChange change;
          if (!change.ParseFromString(entry.record)) {
            LogError("feed_record_unparsable",
                     {{"feed", "privacy"}, {"cursor", static_cast<int64_t>(entry.cursor)}});
            continue;
          }
          change.set_cursor(entry.cursor);
          SetTimestamp(change.mutable_commit_time(), entry.commit_time);
          *response->add_changes() = std::move(change);
        }
      });
}

}  // namespace liaison::privacy
