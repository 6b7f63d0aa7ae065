// The records of one change about two members (an invitation, a
// connection, a block), each written on its own member's side: every
// two-member record has a kind per side, keyed by that side's member first
// (identity_store.h), so each member's shard holds what its rules read.
#ifndef LIAISON_SERVICES_IDENTITY_PAIR_WRITE_H_
#define LIAISON_SERVICES_IDENTITY_PAIR_WRITE_H_

#include <rocksdb/write_batch.h>

#include <string>

#include "absl/status/statusor.h"
#include "common/ids.h"
#include "services/identity/identity_store.h"

namespace liaison::identity {

class PairWrite final {
 public:
  explicit PairWrite(IdentityStore* store) : store_(store) {}

  // `side` is the member whose record it is (the key's first id).
  void Put(MemberId side, rocksdb::ColumnFamilyHandle* family, const std::string& key,
           const std::string& value);
  void Delete(MemberId side, rocksdb::ColumnFamilyHandle* family, const std::string& key);
  // Adds `other` to `side`'s connections, connected at `since` (Unix seconds).
  absl::Status Link(MemberId side, MemberId other, uint32_t since);
  // Removes `other` from `side`'s connections; whether it was there.
  absl::StatusOr<bool> Unlink(MemberId side, MemberId other);

  rocksdb::WriteBatch* batch() { return &batch_; }

 private:
  IdentityStore* store_;
  rocksdb::WriteBatch batch_;
};

}  // namespace liaison::identity

#endif  // LIAISON_SERVICES_IDENTITY_PAIR_WRITE_H_
