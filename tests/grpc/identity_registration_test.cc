// Identity tells privacy which members exist, so only members change privacy
// settings: at CreateMember, after a privacy outage (the outbox loop), and
// once for members that existed before registrations did (the backfill).
#include <thread>

#include "services/identity/identity_store.h"
#include "tests/grpc/identity_fixture.h"

namespace liaison::identity {
namespace {

using privacy::v1::PrivacyService;

privacy::v1::UpdateSettingsRequest TurnOffInMail() {
  privacy::v1::UpdateSettingsRequest request;
  request.mutable_settings()->set_inmail_acceptance(false);
  request.mutable_update_mask()->add_paths("inmail_acceptance");
  return request;
}

grpc::Status TurnOffInMail(TestService& privacy, const std::string& token) {
  privacy::v1::UpdateSettingsResponse response;
  return PrivacyService::NewStub(privacy.channel())
      ->UpdateSettings(TestService::Context(token).get(), TurnOffInMail(), &response);
}

bool InMailAccepted(TestService& privacy, const std::string& token) {
  privacy::v1::GetSettingsResponse response;
  REQUIRE_THAT(PrivacyService::NewStub(privacy.channel())
                   ->GetSettings(TestService::Context(token).get(), {}, &response),
               IsOk());
  return response.settings().inmail_acceptance();
}

// Polls, within a bound, until the member may change their settings.
grpc::Status UpdateOnceRegistered(TestService& privacy, const std::string& token) {
  const absl::Time give_up = absl::Now() + absl::Seconds(15);
  grpc::Status status = TurnOffInMail(privacy, token);
  while (status.error_code() == grpc::StatusCode::FAILED_PRECONDITION && absl::Now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    status = TurnOffInMail(privacy, token);
  }
  return status;
}

bool Pending(Store* store, MemberId member) {
  return store->Get(store->Family("outbox"), keys::Registration(member)).ok();
}

// A member record written straight into a closed identity store, as
// liaison-seed-graph or a version before registrations would have left it.
void WriteMemberDirectly(const std::string& path, MemberId id, bool forget_backfill) {
  auto store = Store::Open({path, IdentityStore::Families()}).value();
  v1::Member member;
  member.set_member_id(FormatMemberId(id));
  member.set_handle("direct-" + std::to_string(id));
  rocksdb::WriteBatch batch;
  IdentityStore identity(store.get());
  batch.Put(identity.members(), keys::Member(id), member.SerializeAsString());
  if (forget_backfill) batch.Delete(identity.outbox(), keys::RegistrationBackfill());
  REQUIRE_THAT(store->Write(&batch, Durability::kSynced), IsOk());
  REQUIRE_THAT(store->Close(), IsOk());
}

TEST_CASE("A member created through identity changes settings right away") {
  IdentityFixture f;
  const MemberId member = f.NewMember();
  CHECK_THAT(TurnOffInMail(f.privacy, f.Token(member)), IsOk());
  CHECK_FALSE(InMailAccepted(f.privacy, f.Token(member)));
  CHECK_FALSE(Pending(f.identity.store(), member));
}

TEST_CASE("A validly signed token for a member nobody created changes no setting") {
  IdentityFixture f;
  f.NewMember();
  const std::string ghost = f.Token(424242);
  CHECK_THAT(TurnOffInMail(f.privacy, ghost),
             StatusIs(Code::kFailedPrecondition,
                      "member 424242 (the token's subject) does not exist"));
  CHECK(InMailAccepted(f.privacy, ghost));
  // Identity refuses the same token in the same words.
  v1::UpdateMemberRequest update;
  update.mutable_member()->set_headline("Ghost");
  update.mutable_update_mask()->add_paths("headline");
  v1::UpdateMemberResponse updated;
  CHECK_THAT(f.stub->UpdateMember(TestService::Context(ghost).get(), update, &updated),
             StatusIs(Code::kFailedPrecondition,
                      "member 424242 (the token's subject) does not exist"));
}

TEST_CASE("With privacy down, CreateMember succeeds and the loop registers the member later") {
  IdentityFixture f;
  f.privacy.Stop();
  const MemberId member = f.NewMember();
  CHECK(Pending(f.identity.store(), member));
  f.privacy.Start();
  CHECK_THAT(UpdateOnceRegistered(f.privacy, f.Token(member)), IsOk());
  CHECK_FALSE(InMailAccepted(f.privacy, f.Token(member)));
  const absl::Time give_up = absl::Now() + absl::Seconds(5);
  while (Pending(f.identity.store(), member) && absl::Now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK_FALSE(Pending(f.identity.store(), member));
}

TEST_CASE("A registration privacy missed survives a restart of identity and is refused until then") {
  IdentityFixture f;
  f.privacy.Stop();
  const MemberId member = f.NewMember();
  f.identity.Stop();
  f.privacy.Start();
  // Privacy is back, but nobody has told it of the member yet.
  CHECK_THAT(TurnOffInMail(f.privacy, f.Token(member)),
             StatusIs(Code::kFailedPrecondition, "does not exist"));
  CHECK(InMailAccepted(f.privacy, f.Token(member)));
  f.identity.Start();
  CHECK_THAT(UpdateOnceRegistered(f.privacy, f.Token(member)), IsOk());
}

TEST_CASE("Members from before registrations are registered once, in batches, after start") {
  IdentityFixture f;
  const MemberId created = f.NewMember();
  f.identity.Stop();
  const std::string path = f.dir.Sub("identity");
  const std::vector<MemberId> old = {7, 8, 9, 1'000'000, 1'000'001};
  for (MemberId id : old) WriteMemberDirectly(path, id, /*forget_backfill=*/true);
  for (MemberId id : old) {
    CHECK_THAT(TurnOffInMail(f.privacy, f.Token(id)), StatusIs(Code::kFailedPrecondition));
  }
  // Two members a call: the walk takes several steps behind its cursor.
  IdentityConfig config = f.Config();
  config.registration.batch = 2;
  TestService identity(IdentityServiceSpec(config), path, &f.clock);
  for (MemberId id : old) CHECK_THAT(UpdateOnceRegistered(f.privacy, f.Token(id)), IsOk());
  CHECK_THAT(TurnOffInMail(f.privacy, f.Token(created)), IsOk());
  IdentityStore store(identity.store());
  const absl::Time give_up = absl::Now() + absl::Seconds(5);
  while (store.GetCounter(store.outbox(), keys::RegistrationBackfill()).value() != kBackfillDone &&
         absl::Now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(store.GetCounter(store.outbox(), keys::RegistrationBackfill()).value() == kBackfillDone);
  // Once done, the walk does not run again: a member written behind
  // identity's back later stays unregistered.
  identity.Stop();
  WriteMemberDirectly(path, 12, /*forget_backfill=*/false);
  identity.Start();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK_THAT(TurnOffInMail(f.privacy, f.Token(12)), StatusIs(Code::kFailedPrecondition));
}

double Registrations(TestService& identity, const std::string& outcome) {
  for (const auto& family : identity.metrics()->registry().Collect()) {
    if (family.name != "liaison_identity_privacy_registrations_total") continue;
    for (const auto& metric : family.metric) {
      if (metric.label.at(0).value == outcome) return metric.counter.value;
    }
  }
  return -1;
}

TEST_CASE("Registrations are counted as delivered and failed") {
  IdentityFixture f;
  CHECK(Registrations(f.identity, "delivered") == 0);
  CHECK(Registrations(f.identity, "failed") == 0);
  f.NewMember();
  // At least: the loop may deliver a record it finds before CreateMember
  // clears it (privacy is idempotent).
  CHECK(Registrations(f.identity, "delivered") >= 1);
  f.privacy.Stop();
  f.NewMember();
  CHECK(Registrations(f.identity, "failed") >= 1);
  f.privacy.Start();
  const absl::Time give_up = absl::Now() + absl::Seconds(15);
  while (Registrations(f.identity, "delivered") < 2 && absl::Now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(Registrations(f.identity, "delivered") >= 2);
}

}  // namespace
}  // namespace liaison::identity
