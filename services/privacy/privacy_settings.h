// The rules of privacy settings, free of storage and gRPC: the defaults, how
// a member's stored choices resolve to effective settings, and how a field
// mask update validates and applies.
//
// A member's record holds only the settings they chose (proto3 optional
// presence), so a member who never touched a setting follows its default,
// including if a default ever changes.
#ifndef LIAISON_SERVICES_PRIVACY_PRIVACY_SETTINGS_H_
#define LIAISON_SERVICES_PRIVACY_PRIVACY_SETTINGS_H_

#include <google/protobuf/field_mask.pb.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "liaison/privacy/v1/privacy.pb.h"

namespace liaison::privacy {

using v1::PrivacySettings;

// Every setting at its default (DESIGN.md §4 "Privacy settings").
const PrivacySettings& DefaultSettings();

// The names of the settings a mask may name, in field order.
const std::vector<std::string>& SettingNames();

// Defaults overlaid with the member's choices; member_id is left empty.
PrivacySettings Resolve(const PrivacySettings& choices);

// Applies `values` for the paths in `mask` to `choices` and returns the new
// choices. A named field absent from `values` is reset to its default.
// InvalidArgumentError, with nothing applied, for an empty mask, a path that
// is not a setting, or an enum value that is unspecified or undefined.
absl::StatusOr<PrivacySettings> ApplyUpdate(const PrivacySettings& choices,
                                            const PrivacySettings& values,
                                            const google::protobuf::FieldMask& mask);

}  // namespace liaison::privacy

#endif  // LIAISON_SERVICES_PRIVACY_PRIVACY_SETTINGS_H_
