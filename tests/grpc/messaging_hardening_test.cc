// Messaging inputs that once failed: long client ids, InMail to connections,
// retried answers, the SendMessage target, zero unread counts.
#include <google/protobuf/util/json_util.h>

#include "tests/grpc/messaging_fixture.h"

namespace liaison::messaging {
namespace {

using Code = absl::StatusCode;

TEST_CASE("Every valid client_message_id works for InMail, up to 128 characters") {
  MessagingFixture f;
  const MemberId recruiter = f.NewMember(identity::v1::ACCOUNT_TIER_RECRUITER_LITE);
  // Ids that differ only past the 105th character are still two sends.
  const std::string base(127, 'x');
  int sent = 0;
  for (const std::string& id : {std::string(105, 'a'), std::string(106, 'b'), base + "1",
                                base + "2", std::string(128, '-')}) {
    INFO(id.size());
    const MemberId stranger = f.NewMember();
    v1::SendInMailResponse first, retry;
    REQUIRE_THAT(f.InMail(recruiter, stranger, "A role", "Interested?", id, &first), IsOk());
    ++sent;
    REQUIRE_THAT(f.InMail(recruiter, stranger, "A role", "Interested?", id, &retry), IsOk());
    CHECK(retry.conversation().conversation_id() == first.conversation().conversation_id());
    CHECK(f.Balance(recruiter).available() == 30 - sent);
    CHECK(f.Balance(recruiter).held() == 0);
  }
  // The long ids map to distinct holds: two sends that share the first 127
  // characters cost two credits, not one.
  CHECK(MessagingLogic::InMailId(recruiter, base + "1") !=
        MessagingLogic::InMailId(recruiter, base + "2"));
  for (const std::string& id : {std::string(1, 'a'), std::string(128, 'z'), base + "1"}) {
    CHECK(MessagingLogic::InMailId(recruiter, id).size() <= 128);
  }
  CHECK_THAT(f.InMail(recruiter, f.NewMember(), "A role", "Hi", std::string(129, 'a')),
             StatusIs(Code::kInvalidArgument, "client_message_id must be 1 to 128"));
}

TEST_CASE("An InMail may go to a connection, and costs a credit as always") {
  MessagingFixture f;
  const MemberId recruiter = f.NewMember(identity::v1::ACCOUNT_TIER_RECRUITER_LITE);
  const MemberId friend_ = f.NewMember(), basic = f.NewMember();
  f.Connect(recruiter, friend_);
  f.Connect(basic, friend_);
  v1::SendInMailResponse sent;
  REQUIRE_THAT(f.InMail(recruiter, friend_, "A role", "For you", "i1", &sent), IsOk());
  CHECK(sent.conversation().kind() == v1::CONVERSATION_KIND_INMAIL);
  CHECK(f.Balance(recruiter).available() == 29);
  CHECK(f.Folder(friend_, v1::FOLDER_INMAIL).size() == 1);
  // The free 1:1 conversation is a different one, and still free.
  v1::SendMessageResponse message;
  REQUIRE_THAT(f.Send(recruiter, friend_, "Hi", "m1", &message), IsOk());
  CHECK(message.message().conversation_id() != sent.conversation().conversation_id());
  CHECK(f.Balance(recruiter).available() == 29);
  // Premium is still needed, and the one-unanswered rule still holds.
  CHECK_THAT(f.InMail(basic, friend_, "Hi", "Hello", "b1"),
             StatusIs(Code::kPermissionDenied, "only premium members can send InMail"));
  CHECK_THAT(f.InMail(recruiter, friend_, "Again", "Hello?", "i2"),
             StatusIs(Code::kFailedPrecondition, "unanswered"));
}

grpc::Status Answer(MessagingFixture& f, MemberId who, const std::string& conversation,
                    v1::InMailAnswer answer, const std::string& id,
                    v1::RespondToInMailResponse* out) {
  v1::RespondToInMailRequest request;
  request.set_conversation_id(conversation);
  request.set_answer(answer);
  request.set_client_message_id(id);
  return f.stub->RespondToInMail(TestService::Context(f.Token(who)).get(), request, out);
}

TEST_CASE("A retried answer without a body returns the first result and refunds once") {
  MessagingFixture f;
  const MemberId recruiter = f.NewMember(identity::v1::ACCOUNT_TIER_RECRUITER_LITE);
  const MemberId a = f.NewMember(), b = f.NewMember();
  v1::SendInMailResponse to_a, to_b;
  REQUIRE_THAT(f.InMail(recruiter, a, "Role", "Hi", "i1", &to_a), IsOk());
  REQUIRE_THAT(f.InMail(recruiter, b, "Role", "Hi", "i2", &to_b), IsOk());
  CHECK(f.Balance(recruiter).available() == 28);
  const std::string ca = to_a.conversation().conversation_id();
  const std::string cb = to_b.conversation().conversation_id();
  v1::RespondToInMailResponse first, retry;
  // With a client id: the retry replays.
  REQUIRE_THAT(Answer(f, a, ca, v1::IN_MAIL_ANSWER_DECLINE, "d1", &first), IsOk());
  REQUIRE_THAT(Answer(f, a, ca, v1::IN_MAIL_ANSWER_DECLINE, "d1", &retry), IsOk());
  CHECK(retry.conversation().inmail().status() == v1::IN_MAIL_STATUS_DECLINED);
  CHECK_FALSE(retry.has_message());
  CHECK_THAT(Answer(f, a, ca, v1::IN_MAIL_ANSWER_ACCEPT, "d1", &retry),
             StatusIs(Code::kInvalidArgument, "already used for a different message"));
  CHECK_THAT(Answer(f, a, ca, v1::IN_MAIL_ANSWER_ACCEPT, "a1", &retry),
             StatusIs(Code::kFailedPrecondition, "already been answered"));
  // Without a client id: the same answer again is a retry, another is refused.
  REQUIRE_THAT(Answer(f, b, cb, v1::IN_MAIL_ANSWER_ACCEPT, "", &first), IsOk());
  REQUIRE_THAT(Answer(f, b, cb, v1::IN_MAIL_ANSWER_ACCEPT, "", &retry), IsOk());
  CHECK(retry.conversation().inmail().status() == v1::IN_MAIL_STATUS_ACCEPTED);
  CHECK_THAT(Answer(f, b, cb, v1::IN_MAIL_ANSWER_DECLINE, "", &retry),
             StatusIs(Code::kFailedPrecondition, "already been answered"));
  // Two refunds in all, one per InMail.
  CHECK(f.Balance(recruiter).available() == 30);
  // A malformed client id is refused even without a body.
  CHECK_THAT(Answer(f, b, cb, v1::IN_MAIL_ANSWER_ACCEPT, "not ok!", &retry),
             StatusIs(Code::kInvalidArgument, "client_message_id"));
}

grpc::Status SendTo(MessagingFixture& f, MemberId from, v1::SendMessageRequest request,
                    const std::string& id, v1::SendMessageResponse* out = nullptr) {
  request.set_body("Hello");
  request.set_client_message_id(id);
  v1::SendMessageResponse ignored;
  return f.stub->SendMessage(TestService::Context(f.Token(from)).get(), request,
                             out != nullptr ? out : &ignored);
}

TEST_CASE("SendMessage takes one target: a reply, a member, a new group or a page") {
  MessagingFixture f;
  const MemberId a = f.NewMember(), b = f.NewMember(), c = f.NewMember();
  f.Connect(a, b);
  f.Connect(a, c);
  v1::SendMessageRequest none;
  CHECK_THAT(SendTo(f, a, none, "t0"),
             StatusIs(Code::kInvalidArgument,
                      "give one target: conversation_id, recipient_id, new_group or page_id"));
  // A group of two: one other member, and it stays a group.
  v1::SendMessageRequest pair;
  pair.mutable_new_group()->add_member_ids(std::to_string(b));
  pair.mutable_new_group()->set_name("Just us");
  v1::SendMessageResponse group;
  REQUIRE_THAT(SendTo(f, a, pair, "t1", &group), IsOk());
  CHECK(group.conversation().kind() == v1::CONVERSATION_KIND_GROUP);
  CHECK(group.conversation().name() == "Just us");
  CHECK(group.conversation().participant_ids_size() == 2);
  // It is not the 1:1 conversation, which recipient_id opens.
  v1::SendMessageRequest direct;
  direct.set_recipient_id(std::to_string(b));
  v1::SendMessageResponse one_to_one;
  REQUIRE_THAT(SendTo(f, a, direct, "t2", &one_to_one), IsOk());
  CHECK(one_to_one.conversation().kind() == v1::CONVERSATION_KIND_DIRECT);
  CHECK(one_to_one.conversation().conversation_id() != group.conversation().conversation_id());
  // The deprecated recipient_ids still works alone, and not beside a target.
  v1::SendMessageRequest legacy;
  legacy.add_recipient_ids(std::to_string(b));
  v1::SendMessageResponse again;
  REQUIRE_THAT(SendTo(f, a, legacy, "t3", &again), IsOk());
  CHECK(again.conversation().conversation_id() == one_to_one.conversation().conversation_id());
  legacy.set_recipient_id(std::to_string(c));
  CHECK_THAT(SendTo(f, a, legacy, "t4"), StatusIs(Code::kInvalidArgument, "recipient_ids"));
  // Bad groups: empty, the caller in it, someone twice, a long name, a stranger.
  v1::SendMessageRequest bad;
  bad.mutable_new_group();
  CHECK_THAT(SendTo(f, a, bad, "t5"),
             StatusIs(Code::kInvalidArgument, "new_group.member_ids is empty"));
  bad.mutable_new_group()->add_member_ids(std::to_string(a));
  CHECK_THAT(SendTo(f, a, bad, "t6"), StatusIs(Code::kInvalidArgument, "in the group already"));
  bad.mutable_new_group()->clear_member_ids();
  bad.mutable_new_group()->add_member_ids(std::to_string(b));
  bad.mutable_new_group()->add_member_ids(std::to_string(b));
  CHECK_THAT(SendTo(f, a, bad, "t7"), StatusIs(Code::kInvalidArgument, "named twice"));
  bad.mutable_new_group()->clear_member_ids();
  bad.mutable_new_group()->add_member_ids("x1");
  CHECK_THAT(SendTo(f, a, bad, "t8"),
             StatusIs(Code::kInvalidArgument, "new_group.member_ids[0] \"x1\" is not a member id"));
  bad.mutable_new_group()->clear_member_ids();
  bad.mutable_new_group()->add_member_ids(std::to_string(c));
  bad.mutable_new_group()->set_name(std::string(101, 'n'));
  CHECK_THAT(SendTo(f, a, bad, "t9"), StatusIs(Code::kInvalidArgument, "new_group.name"));
  bad.mutable_new_group()->set_name("");
  bad.mutable_new_group()->clear_member_ids();
  for (int i = 0; i < 50; ++i) bad.mutable_new_group()->add_member_ids(std::to_string(1000 + i));
  CHECK_THAT(SendTo(f, a, bad, "t10"), StatusIs(Code::kInvalidArgument, "at most 50"));
  v1::SendMessageRequest stranger;
  stranger.mutable_new_group()->add_member_ids(std::to_string(f.NewMember()));
  CHECK_THAT(SendTo(f, a, stranger, "t11"), StatusIs(Code::kFailedPrecondition));
  // Ids name the kind of id they want.
  v1::SendMessageRequest reply;
  reply.set_conversation_id("abc");
  CHECK_THAT(SendTo(f, a, reply, "t12"),
             StatusIs(Code::kInvalidArgument,
                      "conversation_id \"abc\" is not a conversation id; conversation ids are"));
  v1::SendMessageRequest page;
  page.set_page_id("");
  CHECK_THAT(SendTo(f, a, page, "t13"),
             StatusIs(Code::kInvalidArgument, "page_id is empty; give a page id"));
}

TEST_CASE("Unread counts show every folder, zeros included, in JSON too") {
  MessagingFixture f;
  const MemberId a = f.NewMember(), b = f.NewMember();
  f.Connect(a, b);
  REQUIRE_THAT(f.Send(b, a, "Hi", "m1"), IsOk());
  v1::GetUnreadCountsResponse counts;
  REQUIRE_THAT(f.stub->GetUnreadCounts(TestService::Context(f.Token(a)).get(), {}, &counts),
               IsOk());
  std::string json;
  REQUIRE(google::protobuf::util::MessageToJsonString(counts, &json).ok());
  INFO(json);
  for (const char* folder : {"FOLDER_FOCUSED", "FOLDER_OTHER", "FOLDER_INMAIL", "FOLDER_REQUESTS",
                             "FOLDER_ARCHIVED", "FOLDER_SPAM"}) {
    CHECK(json.find(folder) != std::string::npos);
  }
  CHECK(json.find("\"conversations\":\"1\"") != std::string::npos);
  CHECK(json.find("\"conversations\":\"0\"") != std::string::npos);
  CHECK(json.find("\"messages\":\"0\"") != std::string::npos);
}

TEST_CASE("A token for a member nobody created sends nothing, whatever the target") {
  MessagingFixture f;
  const MemberId open = f.NewMember(identity::v1::ACCOUNT_TIER_PREMIUM_CAREER);
  f.SetSetting(open, "open_profile", true);
  const MemberId ghost = 987654321;
  v1::SendMessageRequest direct;
  direct.set_recipient_id(std::to_string(open));
  CHECK_FALSE(SendTo(f, ghost, direct, "g1").ok());
  v1::SendMessageRequest group;
  group.mutable_new_group()->add_member_ids(std::to_string(open));
  CHECK_FALSE(SendTo(f, ghost, group, "g2").ok());
  CHECK_FALSE(f.InMail(ghost, open, "Hi", "Hello", "g3").ok());
  for (v1::Folder folder : {v1::FOLDER_FOCUSED, v1::FOLDER_OTHER, v1::FOLDER_REQUESTS,
                            v1::FOLDER_INMAIL}) {
    CHECK(f.Folder(open, folder).empty());
  }
}

}  // namespace
}  // namespace liaison::messaging
