// Identity's RocksDB layout. Every member-keyed key starts with its first
// id's partition (2 bytes, KeyBuilder::ForMember: DESIGN.md §8), then a kind
// byte; member and page ids are 8-byte big-endian. A record about two
// members is kept on each one's side (a kind of its own, keyed by that
// member first), so each shard holds everything its members' rules read and
// a partition moves as one key range.
//
//   family "members" (point lookups)
//     'm' member            -> Member
//     'h' handle            -> member id        (unique handles; partition of
//     'e' lower(email)      -> member id         the name: KeyBuilder::ForName)
//     'p' page              -> Page (admins; follower_count is kept apart)
//     'F' page              -> follower count (u64)
//   family "graph" (one value per member)
//     'a' member            -> adjacency list (graph.h encoding)
//   family "social" (prefix scans on partition + kind + first id)
//     'v' sender recipient  -> Invitation (pending), the sender's side
//     'i' recipient sender  -> Invitation (pending), the recipient's side
//     'n' recipient -time sender -> ""   incoming index, newest first
//     'o' sender -time recipient -> ""   outgoing index, newest first
//     'q' sender time recipient  -> ""   sent log, for the rolling 7-day limit
//     'N' sender yyyymm     -> u32      notes basic members added this month
//     'w' sender recipient  -> time     withdrawn (21-day cooldown)
//     'x' recipient sender  -> ""       "I don't know" this sender
//     'X' sender recipient  -> ""       the same, the sender's side
//     'b' blocker blocked   -> time     blocks
//     'k' blocked blocker   -> time     the same, the blocked member's side
//     'u' blocker blocked   -> time     last unblock (48-hour rule)
//     'f' page member       -> time     followers (the page's side)
//   family "outbox" (a queue: written, scanned in order, deleted)
//     'r' member            -> ""       not yet registered with privacy
//     'P' sequence          -> ApplyPeerWritesRequest: the other shard's side
//                              of a two-member change (PeerOutbox)
//     'D' sequence          -> the same, set aside: no shard would take it
//     'Q' source shard (u32) -> the last 'P' sequence applied here from that
//                              shard (EncodeCounter): each is applied once
//     'B'                   -> the registration backfill's cursor: the
//                              last members-family key walked, or
//                              kBackfillDone (8 bytes) once all were
#ifndef LIAISON_SERVICES_IDENTITY_IDENTITY_STORE_H_
#define LIAISON_SERVICES_IDENTITY_IDENTITY_STORE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/ids.h"
#include "common/keys.h"
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
// The recipient's side of an invitation and of "I don't know".
std::string Received(MemberId recipient, MemberId sender);
std::string RefusedBy(MemberId sender, MemberId recipient);
std::string Block(MemberId blocker, MemberId blocked);
// The blocked member's side of a block.
std::string BlockedBy(MemberId blocked, MemberId blocker);
std::string Unblock(MemberId blocker, MemberId blocked);
std::string Follower(uint64_t page, MemberId member);
std::string Registration(MemberId id);
std::string RegistrationBackfill();
std::string PeerWrites(uint64_t sequence);
// The last peer-write sequence applied here from `source` shard
// (AppliedMarks under this kind).
inline constexpr char kPeerAppliedKind = 'Q';
std::string PeerApplied(uint32_t source);
// The prefix of every key of `kind` whose first id is `id`.
std::string Prefix(char kind, uint64_t id);
// The kind byte of a key of this layout ('\0' for a key too short).
char KindOf(absl::string_view key);
// Whether `key` starts with a partition (not an unpartitioned queue key).
bool IsMemberKeyed(absl::string_view key);
// Reads a key of this layout from its kind byte on (past the partition).
KeyReader Reader(absl::string_view key);
}  // namespace keys

// The value of keys::RegistrationBackfill() once the backfill has registered
// every member (8 bytes: no members-family key is that short).
inline constexpr uint64_t kBackfillDone = ~uint64_t{0};

// Reads and batch helpers over the store. Thread-safe for reads; callers
// serialize read-modify-write of a member's records (IdentityLogic's locks).
class IdentityStore final : public NeighborSource {
 public:
  static std::vector<ColumnFamilySpec> Families();
  // Rewrites a store of the layout before partitions (keys starting with
  // their kind) into this one, adding the second side of two-member
  // records; returns how many records it rewrote (0: nothing to do).
  static absl::StatusOr<size_t> UpgradeLayout(Store* store);
  // The records this shard's peer outbox has yet to deliver to other
  // shards ('P'): they name members by the map they were written under, so
  // partitions may only move once there are none (liaison-reshard).
  static absl::StatusOr<uint64_t> UndeliveredPeerWrites(Store* store);

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
  // Who holds a handle or email key, and since when (InfinitePast for a
  // record written before claims were timed).
  struct NameHolder {
    MemberId member = 0;
    absl::Time claimed = absl::InfinitePast();
  };
  absl::StatusOr<NameHolder> GetNameHolder(const std::string& key) const;
  static std::string EncodeNameHolder(MemberId member, absl::Time claimed);
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

  // An invitation, on the sender's side / on the recipient's side.
  absl::StatusOr<v1::Invitation> GetInvitation(MemberId sender, MemberId recipient) const;
  absl::StatusOr<v1::Invitation> GetReceivedInvitation(MemberId recipient, MemberId sender) const;
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
