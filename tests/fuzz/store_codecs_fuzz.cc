// The stores' own codecs, on top of KeyBuilder (keys_fuzz covers the
// encoding itself):
//  - every store key is exactly the layout its store header documents
//    (kind byte, then the fields in order), so the encoding's round trip
//    and order carry over to it; a 1:1 pair key is the same either way round;
//  - within a column family no two record kinds share a kind byte, and in a
//    family with a prefix extractor every key and scan prefix is at least
//    as long as the prefix;
//  - identity's adjacency lists: Insert/Erase/Contains agree with a std::map,
//    EncodeAdjacency -> DecodeAdjacency round-trips, any record the decoder
//    accepts re-encodes to the same bytes, the three readers agree, and the
//    intersection helpers agree with std::set_intersection.
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "services/credits/credit_store.h"
#include "services/identity/graph.h"
#include "services/identity/identity_store.h"
#include "services/messaging/messaging_store.h"
#include "services/privacy/privacy_store.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/fuzz/key_fields.h"

namespace liaison::fuzz {
namespace {

namespace id = identity::keys;
namespace cr = credits::keys;
namespace ms = messaging::keys;

using F = std::vector<Field>;
constexpr Type kU8 = Type::kU8, kU32 = Type::kU32, kU64 = Type::kU64, kDesc = Type::kU64Desc,
               kTime = Type::kTime, kTimeDesc = Type::kTimeDesc, kStr = Type::kStr;

struct Layout {
  const char* store;
  const char* family;
  char kind;
  std::vector<Type> shape;
  std::string (*make)(const F& f);
  bool scan_prefix = false;   // a prefix for scans, not a record of its own
  bool unordered_pair = false;  // the two ids are stored lowest first
};

int64_t Signed(const Field& f) { return static_cast<int64_t>(f.number); }

const std::vector<Layout>& Layouts() {
  static const auto* layouts = new std::vector<Layout>{
      {"messaging", "conversations", 'C', {kU64}, [](const F& f) { return ms::Conversation(f[0].number); }},
      {"messaging", "conversations", 'M', {kU64, kU64}, [](const F& f) { return ms::Message(f[0].number, Signed(f[1])); }},
      {"messaging", "conversations", 'M', {kU64}, [](const F& f) { return ms::MessagePrefix(f[0].number); }, true},
      {"messaging", "conversations", 'P', {kU64, kU64}, [](const F& f) { return ms::Pair(f[1].number, f[0].number); }, false, true},
      {"messaging", "conversations", 'G', {kU64, kU64}, [](const F& f) { return ms::PagePair(f[0].number, f[1].number); }},
      {"messaging", "members", 'S', {kU64, kU64}, [](const F& f) { return ms::State(f[0].number, f[1].number); }},
      {"messaging", "members", 'I', {kU64, kU8, kTimeDesc, kU64}, [](const F& f) {
         return ms::Inbox(f[0].number, static_cast<messaging::v1::Folder>(f[1].number), f[2].time, f[3].number); }},
      {"messaging", "members", 'I', {kU64, kU8}, [](const F& f) {
         return ms::InboxPrefix(f[0].number, static_cast<messaging::v1::Folder>(f[1].number)); }, true},
      {"messaging", "members", 'K', {kU64, kStr}, [](const F& f) { return ms::Sent(f[0].number, f[1].text); }},
      {"messaging", "members", 'U', {kU64, kU64}, [](const F& f) { return ms::Unanswered(f[0].number, f[1].number); }},
      {"messaging", "members", 'R', {kU64}, [](const F& f) { return ms::Reports(f[0].number); }},
      {"messaging", "outbox", 'O', {kStr}, [](const F& f) { return ms::Outbox(f[0].text); }},
      {"identity", "members", 'm', {kU64}, [](const F& f) { return id::Member(f[0].number); }},
      {"identity", "members", 'h', {kStr}, [](const F& f) { return id::Handle(f[0].text); }},
      {"identity", "members", 'e', {kStr}, [](const F& f) { return id::Email(f[0].text); }},
      {"identity", "members", 'p', {kU64}, [](const F& f) { return id::Page(f[0].number); }},
      {"identity", "members", 'F', {kU64}, [](const F& f) { return id::FollowerCount(f[0].number); }},
      {"identity", "graph", 'a', {kU64}, [](const F& f) { return id::Adjacency(f[0].number); }},
      {"identity", "social", 'v', {kU64, kU64}, [](const F& f) { return id::Invitation(f[0].number, f[1].number); }},
      {"identity", "social", 'n', {kU64, kTimeDesc, kU64}, [](const F& f) { return id::Incoming(f[0].number, f[1].time, f[2].number); }},
      {"identity", "social", 'o', {kU64, kTimeDesc, kU64}, [](const F& f) { return id::Outgoing(f[0].number, f[1].time, f[2].number); }},
      {"identity", "social", 'q', {kU64, kTime, kU64}, [](const F& f) { return id::SentLog(f[0].number, f[1].time, f[2].number); }},
      {"identity", "social", 'N', {kU64, kU32}, [](const F& f) { return id::Notes(f[0].number, static_cast<uint32_t>(f[1].number)); }},
      {"identity", "social", 'w', {kU64, kU64}, [](const F& f) { return id::Withdrawn(f[0].number, f[1].number); }},
      {"identity", "social", 'x', {kU64, kU64}, [](const F& f) { return id::DontKnow(f[0].number, f[1].number); }},
      {"identity", "social", 'b', {kU64, kU64}, [](const F& f) { return id::Block(f[0].number, f[1].number); }},
      {"identity", "social", 'u', {kU64, kU64}, [](const F& f) { return id::Unblock(f[0].number, f[1].number); }},
      {"identity", "social", 'f', {kU64, kU64}, [](const F& f) { return id::Follower(f[0].number, f[1].number); }},
      {"identity", "social", 'n', {kU64}, [](const F& f) { return id::Prefix('n', f[0].number); }, true},
      {"credits", "ledger", 'A', {kU64}, [](const F& f) { return cr::Account(f[0].number); }},
      {"credits", "ledger", 'L', {kU64, kDesc}, [](const F& f) { return cr::Entry(f[0].number, Signed(f[1])); }},
      {"credits", "ledger", 'L', {kU64}, [](const F& f) { return cr::EntryPrefix(f[0].number); }, true},
      {"credits", "ledger", 'H', {kU64, kStr}, [](const F& f) { return cr::Hold(f[0].number, f[1].text); }},
      {"credits", "ledger", 'K', {kU64, kStr}, [](const F& f) { return cr::Purchase(f[0].number, f[1].text); }},
      {"credits", "expiry", 'X', {kTime, kU64, kStr}, [](const F& f) { return cr::Expiry(f[0].time, f[1].number, f[2].text); }},
      {"privacy", "settings", 's', {kU64}, [](const F& f) { return privacy::PrivacyStore::Key(f[0].number); }},
  };
  return *layouts;
}

size_t PrefixLength(const std::string& store, const std::string& family) {
  const auto families = store == "messaging"  ? messaging::MessagingStore::Families()
                        : store == "identity" ? identity::IdentityStore::Families()
                        : store == "credits"  ? credits::CreditStore::Families()
                                              : privacy::PrivacyStore::Families();
  for (const auto& spec : families) {
    if (spec.name == family) return spec.prefix_length;
  }
  FUZZ_CHECK(!"a layout names a column family its store does not open");
  return 0;
}

// Input-independent: record kinds are unique within each family.
void CheckKindsOnce() {
  static const bool checked = [] {
    std::set<std::string> seen;
    for (const Layout& l : Layouts()) {
      if (!l.scan_prefix) FUZZ_CHECK(seen.insert(std::string(l.store) + l.family + l.kind).second);
    }
    return true;
  }();
  (void)checked;
}

void CheckKeys(FuzzedDataProvider& in) {
  const Layout& l = Layouts()[in.ConsumeIntegralInRange<size_t>(0, Layouts().size() - 1)];
  F fields;
  for (Type t : l.shape) fields.push_back(MakeField(t, in));
  const std::string key = l.make(fields);
  if (l.unordered_pair && fields[1].number < fields[0].number) std::swap(fields[0], fields[1]);
  FUZZ_CHECK(key == Build(l.kind, fields));
  FUZZ_CHECK(key.size() >= PrefixLength(l.store, l.family));

  // Values that hold a number or a time read back with KeyReader, as the
  // stores read them.
  const uint64_t n = in.ConsumeIntegral<uint64_t>();
  for (const std::string& value : {messaging::MessagingStore::EncodeId(n),
                                   identity::IdentityStore::EncodeCounter(n)}) {
    KeyReader reader(value);
    uint64_t back;
    FUZZ_CHECK(reader.U64(&back) && back == n && reader.AtEnd());
  }
  const absl::Time t = absl::FromUnixMicros(static_cast<int64_t>(n >> 1));
  const std::string time_value = identity::IdentityStore::EncodeTime(t);
  KeyReader reader(time_value);
  absl::Time back;
  FUZZ_CHECK(reader.Time(&back) && back == t && reader.AtEnd());
}

void CheckAdjacencyOps(FuzzedDataProvider& in) {
  identity::Adjacency adjacency;
  std::map<MemberId, uint32_t> model;
  // Small ids collide often; large ones reach the edges of the range.
  const bool small = in.ConsumeBool();
  while (in.remaining_bytes() > 0 && model.size() < 512) {
    const MemberId member = small ? in.ConsumeIntegralInRange<MemberId>(1, 64)
                                  : in.ConsumeIntegral<MemberId>();
    const uint32_t since = in.ConsumeIntegral<uint32_t>();
    if (in.ConsumeBool()) {
      FUZZ_CHECK(adjacency.Insert(member, since) == model.emplace(member, since).second);
    } else {
      FUZZ_CHECK(adjacency.Erase(member) == (model.erase(member) == 1));
    }
    FUZZ_CHECK(adjacency.Contains(member) == (model.count(member) == 1));
  }
  FUZZ_CHECK(adjacency.ids.size() == model.size() && adjacency.since.size() == model.size());
  size_t i = 0;
  for (const auto& [member, since] : model) {
    FUZZ_CHECK(adjacency.ids[i] == member && adjacency.since[i] == since);
    ++i;
  }
  const std::string bytes = identity::EncodeAdjacency(adjacency);
  const auto decoded = identity::DecodeAdjacency(bytes);
  FUZZ_CHECK(decoded.ok() && decoded->ids == adjacency.ids && decoded->since == adjacency.since);
  const auto ids = identity::DecodeAdjacencyIds(bytes);
  FUZZ_CHECK(ids.ok() && *ids == adjacency.ids);
  const auto count = identity::AdjacencyCount(bytes);
  FUZZ_CHECK(count.ok() && *count == model.size());
}

void CheckAdjacencyBytes(FuzzedDataProvider& in) {
  const std::string bytes = in.ConsumeRemainingBytesAsString();
  const auto decoded = identity::DecodeAdjacency(bytes);
  const auto ids = identity::DecodeAdjacencyIds(bytes);
  const auto count = identity::AdjacencyCount(bytes);
  FUZZ_CHECK(decoded.ok() == ids.ok() && decoded.ok() == count.ok());
  if (!decoded.ok()) {
    FUZZ_CHECK(decoded.status().code() == absl::StatusCode::kDataLoss);
    return;
  }
  FUZZ_CHECK(identity::EncodeAdjacency(*decoded) == bytes);
  FUZZ_CHECK(*ids == decoded->ids && *count == decoded->ids.size());
}

std::vector<MemberId> SortedIds(FuzzedDataProvider& in, size_t most) {
  std::set<MemberId> ids;
  const size_t n = in.ConsumeIntegralInRange<size_t>(0, most);
  const MemberId range = in.ConsumeIntegralInRange<MemberId>(1, 4096);
  for (size_t i = 0; i < n && in.remaining_bytes() > 0; ++i) {
    ids.insert(in.ConsumeIntegralInRange<MemberId>(1, range));
  }
  return {ids.begin(), ids.end()};
}

void CheckIntersections(FuzzedDataProvider& in) {
  // Lists of very different sizes take the galloping path.
  const auto a = SortedIds(in, 8);
  const auto b = SortedIds(in, 400);
  std::vector<MemberId> expected;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(expected));
  for (const auto& [x, y] : {std::pair{&a, &b}, std::pair{&b, &a}}) {
    FUZZ_CHECK(identity::Intersection(*x, *y) == expected);
    FUZZ_CHECK(identity::CountIntersection(*x, *y) == static_cast<int64_t>(expected.size()));
    FUZZ_CHECK(identity::Intersects(*x, *y) == !expected.empty());
  }
}

}  // namespace
}  // namespace liaison::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  liaison::fuzz::CheckKindsOnce();
  FuzzedDataProvider in(data, size);
  switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0: liaison::fuzz::CheckKeys(in); break;
    case 1: liaison::fuzz::CheckAdjacencyOps(in); break;
    case 2: liaison::fuzz::CheckAdjacencyBytes(in); break;
    case 3: liaison::fuzz::CheckIntersections(in); break;
  }
  return 0;
}
