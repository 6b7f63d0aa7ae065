// Requests far over --max-message-bytes, sent to the real liaison-privacy
// without a token, over real gRPC: refused with RESOURCE_EXHAUSTED, and the
// memory the process takes for them is bounded while they arrive and handed
// back afterwards (common/memory_limits.h; numbers in README, "Limits").
#include <grpc/slice.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>
#include <string.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <future>
#include <thread>

#include "tests/system/system_support.h"

namespace liaison::testing {
namespace {

// VmRSS or VmHWM of `pid` in MiB, from /proc/<pid>/status.
long MemoryMib(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1)) / 1024;
  }
  FAIL("no " << field << " in /proc/" << pid << "/status");
  return 0;
}

// A request of `bytes` zero bytes: the size check comes before parsing.
grpc::ByteBuffer Filler(size_t bytes) {
  grpc_slice raw = grpc_slice_malloc_large(bytes);
  memset(GRPC_SLICE_START_PTR(raw), 0, bytes);
  grpc::Slice slice(raw, grpc::Slice::STEAL_REF);
  return grpc::ByteBuffer(&slice, 1);
}

// GetSettings with `request` as its bytes and no token, on a connection of
// its own, as a separate client would send it.
grpc::Status GetSettings(int port, const grpc::ByteBuffer& request) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  grpc::GenericStub stub(grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port),
                                                   grpc::InsecureChannelCredentials(), args));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, "/liaison.privacy.v1.PrivacyService/GetSettings", grpc::StubOptions(),
                 &request, &response,
                 [&done](grpc::Status status) { done.set_value(std::move(status)); });
  return done.get_future().get();
}

TEST_CASE(
    "Requests far over the message size limit are refused before auth, and the memory they "
    "took is bounded while they arrive and handed back after") {
  TempDir dir;
  const std::string key = WriteKey(dir);
  RunningService s = StartService(LIAISON_PRIVACY_BIN, dir.Sub("data"), key, dir.Sub("log"));
  const pid_t pid = s.process->pid();
  const grpc::ByteBuffer empty = Filler(0);
  CHECK(GetSettings(s.grpc_port, empty).error_code() == grpc::StatusCode::UNAUTHENTICATED);
  const long start = MemoryMib(pid, "VmRSS");

  // Over the 4 MiB limit, within gRPC's 64 MiB memory quota: the size check
  // refuses it, naming the limit.
  grpc::Status status = GetSettings(s.grpc_port, Filler(20 << 20));
  CHECK(status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  CHECK(Contains(status.error_message(), "larger than max"));

  // 100 MiB from four clients at once, three times: past the quota, gRPC
  // cancels them as they arrive.
  const grpc::ByteBuffer big = Filler(100 << 20);
  for (int round = 0; round < 3; ++round) {
    std::vector<std::future<grpc::Status>> calls;
    for (int i = 0; i < 4; ++i) {
      calls.push_back(
          std::async(std::launch::async, [&] { return GetSettings(s.grpc_port, big); }));
    }
    for (auto& call : calls) {
      grpc::Status refused = call.get();
      INFO(refused.error_message());
      CHECK(refused.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
    }
  }

  // The most it held: the quota and read buffers, measured 60-92 MiB above
  // the start. Without the quota every request was held whole: 270-410 MiB.
  const long peak = MemoryMib(pid, "VmHWM") - start;
  INFO("peak above start: " << peak << " MiB");
  CHECK(peak < 200);

  // What it kept: none once the heap trimmer has run (it checks every second;
  // measured 0-3 MiB). Without it glibc kept 130-380 MiB for good.
  long kept = 0;
  for (int i = 0; i < 300; ++i) {
    kept = MemoryMib(pid, "VmRSS") - start;
    if (kept < 32) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  INFO("kept above start: " << kept << " MiB");
  CHECK(kept < 32);

  // And it still serves.
  CHECK(GetSettings(s.grpc_port, empty).error_code() == grpc::StatusCode::UNAUTHENTICATED);
}

}  // namespace
}  // namespace liaison::testing
