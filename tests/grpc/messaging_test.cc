// Messaging over gRPC with the three real services it calls.
#include <thread>

#include "tests/grpc/messaging_fixture.h"

namespace liaison::messaging {
namespace {

TEST_CASE("Two connections chat: one conversation, both inboxes, read state and unread counts") {
  MessagingFixture f;
  const MemberId a = f.NewMember(), b = f.NewMember();
  f.Connect(a, b);
  v1::SendMessageResponse first;
  REQUIRE_THAT(f.Send(a, b, "  Hi Bea!  ", "c1", &first), IsOk());
  CHECK(first.message().body() == "Hi Bea!");
  CHECK(first.message().sequence() == 1);
  CHECK(first.conversation().kind() == v1::CONVERSATION_KIND_DIRECT);
  const std::string c = first.conversation().conversation_id();
  f.clock.Advance(absl::Seconds(5));
  // The pair has one 1:1 conversation, whoever writes.
  v1::SendMessageResponse second;
  REQUIRE_THAT(f.Send(b, a, "Hello!", "c2", &second), IsOk());
  CHECK(second.conversation().conversation_id() == c);
  REQUIRE_THAT(f.Reply(a, c, "How are you?", "c3"), IsOk());

  auto inbox = f.Folder(b, v1::FOLDER_FOCUSED);
  REQUIRE(inbox.size() == 1);
  CHECK(inbox[0].last_message().body() == "How are you?");
  CHECK(inbox[0].state().unread_count() == 1);  // b wrote message 2, so read up to it
  CHECK_FALSE(inbox[0].has_inmail());           // InMail details only on InMail conversations
  v1::GetUnreadCountsResponse counts;
  REQUIRE_THAT(f.stub->GetUnreadCounts(TestService::Context(f.Token(b)).get(), {}, &counts),
               IsOk());
  CHECK(counts.counts(0).folder() == v1::FOLDER_FOCUSED);
  CHECK(counts.counts(0).conversations() == 1);
  CHECK(counts.counts(0).messages() == 1);

  v1::MarkConversationReadRequest read;
  read.set_conversation_id(c);
  v1::MarkConversationReadResponse marked;
  REQUIRE_THAT(f.stub->MarkConversationRead(TestService::Context(f.Token(b)).get(), read, &marked),
               IsOk());
  CHECK(marked.state().unread_count() == 0);
  CHECK(marked.state().read_sequence() == 3);
  read.set_sequence(9);
  CHECK_THAT(f.stub->MarkConversationRead(TestService::Context(f.Token(b)).get(), read, &marked),
             StatusIs(Code::kInvalidArgument, "past the last message"));

  v1::ListMessagesRequest older;
  older.set_conversation_id(c);
  older.set_page_size(2);
  v1::ListMessagesResponse page;
  REQUIRE_THAT(f.stub->ListMessages(TestService::Context(f.Token(a)).get(), older, &page), IsOk());
  REQUIRE(page.messages_size() == 2);
  CHECK(page.messages(0).sequence() == 3);
  CHECK(page.messages(1).sequence() == 2);
  CHECK(page.has_more());
  v1::ListMessagesRequest newer;
  newer.set_conversation_id(c);
  newer.set_direction(v1::DIRECTION_NEWER);
  newer.set_after_sequence(1);
  REQUIRE_THAT(f.stub->ListMessages(TestService::Context(f.Token(a)).get(), newer, &page), IsOk());
  REQUIRE(page.messages_size() == 2);
  CHECK(page.messages(0).sequence() == 2);
  CHECK_FALSE(page.has_more());
}

TEST_CASE(
    "A retried send with the same client id stores nothing new - a different body is refused") {
  MessagingFixture f;
  const MemberId a = f.NewMember(), b = f.NewMember();
  f.Connect(a, b);
  v1::SendMessageResponse first, retry;
  REQUIRE_THAT(f.Send(a, b, "once", "same-id", &first), IsOk());
  REQUIRE_THAT(f.Send(a, b, "once", "same-id", &retry), IsOk());
  CHECK(retry.message().sequence() == first.message().sequence());
  CHECK(retry.conversation().conversation_id() == first.conversation().conversation_id());
  CHECK(f.Folder(b, v1::FOLDER_FOCUSED)[0].last_message().sequence() == 1);
  CHECK_THAT(f.Send(a, b, "twice?", "same-id"),
             StatusIs(Code::kInvalidArgument, "already used for a different message"));
}

TEST_CASE("Bad messages are refused with the right code and store nothing") {
  MessagingFixture f;
  const MemberId a = f.NewMember(), b = f.NewMember();
  f.Connect(a, b);
  CHECK_THAT(f.Send(a, b, std::string(8001, 'x'), "m1"),
             StatusIs(Code::kInvalidArgument, "body is 8001 characters; the limit is 8000"));
  CHECK_THAT(f.Send(a, b, " \n ", "m2"), StatusIs(Code::kInvalidArgument, "body is empty"));
  CHECK_THAT(f.Send(a, b, "hi", "bad id!"), StatusIs(Code::kInvalidArgument, "client_message_id"));
  CHECK_THAT(f.Send(a, a, "hi", "m3"), StatusIs(Code::kInvalidArgument, "yourself"));
  CHECK_THAT(f.Send(a, 777777, "hi", "m4"), StatusIs(Code::kNotFound));
  CHECK(f.Folder(a, v1::FOLDER_FOCUSED).empty());
  CHECK(f.Folder(b, v1::FOLDER_FOCUSED).empty());
  CHECK_THAT(f.Send(a, b, std::string(8000, 'x'), "m5"), IsOk());
  v1::SendMessageRequest request;
  request.add_recipient_ids(std::to_string(b));
  request.set_body("hi");
  request.set_client_message_id("m6");
  v1::SendMessageResponse response;
  CHECK_THAT(f.stub->SendMessage(TestService::Context("").get(), request, &response),
             StatusIs(Code::kUnauthenticated));
  CHECK_THAT(f.stub->SendMessage(TestService::Context(f.admin).get(), request, &response),
             StatusIs(Code::kPermissionDenied, "member token"));
}

TEST_CASE("Strangers need InMail - Open Profile lets a message request through") {
  MessagingFixture f;
  const MemberId basic = f.NewMember(), stranger = f.NewMember();
  const MemberId open = f.NewMember(identity::v1::ACCOUNT_TIER_PREMIUM_CAREER);
  CHECK_THAT(f.Send(basic, stranger, "hi", "s1"), StatusIs(Code::kPermissionDenied, "InMail"));
  f.SetSetting(open, "open_profile", true);
  v1::SendMessageResponse sent;
  REQUIRE_THAT(f.Send(basic, open, "Loved your talk", "s2", &sent), IsOk());
  CHECK(f.Folder(open, v1::FOLDER_REQUESTS).size() == 1);
  CHECK(f.Folder(open, v1::FOLDER_FOCUSED).empty());
  // Replying accepts the request.
  REQUIRE_THAT(f.Reply(open, sent.conversation().conversation_id(), "Thanks!", "s3"), IsOk());
  CHECK(f.Folder(open, v1::FOLDER_REQUESTS).empty());
  CHECK(f.Folder(open, v1::FOLDER_FOCUSED).size() == 1);
}

TEST_CASE("Only participants see a conversation") {
  MessagingFixture f;
  const MemberId a = f.NewMember(), b = f.NewMember(), eve = f.NewMember();
  f.Connect(a, b);
  v1::SendMessageResponse sent;
  REQUIRE_THAT(f.Send(a, b, "private", "p1", &sent), IsOk());
  const std::string c = sent.conversation().conversation_id();
  v1::GetConversationRequest get;
  get.set_conversation_id(c);
  v1::GetConversationResponse got;
  CHECK_THAT(f.stub->GetConversation(TestService::Context(f.Token(eve)).get(), get, &got),
             StatusIs(Code::kNotFound));
  v1::ListMessagesRequest list;
  list.set_conversation_id(c);
  v1::ListMessagesResponse messages;
  CHECK_THAT(f.stub->ListMessages(TestService::Context(f.Token(eve)).get(), list, &messages),
             StatusIs(Code::kNotFound));
  CHECK_THAT(f.Reply(eve, c, "let me in", "p2"), StatusIs(Code::kNotFound));
  REQUIRE_THAT(f.stub->GetConversation(TestService::Context(f.Token(b)).get(), get, &got), IsOk());
  CHECK(got.conversation().participant_ids_size() == 2);
}

TEST_CASE("A block closes an existing conversation") {
  MessagingFixture f;
  const MemberId a = f.NewMember(), b = f.NewMember();
  f.Connect(a, b);
  v1::SendMessageResponse sent;
  REQUIRE_THAT(f.Send(a, b, "hi", "b1", &sent), IsOk());
  identity::v1::BlockMemberRequest block;
  block.set_member_id(std::to_string(a));
  identity::v1::BlockMemberResponse blocked;
  REQUIRE_THAT(f.people->BlockMember(TestService::Context(f.Token(b)).get(), block, &blocked),
               IsOk());
  f.Settle();  // messaging hears of it on identity's change feed
  CHECK_THAT(f.Reply(a, sent.conversation().conversation_id(), "hello?", "b2"),
             StatusIs(Code::kPermissionDenied));
  CHECK_THAT(f.Send(a, b, "hello?", "b3"), StatusIs(Code::kPermissionDenied));
  // Hidden from the blocker; the blocked side is not told and still has it.
  CHECK(f.Folder(b, v1::FOLDER_FOCUSED).empty());
  auto get = [&](MemberId m) {
    v1::GetConversationRequest request;
    request.set_conversation_id(sent.conversation().conversation_id());
    v1::GetConversationResponse response;
    return f.stub->GetConversation(TestService::Context(f.Token(m)).get(), request, &response);
  };
  CHECK_THAT(get(b), StatusIs(Code::kNotFound));
  CHECK_THAT(get(a), IsOk());
  // Nor is it counted as unread for the blocker, who had not read "hi".
  auto unread = [&](MemberId m) {
    v1::GetUnreadCountsResponse counts;
    REQUIRE_THAT(f.stub->GetUnreadCounts(TestService::Context(f.Token(m)).get(), {}, &counts),
                 IsOk());
    return counts.counts(0).conversations();  // FOCUSED
  };
  CHECK(unread(b) == 0);
  auto theirs = f.Folder(a, v1::FOLDER_FOCUSED);
  REQUIRE(theirs.size() == 1);
  CHECK(theirs[0].conversation_id() == sent.conversation().conversation_id());
  // Unblocked: it is back for the blocker.
  identity::v1::UnblockMemberRequest unblock;
  unblock.set_member_id(std::to_string(a));
  identity::v1::UnblockMemberResponse unblocked;
  REQUIRE_THAT(f.people->UnblockMember(TestService::Context(f.Token(b)).get(), unblock, &unblocked),
               IsOk());
  f.Settle();
  CHECK(f.Folder(b, v1::FOLDER_FOCUSED).size() == 1);
  CHECK_THAT(get(b), IsOk());
  CHECK(unread(b) == 1);
}

TEST_CASE("An inbox page with more than 50 conversations hides every blocked member's") {
  MessagingFixture f;
  const MemberId me = f.NewMember();
  std::vector<MemberId> others;
  for (int i = 0; i < 60; ++i) {
    others.push_back(f.NewMember());
    f.Connect(me, others.back());
    REQUIRE_THAT(f.Send(others.back(), me, "hello", "m" + std::to_string(i)), IsOk());
  }
  // The oldest (beyond the first chunk of 50 in newest-first order) and the newest.
  for (MemberId blocked : {others.front(), others.back()}) {
    identity::v1::BlockMemberRequest block;
    block.set_member_id(std::to_string(blocked));
    identity::v1::BlockMemberResponse done;
    REQUIRE_THAT(f.people->BlockMember(TestService::Context(f.Token(me)).get(), block, &done),
                 IsOk());
  }
  v1::ListConversationsRequest request;
  request.set_folder(v1::FOLDER_FOCUSED);
  request.set_page_size(100);
  v1::ListConversationsResponse response;
  REQUIRE_THAT(
      f.stub->ListConversations(TestService::Context(f.Token(me)).get(), request, &response),
      IsOk());
  CHECK(response.conversations_size() == 58);
  for (const auto& c : response.conversations()) {
    for (const auto& p : c.participant_ids()) {
      CHECK(p != std::to_string(others.front()));
      CHECK(p != std::to_string(others.back()));
    }
  }
}

TEST_CASE("An InMail costs one credit - the recipient's answer brings it back, once") {
  MessagingFixture f;
  const MemberId recruiter = f.NewMember(identity::v1::ACCOUNT_TIER_RECRUITER_LITE);
  const MemberId stranger = f.NewMember();
  CHECK(f.Balance(recruiter).available() == 30);
  v1::SendInMailResponse sent;
  REQUIRE_THAT(f.InMail(recruiter, stranger, "A role for you", "Interested?", "i1", &sent), IsOk());
  CHECK(sent.conversation().kind() == v1::CONVERSATION_KIND_INMAIL);
  CHECK(sent.conversation().inmail().status() == v1::IN_MAIL_STATUS_PENDING);
  auto balance = f.Balance(recruiter);
  CHECK(balance.available() == 29);
  CHECK(balance.held() == 0);  // committed
  auto inmails = f.Folder(stranger, v1::FOLDER_INMAIL);
  REQUIRE(inmails.size() == 1);
  CHECK(inmails[0].inmail().subject() == "A role for you");
  // A retry changes nothing; a second InMail waits for an answer.
  REQUIRE_THAT(f.InMail(recruiter, stranger, "A role for you", "Interested?", "i1"), IsOk());
  CHECK(f.Balance(recruiter).available() == 29);
  CHECK_THAT(f.InMail(recruiter, stranger, "Again", "Hello?", "i2"),
             StatusIs(Code::kFailedPrecondition, "unanswered"));
  // The sender cannot write more before the answer.
  const std::string c = sent.conversation().conversation_id();
  CHECK_THAT(f.Reply(recruiter, c, "ping", "r0"), StatusIs(Code::kFailedPrecondition));

  v1::RespondToInMailRequest accept;
  accept.set_conversation_id(c);
  accept.set_answer(v1::IN_MAIL_ANSWER_ACCEPT);
  accept.set_body("Yes, tell me more");
  accept.set_client_message_id("r1");
  v1::RespondToInMailResponse answered;
  REQUIRE_THAT(
      f.stub->RespondToInMail(TestService::Context(f.Token(stranger)).get(), accept, &answered),
      IsOk());
  CHECK(answered.conversation().inmail().status() == v1::IN_MAIL_STATUS_ACCEPTED);
  CHECK(answered.message().body() == "Yes, tell me more");
  CHECK(f.Balance(recruiter).available() == 30);  // refunded
  CHECK(f.Folder(stranger, v1::FOLDER_INMAIL).empty());
  CHECK(f.Folder(stranger, v1::FOLDER_FOCUSED).size() == 1);
  // A retry of the answer returns the first result; a different answer is refused.
  v1::RespondToInMailResponse again;
  REQUIRE_THAT(
      f.stub->RespondToInMail(TestService::Context(f.Token(stranger)).get(), accept, &again),
      IsOk());
  CHECK(again.message().sequence() == answered.message().sequence());
  CHECK(again.message().body() == "Yes, tell me more");
  CHECK(again.conversation().inmail().status() == v1::IN_MAIL_STATUS_ACCEPTED);
  CHECK(f.Balance(recruiter).available() == 30);  // refunded once
  v1::RespondToInMailRequest decline = accept;
  decline.set_answer(v1::IN_MAIL_ANSWER_DECLINE);
  decline.clear_body();
  decline.set_client_message_id("r1b");
  CHECK_THAT(
      f.stub->RespondToInMail(TestService::Context(f.Token(stranger)).get(), decline, &again),
      StatusIs(Code::kFailedPrecondition, "already been answered"));
  accept.set_body("Something else");
  CHECK_THAT(f.stub->RespondToInMail(TestService::Context(f.Token(stranger)).get(), accept, &again),
             StatusIs(Code::kInvalidArgument, "already used for a different message"));
  // Now free for both sides, and a new InMail is allowed.
  CHECK_THAT(f.Reply(recruiter, c, "Great", "r2"), IsOk());
  CHECK_THAT(f.InMail(recruiter, stranger, "Another role", "Also this", "i3"), IsOk());
  CHECK(f.Balance(recruiter).available() == 29);
}

TEST_CASE("A reply answers an InMail too, and refunds it") {
  MessagingFixture f;
  const MemberId recruiter = f.NewMember(identity::v1::ACCOUNT_TIER_SALES_NAVIGATOR);
  const MemberId stranger = f.NewMember();
  v1::SendInMailResponse sent;
  REQUIRE_THAT(f.InMail(recruiter, stranger, "Hi", "Hello", "i1", &sent), IsOk());
  CHECK(f.Balance(recruiter).available() == 49);
  REQUIRE_THAT(f.Reply(stranger, sent.conversation().conversation_id(), "Hi back", "r1"), IsOk());
  CHECK(f.Balance(recruiter).available() == 50);
}

TEST_CASE("InMail rules: premium senders, limits, and no credit taken on refusal") {
  MessagingFixture f;
  const MemberId basic = f.NewMember(),
                 recruiter = f.NewMember(identity::v1::ACCOUNT_TIER_RECRUITER_LITE);
  const MemberId stranger = f.NewMember(), friend_ = f.NewMember();
  f.Connect(recruiter, friend_);
  CHECK_THAT(f.InMail(basic, stranger, "Hi", "Hello", "x1"),
             StatusIs(Code::kPermissionDenied, "premium"));
  CHECK_THAT(
      f.InMail(recruiter, stranger, std::string(201, 's'), "Hello", "x2"),
      StatusIs(Code::kInvalidArgument, "InMail subject is 201 characters; the limit is 200"));
  CHECK_THAT(f.InMail(recruiter, stranger, "Hi", std::string(2001, 'b'), "x3"),
             StatusIs(Code::kInvalidArgument, "InMail body is 2001 characters; the limit is 2000"));
  f.SetSetting(stranger, "inmail_acceptance", false);
  CHECK_THAT(f.InMail(recruiter, stranger, "Hi", "Hello", "x5"),
             StatusIs(Code::kFailedPrecondition, "does not accept InMail"));
  CHECK(f.Balance(recruiter).available() == 30);
  CHECK(f.Balance(recruiter).held() == 0);
  CHECK(f.Folder(stranger, v1::FOLDER_INMAIL).empty());
}

TEST_CASE("With credits down, an InMail is UNAVAILABLE: nothing sent, no credit taken") {
  MessagingFixture f;
  const MemberId recruiter = f.NewMember(identity::v1::ACCOUNT_TIER_RECRUITER_LITE);
  const MemberId stranger = f.NewMember();
  f.credits.Stop();
  CHECK_THAT(f.InMail(recruiter, stranger, "Hi", "Hello", "d1"),
             StatusIs(Code::kUnavailable, "credits service is unavailable"));
  f.credits.Start();
  CHECK(f.Balance(recruiter).available() == 30);
  CHECK(f.Folder(stranger, v1::FOLDER_INMAIL).empty());
  CHECK(f.Folder(recruiter, v1::FOLDER_INMAIL).empty());
}

TEST_CASE("A basic member with no credits cannot buy their way into InMail") {
  MessagingFixture f;
  const MemberId career = f.NewMember(identity::v1::ACCOUNT_TIER_PREMIUM_CAREER);
  std::vector<MemberId> strangers;
  for (int i = 0; i < 6; ++i) strangers.push_back(f.NewMember());
  for (int i = 0; i < 5; ++i) {
    REQUIRE_THAT(f.InMail(career, strangers[i], "Hi", "Hello", "n" + std::to_string(i)), IsOk());
  }
  CHECK_THAT(f.InMail(career, strangers[5], "Hi", "Hello", "n5"),
             StatusIs(Code::kFailedPrecondition, "no InMail credits left"));
  CHECK(f.Folder(strangers[5], v1::FOLDER_INMAIL).empty());
}

}  // namespace
}  // namespace liaison::messaging
