// How many StreamEvents streams may be open: per member (a newer stream ends
// the member's oldest) and per process (new streams are refused).
#include <thread>

#include "tests/grpc/messaging_fixture.h"

namespace liaison::messaging {
namespace {

// One open stream, registered with the server once constructed.
struct OpenStream {
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<v1::StreamEventsResponse>> reader;
  bool finished = false;

  OpenStream(v1::MessagingService::Stub& stub, const std::string& token,
             std::chrono::milliseconds deadline = std::chrono::seconds(20)) {
    context.AddMetadata("authorization", "Bearer " + token);
    context.set_deadline(std::chrono::system_clock::now() + deadline);
    reader = stub.StreamEvents(&context, v1::StreamEventsRequest());
    reader->WaitForInitialMetadata();
  }
  // Reads until the stream ends and returns its status.
  grpc::Status Ended() {
    v1::StreamEventsResponse event;
    while (reader->Read(&event)) {
    }
    finished = true;
    return reader->Finish();
  }
  ~OpenStream() {
    if (finished) return;
    context.TryCancel();
    Ended();
  }
};

TEST_CASE("A member's newest event stream ends their oldest past the per-member limit") {
  MessagingFixture f;
  MessagingServiceConfig config = f.Config();
  config.streams.per_member = 2;
  config.streams.per_process = 2;
  f.messaging.Stop();
  TestService messaging(MessagingServiceSpec(config), f.dir.Sub("messaging-limited"), &f.clock);
  auto stub = v1::MessagingService::NewStub(messaging.channel());
  const MemberId a = f.NewMember(), b = f.NewMember(), c = f.NewMember();
  f.Connect(a, b);

  auto first = std::make_unique<OpenStream>(*stub, f.Token(a));
  auto second = std::make_unique<OpenStream>(*stub, f.Token(a));
  auto third = std::make_unique<OpenStream>(*stub, f.Token(a));
  CHECK_THAT(first->Ended(), StatusIs(Code::kResourceExhausted, "replaced"));
  // The two newest still get events.
  v1::SendMessageRequest send;
  send.set_recipient_id(std::to_string(a));
  send.set_body("Hi");
  send.set_client_message_id("m1");
  v1::SendMessageResponse sent;
  REQUIRE_THAT(stub->SendMessage(TestService::Context(f.Token(b)).get(), send, &sent), IsOk());
  for (OpenStream* open : {second.get(), third.get()}) {
    v1::StreamEventsResponse event;
    REQUIRE(open->reader->Read(&event));
    CHECK(event.new_message().message().body() == "Hi");
  }

  // Two streams are open in all, the process limit: b's new one is refused
  // and nothing else is ended for it.
  OpenStream refused(*stub, f.Token(b));
  CHECK_THAT(refused.Ended(), StatusIs(Code::kResourceExhausted, "retry later"));
  // Once one closes, there is room again.
  third.reset();
  bool opened = false;
  for (int i = 0; i < 100 && !opened; ++i) {
    // An accepted stream stays open until its deadline; a refused one ends at once.
    OpenStream again(*stub, f.Token(c), std::chrono::milliseconds(300));
    grpc::Status status = again.Ended();
    opened = status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
    if (!opened) {
      CHECK_THAT(status, StatusIs(Code::kResourceExhausted));
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  CHECK(opened);
}

}  // namespace
}  // namespace liaison::messaging
