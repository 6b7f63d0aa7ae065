// Focused inbox over gRPC (focused_inbox.h): what lands in FOCUSED and in
// OTHER, with the setting on and off, and what moves a conversation to
// FOCUSED.
#include <map>
#include <set>

#include "tests/grpc/messaging_fixture.h"

namespace liaison::messaging {
namespace {

std::set<std::string> Ids(const std::vector<v1::Conversation>& conversations) {
  std::set<std::string> ids;
  for (const auto& c : conversations) ids.insert(c.conversation_id());
  return ids;
}

// Unread conversations per folder.
std::map<v1::Folder, int64_t> Unread(MessagingFixture& f, MemberId member) {
  v1::GetUnreadCountsResponse counts;
  REQUIRE_THAT(f.stub->GetUnreadCounts(TestService::Context(f.Token(member)).get(), {}, &counts),
               IsOk());
  std::map<v1::Folder, int64_t> out;
  for (const auto& count : counts.counts()) out[count.folder()] = count.conversations();
  return out;
}

// Reader `b` has a connection `a`, a 2nd-degree member `s` whose message is a
// request, and an InMail from the premium stranger `r`.
struct Inbox {
  MessagingFixture f;
  MemberId a = f.NewMember(), b = f.NewMember(), s = f.NewMember();
  MemberId r = f.NewMember(identity::v1::ACCOUNT_TIER_PREMIUM_CAREER);
  std::string direct, request, inmail;

