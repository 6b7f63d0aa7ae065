#include "services/privacy/privacy_settings.h"

#include <google/protobuf/descriptor.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace liaison::privacy {
namespace {

using google::protobuf::FieldDescriptor;

const FieldDescriptor* SettingField(const std::string& name) {
  const FieldDescriptor* field = PrivacySettings::descriptor()->FindFieldByName(name);
  if (field == nullptr || field->number() == PrivacySettings::kMemberIdFieldNumber) return nullptr;
  return field;
}

std::string ValidEnumNames(const google::protobuf::EnumDescriptor* type) {
  std::vector<std::string> names;
  for (int i = 1; i < type->value_count(); ++i) names.push_back(type->value(i)->name());
  return absl::StrJoin(names, ", ");
}

}  // namespace

const PrivacySettings& DefaultSettings() {
  static const PrivacySettings* defaults = [] {
    auto* s = new PrivacySettings();
    s->set_inmail_acceptance(true);
    s->set_open_profile(false);
    s->set_messages_from_second_degree(false);
    s->set_read_receipts_and_typing(true);
    s->set_focused_inbox(true);
    s->set_who_can_invite(v1::INVITE_POLICY_EVERYONE);
    s->set_active_status_visibility(v1::ACTIVE_STATUS_VISIBILITY_CONNECTIONS);
    s->set_sponsored_messages(true);
    s->set_notify_by_email(true);
    return s;
  }();
  return *defaults;
}

const std::vector<std::string>& SettingNames() {
  static const std::vector<std::string>* names = [] {
    auto* out = new std::vector<std::string>();
    const auto* descriptor = PrivacySettings::descriptor();
    for (int i = 0; i < descriptor->field_count(); ++i) {
      if (SettingField(descriptor->field(i)->name()) != nullptr) {
        out->push_back(descriptor->field(i)->name());
      }
    }
    return out;
  }();
  return *names;
}

PrivacySettings Resolve(const PrivacySettings& choices) {
  PrivacySettings settings = DefaultSettings();
  settings.MergeFrom(choices);
  settings.clear_member_id();
  return settings;
}

absl::StatusOr<PrivacySettings> ApplyUpdate(const PrivacySettings& choices,
                                            const PrivacySettings& values,
                                            const google::protobuf::FieldMask& mask) {
  if (mask.paths().empty()) {
    return absl::InvalidArgumentError(
        "update_mask is empty; name the settings to change, e.g. paths: [\"inmail_acceptance\"]");
  }
  PrivacySettings updated = choices;
  const auto* reflection = PrivacySettings::GetReflection();
  for (const std::string& path : mask.paths()) {
    const FieldDescriptor* field = SettingField(path);
    if (field == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("update_mask path \"", path,
                       "\" is not a setting; settings are: ", absl::StrJoin(SettingNames(), ", ")));
    }
    if (!reflection->HasField(values, field)) {
      reflection->ClearField(&updated, field);  // Back to the default.
      continue;
    }
    if (field->type() == FieldDescriptor::TYPE_ENUM) {
      const int number = reflection->GetEnumValue(values, field);
      if (number == 0 || field->enum_type()->FindValueByNumber(number) == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat(path, " ", number,
                                                       " is not a valid choice; use one of ",
                                                       ValidEnumNames(field->enum_type())));
      }
      reflection->SetEnumValue(&updated, field, number);
    } else {
      reflection->SetBool(&updated, field, reflection->GetBool(values, field));
    }
  }
  updated.clear_member_id();
  return updated;
}

}  // namespace liaison::privacy
