// The real liaison-privacy binary given request bytes that do not parse:
// INVALID_ARGUMENT for the client, and only JSON lines in the log (protobuf's
// own complaint goes through the JSON logger, at debug level).
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>

#include <catch2/catch.hpp>
#include <future>
#include <sstream>

#include "tests/system/system_support.h"

namespace liaison::testing {
namespace {

grpc::Status SendRaw(const RunningService& s, const std::string& method, const std::string& bytes) {
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(s.grpc_port),
                                     grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request(&slice, 1), response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, method, grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status status) { done.set_value(std::move(status)); });
  return done.get_future().get();
}

TEST_CASE("Bytes that do not parse get INVALID_ARGUMENT and leave only JSON in the log") {
  TempDir dir;
  const std::string key = WriteKey(dir);
  RunningService s = StartService(LIAISON_PRIVACY_BIN, dir.Sub("data"), key, dir.Sub("log"),
                                  {"--log-level", "debug"});
  // Field 1 (member_id, a string) holding invalid UTF-8; then bytes that are
  // not protobuf at all.
  const std::string bad_utf8("\x0a\x03" "4\xff" "2", 5);
  grpc::Status status =
      SendRaw(s, "/liaison.privacy.v1.PrivacyService/GetSettings", bad_utf8);
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(Contains(status.error_message(), "liaison.privacy.v1.GetSettingsRequest.member_id"));
  CHECK(Contains(status.error_message(), "invalid UTF-8"));
  status = SendRaw(s, "/liaison.privacy.v1.PrivacyService/GetSettings",
                   std::string("\xff\xff\xff\xff", 4));
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(Contains(status.error_message(), "wire data"));

  s.process->Signal(SIGTERM);
  CHECK(s.process->Wait() == 0);
  const std::string log = s.process->Log();
  INFO(log);
  CHECK_FALSE(Contains(log, "[libprotobuf"));
  CHECK(Contains(log, "\"event\":\"protobuf_parse_error\""));
  std::istringstream lines(log);
  int count = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    ++count;
    CHECK(nlohmann::json::accept(line));
  }
  CHECK(count > 2);
}

}  // namespace
}  // namespace liaison::testing
