// The caller's own view over gRPC: archive, star, mute, filters, unread,
// delete for me, report.
#include <limits>

#include "tests/grpc/messaging_fixture.h"

namespace liaison::messaging {
namespace {

v1::ConversationState Update(MessagingFixture& f, MemberId m, const std::string& c,
                             std::initializer_list<const char*> paths, bool value) {
  v1::UpdateConversationStateRequest request;
  request.set_conversation_id(c);
  request.mutable_state()->set_starred(value);
  request.mutable_state()->set_archived(value);
  request.mutable_state()->set_muted(value);
  for (const char* p : paths) request.mutable_update_mask()->add_paths(p);
  v1::UpdateConversationStateResponse response;
  REQUIRE_THAT(
      f.stub->UpdateConversationState(TestService::Context(f.Token(m)).get(), request, &response),
      IsOk());
  return response.state();
}

std::vector<v1::Conversation> Filtered(MessagingFixture& f, MemberId m, v1::Filter filter) {
  v1::ListConversationsRequest request;
  request.set_folder(v1::FOLDER_FOCUSED);
  request.set_filter(filter);
  request.set_page_size(1);
  std::vector<v1::Conversation> out;
  while (true) {
    v1::ListConversationsResponse response;
    REQUIRE_THAT(
        f.stub->ListConversations(TestService::Context(f.Token(m)).get(), request, &response),
        IsOk());
    out.insert(out.end(), response.conversations().begin(), response.conversations().end());
    if (response.next_page_token().empty()) return out;
    request.set_page_token(response.next_page_token());
  }
}

TEST_CASE("Archive, star, filters and unread marks act on the caller's view only") {
  MessagingFixture f;
  const MemberId me = f.NewMember(), x = f.NewMember(), y = f.NewMember(), z = f.NewMember();
  std::map<MemberId, std::string> chats;
  for (MemberId other : {x, y, z}) {
    f.Connect(me, other);
    v1::SendMessageResponse sent;
    REQUIRE_THAT(f.Send(other, me, "hi", "from-" + std::to_string(other), &sent), IsOk());
    chats[other] = sent.conversation().conversation_id();
    f.clock.Advance(absl::Seconds(1));
  }
  CHECK(Update(f, me, chats[y], {"starred"}, true).starred());
  v1::MarkConversationReadRequest read;
  read.set_conversation_id(chats[z]);
  v1::MarkConversationReadResponse marked;
  REQUIRE_THAT(f.stub->MarkConversationRead(TestService::Context(f.Token(me)).get(), read, &marked),
               IsOk());
  auto starred = Filtered(f, me, v1::FILTER_STARRED);
  REQUIRE(starred.size() == 1);
  CHECK(starred[0].conversation_id() == chats[y]);
  auto unread = Filtered(f, me, v1::FILTER_UNREAD);
  REQUIRE(unread.size() == 2);  // x and y, newest first
  CHECK(unread[0].conversation_id() == chats[y]);
  CHECK(unread[1].conversation_id() == chats[x]);
  CHECK(f.Folder(x, v1::FOLDER_FOCUSED)[0].state().starred() == false);  // mine only

  v1::MarkConversationUnreadRequest unmark;
  unmark.set_conversation_id(chats[z]);
  v1::MarkConversationUnreadResponse unmarked;
  REQUIRE_THAT(
      f.stub->MarkConversationUnread(TestService::Context(f.Token(me)).get(), unmark, &unmarked),
      IsOk());
  CHECK(unmarked.state().unread_count() == 1);

  auto archived = Update(f, me, chats[x], {"archived"}, true);
  CHECK(archived.folder() == v1::FOLDER_ARCHIVED);
  CHECK(f.Folder(me, v1::FOLDER_ARCHIVED).size() == 1);
  CHECK(f.Folder(me, v1::FOLDER_FOCUSED).size() == 2);
  // A new message brings it back.
  REQUIRE_THAT(f.Reply(x, chats[x], "still there?", "again"), IsOk());
  CHECK(f.Folder(me, v1::FOLDER_ARCHIVED).empty());
  CHECK(f.Folder(me, v1::FOLDER_FOCUSED)[0].conversation_id() == chats[x]);

  v1::UpdateConversationStateRequest bad;
  bad.set_conversation_id(chats[x]);
  bad.mutable_update_mask()->add_paths("folder");
  v1::UpdateConversationStateResponse response;
  CHECK_THAT(
      f.stub->UpdateConversationState(TestService::Context(f.Token(me)).get(), bad, &response),
      StatusIs(Code::kInvalidArgument, "\"folder\" cannot be changed"));
}

TEST_CASE("Delete for me hides the history from me only - a new message brings the chat back") {
  MessagingFixture f;
  const MemberId a = f.NewMember(), b = f.NewMember();
  f.Connect(a, b);
  v1::SendMessageResponse sent;
  REQUIRE_THAT(f.Send(a, b, "one", "d1", &sent), IsOk());
  const std::string c = sent.conversation().conversation_id();
  REQUIRE_THAT(f.Reply(b, c, "two", "d2"), IsOk());
  v1::DeleteConversationRequest del;
  del.set_conversation_id(c);
  v1::DeleteConversationResponse deleted;
  REQUIRE_THAT(f.stub->DeleteConversation(TestService::Context(f.Token(a)).get(), del, &deleted),
               IsOk());
  CHECK(f.Folder(a, v1::FOLDER_FOCUSED).empty());
  CHECK(f.Folder(b, v1::FOLDER_FOCUSED).size() == 1);
  REQUIRE_THAT(f.Reply(b, c, "three", "d3"), IsOk());
  CHECK(f.Folder(a, v1::FOLDER_FOCUSED).size() == 1);
  v1::ListMessagesRequest list;
  list.set_conversation_id(c);
  v1::ListMessagesResponse messages;
  REQUIRE_THAT(f.stub->ListMessages(TestService::Context(f.Token(a)).get(), list, &messages),
               IsOk());
  REQUIRE(messages.messages_size() == 1);
  CHECK(messages.messages(0).body() == "three");
  CHECK_FALSE(messages.has_more());
  // Positions far past either end stay within what is left, in both directions.
  list.set_before_sequence(std::numeric_limits<int64_t>::max());
  REQUIRE_THAT(f.stub->ListMessages(TestService::Context(f.Token(a)).get(), list, &messages),
               IsOk());
  REQUIRE(messages.messages_size() == 1);
  CHECK(messages.messages(0).sequence() == 3);
  list.clear_before_sequence();
  list.set_direction(v1::DIRECTION_NEWER);
  REQUIRE_THAT(f.stub->ListMessages(TestService::Context(f.Token(a)).get(), list, &messages),
               IsOk());
  REQUIRE(messages.messages_size() == 1);
  CHECK(messages.messages(0).sequence() == 3);
  list.set_direction(v1::DIRECTION_UNSPECIFIED);
  REQUIRE_THAT(f.stub->ListMessages(TestService::Context(f.Token(b)).get(), list, &messages),
               IsOk());
  CHECK(messages.messages_size() == 3);
}

TEST_CASE("Reporting moves a conversation to SPAM, mutes it, and counts against the sender") {
  MessagingFixture f;
  const MemberId a = f.NewMember(), b = f.NewMember();
  f.Connect(a, b);
  v1::SendMessageResponse sent;
  REQUIRE_THAT(f.Send(a, b, "buy now!!!", "r1", &sent), IsOk());
  v1::ReportConversationRequest report;
  report.set_conversation_id(sent.conversation().conversation_id());
  report.set_reason("spam");
  v1::ReportConversationResponse reported;
  REQUIRE_THAT(
      f.stub->ReportConversation(TestService::Context(f.Token(b)).get(), report, &reported),
      IsOk());
  REQUIRE_THAT(
      f.stub->ReportConversation(TestService::Context(f.Token(b)).get(), report, &reported),
      IsOk());
  auto spam = f.Folder(b, v1::FOLDER_SPAM);
  REQUIRE(spam.size() == 1);
  CHECK(spam[0].state().muted());
  CHECK(f.Folder(b, v1::FOLDER_FOCUSED).empty());
  auto count = MessagingStore(f.messaging.store())
                   .GetId(f.messaging.store()->Family("members"), keys::Reports(a));
  REQUIRE(count.ok());
  CHECK(*count == 1);  // once per member and conversation
  report.set_reason(std::string(501, 'r'));
  CHECK_THAT(f.stub->ReportConversation(TestService::Context(f.Token(b)).get(), report, &reported),
             StatusIs(Code::kInvalidArgument, "limit is 500"));
}

}  // namespace
}  // namespace liaison::messaging
