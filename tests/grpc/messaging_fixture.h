// Messaging through real in-process servers: privacy, identity, credits and
// messaging, each on its own RocksDB, sharing a manual clock.
#ifndef LIAISON_TESTS_GRPC_MESSAGING_FIXTURE_H_
#define LIAISON_TESTS_GRPC_MESSAGING_FIXTURE_H_

#include <catch2/catch.hpp>

#include "liaison/credits/v1/credits.grpc.pb.h"
#include "liaison/identity/v1/identity.grpc.pb.h"
#include "liaison/messaging/v1/messaging.grpc.pb.h"
#include "liaison/privacy/v1/privacy.grpc.pb.h"
#include "services/credits/credit_module.h"
#include "services/identity/identity_module.h"
#include "services/messaging/messaging_module.h"
#include "services/privacy/privacy_module.h"
#include "tests/support/metric_sum.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_service.h"

namespace liaison::messaging {

using testing::IsOk;
using testing::StatusIs;
using testing::TestService;
using Code = absl::StatusCode;
using identity::v1::AccountTier;

struct MessagingFixture {
  testing::TempDir dir;
  ManualClock clock{absl::FromUnixSeconds(1'800'000'000)};
  TestService privacy{privacy::PrivacyServiceSpec(), dir.Sub("privacy"), &clock};
  TestService identity{
      identity::IdentityServiceSpec(identity::IdentityConfig::CallingPrivacy(privacy.address())),
      dir.Sub("identity"), &clock};
  TestService credits{credits::CreditServiceSpec({identity.address(), 60, 3600, "5:1000"}),
                      dir.Sub("credits"), &clock};
  TestService messaging{MessagingServiceSpec(Config()), dir.Sub("messaging"), &clock};
  std::unique_ptr<v1::MessagingService::Stub> stub =
      v1::MessagingService::NewStub(messaging.channel());
  std::unique_ptr<identity::v1::IdentityService::Stub> people =
      identity::v1::IdentityService::NewStub(identity.channel());
  const std::string admin = identity.minter().MintService("admin", absl::Hours(24 * 800)).value();
  int created = 0;

  MessagingServiceConfig Config() const {
    MessagingServiceConfig config;
    config.identity_address = identity.address();
    config.privacy_address = privacy.address();
    config.credits_address = credits.address();
    config.outbox_interval_seconds = 0.1;
    return config;
  }

  std::string Token(MemberId m) { return identity.MemberToken(m); }

  // Waits until messaging has applied every change identity and privacy
  // committed so far (it hears of them on their change feeds, within
  // milliseconds), so the next send decides on them.
  // (A test that stopped this messaging runs its own: nothing to wait for.)
  void Settle() {
    using testing::MetricSum;
    if (messaging.metrics() == nullptr || identity.metrics() == nullptr ||
        privacy.metrics() == nullptr) {
      return;
    }
    const double identity_head = MetricSum(identity, "liaison_feed_head_cursor");
    const double privacy_head = MetricSum(privacy, "liaison_feed_head_cursor");
    const absl::Time give_up = absl::Now() + absl::Seconds(10);
    while (absl::Now() < give_up && (MetricSum(messaging, "liaison_feed_consumer_cursor",
                                               {{"feed", "identity"}}) < identity_head ||
                                     MetricSum(messaging, "liaison_feed_consumer_cursor",
                                               {{"feed", "privacy"}}) < privacy_head)) {
      absl::SleepFor(absl::Milliseconds(5));
    }
  }

  MemberId NewMember(AccountTier tier = identity::v1::ACCOUNT_TIER_BASIC) {
    identity::v1::CreateMemberRequest create;
    create.set_handle("member-" + std::to_string(++created));
    create.set_display_name("Member");
    create.set_email(create.handle() + "@example.com");
    identity::v1::CreateMemberResponse member;
    REQUIRE_THAT(people->CreateMember(TestService::Context(admin).get(), create, &member), IsOk());
    const MemberId id = std::stoull(member.member().member_id());
    if (tier != identity::v1::ACCOUNT_TIER_BASIC) {
      identity::v1::SetAccountTierRequest set;
      set.set_member_id(member.member().member_id());
      set.set_tier(tier);
      identity::v1::SetAccountTierResponse done;
      REQUIRE_THAT(people->SetAccountTier(TestService::Context(admin).get(), set, &done), IsOk());
      Settle();
    }
    return id;
  }

  void Connect(MemberId a, MemberId b) {
    identity::v1::SendInvitationRequest invite;
    invite.set_recipient_id(std::to_string(b));
    identity::v1::SendInvitationResponse sent;
    REQUIRE_THAT(people->SendInvitation(TestService::Context(Token(a)).get(), invite, &sent),
                 IsOk());
    identity::v1::RespondToInvitationRequest accept;
    accept.set_sender_id(std::to_string(a));
    accept.set_response(identity::v1::INVITATION_RESPONSE_ACCEPT);
    identity::v1::RespondToInvitationResponse accepted;
    REQUIRE_THAT(
        people->RespondToInvitation(TestService::Context(Token(b)).get(), accept, &accepted),
        IsOk());
    Settle();
  }

  grpc::Status Send(MemberId from, MemberId to, const std::string& body, const std::string& id,
                    v1::SendMessageResponse* out = nullptr) {
    v1::SendMessageRequest request;
    request.set_recipient_id(std::to_string(to));
    request.set_body(body);
    request.set_client_message_id(id);
    v1::SendMessageResponse response;
    auto status = stub->SendMessage(TestService::Context(Token(from)).get(), request, &response);
    if (out != nullptr) *out = response;
    return status;
  }

  grpc::Status Reply(MemberId from, const std::string& conversation, const std::string& body,
                     const std::string& id, v1::SendMessageResponse* out = nullptr) {
    v1::SendMessageRequest request;
    request.set_conversation_id(conversation);
    request.set_body(body);
    request.set_client_message_id(id);
    v1::SendMessageResponse response;
    auto status = stub->SendMessage(TestService::Context(Token(from)).get(), request, &response);
    if (out != nullptr) *out = response;
    return status;
  }

  grpc::Status InMail(MemberId from, MemberId to, const std::string& subject,
                      const std::string& body, const std::string& id,
                      v1::SendInMailResponse* out = nullptr) {
    v1::SendInMailRequest request;
    request.set_recipient_id(std::to_string(to));
    request.set_subject(subject);
    request.set_body(body);
    request.set_client_message_id(id);
    v1::SendInMailResponse response;
    auto status = stub->SendInMail(TestService::Context(Token(from)).get(), request, &response);
    if (out != nullptr) *out = response;
    return status;
  }

  std::vector<v1::Conversation> Folder(MemberId m, v1::Folder folder) {
    v1::ListConversationsRequest request;
    request.set_folder(folder);
    v1::ListConversationsResponse response;
    REQUIRE_THAT(stub->ListConversations(TestService::Context(Token(m)).get(), request, &response),
                 IsOk());
    return {response.conversations().begin(), response.conversations().end()};
  }

  // Turns one of `member`'s boolean privacy settings (by proto field name) on or off.
  void SetSetting(MemberId member, const std::string& field, bool on) {
    auto settings = privacy::v1::PrivacyService::NewStub(privacy.channel());
    privacy::v1::UpdateSettingsRequest update;
    const auto* descriptor = update.settings().GetDescriptor()->FindFieldByName(field);
    REQUIRE(descriptor != nullptr);
    update.mutable_settings()->GetReflection()->SetBool(update.mutable_settings(), descriptor, on);
    update.mutable_update_mask()->add_paths(field);
    privacy::v1::UpdateSettingsResponse updated;
    REQUIRE_THAT(
        settings->UpdateSettings(TestService::Context(Token(member)).get(), update, &updated),
        IsOk());
    Settle();
  }

  credits::v1::Balance Balance(MemberId m) {
    auto stub = credits::v1::CreditService::NewStub(credits.channel());
    credits::v1::GetBalanceRequest request;
    request.set_member_id(std::to_string(m));
    credits::v1::GetBalanceResponse response;
    REQUIRE_THAT(stub->GetBalance(TestService::Context(admin).get(), request, &response), IsOk());
    return response.balance();
  }
};

}  // namespace liaison::messaging

#endif  // LIAISON_TESTS_GRPC_MESSAGING_FIXTURE_H_
