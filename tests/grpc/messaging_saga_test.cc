// The InMail saga across a crash: the messaging process stored an InMail
// (with its outbox record) after credits held the credit, and died before
// committing it. On restart the outbox loop must commit and deliver it:
// exactly one debit and one delivered InMail.
#include <prometheus/registry.h>

#include <thread>

#include "tests/grpc/messaging_fixture.h"
#include "tests/support/eventually.h"

namespace liaison::messaging {
namespace {

using testing::Eventually;

// What a messaging process did before it died between hold and commit: the
// credit held (by credits), then the InMail stored with its outbox record.
void HoldThenStoreThenCrash(MessagingFixture& f, MemberId sender, MemberId recipient,
                            const v1::SendInMailRequest& request) {
  auto credits = credits::v1::CreditService::NewStub(f.credits.channel());
  credits::v1::ReserveCreditRequest reserve;
  reserve.set_member_id(std::to_string(sender));
  reserve.set_inmail_id(MessagingLogic::InMailId(sender, request.client_message_id()));
  credits::v1::ReserveCreditResponse held;
  REQUIRE_THAT(credits->ReserveCredit(TestService::Context(f.admin).get(), reserve, &held), IsOk());
  f.messaging.Stop();
  auto store = Store::Open({f.dir.Sub("messaging"), MessagingStore::Families()}).value();
  MessagingStore messages(store.get());
  prometheus::Registry registry;
  MessagingLogic logic(&messages, &f.clock, MessagingConfig{}, registry);
  Caller caller;
  caller.member_id = sender;
  v1::SendInMailResponse response;
  REQUIRE_THAT(logic.WriteInMail(caller, request, recipient, &response), IsOk());
  REQUIRE(store->Close().ok());
}

v1::SendInMailRequest AnInMail(MemberId to, const std::string& id) {
  v1::SendInMailRequest request;
  request.set_recipient_id(std::to_string(to));
  request.set_subject("Hello");
  request.set_body("A role for you");
  request.set_client_message_id(id);
  return request;
}

TEST_CASE("An InMail stored but not committed before a crash is committed and delivered once") {
  MessagingFixture f;
  const MemberId recruiter = f.NewMember(identity::v1::ACCOUNT_TIER_RECRUITER_LITE);
  const MemberId stranger = f.NewMember();
  const v1::SendInMailRequest request = AnInMail(stranger, "crash-1");
  HoldThenStoreThenCrash(f, recruiter, stranger, request);
  CHECK(f.Balance(recruiter).held() == 1);

  // Restart: the outbox loop finishes the saga.
  f.messaging.Start();
  f.stub = v1::MessagingService::NewStub(f.messaging.channel());
  CHECK(Eventually([&] { return f.Folder(stranger, v1::FOLDER_INMAIL).size() == 1; }));
  auto balance = f.Balance(recruiter);
  CHECK(balance.available() == 29);
  CHECK(balance.held() == 0);
  // The client's retry of the same send gets the same InMail, and no new debit.
  v1::SendInMailResponse retry;
  REQUIRE_THAT(f.stub->SendInMail(TestService::Context(f.Token(recruiter)).get(), request, &retry),
               IsOk());
  CHECK(f.Balance(recruiter).available() == 29);
  CHECK(f.Folder(stranger, v1::FOLDER_INMAIL).size() == 1);
}

TEST_CASE("An InMail whose hold expired before it could be committed is never delivered") {
  MessagingFixture f;
  const MemberId recruiter = f.NewMember(identity::v1::ACCOUNT_TIER_RECRUITER_LITE);
  const MemberId stranger = f.NewMember();
  HoldThenStoreThenCrash(f, recruiter, stranger, AnInMail(stranger, "late-1"));
  // Messaging stays down past the hold's timeout.
  f.clock.Advance(absl::Seconds(61));
  f.messaging.Start();
  f.stub = v1::MessagingService::NewStub(f.messaging.channel());
  CHECK(Eventually([&] {
    auto sent = f.Folder(recruiter, v1::FOLDER_INMAIL);
    return sent.size() == 1 && sent[0].inmail().status() == v1::IN_MAIL_STATUS_NOT_SENT;
  }));
  CHECK(f.Folder(stranger, v1::FOLDER_INMAIL).empty());
  auto balance = f.Balance(recruiter);
  CHECK(balance.available() == 30);  // no debit
  CHECK(balance.held() == 0);
}

}  // namespace
}  // namespace liaison::messaging
