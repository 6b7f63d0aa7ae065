// Requests whose bytes do not parse: INVALID_ARGUMENT naming the method, the
// request type and the problem, before auth, counted by the metrics.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>
#include <prometheus/text_serializer.h>

#include <catch2/catch.hpp>
#include <future>

#include "services/privacy/privacy_module.h"
#include "tests/grpc/messaging_fixture.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_service.h"

namespace liaison {
namespace {

using testing::StatusIs;
using testing::TestService;

grpc::ByteBuffer Bytes(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

// One unary call with raw request bytes; no token unless given.
grpc::Status RawUnary(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                      const std::string& bytes, const std::string& token = "") {
  grpc::GenericStub stub(channel);
  auto context = TestService::Context(token);
  grpc::ByteBuffer request = Bytes(bytes), response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(context.get(), method, grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status status) { done.set_value(std::move(status)); });
  return done.get_future().get();
}

// Field 1 (a string) holding the bytes `value`.
std::string StringField1(const std::string& value) {
  return std::string("\x0a", 1) + static_cast<char>(value.size()) + value;
}

const char kGetSettings[] = "/liaison.privacy.v1.PrivacyService/GetSettings";

TEST_CASE("A string field with invalid UTF-8 is INVALID_ARGUMENT naming the field, before auth") {
  testing::TempDir dir;
  TestService service(privacy::PrivacyServiceSpec(), dir.path(), Clock::Real());
  const std::string bad = StringField1("4\xff\xfe" "2");
  for (const std::string& token : {std::string(), service.MemberToken(42)}) {
    grpc::Status status = RawUnary(service.channel(), kGetSettings, bad, token);
    CHECK_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument,
                                "liaison.privacy.v1.GetSettingsRequest"));
    CHECK_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument,
                                "liaison.privacy.v1.GetSettingsRequest.member_id"));
    CHECK_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument, "invalid UTF-8"));
    CHECK_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument, kGetSettings));
  }
  // The same bytes with valid UTF-8 parse, and then auth applies.
  CHECK_THAT(RawUnary(service.channel(), kGetSettings, StringField1("42")),
             StatusIs(absl::StatusCode::kUnauthenticated));
  // Counted under the code the client saw.
  std::string text = prometheus::TextSerializer().Serialize(service.metrics()->registry().Collect());
  INFO(text);
  CHECK(text.find("grpc_server_handled_total{grpc_code=\"InvalidArgument\","
                  "grpc_method=\"GetSettings\"") != std::string::npos);
  CHECK(text.find("grpc_code=\"Unimplemented\"") == std::string::npos);
}

TEST_CASE("Malformed wire bytes are INVALID_ARGUMENT that says so") {
  testing::TempDir dir;
  TestService service(privacy::PrivacyServiceSpec(), dir.path(), Clock::Real());
  const std::string samples[] = {
      std::string("\xff\xff\xff\xff", 4),      // a varint that never ends
      std::string("\x0a\x7f" "ab", 4),         // a length past the end
      std::string("\x0f", 1),                  // wire type 7 does not exist
      std::string("\x0b\x0a\x00", 3),          // a group start that never ends
  };
  for (const std::string& bytes : samples) {
    grpc::Status status = RawUnary(service.channel(), kGetSettings, bytes, service.MemberToken(42));
    CHECK_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument,
                                "is not a valid liaison.privacy.v1.GetSettingsRequest"));
    CHECK_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument, "wire data"));
  }
}

TEST_CASE("A server-streaming request that does not parse is INVALID_ARGUMENT") {
  messaging::MessagingFixture f;
  grpc::GenericStub stub(f.messaging.channel());
  auto context = TestService::Context(f.Token(f.NewMember()));
  grpc::CompletionQueue queue;
  auto call = stub.PrepareCall(context.get(), "/liaison.messaging.v1.MessagingService/StreamEvents",
                               &queue);
  void* tag;
  bool ok;
  call->StartCall(reinterpret_cast<void*>(1));
  REQUIRE(queue.Next(&tag, &ok));
  call->WriteLast(Bytes(StringField1("\xc3\x28")), grpc::WriteOptions(), reinterpret_cast<void*>(2));
  REQUIRE(queue.Next(&tag, &ok));
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(3));
  REQUIRE(queue.Next(&tag, &ok));
  CHECK_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument,
                              "liaison.messaging.v1.StreamEventsRequest"));
  CHECK_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument, "invalid UTF-8"));
  queue.Shutdown();
  while (queue.Next(&tag, &ok)) {
  }
}

}  // namespace
}  // namespace liaison
