// Identity's RocksDB layout. Every key starts with a kind byte; member and
// page ids are 8-byte big-endian, so one member's records sort together
// (and would live on that member's shard).
//
//   family "members" (point lookups)
//     'm' member            -> Member
//     'h' handle            -> member id        (unique handles)
//     'e' lower(email)      -> member id        (unique emails)
//     'p' page              -> Page (admins; follower_count is kept apart)
//     'F' page              -> follower count (u64)
//   family "graph" (one value per member)
//     'a' member            -> adjacency list (graph.h encoding)
//   family "social" (prefix scans on kind + first id)
//     'v' sender recipient  -> Invitation (pending)
//     'n' recipient -time sender -> ""   incoming index, newest first
//     'o' sender -time recipient -> ""   outgoing index, newest first
//     'q' sender time recipient  -> ""   sent log, for the rolling 7-day limit
//     'N' sender yyyymm     -> u32      notes basic members added this month
//     'w' sender recipient  -> time     withdrawn (21-day cooldown)
//     'x' recipient sender  -> ""       "I don't know" this sender
//     'b' blocker blocked   -> time     blocks
//     'u' blocker blocked   -> time     last unblock (48-hour rule)
//     'f' page member       -> time     followers
//   family "outbox" (a queue: written, scanned in order, deleted)
//     'r' member            -> ""       not yet registered with privacy
//     'B'                   -> u64      the registration backfill's cursor:
//                                       the last member id registered, or
//                                       kBackfillDone once all were
#ifndef LIAISON_SERVICES_IDENTITY_IDENTITY_STORE_H_
#define LIAISON_SERVICES_IDENTITY_IDENTITY_STORE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/ids.h"
#include "common/store.h"
#include "liaison/identity/v1/identity.pb.h"
#include "services/identity/graph.h"

namespace liaison::identity {

namespace keys {
std::string Member(MemberId id);
std::string Handle(absl::string_view handle);
std::string Email(absl::string_view lowercase_email);
std::string Page(uint64_t page);
std::string FollowerCount(uint64_t page);
std::string Adjacency(MemberId id);
std::string Invitation(MemberId sender, MemberId recipient);
std::string Incoming(MemberId recipient, absl::Time t, MemberId sender);
std::string Outgoing(MemberId sender, absl::Time t, MemberId recipient);
std::string SentLog(MemberId sender, absl::Time t, MemberId recipient);
std::string Notes(MemberId sender, uint32_t yyyymm);
std::string Withdrawn(MemberId sender, MemberId recipient);
std::string DontKnow(MemberId recipient, MemberId sender);
std::string Block(MemberId blocker, MemberId blocked);
std::string Unblock(MemberId blocker, MemberId blocked);
std::string Follower(uint64_t page, MemberId member);
std::string Registration(MemberId id);
std::string RegistrationBackfill();
// The prefix of every key of `kind` whose first id is `id`.
std::string Prefix(char kind, uint64_t id);
}  // namespace keys

// The value of keys::RegistrationBackfill() once the backfill has registered
// every member (member ids are below 2^53, so no id is this).
inline constexpr uint64_t kBackfillDone = ~uint64_t{0};

// Reads and batch helpers over the store. Thread-safe for reads; callers
// serialize read-modify-write of a member's records (IdentityLogic's locks).
class IdentityStore final : public NeighborSource {
 public:
  static std::vector<ColumnFamilySpec> Families();

  explicit IdentityStore(Store* store);

  rocksdb::ColumnFamilyHandle* members() const { return members_; }
  rocksdb::ColumnFamilyHandle* graph() const { return graph_; }
  rocksdb::ColumnFamilyHandle* social() const { return social_; }
  rocksdb::ColumnFamilyHandle* outbox() const { return outbox_; }
  Store* store() const { return store_; }

  // NotFoundError when absent; DataLossError when a record does not parse.
  absl::StatusOr<v1::Member> GetMember(MemberId id) const;
  std::vector<absl::StatusOr<v1::Member>> GetMembers(const std::vector<MemberId>& ids) const;
  absl::StatusOr<MemberId> MemberByHandle(absl::string_view handle) const;
  absl::StatusOr<MemberId> MemberByEmail(absl::string_view lowercase_email) const;
  absl::StatusOr<v1::Page> GetPage(uint64_t page) const;
  absl::StatusOr<uint64_t> FollowerCount(uint64_t page) const;

  // Empty adjacency for a member without connections.
  absl::StatusOr<Adjacency> GetAdjacency(MemberId id) const;
  absl::StatusOr<uint32_t> ConnectionCount(MemberId id) const;
  // NeighborSource.
  absl::StatusOr<std::vector<MemberId>> Neighbors(MemberId member) const override;
  absl::StatusOr<std::vector<std::vector<MemberId>>> NeighborsOfMany(
      const std::vector<MemberId>& members) const override;

  absl::StatusOr<v1::Invitation> GetInvitation(MemberId sender, MemberId recipient) const;
  // True if the key exists in the social family.
  absl::StatusOr<bool> Exists(rocksdb::ColumnFamilyHandle* family, const std::string& key) const;
  // A time stored as the value of a social key; NotFoundError if absent.
  absl::StatusOr<absl::Time> GetTime(const std::string& key) const;
  absl::StatusOr<uint64_t> GetCounter(rocksdb::ColumnFamilyHandle* family,
                                      const std::string& key) const;

  // Keys under `prefix` in `family`, in order, starting after `after` (empty:
  // from the start), at most `limit`; values alongside.
  struct Entry {
    std::string key;
    std::string value;
  };
  absl::StatusOr<std::vector<Entry>> Scan(rocksdb::ColumnFamilyHandle* family,
                                          const std::string& prefix, const std::string& after,
                                          size_t limit) const;

  static std::string EncodeTime(absl::Time t);
  static std::string EncodeCounter(uint64_t n);

 private:
  Store* store_;
  rocksdb::ColumnFamilyHandle* members_;
  rocksdb::ColumnFamilyHandle* graph_;
  rocksdb::ColumnFamilyHandle* social_;
  rocksdb::ColumnFamilyHandle* outbox_;
};

}  // namespace liaison::identity

#endif  // LIAISON_SERVICES_IDENTITY_IDENTITY_STORE_H_
