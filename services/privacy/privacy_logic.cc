#include "services/privacy/privacy_logic.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "services/privacy/privacy_settings.h"

namespace liaison::privacy {
absl::StatusOr<std::vector<MemberId>> PrivacyLogic::ParseBatch(
    const google::protobuf::RepeatedPtrField<std::string>& ids) {
  const int count = ids.size();
  if (count == 0) return absl::InvalidArgumentError("member_ids is empty; name 1 to 1000 members");
  if (count > kMaxBatch) {
    return absl::InvalidArgumentError(
        absl::StrCat("member_ids has ", count, " entries; the limit is ", kMaxBatch));
  }
  std::vector<MemberId> members;
  members.reserve(count);
  for (int i = 0; i < count; ++i) {
    ASSIGN_OR_RETURN(MemberId member, ParseMemberId(ids[i], absl::StrCat("member_ids[", i, "]")));
    members.push_back(member);
  }
  return members;
}

PrivacyLogic::PrivacyLogic(PrivacyStore* store, prometheus::Registry& registry)
    : store_(store),
      changes_(prometheus::BuildCounter()
                   .Name("liaison_privacy_setting_changes_total")
                   .Help("Settings changed by members, by setting.")
                   .Register(registry)) {}

absl::StatusOr<MemberId> PrivacyLogic::Target(const Caller& caller, const std::string& member_id,
                                              const char* verb) const {
  if (member_id.empty()) {
    if (caller.is_member()) return caller.member_id;
    return absl::InvalidArgumentError("member_id is required when a service calls");
  }
  ASSIGN_OR_RETURN(MemberId member, ParseMemberId(member_id, "member_id"));
  if (caller.is_member() && member != caller.member_id) {
    return absl::PermissionDeniedError(
        absl::StrCat("members can ", verb, " only their own settings"));
  }
  return member;
}

absl::StatusOr<v1::PrivacySettings> PrivacyLogic::Choices(MemberId member) const {
  auto choices = store_->Load(member);
  if (absl::IsNotFound(choices.status())) return v1::PrivacySettings();
  return choices;
}

absl::Status PrivacyLogic::GetSettings(const Caller& caller, const v1::GetSettingsRequest& request,
                                       v1::GetSettingsResponse* response) const {
  ASSIGN_OR_RETURN(MemberId member, Target(caller, request.member_id(), "read"));
  ASSIGN_OR_RETURN(v1::PrivacySettings choices, Choices(member));
  *response->mutable_settings() = Resolve(choices);
  response->mutable_settings()->set_member_id(FormatMemberId(member));
  return absl::OkStatus();
}

absl::Status PrivacyLogic::UpdateSettings(const Caller& caller,
                                          const v1::UpdateSettingsRequest& request,
                                          v1::UpdateSettingsResponse* response) {
  if (!caller.is_member()) {
    return absl::PermissionDeniedError("only the member can change their settings");
  }
  ASSIGN_OR_RETURN(MemberId member, Target(caller, request.member_id(), "change"));
  // Validate the mask before touching the store.
  ASSIGN_OR_RETURN(v1::PrivacySettings ignored,
                   ApplyUpdate(v1::PrivacySettings(), request.settings(), request.update_mask()));
  (void)ignored;
  ASSIGN_OR_RETURN(bool exists, store_->IsMember(member));
  if (!exists) {
    return absl::FailedPreconditionError(
        absl::StrCat("member ", member, " (the token's subject) does not exist"));
  }
  v1::PrivacySettings updated;
  {
    absl::MutexLock lock(&stripes_[member % stripes_.size()]);
    ASSIGN_OR_RETURN(v1::PrivacySettings choices, Choices(member));
    ASSIGN_OR_RETURN(updated, ApplyUpdate(choices, request.settings(), request.update_mask()));
    *response->mutable_settings() = Resolve(updated);
    response->mutable_settings()->set_member_id(FormatMemberId(member));
    RETURN_IF_ERROR(store_->Save(member, updated, response->settings()));
  }
  for (const std::string& path : request.update_mask().paths()) {
    changes_.Add({{"setting", path}}).Increment();
  }
  return absl::OkStatus();
}

absl::Status PrivacyLogic::BatchGetSettings(const v1::BatchGetSettingsRequest& request,
                                            v1::BatchGetSettingsResponse* response) const {
  ASSIGN_OR_RETURN(std::vector<MemberId> members, ParseBatch(request.member_ids()));
  const int count = request.member_ids_size();
  auto loaded = store_->LoadMany(members);
  for (int i = 0; i < count; ++i) {
    v1::PrivacySettings* settings = response->add_settings();
    if (loaded[i].ok()) {
      *settings = Resolve(*loaded[i]);
    } else if (absl::IsNotFound(loaded[i].status())) {
      *settings = DefaultSettings();
    } else {
      return loaded[i].status();
    }
    settings->set_member_id(FormatMemberId(members[i]));
  }
  return absl::OkStatus();
}

absl::Status PrivacyLogic::RegisterMembers(const v1::RegisterMembersRequest& request) {
  ASSIGN_OR_RETURN(std::vector<MemberId> members, ParseBatch(request.member_ids()));
  return store_->AddMembers(members);
}

}  // namespace liaison::privacy
