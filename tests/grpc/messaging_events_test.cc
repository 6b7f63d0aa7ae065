// StreamEvents over gRPC: live events, typing, and replay from a cursor.
#include <condition_variable>
#include <mutex>
#include <thread>

#include "tests/grpc/messaging_fixture.h"

namespace liaison::messaging {
namespace {

// Reads a member's stream on its own thread until cancelled.
class Listener {
 public:
  Listener(MessagingFixture& f, MemberId member, const std::string& cursor) {
    context_.AddMetadata("authorization", "Bearer " + f.Token(member));
    v1::StreamEventsRequest request;
    request.set_cursor(cursor);
    context_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    reader_ = f.stub->StreamEvents(&context_, request);
    // The server's headers say the stream is registered: nothing sent from
    // here on can be missed.
    reader_->WaitForInitialMetadata();
    thread_ = std::thread([this] {
      v1::StreamEventsResponse event;
      while (reader_->Read(&event)) {
        std::lock_guard<std::mutex> lock(mu_);
        events_.push_back(event);
        cv_.notify_all();
      }
      std::lock_guard<std::mutex> lock(mu_);
      status_ = reader_->Finish();
      done_ = true;
      cv_.notify_all();
    });
  }
  ~Listener() {
    context_.TryCancel();
    thread_.join();
  }

  // The first `n` events, waiting up to 10 s for them.
  std::vector<v1::StreamEventsResponse> Await(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(10), [&] { return events_.size() >= n || done_; });
    return events_;
  }
  grpc::Status AwaitEnd() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(10), [&] { return done_; });
    return status_;
  }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<v1::StreamEventsResponse>> reader_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<v1::StreamEventsResponse> events_;
  grpc::Status status_;
  bool done_ = false;
};

TEST_CASE("A stream delivers new messages and typing live, and replays what was missed") {
  MessagingFixture f;
  const MemberId a = f.NewMember(), b = f.NewMember();
  f.Connect(a, b);
  std::string cursor;
  std::string conversation;
  {
    Listener listener(f, b, "");
    v1::SendMessageResponse sent;
    REQUIRE_THAT(f.Send(a, b, "first", "e1", &sent), IsOk());
    conversation = sent.conversation().conversation_id();
    v1::SendTypingIndicatorRequest typing;
    typing.set_conversation_id(conversation);
    v1::SendTypingIndicatorResponse typed;
    REQUIRE_THAT(
        f.stub->SendTypingIndicator(TestService::Context(f.Token(a)).get(), typing, &typed),
        IsOk());
    auto events = listener.Await(2);
    REQUIRE(events.size() == 2);
    CHECK(events[0].new_message().message().body() == "first");
    CHECK_FALSE(events[0].cursor().empty());
    CHECK(events[1].typing().member_id() == std::to_string(a));
    CHECK(events[1].cursor().empty());  // typing is live only
    cursor = events[0].cursor();
  }
  // Missed while away: two messages, then a reconnect with the last cursor.
  REQUIRE_THAT(f.Reply(a, conversation, "second", "e2"), IsOk());
  REQUIRE_THAT(f.Reply(a, conversation, "third", "e3"), IsOk());
  Listener again(f, b, cursor);
  auto replayed = again.Await(2);
  REQUIRE(replayed.size() == 2);
  CHECK(replayed[0].new_message().message().body() == "second");
  CHECK(replayed[1].new_message().message().body() == "third");
  CHECK(std::stoull(replayed[0].cursor()) > std::stoull(cursor));
  CHECK(std::stoull(replayed[1].cursor()) > std::stoull(replayed[0].cursor()));
  // And live again after the replay.
  REQUIRE_THAT(f.Reply(a, conversation, "fourth", "e4"), IsOk());
  auto all = again.Await(3);
  REQUIRE(all.size() == 3);
  CHECK(all[2].new_message().message().body() == "fourth");
}

void SetReceipts(MessagingFixture& f, MemberId member, bool on) {
  f.SetSetting(member, "read_receipts_and_typing", on);
}

grpc::Status MarkRead(MessagingFixture& f, MemberId member, const std::string& conversation) {
  v1::MarkConversationReadRequest read;
  read.set_conversation_id(conversation);
  v1::MarkConversationReadResponse marked;
  return f.stub->MarkConversationRead(TestService::Context(f.Token(member)).get(), read, &marked);
}

grpc::Status Typing(MessagingFixture& f, MemberId member, const std::string& conversation) {
  v1::SendTypingIndicatorRequest typing;
  typing.set_conversation_id(conversation);
  v1::SendTypingIndicatorResponse typed;
  return f.stub->SendTypingIndicator(TestService::Context(f.Token(member)).get(), typing, &typed);
}

