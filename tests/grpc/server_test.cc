// The shared runtime through a real server: health, the metrics
// interceptor, and shutdown.
#include <prometheus/text_serializer.h>

#include <catch2/catch.hpp>

#include "grpc/health/v1/health.grpc.pb.h"
#include "liaison/privacy/v1/privacy.grpc.pb.h"
#include "services/privacy/privacy_module.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_service.h"

namespace liaison {
namespace {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;
using testing::IsOk;
using testing::StatusIs;
using testing::TestService;

std::string Scrape(Metrics* metrics) {
  return prometheus::TextSerializer().Serialize(metrics->registry().Collect());
}

TEST_CASE("Health reports SERVING for the server and for each service") {
  testing::TempDir dir;
  TestService service(privacy::PrivacyServiceSpec(), dir.path(), Clock::Real());
  auto health = grpc::health::v1::Health::NewStub(service.channel());
  for (const char* name : {"", "liaison.privacy.v1.PrivacyService"}) {
    HealthCheckRequest request;
    request.set_service(name);
    HealthCheckResponse response;
    REQUIRE_THAT(health->Check(TestService::Context("").get(), request, &response), IsOk());
    CHECK(response.status() == HealthCheckResponse::SERVING);
  }
  HealthCheckRequest unknown;
  unknown.set_service("no.such.Service");
  HealthCheckResponse response;
  CHECK_THAT(health->Check(TestService::Context("").get(), unknown, &response),
             StatusIs(absl::StatusCode::kNotFound));
}

TEST_CASE("Every RPC is counted and timed by method and code") {
  testing::TempDir dir;
  TestService service(privacy::PrivacyServiceSpec(), dir.path(), Clock::Real());
  auto stub = privacy::v1::PrivacyService::NewStub(service.channel());
  privacy::v1::GetSettingsRequest request;
  privacy::v1::GetSettingsResponse response;
  for (int i = 0; i < 3; ++i) {
    REQUIRE_THAT(
        stub->GetSettings(TestService::Context(service.MemberToken(1)).get(), request, &response),
        IsOk());
  }
  CHECK_THAT(stub->GetSettings(TestService::Context("").get(), request, &response),
             StatusIs(absl::StatusCode::kUnauthenticated));
  std::string text = Scrape(service.metrics());
  const std::string labels =
      "grpc_method=\"GetSettings\",grpc_service=\"liaison.privacy.v1.PrivacyService\","
      "grpc_type=\"unary\"";
  INFO(text);
  CHECK(text.find("grpc_server_started_total{" + labels + "} 4") != std::string::npos);
  CHECK(text.find("grpc_server_handled_total{grpc_code=\"OK\"," + labels + "} 3") !=
        std::string::npos);
  CHECK(text.find("grpc_server_handled_total{grpc_code=\"Unauthenticated\"," + labels + "} 1") !=
        std::string::npos);
  CHECK(text.find("grpc_server_handling_seconds_count{" + labels + "} 4") != std::string::npos);
  CHECK(text.find("grpc_server_handling_seconds_bucket{" + labels + ",le=\"1e-05\"}") !=
        std::string::npos);
}

TEST_CASE("After shutdown the server takes no more calls") {
  testing::TempDir dir;
  TestService service(privacy::PrivacyServiceSpec(), dir.path(), Clock::Real());
  auto channel = service.channel();
  auto health = grpc::health::v1::Health::NewStub(channel);
  service.Stop();
  HealthCheckRequest request;
  HealthCheckResponse response;
  CHECK_THAT(health->Check(TestService::Context("").get(), request, &response),
             StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace liaison
