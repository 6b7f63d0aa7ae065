// Seeding for liaison-bench: members, tiers, pairs of connections and hub
// inboxes, made through the services' own APIs (many calls in flight), so
// the data is exactly what real traffic would leave.
#ifndef LIAISON_TOOLS_BENCH_SEED_H_
#define LIAISON_TOOLS_BENCH_SEED_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/auth.h"
#include "common/ids.h"
#include "liaison/identity/v1/identity.grpc.pb.h"
#include "liaison/messaging/v1/messaging.grpc.pb.h"

namespace liaison::bench {

// Runs fn(0) .. fn(n-1) on `threads` threads; the first error wins.
absl::Status ParallelFor(size_t n, int threads, const std::function<absl::Status(size_t)>& fn);

// A short unique tag for this process's handles and client message ids.
std::string RunTag();

class Seeder final {
 public:
  Seeder(identity::v1::IdentityService::Stub* identity,
         messaging::v1::MessagingService::Stub* messaging, std::string service_token,
         const TokenMinter* minter, int concurrency)
      : identity_(identity),
        messaging_(messaging),
        service_token_(std::move(service_token)),
        minter_(minter),
        concurrency_(concurrency) {}

  // `count` new members "bench-<tag>-<prefix><i>" with `tier`.
  absl::StatusOr<std::vector<MemberId>> Members(const std::string& prefix, int count,
                                                identity::v1::AccountTier tier);
  // Up to `limit` connections of `member`, in the service's order.
  absl::StatusOr<std::vector<MemberId>> Connections(MemberId member, size_t limit);
  // `count` (member, connection) pairs from a seeded graph of `members`,
  // each one `keep` takes (any, without it).
  absl::StatusOr<std::vector<std::pair<MemberId, MemberId>>> GraphPairs(
      uint64_t members, int count, const std::function<bool(MemberId, MemberId)>& keep = nullptr);
  // Each of `from` writes one message to `to`: one conversation each.
  absl::Status Messages(const std::vector<MemberId>& from, MemberId to);

 private:
  std::string MemberToken(MemberId m) const;

  identity::v1::IdentityService::Stub* identity_;
  messaging::v1::MessagingService::Stub* messaging_;
  std::string service_token_;
  const TokenMinter* minter_;
  int concurrency_;
};

}  // namespace liaison::bench

#endif  // LIAISON_TOOLS_BENCH_SEED_H_
