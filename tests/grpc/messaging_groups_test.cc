// Group conversations over gRPC.
#include <algorithm>
#include <limits>

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

TEST_CASE("A new conversation lives in its home's partition: a group's creator's, a pair's lower") {
  MessagingFixture f;
  std::vector<MemberId> ids = {f.NewMember(), f.NewMember(), f.NewMember()};
  std::sort(ids.begin(), ids.end());
  const MemberId low = ids[0], mid = ids[1], high = ids[2];
  f.Connect(high, low);
  f.Connect(high, mid);
  // The highest id creates the group and writes to the lowest: neither
  // conversation is homed by who is lowest or who sent first by accident.
  v1::SendMessageResponse group, pair;
  REQUIRE_THAT(Group(f, high, {low, mid}, "", "p1", &group), IsOk());
  CHECK(ConversationPartition(std::stoull(group.conversation().conversation_id())) ==
        PartitionOf(high));
  REQUIRE_THAT(f.Send(high, low, "hi", "p2", &pair), IsOk());
  CHECK(ConversationPartition(std::stoull(pair.conversation().conversation_id())) ==
        PartitionOf(low));
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

void SetBlock(MessagingFixture& f, MemberId by, MemberId other, bool block) {
  grpc::Status status;
  if (block) {
    identity::v1::BlockMemberRequest request;
    request.set_member_id(std::to_string(other));
    identity::v1::BlockMemberResponse response;
    status = f.people->BlockMember(TestService::Context(f.Token(by)).get(), request, &response);
  } else {
    identity::v1::UnblockMemberRequest request;
    request.set_member_id(std::to_string(other));
    identity::v1::UnblockMemberResponse response;
    status = f.people->UnblockMember(TestService::Context(f.Token(by)).get(), request, &response);
  }
  REQUIRE_THAT(status, IsOk());
  f.Settle();  // messaging hears of it on identity's change feed
}

v1::Conversation View(MessagingFixture& f, MemberId reader, const std::string& c) {
  v1::GetConversationRequest request;
  request.set_conversation_id(c);
  v1::GetConversationResponse response;
  REQUIRE_THAT(
      f.stub->GetConversation(TestService::Context(f.Token(reader)).get(), request, &response),
      IsOk());
  return response.conversation();
}

// The first `n` stored events a member's stream replays after `cursor`: "m"
// and the sequence for a new message, "r" and the reader for a read receipt.
std::vector<std::string> Replayed(MessagingFixture& f, MemberId member, const std::string& cursor,
                                  size_t n) {
  auto context = TestService::Context(f.Token(member));
  v1::StreamEventsRequest request;
  request.set_cursor(cursor);
  auto reader = f.stub->StreamEvents(context.get(), request);
  std::vector<std::string> out;
  v1::StreamEventsResponse event;
  for (size_t i = 0; i < n && reader->Read(&event); ++i) {
    if (event.has_new_message()) {
      out.push_back("m" + std::to_string(event.new_message().message().sequence()));
    } else if (event.has_read_receipt()) {
      out.push_back("r" + event.read_receipt().reader_id());
    } else {
      out.push_back("?");
    }
  }
  context->TryCancel();
  return out;
}

TEST_CASE("A block reaches inside a group: each side's messages are hidden from the other") {
  MessagingFixture f;
  const MemberId ana = f.NewMember(), ben = f.NewMember(), cy = f.NewMember();
  f.Connect(cy, ana);
  f.Connect(cy, ben);
  v1::SendMessageResponse created;
  REQUIRE_THAT(Group(f, cy, {ana, ben}, "Team", "b1", &created), IsOk());  // 1
  const std::string c = created.conversation().conversation_id();
  v1::MarkConversationReadRequest read;
  read.set_conversation_id(c);
  v1::MarkConversationReadResponse marked;
  REQUIRE_THAT(
      f.stub->MarkConversationRead(TestService::Context(f.Token(ben)).get(), read, &marked),
      IsOk());
  SetBlock(f, ben, ana, true);
  // Neither side is told: every send succeeds.
  REQUIRE_THAT(f.Reply(ana, c, "from ana", "b2"), IsOk());   // 2
  REQUIRE_THAT(f.Reply(ana, c, "ana again", "b3"), IsOk());  // 3
  REQUIRE_THAT(f.Reply(ben, c, "from ben", "b4"), IsOk());   // 4
  using V = std::vector<int64_t>;
  CHECK(Sequences(f, ben, c) == V{1, 4});
  CHECK(Sequences(f, ana, c) == V{1, 2, 3});
  CHECK(Sequences(f, cy, c) == V{1, 2, 3, 4});
  // Ben's view: nothing unread, his own message last; Ana's: her own.
  v1::Conversation ben_view = View(f, ben, c);
  CHECK(ben_view.state().unread_count() == 0);
  CHECK(ben_view.last_message().sequence() == 4);
  CHECK(ben_view.participant_ids_size() == 3);  // still members, both
  v1::Conversation ana_view = View(f, ana, c);
  CHECK(ana_view.last_message().sequence() == 3);
  CHECK(ana_view.state().unread_count() == 0);
  REQUIRE_THAT(f.Reply(cy, c, "from cy", "b5"), IsOk());  // 5
  CHECK(Sequences(f, ben, c) == V{1, 4, 5});
  CHECK(View(f, ben, c).state().unread_count() == 1);
  // Newest first with a huge position: the same, less what is hidden.
  v1::ListMessagesRequest older;
  older.set_conversation_id(c);
  older.set_before_sequence(std::numeric_limits<int64_t>::max());
  older.set_page_size(2);
  v1::ListMessagesResponse page;
  REQUIRE_THAT(f.stub->ListMessages(TestService::Context(f.Token(ana)).get(), older, &page),
               IsOk());
  REQUIRE(page.messages_size() == 2);
  CHECK(page.messages(0).sequence() == 5);
  CHECK(page.messages(1).sequence() == 3);
  CHECK(page.has_more());
  // Stored events, replayed: Ben's hold none of Ana's messages, and hers none of his.
  using E = std::vector<std::string>;
  const std::string r_ben = "r" + std::to_string(ben);
  CHECK(Replayed(f, ben, "1", 2) == E{"m4", "m5"});
  CHECK(Replayed(f, ana, "1", 4) == E{r_ben, "m2", "m3", "m5"});  // a receipt from before
  // Unread counts and the unread filter leave them out too.
  v1::ListConversationsRequest unread;
  unread.set_folder(v1::FOLDER_FOCUSED);
  unread.set_filter(v1::FILTER_UNREAD);
  v1::ListConversationsResponse listed;
  REQUIRE_THAT(
      f.stub->MarkConversationRead(TestService::Context(f.Token(ben)).get(), read, &marked),
      IsOk());
  REQUIRE_THAT(f.Reply(ana, c, "unseen by ben", "b6"), IsOk());  // 6
  REQUIRE_THAT(f.stub->ListConversations(TestService::Context(f.Token(ben)).get(), unread, &listed),
               IsOk());
  CHECK(listed.conversations().empty());
  // Ben's read receipt after the block reached Cy, not Ana.
  CHECK(Replayed(f, ana, "1", 5) == E{r_ben, "m2", "m3", "m5", "m6"});
  CHECK(Replayed(f, cy, "1", 7) == E{r_ben, "m2", "m3", "m4", "m5", r_ben, "m6"});
  v1::GetUnreadCountsResponse counts;
  REQUIRE_THAT(f.stub->GetUnreadCounts(TestService::Context(f.Token(ben)).get(), {}, &counts),
               IsOk());
  for (const auto& count : counts.counts()) CHECK(count.messages() == 0);

  // Unblocked: what was sent meanwhile stays hidden; new messages show.
  SetBlock(f, ben, ana, false);
  REQUIRE_THAT(f.Reply(ana, c, "after the unblock", "b7"), IsOk());  // 7
  CHECK(Sequences(f, ben, c) == V{1, 4, 5, 7});
  CHECK(View(f, ben, c).last_message().sequence() == 7);
  CHECK(View(f, ben, c).state().unread_count() == 1);
  CHECK(Sequences(f, ana, c) == V{1, 2, 3, 5, 6, 7});
}

TEST_CASE("A group send fails, storing nothing, while identity cannot say who blocked whom") {
  MessagingFixture f;
  const MemberId ana = f.NewMember(), ben = f.NewMember(), cy = f.NewMember();
  f.Connect(cy, ana);
  f.Connect(cy, ben);
  v1::SendMessageResponse created;
  REQUIRE_THAT(Group(f, cy, {ana, ben}, "Team", "u1", &created), IsOk());
  const std::string c = created.conversation().conversation_id();
  f.identity.Stop();
  // Messaging was never told of ana and ben: no guess.
  CHECK_THAT(f.Reply(ana, c, "anyone?", "u2"), StatusIs(Code::kUnavailable));
  CHECK(Sequences(f, ana, c) == std::vector<int64_t>{1});
  CHECK(Sequences(f, cy, c) == std::vector<int64_t>{1});
  // cy's pairs are in messaging's read model (connected, no block), and no
  // one can block while identity is down: what it last said stands.
  CHECK_THAT(f.Reply(cy, c, "still here", "u3"), IsOk());
  CHECK(Sequences(f, ana, c) == std::vector<int64_t>{1, 2});
}

}  // namespace
}  // namespace liaison::messaging
