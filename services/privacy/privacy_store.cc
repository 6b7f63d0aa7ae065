#include "services/privacy/privacy_store.h"

#include "common/keys.h"
#include "common/status.h"

namespace liaison::privacy {
namespace {

constexpr char kFamily[] = "settings";
constexpr char kSettingsKind = 's';
constexpr char kMemberKind = 'm';

}  // namespace

// The change feed's family is part of the layout (RocksDB refuses to open a
// store leaving one of its families out).
std::vector<ColumnFamilySpec> PrivacyStore::Families() {
  return {{kFamily, 0}, ChangeFeed::Family()};
}

std::string PrivacyStore::Key(MemberId member) {
  return KeyBuilder::ForMember(kSettingsKind, member).key();
}

std::string PrivacyStore::MemberKey(MemberId member) {
  return KeyBuilder::ForMember(kMemberKind, member).key();
}

absl::StatusOr<size_t> PrivacyStore::UpgradeLayout(Store* store) {
  return PartitionMemberKeys(store, store->Family(kFamily),
                             std::string({kSettingsKind, kMemberKind}));
}

PrivacyStore::PrivacyStore(Store* store, ChangeFeed* feed)
    : store_(store), feed_(feed), family_(store->Family(kFamily)) {}

absl::StatusOr<v1::PrivacySettings> PrivacyStore::Load(MemberId member) const {
  return ParseRecord<v1::PrivacySettings>(store_->Get(family_, Key(member)));
}

std::vector<absl::StatusOr<v1::PrivacySettings>> PrivacyStore::LoadMany(
    const std::vector<MemberId>& members) const {
  std::vector<std::string> keys;
  keys.reserve(members.size());
  for (MemberId member : members) keys.push_back(Key(member));
  std::vector<absl::StatusOr<v1::PrivacySettings>> out;
  out.reserve(members.size());
  for (auto& value : store_->MultiGet(family_, keys))
    out.push_back(ParseRecord<v1::PrivacySettings>(std::move(value)));
  return out;
}

absl::Status PrivacyStore::Save(MemberId member, const v1::PrivacySettings& choices,
                                const v1::PrivacySettings& effective) {
  rocksdb::WriteBatch batch;
  const std::string key = Key(member);
  if (choices.ByteSizeLong() == 0) {
    RETURN_IF_ERROR(FromRocksStatus(batch.Delete(family_, key), "batch delete"));
  } else {
    RETURN_IF_ERROR(
        FromRocksStatus(batch.Put(family_, key, choices.SerializeAsString()), "batch put"));
  }
  // A setting decides who may reach a member: once acknowledged it must not
  // be lost, even to power loss. Updates are rare, so the fsync is cheap.
  if (feed_ == nullptr) return store_->Write(&batch, Durability::kSynced);
  v1::SettingsChange change;
  *change.mutable_settings() = effective;
  return feed_->Write(&batch, {change.SerializeAsString()}, Durability::kSynced);
}

absl::StatusOr<bool> PrivacyStore::IsMember(MemberId member) const {
  auto value = store_->Get(family_, MemberKey(member));
  if (absl::IsNotFound(value.status())) return false;
  if (!value.ok()) return value.status();
  return true;
}

absl::Status PrivacyStore::AddMembers(const std::vector<MemberId>& members) {
  rocksdb::WriteBatch batch;
  for (MemberId member : members) {
    RETURN_IF_ERROR(FromRocksStatus(batch.Put(family_, MemberKey(member), ""), "batch put"));
  }
  // Identity forgets a registration once this returns: it must survive power
  // loss, or the member could never change a setting.
  return store_->Write(&batch, Durability::kSynced);
}

}  // namespace liaison::privacy
