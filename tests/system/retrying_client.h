// gRPC clients for crash tests: channels that reconnect quickly after a
// restart, and calls retried with the same request while the server is down.
#ifndef LIAISON_TESTS_SYSTEM_RETRYING_CLIENT_H_
#define LIAISON_TESTS_SYSTEM_RETRYING_CLIENT_H_

#include <grpcpp/create_channel.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

namespace liaison::testing {

inline std::shared_ptr<grpc::Channel> RetryingChannel(int port) {
  grpc::ChannelArguments args;
  // Reconnect within a fraction of a second of each restart.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 200);
  return grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port),
                                   grpc::InsecureChannelCredentials(), args);
}

// A stub and the token its calls carry.
template <typename Service>
struct RetryingClient {
  std::unique_ptr<typename Service::Stub> stub;
  std::string token;

  RetryingClient(int port, std::string bearer)
      : stub(Service::NewStub(RetryingChannel(port))), token(std::move(bearer)) {}

  // One attempt, as a client that gives up at the first failure.
  template <typename Call>
  grpc::Status Once(Call call) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + token);
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
    return call(&context);
  }

  // Repeats `call` (same request) while the server is unreachable; returns
  // the first definitive answer, or the last failure after about 15 s.
  template <typename Call>
  grpc::Status Retry(Call call) {
    for (int attempt = 0;; ++attempt) {
      grpc::ClientContext context;
      context.AddMetadata("authorization", "Bearer " + token);
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
      grpc::Status status = call(&context);
      const auto code = status.error_code();
      if ((code != grpc::StatusCode::UNAVAILABLE && code != grpc::StatusCode::DEADLINE_EXCEEDED &&
           code != grpc::StatusCode::CANCELLED) ||
          attempt > 600) {
        return status;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
  }
};

}  // namespace liaison::testing

#endif  // LIAISON_TESTS_SYSTEM_RETRYING_CLIENT_H_
