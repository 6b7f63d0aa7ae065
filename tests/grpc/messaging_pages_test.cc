// Company pages (DESIGN.md §4 rule 7) through real in-process services:
// anyone may write to a page; the page, through an admin, writes to its
// followers and to whoever wrote to it first, and to no one else.
#include "tests/grpc/messaging_fixture.h"

namespace liaison::messaging {
namespace {

struct PageFixture : MessagingFixture {
  // Creates a page administered by `admins` (the first is its creator).
  std::string NewPage(const std::vector<MemberId>& admins) {
    identity::v1::CreatePageRequest create;
    create.set_name("Acme " + std::to_string(++created));
    for (size_t i = 1; i < admins.size(); ++i)
      create.add_admin_member_ids(std::to_string(admins[i]));
    identity::v1::CreatePageResponse page;
    REQUIRE_THAT(people->CreatePage(TestService::Context(Token(admins[0])).get(), create, &page),
                 IsOk());
    return page.page().page_id();
  }

  void Follow(MemberId member, const std::string& page) {
    identity::v1::FollowPageRequest follow;
    follow.set_page_id(page);
    identity::v1::FollowPageResponse followed;
    REQUIRE_THAT(people->FollowPage(TestService::Context(Token(member)).get(), follow, &followed),
                 IsOk());
  }

  grpc::Status ToPage(MemberId from, const std::string& page, const std::string& body,
                      const std::string& id, v1::SendMessageResponse* out = nullptr) {
    v1::SendMessageRequest request;
    request.set_page_id(page);
    request.set_body(body);
    request.set_client_message_id(id);
    return Do(from, request, out);
  }

  grpc::Status AsPage(MemberId admin, const std::string& page, MemberId to, const std::string& body,
                      const std::string& id, v1::SendMessageResponse* out = nullptr) {
    v1::SendMessageRequest request;
    request.set_as_page_id(page);
    request.add_recipient_ids(std::to_string(to));
    request.set_body(body);
    request.set_client_message_id(id);
    return Do(admin, request, out);
  }

  grpc::Status Do(MemberId from, const v1::SendMessageRequest& request,
                  v1::SendMessageResponse* out) {
    v1::SendMessageResponse response;
    auto status = stub->SendMessage(TestService::Context(Token(from)).get(), request, &response);
    if (out != nullptr) *out = response;
    return status;
  }

