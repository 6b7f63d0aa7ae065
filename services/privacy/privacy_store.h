// Where members' privacy choices live: one record per member who changed
// anything, key 's' + member id (8 bytes, big-endian), value the serialized
// PrivacySettings holding only the fields the member chose.
#ifndef LIAISON_SERVICES_PRIVACY_PRIVACY_STORE_H_
#define LIAISON_SERVICES_PRIVACY_PRIVACY_STORE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/ids.h"
#include "common/store.h"
#include "liaison/privacy/v1/privacy.pb.h"

namespace liaison::privacy {

class PrivacyStore final {
 public:
  // The column families this store needs (pass to Store::Open).
  static std::vector<ColumnFamilySpec> Families();
  static std::string Key(MemberId member);

  // `store` must have been opened with Families() and outlive this.
  explicit PrivacyStore(Store* store);

  // The member's choices; NotFoundError if they never changed a setting,
  // DataLossError for a record that does not parse.
  absl::StatusOr<v1::PrivacySettings> Load(MemberId member) const;
  // One result per member, in order, with one RocksDB MultiGet.
  std::vector<absl::StatusOr<v1::PrivacySettings>> LoadMany(
      const std::vector<MemberId>& members) const;
  // Replaces the member's choices; with no choices left the record is
  // deleted, so the member is back to reading defaults.
  absl::Status Save(MemberId member, const v1::PrivacySettings& choices);

 private:
  Store* store_;
  rocksdb::ColumnFamilyHandle* family_;
};

}  // namespace liaison::privacy

#endif  // LIAISON_SERVICES_PRIVACY_PRIVACY_STORE_H_