TEST_CASE("Read receipts and typing are shown only while both sides have them on") {
  MessagingFixture f;
  const MemberId a = f.NewMember(), b = f.NewMember();
  f.Connect(a, b);
  v1::SendMessageResponse sent;
  REQUIRE_THAT(f.Send(a, b, "one", "rr1", &sent), IsOk());
  const std::string c = sent.conversation().conversation_id();
  Listener listener(f, a, "");
  // Both on (the default): a sees b read and type.
  REQUIRE_THAT(MarkRead(f, b, c), IsOk());
  REQUIRE_THAT(Typing(f, b, c), IsOk());
  auto events = listener.Await(2);
  REQUIRE(events.size() == 2);
  CHECK(events[0].read_receipt().reader_id() == std::to_string(b));
  CHECK(events[0].read_receipt().read_sequence() == 1);
  CHECK_FALSE(events[0].cursor().empty());  // receipts are kept for replay
  CHECK(events[1].typing().member_id() == std::to_string(b));
  // The reader turns it off: nothing of b's reading or typing reaches a.
  SetReceipts(f, b, false);
  REQUIRE_THAT(f.Reply(a, c, "two", "rr2"), IsOk());  // event 3 (a's own message)
  REQUIRE_THAT(MarkRead(f, b, c), IsOk());
  REQUIRE_THAT(Typing(f, b, c), IsOk());
  REQUIRE_THAT(f.Reply(b, c, "marker", "rr3"), IsOk());  // event 4
  events = listener.Await(4);
  REQUIRE(events.size() == 4);
  CHECK(events[2].new_message().message().body() == "two");
  CHECK(events[3].new_message().message().body() == "marker");
  // The receiver turns it off (b back on): still nothing, both must have it on.
  SetReceipts(f, b, true);
  SetReceipts(f, a, false);
  REQUIRE_THAT(f.Reply(a, c, "three", "rr4"), IsOk());  // event 5
  REQUIRE_THAT(MarkRead(f, b, c), IsOk());
  REQUIRE_THAT(Typing(f, b, c), IsOk());
  REQUIRE_THAT(f.Reply(b, c, "marker 2", "rr5"), IsOk());  // event 6
  events = listener.Await(6);
  REQUIRE(events.size() == 6);
  CHECK(events[4].new_message().message().body() == "three");
  CHECK(events[5].new_message().message().body() == "marker 2");
  // Not a participant: NOT_FOUND, as for every other call.
  const MemberId eve = f.NewMember();
  CHECK_THAT(MarkRead(f, eve, c), StatusIs(Code::kNotFound));
  CHECK_THAT(Typing(f, eve, c), StatusIs(Code::kNotFound));
}

TEST_CASE("A stream refuses a bad cursor or a missing token") {
  MessagingFixture f;
  const MemberId a = f.NewMember();
  Listener bad_cursor(f, a, "not-a-cursor");
  CHECK_THAT(bad_cursor.AwaitEnd(), StatusIs(Code::kInvalidArgument, "cursor"));
  grpc::ClientContext context;
  auto reader = f.stub->StreamEvents(&context, {});
  v1::StreamEventsResponse event;
  CHECK_FALSE(reader->Read(&event));
  CHECK_THAT(reader->Finish(), StatusIs(Code::kUnauthenticated));
}

TEST_CASE("A cursor past every event replays nothing, and the stream goes on live") {
  MessagingFixture f;
  const MemberId a = f.NewMember(), b = f.NewMember();
  f.Connect(a, b);
  v1::SendMessageResponse sent;
  REQUIRE_THAT(f.Send(a, b, "before", "c1", &sent), IsOk());
  for (const char* cursor : {"18446744073709551615", "18446744073709551614", "1000000"}) {
    INFO(cursor);
    Listener listener(f, b, cursor);
    REQUIRE_THAT(f.Reply(a, sent.conversation().conversation_id(), std::string("after ") + cursor,
                         std::string("c-") + cursor),
                 IsOk());
    auto events = listener.Await(1);
    REQUIRE_FALSE(events.empty());
    CHECK(events[0].new_message().message().body() == std::string("after ") + cursor);
  }
}

TEST_CASE("Group changes reach everyone in the group as events") {
  MessagingFixture f;
  const MemberId a = f.NewMember(), b = f.NewMember(), c = f.NewMember();
  f.Connect(a, b);
  f.Connect(a, c);
  v1::SendMessageRequest open;
  open.add_recipient_ids(std::to_string(b));
  open.add_recipient_ids(std::to_string(c));
  open.set_body("hi both");
  open.set_client_message_id("g1");
  v1::SendMessageResponse created;
  REQUIRE_THAT(f.stub->SendMessage(TestService::Context(f.Token(a)).get(), open, &created), IsOk());
  Listener listener(f, c, "");
  v1::RenameConversationRequest rename;
  rename.set_conversation_id(created.conversation().conversation_id());
  rename.set_name("Team");
  v1::RenameConversationResponse renamed;
  REQUIRE_THAT(f.stub->RenameConversation(TestService::Context(f.Token(b)).get(), rename, &renamed),
               IsOk());
  auto events = listener.Await(1);
  REQUIRE(events.size() == 1);
  CHECK(events[0].conversation_changed().conversation().name() == "Team");
}

}  // namespace
}  // namespace liaison::messaging
