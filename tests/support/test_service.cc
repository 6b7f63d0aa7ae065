#include "tests/support/test_service.h"

#include <chrono>
#include <stdexcept>

#include "absl/strings/str_cat.h"

namespace liaison::testing {
namespace {

template <typename T>
T ValueOrThrow(absl::StatusOr<T> value) {
  if (!value.ok()) throw std::runtime_error(value.status().ToString());
  return *std::move(value);
}

}  // namespace

TestService::TestService(ServiceSpec spec, std::string data_dir, const Clock* clock,
                         ShardIdentity shard, int port)
    : spec_(std::move(spec)),
      data_dir_(std::move(data_dir)),
      clock_(clock),
      shard_(std::move(shard)),
      verifier_(kTestKey, clock),
      minter_(kTestKey, clock) {
  config_.listen_host = "127.0.0.1";
  config_.data_dir = data_dir_;
  config_.grpc_port = port;
  Start();
}

void TestService::Start() {
  store_ = ValueOrThrow(Store::Open({data_dir_, spec_.column_families}));
  metrics_ = std::make_unique<Metrics>(spec_.name);
  ServiceDeps deps{&config_,  store_.get(), &verifier_, metrics_.get(), clock_,
                   &kTestKey, clock_,       &shard_,    &shard_.map()};
  module_ = ValueOrThrow(spec_.create(deps));
  server_ = ValueOrThrow(Server::Start(config_, module_->services(), metrics_.get(), &shard_));
  // A restart comes back on the same port, so the services calling this one
  // reach it again.
  config_.grpc_port = server_->port();
  channel_ = grpc::CreateChannel(address(), grpc::InsecureChannelCredentials());
}

std::string TestService::address() const { return absl::StrCat("127.0.0.1:", server_->port()); }

void TestService::Stop() {
  if (server_ == nullptr) return;
  module_->Draining();
  server_->Shutdown(absl::Seconds(5));
  module_->Stop();
  server_.reset();
  module_.reset();
  metrics_.reset();
  if (auto status = store_->Close(); !status.ok()) throw std::runtime_error(status.ToString());
  store_.reset();
  channel_.reset();
}

std::unique_ptr<grpc::ClientContext> TestService::Context(const std::string& token) {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return context;
}

std::string TestService::MemberToken(MemberId member) const {
  return ValueOrThrow(minter_.MintMember(member, absl::Hours(1)));
}

std::string TestService::ServiceToken(const std::string& name) const {
  return ValueOrThrow(minter_.MintService(name, absl::Hours(1)));
}

}  // namespace liaison::testing
