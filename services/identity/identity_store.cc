#include "services/identity/identity_store.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/change_feed.h"
#include "common/keys.h"
#include "common/shard_map.h"
#include "common/status.h"

namespace liaison::identity {
namespace keys {

std::string Member(MemberId id) { return KeyBuilder::ForMember('m', id).key(); }
std::string Handle(absl::string_view handle) { return KeyBuilder::ForName('h', handle).key(); }
std::string Email(absl::string_view email) { return KeyBuilder::ForName('e', email).key(); }
std::string Page(uint64_t page) { return KeyBuilder::ForMember('p', page).key(); }
std::string FollowerCount(uint64_t page) { return KeyBuilder::ForMember('F', page).key(); }
std::string Adjacency(MemberId id) { return KeyBuilder::ForMember('a', id).key(); }
std::string Invitation(MemberId s, MemberId r) {
  return KeyBuilder::ForMember('v', s).U64(r).key();
}
std::string Received(MemberId r, MemberId s) { return KeyBuilder::ForMember('i', r).U64(s).key(); }
std::string Incoming(MemberId r, absl::Time t, MemberId s) {
  return KeyBuilder::ForMember('n', r).TimeDesc(t).U64(s).key();
}
std::string Outgoing(MemberId s, absl::Time t, MemberId r) {
  return KeyBuilder::ForMember('o', s).TimeDesc(t).U64(r).key();
}
std::string SentLog(MemberId s, absl::Time t, MemberId r) {
  return KeyBuilder::ForMember('q', s).Time(t).U64(r).key();
}
std::string Notes(MemberId s, uint32_t yyyymm) {
  return KeyBuilder::ForMember('N', s).U32(yyyymm).key();
}
std::string Withdrawn(MemberId s, MemberId r) { return KeyBuilder::ForMember('w', s).U64(r).key(); }
std::string DontKnow(MemberId r, MemberId s) { return KeyBuilder::ForMember('x', r).U64(s).key(); }
std::string RefusedBy(MemberId s, MemberId r) { return KeyBuilder::ForMember('X', s).U64(r).key(); }
std::string Block(MemberId a, MemberId b) { return KeyBuilder::ForMember('b', a).U64(b).key(); }
std::string BlockedBy(MemberId b, MemberId a) { return KeyBuilder::ForMember('k', b).U64(a).key(); }
std::string Unblock(MemberId a, MemberId b) { return KeyBuilder::ForMember('u', a).U64(b).key(); }
std::string Follower(uint64_t page, MemberId m) {
  return KeyBuilder::ForMember('f', page).U64(m).key();
}
std::string Registration(MemberId id) { return KeyBuilder::ForMember('r', id).key(); }
std::string RegistrationBackfill() { return KeyBuilder('B').key(); }
std::string PeerWrites(uint64_t sequence) { return KeyBuilder('P').U64(sequence).key(); }
std::string PeerApplied(uint32_t source) { return KeyBuilder(kPeerAppliedKind).U32(source).key(); }
std::string Prefix(char kind, uint64_t id) { return KeyBuilder::ForMember(kind, id).key(); }
char KindOf(absl::string_view key) { return key.size() > 2 ? key[2] : '\0'; }
bool IsMemberKeyed(absl::string_view key) {
  return key.size() > 2 && static_cast<unsigned char>(key[0]) < (kPartitions >> 8);
}
KeyReader Reader(absl::string_view key) { return KeyReader(key.size() > 2 ? key.substr(2) : ""); }

}  // namespace keys

namespace {

absl::StatusOr<uint64_t> ParseU64(absl::StatusOr<std::string> value) {
  if (!value.ok()) return value.status();
  uint64_t n;
  KeyReader reader(*value);
  if (!reader.U64(&n) || !reader.AtEnd()) return absl::DataLossError("a number does not parse");
  return n;
}

}  // namespace

std::vector<ColumnFamilySpec> IdentityStore::Families() {
  // The change feed's family is part of the layout: every tool that opens
  // the store must open it too (RocksDB refuses to leave one out).
  return {{"members", 0}, {"graph", 11}, {"social", 11}, {"outbox", 0}, ChangeFeed::Family()};
}

namespace {

// Calls `each(key, value)` for every key of the layout before partitions
// of `kind` in `family` (they start with the kind byte itself).
template <typename Each>
absl::Status ForOldKeys(Store* store, rocksdb::ColumnFamilyHandle* family, char kind, Each each) {
  auto it = store->NewIterator(family, /*prefix_scan=*/false);
  for (it->Seek(rocksdb::Slice(&kind, 1)); it->Valid() && it->key()[0] == kind; it->Next()) {
    RETURN_IF_ERROR(each(it->key(), it->value()));
  }
  return FromRocksStatus(it->status(), "upgrade scan");
}

absl::Status PairIds(const rocksdb::Slice& key, MemberId* first, MemberId* second) {
  KeyReader reader(absl::string_view(key.data() + 1, key.size() - 1));
  if (!reader.U64(first) || !reader.U64(second)) {
    return absl::DataLossError(
        absl::StrCat("store upgrade: a '", std::string(1, key[0]), "' key does not parse"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<size_t> IdentityStore::UpgradeLayout(Store* store) {
  IdentityStore ids(store);
  ChunkedWriter batch(store);
  // The second side of two-member records, before their first side moves.
  RETURN_IF_ERROR(ForOldKeys(store, ids.social_, 'v', [&](auto key, auto value) {
    MemberId sender, recipient;
    RETURN_IF_ERROR(PairIds(key, &sender, &recipient));
    return batch.Put(ids.social_, keys::Received(recipient, sender), value);
  }));
  RETURN_IF_ERROR(ForOldKeys(store, ids.social_, 'x', [&](auto key, auto value) {
    MemberId recipient, sender;
    RETURN_IF_ERROR(PairIds(key, &recipient, &sender));
    return batch.Put(ids.social_, keys::RefusedBy(sender, recipient), value);
  }));
  RETURN_IF_ERROR(ForOldKeys(store, ids.social_, 'b', [&](auto key, auto value) {
    MemberId blocker, blocked;
    RETURN_IF_ERROR(PairIds(key, &blocker, &blocked));
    return batch.Put(ids.social_, keys::BlockedBy(blocked, blocker), value);
  }));
  // Names move to their own partition.
  for (char kind : {'h', 'e'}) {
    RETURN_IF_ERROR(ForOldKeys(store, ids.members_, kind, [&](auto key, auto value) {
      std::string name;
      KeyReader reader(absl::string_view(key.data() + 1, key.size() - 1));
      if (!reader.Str(&name))
        return absl::DataLossError("store upgrade: a name key does not parse");
      RETURN_IF_ERROR(batch.Put(ids.members_, KeyBuilder::ForName(kind, name).key(), value));
      return batch.Delete(ids.members_, key);
    }));
  }
  // The backfill walked member ids in order; keys are now in partition
  // order: walk again (registering is idempotent), unless it was done.
  auto cursor = store->Get(ids.outbox_, keys::RegistrationBackfill());
  if (cursor.ok() && cursor->size() == 8 && *cursor != EncodeCounter(kBackfillDone)) {
    RETURN_IF_ERROR(batch.Delete(ids.outbox_, keys::RegistrationBackfill()));
  } else if (!cursor.ok() && !absl::IsNotFound(cursor.status())) {
    return cursor.status();
  }
  RETURN_IF_ERROR(batch.Flush());
  size_t moved = batch.records();
  for (auto [family, kinds] : {std::pair{ids.members_, "mpF"},
                               {ids.graph_, "a"},
                               {ids.social_, "vnoqNwxbuf"},
                               {ids.outbox_, "r"}}) {
    ASSIGN_OR_RETURN(size_t n, PartitionMemberKeys(store, family, kinds));
    moved += n;
  }
  return moved;
}

absl::StatusOr<uint64_t> IdentityStore::UndeliveredPeerWrites(Store* store) {
  return CountKeys(store, store->Family("outbox"), KeyBuilder('P').key());
}

IdentityStore::IdentityStore(Store* store)
    : store_(store),
      members_(store->Family("members")),
      graph_(store->Family("graph")),
      social_(store->Family("social")),
      outbox_(store->Family("outbox")) {}

std::string IdentityStore::EncodeTime(absl::Time t) {
  return KeyBuilder('\0').Time(t).key().substr(1);
}
std::string IdentityStore::EncodeCounter(uint64_t n) {
  return KeyBuilder('\0').U64(n).key().substr(1);
}

absl::StatusOr<v1::Member> IdentityStore::GetMember(MemberId id) const {
  return ParseRecord<v1::Member>(store_->Get(members_, keys::Member(id)));
}

std::vector<absl::StatusOr<v1::Member>> IdentityStore::GetMembers(
    const std::vector<MemberId>& ids) const {
  std::vector<std::string> member_keys;
  for (MemberId id : ids) member_keys.push_back(keys::Member(id));
  std::vector<absl::StatusOr<v1::Member>> out;
  for (auto& value : store_->MultiGet(members_, member_keys)) {
    out.push_back(ParseRecord<v1::Member>(std::move(value)));
  }
  return out;
}

absl::StatusOr<MemberId> IdentityStore::MemberByHandle(absl::string_view handle) const {
  ASSIGN_OR_RETURN(NameHolder holder, GetNameHolder(keys::Handle(handle)));
  return holder.member;
}

absl::StatusOr<MemberId> IdentityStore::MemberByEmail(absl::string_view email) const {
  ASSIGN_OR_RETURN(NameHolder holder, GetNameHolder(keys::Email(email)));
  return holder.member;
}

absl::StatusOr<IdentityStore::NameHolder> IdentityStore::GetNameHolder(
    const std::string& key) const {
  ASSIGN_OR_RETURN(std::string value, store_->Get(members_, key));
  NameHolder holder;
  KeyReader reader(value);
  if (!reader.U64(&holder.member) || (!reader.AtEnd() && !reader.Time(&holder.claimed)) ||
      !reader.AtEnd()) {
    return absl::DataLossError("a name record does not parse");
  }
  return holder;
}

std::string IdentityStore::EncodeNameHolder(MemberId member, absl::Time claimed) {
  return KeyBuilder('\0').U64(member).Time(claimed).key().substr(1);
}

absl::StatusOr<v1::Page> IdentityStore::GetPage(uint64_t page) const {
  return ParseRecord<v1::Page>(store_->Get(members_, keys::Page(page)));
}

absl::StatusOr<uint64_t> IdentityStore::FollowerCount(uint64_t page) const {
  return GetCounter(members_, keys::FollowerCount(page));
}

absl::StatusOr<Adjacency> IdentityStore::GetAdjacency(MemberId id) const {
  auto value = store_->Get(graph_, keys::Adjacency(id));
  if (absl::IsNotFound(value.status())) return Adjacency();
  if (!value.ok()) return value.status();
  return DecodeAdjacency(*value);
}

absl::StatusOr<uint32_t> IdentityStore::ConnectionCount(MemberId id) const {
  auto value = store_->Get(graph_, keys::Adjacency(id));
  if (absl::IsNotFound(value.status())) return 0;
  if (!value.ok()) return value.status();
  return AdjacencyCount(*value);
}

absl::StatusOr<std::vector<MemberId>> IdentityStore::Neighbors(MemberId member) const {
  auto value = store_->Get(graph_, keys::Adjacency(member));
  if (absl::IsNotFound(value.status())) return std::vector<MemberId>();
  if (!value.ok()) return value.status();
  return DecodeAdjacencyIds(*value);
}

absl::StatusOr<std::vector<std::vector<MemberId>>> IdentityStore::NeighborsOfMany(
    const std::vector<MemberId>& members) const {
  std::vector<std::string> adjacency_keys;
  adjacency_keys.reserve(members.size());
  for (MemberId m : members) adjacency_keys.push_back(keys::Adjacency(m));
  std::vector<std::vector<MemberId>> out;
  out.reserve(members.size());
  for (auto& value : store_->MultiGet(graph_, adjacency_keys)) {
    if (absl::IsNotFound(value.status())) {
      out.emplace_back();
      continue;
    }
    if (!value.ok()) return value.status();
    ASSIGN_OR_RETURN(auto ids, DecodeAdjacencyIds(*value));
    out.push_back(std::move(ids));
  }
  return out;
}

absl::StatusOr<v1::Invitation> IdentityStore::GetInvitation(MemberId sender,
                                                            MemberId recipient) const {
  return ParseRecord<v1::Invitation>(store_->Get(social_, keys::Invitation(sender, recipient)));
}

absl::StatusOr<v1::Invitation> IdentityStore::GetReceivedInvitation(MemberId recipient,
                                                                    MemberId sender) const {
  return ParseRecord<v1::Invitation>(store_->Get(social_, keys::Received(recipient, sender)));
}

absl::StatusOr<bool> IdentityStore::Exists(rocksdb::ColumnFamilyHandle* family,
                                           const std::string& key) const {
  auto value = store_->Get(family, key);
  if (absl::IsNotFound(value.status())) return false;
  if (!value.ok()) return value.status();
  return true;
}

absl::StatusOr<absl::Time> IdentityStore::GetTime(const std::string& key) const {
  auto value = store_->Get(social_, key);
  if (!value.ok()) return value.status();
  absl::Time t;
  KeyReader reader(*value);
  if (!reader.Time(&t) || !reader.AtEnd()) return absl::DataLossError("a time does not parse");
  return t;
}

absl::StatusOr<uint64_t> IdentityStore::GetCounter(rocksdb::ColumnFamilyHandle* family,
                                                   const std::string& key) const {
  auto value = ParseU64(store_->Get(family, key));
  if (absl::IsNotFound(value.status())) return 0;
  return value;
}

absl::StatusOr<std::vector<IdentityStore::Entry>> IdentityStore::Scan(
    rocksdb::ColumnFamilyHandle* family, const std::string& prefix, const std::string& after,
    size_t limit) const {
  std::vector<Entry> out;
  auto it = store_->NewIterator(family, /*prefix_scan=*/true);
  it->Seek(after.empty() ? prefix : after);
  if (!after.empty() && it->Valid() && it->key().ToString() == after) it->Next();
  for (; it->Valid() && out.size() < limit; it->Next()) {
    if (!it->key().starts_with(prefix)) break;
    out.push_back({it->key().ToString(), it->value().ToString()});
  }
  RETURN_IF_ERROR(FromRocksStatus(it->status(), "scan"));
  return out;
}

}  // namespace liaison::identity
