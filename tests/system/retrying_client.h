// gRPC clients for system tests that restart the binaries: channels that
// reconnect quickly after a restart, calls retried with the same request
// while the server is down, and members created through them.
#ifndef LIAISON_TESTS_SYSTEM_RETRYING_CLIENT_H_
#define LIAISON_TESTS_SYSTEM_RETRYING_CLIENT_H_

#include <grpcpp/create_channel.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "liaison/identity/v1/identity.grpc.pb.h"

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

// Creates member `handle` (email <handle>@example.com) on `tier` through
// `people`, a client with a service token; returns the member id.
inline std::string NewMember(RetryingClient<identity::v1::IdentityService>& people,
                             const std::string& handle, identity::v1::AccountTier tier) {
  identity::v1::CreateMemberRequest create;
  create.set_handle(handle);
  create.set_display_name(handle);
  create.set_email(handle + "@example.com");
  identity::v1::CreateMemberResponse created;
  grpc::Status status =
      people.Retry([&](auto* c) { return people.stub->CreateMember(c, create, &created); });
  INFO(status.error_message());
  REQUIRE(status.ok());
  if (tier != identity::v1::ACCOUNT_TIER_BASIC) {
    identity::v1::SetAccountTierRequest set;
    set.set_member_id(created.member().member_id());
    set.set_tier(tier);
    identity::v1::SetAccountTierResponse done;
    REQUIRE(people.Retry([&](auto* c) { return people.stub->SetAccountTier(c, set, &done); }).ok());
  }
  return created.member().member_id();
}

}  // namespace liaison::testing

#endif  // LIAISON_TESTS_SYSTEM_RETRYING_CLIENT_H_
