// The plaintext health-only port (common/probe_server.h) through a real
// server on a free port and a real stub.
#include <grpcpp/create_channel.h>

#include <catch2/catch.hpp>
#include <chrono>

#include "common/probe_server.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "liaison/privacy/v1/privacy.grpc.pb.h"

namespace liaison {
namespace {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

const std::string kPrivacy = "liaison.privacy.v1.PrivacyService";

std::unique_ptr<grpc::ClientContext> Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  return context;
}

grpc::Status Check(grpc::health::v1::Health::Stub& health, const std::string& name,
                   HealthCheckResponse* response) {
  HealthCheckRequest request;
  request.set_service(name);
  return health.Check(Context().get(), request, response);
}

TEST_CASE("The probe port answers health checks in plaintext, NOT_SERVING once told") {
  auto probe = ProbeServer::Start("127.0.0.1", 0, {kPrivacy});
  REQUIRE(probe.ok());
  REQUIRE((*probe)->port() > 0);
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string((*probe)->port()),
                                     grpc::InsecureChannelCredentials());
  auto health = grpc::health::v1::Health::NewStub(channel);
  HealthCheckResponse response;
  for (const std::string& name : {std::string(), kPrivacy}) {
    REQUIRE(Check(*health, name, &response).ok());
    CHECK(response.status() == HealthCheckResponse::SERVING);
  }
  CHECK(Check(*health, "no.such.Service", &response).error_code() ==
        grpc::StatusCode::NOT_FOUND);

  (*probe)->SetNotServing();
  for (const std::string& name : {std::string(), kPrivacy}) {
    REQUIRE(Check(*health, name, &response).ok());
    CHECK(response.status() == HealthCheckResponse::NOT_SERVING);
  }
}

TEST_CASE("The probe port serves nothing but the health check") {
  auto probe = ProbeServer::Start("127.0.0.1", 0, {kPrivacy});
  REQUIRE(probe.ok());
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string((*probe)->port()),
                                     grpc::InsecureChannelCredentials());
  privacy::v1::GetSettingsRequest request;
  privacy::v1::GetSettingsResponse response;
  CHECK(privacy::v1::PrivacyService::NewStub(channel)
            ->GetSettings(Context().get(), request, &response)
            .error_code() == grpc::StatusCode::UNIMPLEMENTED);
  // Watch streams are not offered: the kubelet only checks.
  HealthCheckRequest watch_request;
  auto context = Context();
  auto stream = grpc::health::v1::Health::NewStub(channel)->Watch(context.get(), watch_request);
  HealthCheckResponse update;
  CHECK_FALSE(stream->Read(&update));
  CHECK(stream->Finish().error_code() == grpc::StatusCode::UNIMPLEMENTED);
}

TEST_CASE("The probe port refuses a port that is taken") {
  auto first = ProbeServer::Start("127.0.0.1", 0, {});
  REQUIRE(first.ok());
  auto second = ProbeServer::Start("127.0.0.1", (*first)->port(), {});
  CHECK(second.status().code() == absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace liaison