  std::vector<v1::Message> Messages(MemberId viewer, const std::string& conversation) {
    v1::ListMessagesRequest request;
    request.set_conversation_id(conversation);
    request.set_direction(v1::DIRECTION_NEWER);  // oldest first
    v1::ListMessagesResponse response;
    REQUIRE_THAT(stub->ListMessages(TestService::Context(Token(viewer)).get(), request, &response),
                 IsOk());
    return {response.messages().begin(), response.messages().end()};
  }
};

bool Has(const google::protobuf::RepeatedPtrField<std::string>& ids, MemberId m) {
  return std::find(ids.begin(), ids.end(), std::to_string(m)) != ids.end();
}

TEST_CASE("Anyone may write to a page, and its admins answer as the page, never as themselves") {
  PageFixture f;
  const MemberId owner = f.NewMember(), helper = f.NewMember(), stranger = f.NewMember();
  const std::string page = f.NewPage({owner, helper});

  v1::SendMessageResponse first;
  REQUIRE_THAT(f.ToPage(stranger, page, "Do you ship to Norway?", "q1", &first), IsOk());
  const std::string c = first.conversation().conversation_id();
  CHECK(first.conversation().kind() == v1::CONVERSATION_KIND_PAGE);
  CHECK(first.conversation().page_id() == page);
  // The member sees the page, not the people behind it.
  CHECK_FALSE(Has(first.conversation().participant_ids(), owner));
  CHECK_FALSE(Has(first.conversation().participant_ids(), helper));

  // Both admins have it in their inbox, with everyone in it.
  for (MemberId admin : {owner, helper}) {
    auto inbox = f.Folder(admin, v1::FOLDER_FOCUSED);
    REQUIRE(inbox.size() == 1);
    CHECK(inbox[0].conversation_id() == c);
    CHECK(Has(inbox[0].participant_ids(), stranger));
    CHECK(Has(inbox[0].participant_ids(), owner));
    CHECK(Has(inbox[0].participant_ids(), helper));
  }

  // The helper replies in the conversation: it goes out as the page.
  v1::SendMessageResponse reply;
  REQUIRE_THAT(f.Reply(helper, c, "Yes, in 3 days.", "h1", &reply), IsOk());
  CHECK(reply.message().sender_page_id() == page);
  auto seen_by_member = f.Messages(stranger, c);
  REQUIRE(seen_by_member.size() == 2);
  CHECK(seen_by_member[1].sender_page_id() == page);
  CHECK(seen_by_member[1].sender_id().empty());  // which admin wrote stays hidden
  auto seen_by_admin = f.Messages(owner, c);
  REQUIRE(seen_by_admin.size() == 2);
  CHECK(seen_by_admin[1].sender_id() == std::to_string(helper));

  // A second message to the page lands in the same conversation.
  v1::SendMessageResponse again;
  REQUIRE_THAT(f.ToPage(stranger, page, "Great, thanks", "q2", &again), IsOk());
  CHECK(again.conversation().conversation_id() == c);
  // So does the page's next message addressed to the member.
  v1::SendMessageResponse direct;
  REQUIRE_THAT(f.AsPage(owner, page, stranger, "Anything else?", "o1", &direct), IsOk());
  CHECK(direct.conversation().conversation_id() == c);
}

TEST_CASE("A page writes first only to its followers") {
  PageFixture f;
  const MemberId owner = f.NewMember(), follower = f.NewMember(), other = f.NewMember();
  const std::string page = f.NewPage({owner});
  f.Follow(follower, page);

  v1::SendMessageResponse sent;
  REQUIRE_THAT(f.AsPage(owner, page, follower, "Our spring sale starts today", "s1", &sent),
               IsOk());
  CHECK(sent.message().sender_page_id() == page);
  auto theirs = f.Folder(follower, v1::FOLDER_FOCUSED);
  REQUIRE(theirs.size() == 1);
  CHECK(theirs[0].page_id() == page);
  CHECK(theirs[0].last_message().sender_id().empty());

  // Not a follower and never wrote: refused, and nothing is stored.
  CHECK_THAT(f.AsPage(owner, page, other, "Our spring sale starts today", "s2"),
             StatusIs(Code::kPermissionDenied));
  CHECK(f.Folder(other, v1::FOLDER_FOCUSED).empty());
  // Once they write to the page, the page may answer.
  REQUIRE_THAT(f.ToPage(other, page, "Hello", "x1"), IsOk());
  CHECK_THAT(f.AsPage(owner, page, other, "Hi! How can we help?", "s3"), IsOk());
}

TEST_CASE("Only a page's admins write as the page") {
  PageFixture f;
  const MemberId owner = f.NewMember(), follower = f.NewMember(), outsider = f.NewMember();
  const std::string page = f.NewPage({owner});
  f.Follow(follower, page);
  CHECK_THAT(f.AsPage(outsider, page, follower, "I speak for Acme", "p1"),
             StatusIs(Code::kPermissionDenied));
  // Not even inside a conversation the page has with someone.
  v1::SendMessageResponse sent;
  REQUIRE_THAT(f.ToPage(follower, page, "hi", "f1", &sent), IsOk());
  v1::SendMessageRequest forged;
  forged.set_conversation_id(sent.conversation().conversation_id());
  forged.set_as_page_id(page);
  forged.set_body("I speak for Acme");
  forged.set_client_message_id("f2");
  CHECK_THAT(f.Do(follower, forged, nullptr), StatusIs(Code::kPermissionDenied));
  // An outsider is not in the conversation at all.
  CHECK_THAT(f.Reply(outsider, sent.conversation().conversation_id(), "hi", "o1"),
             StatusIs(Code::kNotFound));
  CHECK(f.Messages(follower, sent.conversation().conversation_id()).size() == 1);
}

TEST_CASE("Page sends with bad input are refused before anything is stored") {
  PageFixture f;
  const MemberId owner = f.NewMember(), member = f.NewMember(), other = f.NewMember();
  const std::string page = f.NewPage({owner});
  f.Follow(member, page);

  CHECK_THAT(f.ToPage(member, "not-a-page", "hi", "b1"), StatusIs(Code::kInvalidArgument));
  CHECK_THAT(f.ToPage(member, "987654321", "hi", "b2"), StatusIs(Code::kNotFound));
  CHECK_THAT(f.AsPage(owner, "987654321", member, "hi", "b3"), StatusIs(Code::kNotFound));
  CHECK_THAT(f.ToPage(member, page, "   ", "b4"), StatusIs(Code::kInvalidArgument));
  CHECK_THAT(f.ToPage(member, page, std::string(8001, 'x'), "b5"),
             StatusIs(Code::kInvalidArgument));
  // The page's own admin writes to members as the page, not to the page.
  CHECK_THAT(f.ToPage(owner, page, "hi", "b6"), StatusIs(Code::kInvalidArgument));
  v1::SendMessageRequest both;
  both.set_as_page_id(page);
  both.set_page_id(page);
  both.set_body("hi");
  both.set_client_message_id("b7");
  CHECK_THAT(f.Do(owner, both, nullptr), StatusIs(Code::kInvalidArgument));
  v1::SendMessageRequest two;
  two.set_as_page_id(page);
  two.add_recipient_ids(std::to_string(member));
  two.add_recipient_ids(std::to_string(other));
  two.set_body("hi");
  two.set_client_message_id("b8");
  CHECK_THAT(f.Do(owner, two, nullptr), StatusIs(Code::kInvalidArgument));
  v1::SendMessageRequest bad_page;
  bad_page.set_as_page_id("x");
  bad_page.add_recipient_ids(std::to_string(member));
  bad_page.set_body("hi");
  bad_page.set_client_message_id("b9");
  CHECK_THAT(f.Do(owner, bad_page, nullptr), StatusIs(Code::kInvalidArgument));
  // as_page_id in a 1:1 conversation that is not the page's.
  f.Connect(owner, other);
  v1::SendMessageResponse chat;
  REQUIRE_THAT(f.Send(owner, other, "hello", "c1", &chat), IsOk());
  v1::SendMessageRequest wrong;
  wrong.set_conversation_id(chat.conversation().conversation_id());
  wrong.set_as_page_id(page);
  wrong.set_body("hi");
  wrong.set_client_message_id("b10");
  CHECK_THAT(f.Do(owner, wrong, nullptr), StatusIs(Code::kInvalidArgument));

  for (MemberId m : {owner, member}) CHECK(f.Folder(m, v1::FOLDER_FOCUSED).size() == (m == owner));
}

TEST_CASE("A retried page send returns the first result and stores nothing new") {
  PageFixture f;
  const MemberId owner = f.NewMember(), member = f.NewMember();
  const std::string page = f.NewPage({owner});
  f.Follow(member, page);
  v1::SendMessageResponse first, second;
  REQUIRE_THAT(f.ToPage(member, page, "hello", "r1", &first), IsOk());
  REQUIRE_THAT(f.ToPage(member, page, "hello", "r1", &second), IsOk());
  CHECK(second.message().sequence() == first.message().sequence());
  CHECK(second.conversation().conversation_id() == first.conversation().conversation_id());
  CHECK_THAT(f.ToPage(member, page, "something else", "r1"), StatusIs(Code::kInvalidArgument));
  v1::SendMessageResponse a, b;
  REQUIRE_THAT(f.AsPage(owner, page, member, "welcome", "w1", &a), IsOk());
  REQUIRE_THAT(f.AsPage(owner, page, member, "welcome", "w1", &b), IsOk());
  CHECK(b.message().sequence() == a.message().sequence());
  CHECK(f.Messages(member, first.conversation().conversation_id()).size() == 2);
}

TEST_CASE("Writing as a page tells a non-admin nothing about who administers it") {
  PageFixture f;
  const MemberId admin = f.NewMember(), second_admin = f.NewMember();
  const MemberId outsider = f.NewMember(), follower = f.NewMember();
  const std::string page = f.NewPage({admin, second_admin});
  f.Follow(follower, page);
  grpc::Status to_admin = f.AsPage(outsider, page, second_admin, "Hi", "o1");
  grpc::Status to_follower = f.AsPage(outsider, page, follower, "Hi", "o2");
  grpc::Status to_creator = f.AsPage(outsider, page, admin, "Hi", "o3");
  CHECK_THAT(to_admin, StatusIs(Code::kPermissionDenied));
  for (const grpc::Status& other : {to_follower, to_creator}) {
    CHECK(other.error_code() == to_admin.error_code());
    CHECK(other.error_message() == to_admin.error_message());
  }
  // An admin still learns it, since they know the admins anyway.
  CHECK_THAT(f.AsPage(admin, page, second_admin, "Hi", "a1"),
             StatusIs(Code::kInvalidArgument, "administers page"));
}

TEST_CASE("A token for a member nobody created cannot write to a page") {
  PageFixture f;
  const MemberId admin = f.NewMember();
  const std::string page = f.NewPage({admin});
  const MemberId ghost = 987654321;
  v1::SendMessageResponse sent;
  CHECK_THAT(f.ToPage(ghost, page, "Hello", "g1", &sent),
             StatusIs(Code::kFailedPrecondition, "does not exist"));
  // Nothing reached the page's admins.
  CHECK(f.Folder(admin, v1::FOLDER_FOCUSED).empty());
  CHECK(f.Folder(admin, v1::FOLDER_OTHER).empty());
  // An admin writing as the page to nobody is told there is no such member.
  CHECK_THAT(f.AsPage(admin, page, ghost, "Hi", "a1"), StatusIs(Code::kNotFound, "no member"));
}

}  // namespace
}  // namespace liaison::messaging
