// Group conversations over gRPC.
#include "tests/grpc/messaging_fixture.h"

namespace liaison::messaging {
namespace {

grpc::Status Group(MessagingFixture& f, MemberId creator, const std::vector<MemberId>& members,
                   const std::string& name, const std::string& id,
                   v1::SendMessageResponse* out = nullptr) {
  v1::SendMessageRequest request;
  for (MemberId m : members) request.add_recipient_ids(std::to_string(m));
  request.set_group_name(name);
  request.set_body("Welcome, all");
  request.set_client_message_id(id);
  v1::SendMessageResponse response;
  auto status =
      f.stub->SendMessage(TestService::Context(f.Token(creator)).get(), request, &response);
  if (out != nullptr) *out = response;
  return status;
}

std::vector<int64_t> Sequences(MessagingFixture& f, MemberId reader, const std::string& c) {
  v1::ListMessagesRequest request;
  request.set_conversation_id(c);
  request.set_direction(v1::DIRECTION_NEWER);
  v1::ListMessagesResponse response;
  REQUIRE_THAT(
      f.stub->ListMessages(TestService::Context(f.Token(reader)).get(), request, &response),
      IsOk());
  std::vector<int64_t> out;
  for (const auto& m : response.messages()) out.push_back(m.sequence());
  return out;
}

TEST_CASE("A group of three: everyone sees it, newcomers see the history, leavers nothing after") {
  MessagingFixture f;
  const MemberId ana = f.NewMember(), ben = f.NewMember(), cy = f.NewMember(), dee = f.NewMember();
  f.Connect(ana, ben);
  f.Connect(ana, cy);
  f.Connect(ben, dee);
  v1::SendMessageResponse created;
  REQUIRE_THAT(Group(f, ana, {ben, cy}, "Lunch club", "g1", &created), IsOk());
  const std::string c = created.conversation().conversation_id();
  CHECK(created.conversation().kind() == v1::CONVERSATION_KIND_GROUP);
  CHECK(created.conversation().name() == "Lunch club");
  CHECK(created.conversation().participant_ids_size() == 3);
  for (MemberId m : {ben, cy}) CHECK(f.Folder(m, v1::FOLDER_FOCUSED).size() == 1);
  REQUIRE_THAT(f.Reply(ben, c, "Count me in", "g2"), IsOk());

  // Ben adds Dee, his connection: she sees everything said so far.
  v1::AddParticipantsRequest add;
  add.set_conversation_id(c);
  add.add_member_ids(std::to_string(dee));
  v1::AddParticipantsResponse added;
  REQUIRE_THAT(f.stub->AddParticipants(TestService::Context(f.Token(ben)).get(), add, &added),
               IsOk());
  CHECK(added.conversation().participant_ids_size() == 4);
  CHECK(Sequences(f, dee, c) == std::vector<int64_t>{1, 2});
  CHECK_THAT(f.stub->AddParticipants(TestService::Context(f.Token(ben)).get(), add, &added),
             StatusIs(Code::kAlreadyExists));

  // Cy leaves: he keeps messages 1-2, sees nothing after, and cannot write.
  v1::LeaveConversationRequest leave;
  leave.set_conversation_id(c);
  v1::LeaveConversationResponse left;
  REQUIRE_THAT(f.stub->LeaveConversation(TestService::Context(f.Token(cy)).get(), leave, &left),
               IsOk());
  REQUIRE_THAT(f.Reply(ana, c, "Noon at the usual place", "g3"), IsOk());
  CHECK(Sequences(f, cy, c) == std::vector<int64_t>{1, 2});
  CHECK(Sequences(f, dee, c) == std::vector<int64_t>{1, 2, 3});
  CHECK_THAT(f.Reply(cy, c, "wait", "g4"), StatusIs(Code::kNotFound));

  v1::RenameConversationRequest rename;
  rename.set_conversation_id(c);
  rename.set_name("Friday lunch");
  v1::RenameConversationResponse renamed;
  REQUIRE_THAT(
      f.stub->RenameConversation(TestService::Context(f.Token(dee)).get(), rename, &renamed),
      IsOk());
  CHECK(renamed.conversation().name() == "Friday lunch");
  rename.set_name(std::string(101, 'n'));
  CHECK_THAT(f.stub->RenameConversation(TestService::Context(f.Token(dee)).get(), rename, &renamed),
             StatusIs(Code::kInvalidArgument, "limit is 100"));

  v1::RemoveParticipantRequest remove;
  remove.set_conversation_id(c);
  remove.set_member_id(std::to_string(ben));
  v1::RemoveParticipantResponse removed;
  REQUIRE_THAT(
      f.stub->RemoveParticipant(TestService::Context(f.Token(ana)).get(), remove, &removed),
      IsOk());
  CHECK(removed.conversation().participant_ids_size() == 2);
  CHECK_THAT(f.stub->RemoveParticipant(TestService::Context(f.Token(ana)).get(), remove, &removed),
             StatusIs(Code::kNotFound));
}

TEST_CASE("A group needs its creator connected to every member, and at most 50 people") {
  MessagingFixture f;
  const MemberId ana = f.NewMember(), ben = f.NewMember(), stranger = f.NewMember();
  f.Connect(ana, ben);
  CHECK_THAT(Group(f, ana, {ben, stranger}, "", "x1"),
             StatusIs(Code::kFailedPrecondition, "not connected to member"));
  CHECK(f.Folder(ben, v1::FOLDER_FOCUSED).empty());
  std::vector<MemberId> fifty(50, ben);
  for (size_t i = 0; i < fifty.size(); ++i) fifty[i] = 1000 + i;
  CHECK_THAT(Group(f, ana, fifty, "", "x2"), StatusIs(Code::kInvalidArgument, "at most 50"));
  CHECK_THAT(Group(f, ana, {ben, ben}, "", "x3"), StatusIs(Code::kInvalidArgument, "twice"));
  CHECK_THAT(Group(f, ana, {ben, 424242}, "", "x4"), StatusIs(Code::kNotFound));
  CHECK_THAT(Group(f, ana, {ben, stranger}, std::string(101, 'g'), "x5"),
             StatusIs(Code::kInvalidArgument, "group_name"));
}

}  // namespace
}  // namespace liaison::messaging
