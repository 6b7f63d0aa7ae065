// A service running in this process the way RunService runs it: a real
// RocksDB store in a directory, the service's module, metrics, and a real
// gRPC server on a free loopback port, with a channel to it. Stop() and
// Start() again reopen the same directory and serve on the same port, as a
// restart would.
#ifndef LIAISON_TESTS_SUPPORT_TEST_SERVICE_H_
#define LIAISON_TESTS_SUPPORT_TEST_SERVICE_H_

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>

#include <memory>
#include <string>

#include "common/auth.h"
#include "common/clock.h"
#include "common/server.h"
#include "common/shard_map.h"

namespace liaison::testing {

// The signing key every in-process test uses.
inline const std::string kTestKey = "liaison-test-signing-key-0123456789abcdef";

class TestService final {
 public:
  // `shard`: which shard of which map this is (one shard by default);
  // `port`: where it serves (0: a free port), e.g. the one its map names.
  TestService(ServiceSpec spec, std::string data_dir, const Clock* clock,
              ShardIdentity shard = ShardIdentity(ShardMap::Single({}), 0), int port = 0);
  ~TestService() { Stop(); }

  void Start();
  void Stop();

  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }
  std::string address() const;
  Store* store() const { return store_.get(); }
  Metrics* metrics() const { return metrics_.get(); }
  const TokenMinter& minter() const { return minter_; }

  // A context carrying `authorization: Bearer <token>`, with a 10 s deadline.
  static std::unique_ptr<grpc::ClientContext> Context(const std::string& token);
  std::string MemberToken(MemberId member) const;
  std::string ServiceToken(const std::string& name) const;

 private:
  ServiceSpec spec_;
  std::string data_dir_;
  const Clock* clock_;
  ServerConfig config_;
  ShardIdentity shard_;
  TokenVerifier verifier_;
  TokenMinter minter_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<ServiceModule> module_;
  std::unique_ptr<Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace liaison::testing

#endif  // LIAISON_TESTS_SUPPORT_TEST_SERVICE_H_
