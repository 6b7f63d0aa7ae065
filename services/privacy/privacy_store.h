// Where members' privacy choices live, in family "settings" (keys start
// with the member's partition, KeyBuilder::ForMember; member ids are 8
// bytes, big-endian):
//   partition 's' member -> PrivacySettings   only the fields the member
//                                   chose; absent for a member who never
//                                   changed anything
//   partition 'm' member -> ""      the member exists (identity said so)
#ifndef LIAISON_SERVICES_PRIVACY_PRIVACY_STORE_H_
#define LIAISON_SERVICES_PRIVACY_PRIVACY_STORE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/change_feed.h"
#include "common/ids.h"
#include "common/store.h"
#include "liaison/privacy/v1/privacy.pb.h"

namespace liaison::privacy {

class PrivacyStore final {
 public:
  // The column families this store needs (pass to Store::Open).
  static std::vector<ColumnFamilySpec> Families();
  static std::string Key(MemberId member);
  static std::string MemberKey(MemberId member);
  // Rewrites the keys of a store written before partitions into today's
  // layout (once, at start); returns how many records moved.
  static absl::StatusOr<size_t> UpgradeLayout(Store* store);

  // `store` must have been opened with Families() and outlive this. Every
  // Save appends the member's effective settings to `feed` (may be null).
  explicit PrivacyStore(Store* store, ChangeFeed* feed = nullptr);

  // The member's choices; NotFoundError if they never changed a setting,
  // DataLossError for a record that does not parse.
  absl::StatusOr<v1::PrivacySettings> Load(MemberId member) const;
  // One result per member, in order, with one RocksDB MultiGet.
  std::vector<absl::StatusOr<v1::PrivacySettings>> LoadMany(
      const std::vector<MemberId>& members) const;
  // Replaces the member's choices; with no choices left the record is
  // deleted, so the member is back to reading defaults.
  // `effective` (the settings as they now read, member_id set) goes to the
  // change feed in the same batch.
  absl::Status Save(MemberId member, const v1::PrivacySettings& choices,
                    const v1::PrivacySettings& effective);

  // Whether identity registered the member (AddMembers).
  absl::StatusOr<bool> IsMember(MemberId member) const;
  // Records that the members exist, synced to disk. Idempotent.
  absl::Status AddMembers(const std::vector<MemberId>& members);

 private:
  Store* store_;
  ChangeFeed* feed_;
  rocksdb::ColumnFamilyHandle* family_;
};

}  // namespace liaison::privacy

#endif  // LIAISON_SERVICES_PRIVACY_PRIVACY_STORE_H_