  Inbox() {
    f.Connect(a, b);
    f.Connect(s, a);
    f.SetSetting(b, "messages_from_second_degree", true);
    v1::SendMessageResponse sent;
    REQUIRE_THAT(f.Send(a, b, "hi", "f1", &sent), IsOk());
    direct = sent.conversation().conversation_id();
    f.clock.Advance(absl::Seconds(1));
    REQUIRE_THAT(f.Send(s, b, "may I ask", "f2", &sent), IsOk());
    request = sent.conversation().conversation_id();
    f.clock.Advance(absl::Seconds(1));
    v1::SendInMailResponse mailed;
    REQUIRE_THAT(f.InMail(r, b, "A role", "Interested?", "f3", &mailed), IsOk());
    inmail = mailed.conversation().conversation_id();
  }
};

TEST_CASE("Focused inbox on: requests and unanswered InMail are in OTHER, connections in FOCUSED") {
  Inbox in;
  auto& f = in.f;
  using S = std::set<std::string>;
  CHECK(Ids(f.Folder(in.b, v1::FOLDER_FOCUSED)) == S{in.direct});
  CHECK(Ids(f.Folder(in.b, v1::FOLDER_OTHER)) == S{in.inmail, in.request});
  // INMAIL and REQUESTS stay views of their kinds.
  CHECK(Ids(f.Folder(in.b, v1::FOLDER_INMAIL)) == S{in.inmail});
  CHECK(Ids(f.Folder(in.b, v1::FOLDER_REQUESTS)) == S{in.request});
  // Who wrote a conversation has it in FOCUSED: the InMail's sender, the requester.
  CHECK(Ids(f.Folder(in.r, v1::FOLDER_FOCUSED)) == S{in.inmail});
  CHECK(f.Folder(in.r, v1::FOLDER_OTHER).empty());
  CHECK(Ids(f.Folder(in.s, v1::FOLDER_FOCUSED)) == S{in.request});
  auto unread = Unread(f, in.b);
  CHECK(unread[v1::FOLDER_FOCUSED] == 1);
  CHECK(unread[v1::FOLDER_OTHER] == 2);
  CHECK(unread[v1::FOLDER_INMAIL] == 1);
  CHECK(unread[v1::FOLDER_REQUESTS] == 1);
  // OTHER pages like any folder, newest first: the InMail came last.
  v1::ListConversationsRequest page;
  page.set_folder(v1::FOLDER_OTHER);
  page.set_page_size(1);
  v1::ListConversationsResponse first, second;
  REQUIRE_THAT(f.stub->ListConversations(TestService::Context(f.Token(in.b)).get(), page, &first),
               IsOk());
  REQUIRE(first.conversations_size() == 1);
  CHECK(first.conversations(0).conversation_id() == in.inmail);
  page.set_page_token(first.next_page_token());
  REQUIRE_THAT(f.stub->ListConversations(TestService::Context(f.Token(in.b)).get(), page, &second),
               IsOk());
  REQUIRE(second.conversations_size() == 1);
  CHECK(second.conversations(0).conversation_id() == in.request);
  CHECK(second.next_page_token().empty());
}

TEST_CASE("Focused inbox off: one inbox in FOCUSED, OTHER empty, and back when on again") {
  Inbox in;
  auto& f = in.f;
  using S = std::set<std::string>;
  f.SetSetting(in.b, "focused_inbox", false);
  CHECK(Ids(f.Folder(in.b, v1::FOLDER_FOCUSED)) == S{in.direct, in.request, in.inmail});
  CHECK(f.Folder(in.b, v1::FOLDER_OTHER).empty());
  CHECK(Ids(f.Folder(in.b, v1::FOLDER_INMAIL)) == S{in.inmail});
  CHECK(Ids(f.Folder(in.b, v1::FOLDER_REQUESTS)) == S{in.request});
  auto unread = Unread(f, in.b);
  CHECK(unread[v1::FOLDER_FOCUSED] == 3);
  CHECK(unread[v1::FOLDER_OTHER] == 0);
  CHECK(unread[v1::FOLDER_INMAIL] == 1);
  CHECK(unread[v1::FOLDER_REQUESTS] == 1);
  // The setting is read at every list: nothing was moved.
  f.SetSetting(in.b, "focused_inbox", true);
  CHECK(Ids(f.Folder(in.b, v1::FOLDER_FOCUSED)) == S{in.direct});
  CHECK(Ids(f.Folder(in.b, v1::FOLDER_OTHER)) == S{in.inmail, in.request});
}

TEST_CASE("A conversation moves to FOCUSED when the member answers it") {
  Inbox in;
  auto& f = in.f;
  using S = std::set<std::string>;
  REQUIRE_THAT(f.Reply(in.b, in.request, "sure", "f4"), IsOk());
  v1::RespondToInMailRequest respond;
  respond.set_conversation_id(in.inmail);
  respond.set_answer(v1::IN_MAIL_ANSWER_DECLINE);
  respond.set_client_message_id("f5");
  v1::RespondToInMailResponse responded;
  REQUIRE_THAT(
      f.stub->RespondToInMail(TestService::Context(f.Token(in.b)).get(), respond, &responded),
      IsOk());
  CHECK(Ids(f.Folder(in.b, v1::FOLDER_FOCUSED)) == S{in.direct, in.request, in.inmail});
  CHECK(f.Folder(in.b, v1::FOLDER_OTHER).empty());
  CHECK(f.Folder(in.b, v1::FOLDER_REQUESTS).empty());
  CHECK(Unread(f, in.b)[v1::FOLDER_OTHER] == 0);
}

TEST_CASE("Connecting moves a request to FOCUSED with the next message either side sends") {
  Inbox in;
  auto& f = in.f;
  using S = std::set<std::string>;
  f.Connect(in.s, in.b);
  // Decided when a message is written, not when the inbox is read.
  CHECK(Ids(f.Folder(in.b, v1::FOLDER_OTHER)) == S{in.inmail, in.request});
  REQUIRE_THAT(f.Reply(in.s, in.request, "thanks for connecting", "f6"), IsOk());
  CHECK(Ids(f.Folder(in.b, v1::FOLDER_FOCUSED)) == S{in.direct, in.request});
  CHECK(Ids(f.Folder(in.b, v1::FOLDER_OTHER)) == S{in.inmail});
  CHECK(f.Folder(in.b, v1::FOLDER_REQUESTS).empty());
  // A new message by recipient_ids between connections does the same.
  Inbox again;
  again.f.Connect(again.s, again.b);
  REQUIRE_THAT(again.f.Send(again.s, again.b, "hello again", "f7"), IsOk());
  CHECK(Ids(again.f.Folder(again.b, v1::FOLDER_FOCUSED)) == S{again.direct, again.request});
}

TEST_CASE("Inbox folders refuse bad input, and without privacy use its last word or fail") {
  Inbox in;
  auto& f = in.f;
  v1::ListConversationsRequest request;
  v1::ListConversationsResponse response;
  for (int folder : {0, 99, -1}) {
    request.set_folder(static_cast<v1::Folder>(folder));
    CHECK_THAT(
        f.stub->ListConversations(TestService::Context(f.Token(in.b)).get(), request, &response),
        StatusIs(Code::kInvalidArgument));
  }
  request.set_folder(v1::FOLDER_OTHER);
  request.set_page_token("bm90LWEtdG9rZW4");
  CHECK_THAT(
      f.stub->ListConversations(TestService::Context(f.Token(in.b)).get(), request, &response),
      StatusIs(Code::kInvalidArgument));
  // A FOCUSED token is not an OTHER one.
  f.SetSetting(in.b, "focused_inbox", false);
  v1::ListConversationsRequest focused;
  focused.set_folder(v1::FOLDER_FOCUSED);
  focused.set_page_size(1);
  REQUIRE_THAT(
      f.stub->ListConversations(TestService::Context(f.Token(in.b)).get(), focused, &response),
      IsOk());
  REQUIRE_FALSE(response.next_page_token().empty());
  request.set_page_token(response.next_page_token());
  CHECK_THAT(
      f.stub->ListConversations(TestService::Context(f.Token(in.b)).get(), request, &response),
      StatusIs(Code::kInvalidArgument));
  request.clear_page_token();
  f.privacy.Stop();
  // b's setting is what privacy last said (messaging's read model): off, so
  // OTHER is empty. s's was never read: no guess.
  v1::ListConversationsResponse listed;
  CHECK_THAT(f.stub->ListConversations(TestService::Context(f.Token(in.b)).get(), request, &listed),
             IsOk());
  CHECK(listed.conversations().empty());
  v1::ListConversationsResponse refused;
  CHECK_THAT(
      f.stub->ListConversations(TestService::Context(f.Token(in.s)).get(), request, &refused),
      StatusIs(Code::kUnavailable));
  CHECK(refused.conversations().empty());
  v1::GetUnreadCountsResponse counts;
  CHECK_THAT(f.stub->GetUnreadCounts(TestService::Context(f.Token(in.s)).get(), {}, &counts),
             StatusIs(Code::kUnavailable));
  // Folders that do not depend on the setting still list.
  request.set_folder(v1::FOLDER_INMAIL);
  REQUIRE_THAT(
      f.stub->ListConversations(TestService::Context(f.Token(in.b)).get(), request, &response),
      IsOk());
  CHECK(response.conversations_size() == 1);
}

}  // namespace
}  // namespace liaison::messaging
