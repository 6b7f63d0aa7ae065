#include "services/privacy/privacy_settings.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/message_differencer.h>

#include <catch2/catch.hpp>

#include "tests/support/status_matchers.h"

namespace liaison::privacy {
namespace {

using google::protobuf::FieldMask;
using google::protobuf::util::MessageDifferencer;
using testing::StatusIs;

FieldMask Mask(std::initializer_list<const char*> paths) {
  FieldMask mask;
  for (const char* p : paths) mask.add_paths(p);
  return mask;
}

TEST_CASE("The defaults are the ones DESIGN.md gives") {
  const PrivacySettings& d = DefaultSettings();
  CHECK(d.inmail_acceptance());
  CHECK_FALSE(d.open_profile());
  CHECK_FALSE(d.messages_from_second_degree());
  CHECK(d.read_receipts_and_typing());
  CHECK(d.focused_inbox());
  CHECK(d.who_can_invite() == v1::INVITE_POLICY_EVERYONE);
  CHECK(d.active_status_visibility() == v1::ACTIVE_STATUS_VISIBILITY_CONNECTIONS);
  CHECK(d.sponsored_messages());
  CHECK(d.notify_by_email());
}

TEST_CASE("Every setting has a default and is a bool or an enum") {
  const auto* descriptor = PrivacySettings::descriptor();
  const auto* reflection = PrivacySettings::GetReflection();
  REQUIRE(SettingNames().size() == 9);
  for (const std::string& name : SettingNames()) {
    INFO(name);
    const auto* field = descriptor->FindFieldByName(name);
    REQUIRE(field != nullptr);
    CHECK(reflection->HasField(DefaultSettings(), field));
    CHECK((field->type() == google::protobuf::FieldDescriptor::TYPE_BOOL ||
           field->type() == google::protobuf::FieldDescriptor::TYPE_ENUM));
  }
}

TEST_CASE("Resolving no choices gives the defaults - a choice overrides only its setting") {
  CHECK(MessageDifferencer::Equals(Resolve(PrivacySettings()), DefaultSettings()));
  PrivacySettings choices;
  choices.set_inmail_acceptance(false);
  PrivacySettings resolved = Resolve(choices);
  CHECK_FALSE(resolved.inmail_acceptance());
  CHECK(resolved.focused_inbox());
  CHECK(resolved.member_id().empty());
}

TEST_CASE("An update sets the named settings and ignores fields not in the mask") {
  PrivacySettings values;
  values.set_open_profile(true);
  values.set_focused_inbox(false);  // not in the mask
  values.set_who_can_invite(v1::INVITE_POLICY_SECOND_DEGREE_ONLY);
  auto updated = ApplyUpdate(PrivacySettings(), values, Mask({"open_profile", "who_can_invite"}));
  REQUIRE(updated.ok());
  CHECK(updated->has_open_profile());
  CHECK(updated->open_profile());
  CHECK_FALSE(updated->has_focused_inbox());
  CHECK(updated->who_can_invite() == v1::INVITE_POLICY_SECOND_DEGREE_ONLY);
}

TEST_CASE("A named setting absent from the values is reset to its default") {
  PrivacySettings choices;
  choices.set_inmail_acceptance(false);
  choices.set_notify_by_email(false);
  auto updated = ApplyUpdate(choices, PrivacySettings(), Mask({"inmail_acceptance"}));
  REQUIRE(updated.ok());
  CHECK_FALSE(updated->has_inmail_acceptance());
  CHECK(Resolve(*updated).inmail_acceptance());
  CHECK_FALSE(updated->notify_by_email());
}

TEST_CASE("Bad masks and bad enum values are INVALID_ARGUMENT and change nothing") {
  PrivacySettings values;
  values.set_inmail_acceptance(false);
  CHECK_THAT(ApplyUpdate({}, values, FieldMask()),
             StatusIs(absl::StatusCode::kInvalidArgument, "update_mask is empty"));
  CHECK_THAT(ApplyUpdate({}, values, Mask({"inmail_acceptance", "colour"})),
             StatusIs(absl::StatusCode::kInvalidArgument, "\"colour\" is not a setting"));
  CHECK_THAT(ApplyUpdate({}, values, Mask({"member_id"})),
             StatusIs(absl::StatusCode::kInvalidArgument, "\"member_id\" is not a setting"));
  CHECK_THAT(ApplyUpdate({}, values, Mask({"inmailAcceptance"})),
             StatusIs(absl::StatusCode::kInvalidArgument));
  PrivacySettings bad_enum;
  bad_enum.set_who_can_invite(static_cast<v1::InvitePolicy>(99));
  CHECK_THAT(ApplyUpdate({}, bad_enum, Mask({"who_can_invite"})),
             StatusIs(absl::StatusCode::kInvalidArgument, "INVITE_POLICY_EMAIL_REQUIRED"));
  PrivacySettings unspecified;
  unspecified.set_active_status_visibility(v1::ACTIVE_STATUS_VISIBILITY_UNSPECIFIED);
  CHECK_THAT(ApplyUpdate({}, unspecified, Mask({"active_status_visibility"})),
             StatusIs(absl::StatusCode::kInvalidArgument, "active_status_visibility 0"));
}

}  // namespace
}  // namespace liaison::privacy
