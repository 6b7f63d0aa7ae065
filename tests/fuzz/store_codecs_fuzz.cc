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

#include "common/shard_map.h"
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
  char kind;
  std::vector<Type> shape;
  std::string (*make)(const F& f);
  bool scan_prefix = false;      // a prefix for scans, not a record of its own
  bool unordered_pair = false;   // the two ids are stored lowest first
  bool partitioned = false;      // starts with the first id's partition (KeyBuilder::ForMember)
  bool by_conversation = false;  // ... which is the conversation id's (ConversationPartition)
};

// The record kinds of one column family, as its store's header lists them.
struct Family {
  const char* store;
  const char* name;
  std::vector<Layout> layouts;
};

uint64_t N(const F& f, size_t i) { return f[i].number; }
int64_t Signed(const F& f, size_t i) { return static_cast<int64_t>(f[i].number); }
messaging::v1::Folder Folder(const F& f, size_t i) {
  return static_cast<messaging::v1::Folder>(f[i].number);
}

// A layout whose keys start with their first field's partition: a
// member's or page's (KeyBuilder::ForMember), or a name's (ForName).
Layout Partitioned(char kind, std::vector<Type> shape, std::string (*make)(const F& f),
                   bool scan_prefix = false) {
  return Layout{kind, std::move(shape), make, scan_prefix, false, true};
}

// A layout whose keys start with the partition its first field, a
// conversation id, carries.
Layout OfConversation(char kind, std::vector<Type> shape, std::string (*make)(const F& f),
                      bool scan_prefix = false) {
  return Layout{kind, std::move(shape), make, scan_prefix, false, true, true};
}

const std::vector<Family>& Families() {
  static const auto* families = new std::vector<Family>{
      {"messaging",
       "conversations",
       {OfConversation('C', {kU64}, [](const F& f) { return ms::Conversation(N(f, 0)); }),
        OfConversation('M', {kU64, kU64},
                       [](const F& f) { return ms::Message(N(f, 0), Signed(f, 1)); }),
        OfConversation(
            'M', {kU64}, [](const F& f) { return ms::MessagePrefix(N(f, 0)); }, true),
        {'P',
         {kU64, kU64},
         [](const F& f) { return ms::Pair(N(f, 1), N(f, 0)); },
         false,
         true,
         true},
        Partitioned('G', {kU64, kU64}, [](const F& f) { return ms::PagePair(N(f, 0), N(f, 1)); })}},
      {"messaging",
       "members",
       {Partitioned('S', {kU64, kU64}, [](const F& f) { return ms::State(N(f, 0), N(f, 1)); }),
        Partitioned(
            'I', {kU64, kU8, kTimeDesc, kU64},
            [](const F& f) { return ms::Inbox(N(f, 0), Folder(f, 1), f[2].time, N(f, 3)); }),
        Partitioned(
            'I', {kU64, kU8}, [](const F& f) { return ms::InboxPrefix(N(f, 0), Folder(f, 1)); },
            true),
        Partitioned('K', {kU64, kStr}, [](const F& f) { return ms::Sent(N(f, 0), f[1].text); }),
        Partitioned('U', {kU64, kU64}, [](const F& f) { return ms::Unanswered(N(f, 0), N(f, 1)); }),
        Partitioned('R', {kU64}, [](const F& f) { return ms::Reports(N(f, 0)); }),
        Partitioned('H', {kU64, kU64, kU64},
                    [](const F& f) { return ms::Hidden(N(f, 0), N(f, 1), Signed(f, 2)); }),
        Partitioned(
            'H', {kU64, kU64}, [](const F& f) { return ms::HiddenPrefix(N(f, 0), N(f, 1)); },
            true)}},
      {"messaging",
       "events",
       {Partitioned('E', {kU64, kU64}, [](const F& f) { return ms::Event(N(f, 0), N(f, 1)); }),
        Partitioned(
            'E', {kU64}, [](const F& f) { return ms::EventPrefix(N(f, 0)); }, true)}},
      {"messaging", "outbox", {{'O', {kStr}, [](const F& f) { return ms::Outbox(f[0].text); }}}},
      {"identity",
       "members",
       {Partitioned('m', {kU64}, [](const F& f) { return id::Member(N(f, 0)); }),
        Partitioned('h', {kStr}, [](const F& f) { return id::Handle(f[0].text); }),
        Partitioned('e', {kStr}, [](const F& f) { return id::Email(f[0].text); }),
        Partitioned('p', {kU64}, [](const F& f) { return id::Page(N(f, 0)); }),
        Partitioned('F', {kU64}, [](const F& f) { return id::FollowerCount(N(f, 0)); })}},
      {"identity",
       "graph",
       {Partitioned('a', {kU64}, [](const F& f) { return id::Adjacency(N(f, 0)); })}},
      {"identity",
       "social",
       {Partitioned('v', {kU64, kU64}, [](const F& f) { return id::Invitation(N(f, 0), N(f, 1)); }),
        Partitioned('i', {kU64, kU64}, [](const F& f) { return id::Received(N(f, 0), N(f, 1)); }),
        Partitioned('n', {kU64, kTimeDesc, kU64},
                    [](const F& f) { return id::Incoming(N(f, 0), f[1].time, N(f, 2)); }),
        Partitioned('o', {kU64, kTimeDesc, kU64},
                    [](const F& f) { return id::Outgoing(N(f, 0), f[1].time, N(f, 2)); }),
        Partitioned('q', {kU64, kTime, kU64},
                    [](const F& f) { return id::SentLog(N(f, 0), f[1].time, N(f, 2)); }),
        Partitioned('N', {kU64, kU32},
                    [](const F& f) { return id::Notes(N(f, 0), static_cast<uint32_t>(N(f, 1))); }),
        Partitioned('w', {kU64, kU64}, [](const F& f) { return id::Withdrawn(N(f, 0), N(f, 1)); }),
        Partitioned('x', {kU64, kU64}, [](const F& f) { return id::DontKnow(N(f, 0), N(f, 1)); }),
        Partitioned('X', {kU64, kU64}, [](const F& f) { return id::RefusedBy(N(f, 0), N(f, 1)); }),
        Partitioned('b', {kU64, kU64}, [](const F& f) { return id::Block(N(f, 0), N(f, 1)); }),
        Partitioned('k', {kU64, kU64}, [](const F& f) { return id::BlockedBy(N(f, 0), N(f, 1)); }),
        Partitioned('u', {kU64, kU64}, [](const F& f) { return id::Unblock(N(f, 0), N(f, 1)); }),
        Partitioned('f', {kU64, kU64}, [](const F& f) { return id::Follower(N(f, 0), N(f, 1)); }),
        Partitioned(
            'n', {kU64}, [](const F& f) { return id::Prefix('n', N(f, 0)); }, true)}},
      {"identity",
       "outbox",
       {Partitioned('r', {kU64}, [](const F& f) { return id::Registration(N(f, 0)); })}},
      {"credits",
       "ledger",
       {{'A', {kU64}, [](const F& f) { return cr::Account(N(f, 0)); }, false, false, true},
        {'L',
         {kU64, kDesc},
         [](const F& f) { return cr::Entry(N(f, 0), Signed(f, 1)); },
         false,
         false,
         true},
        {'L', {kU64}, [](const F& f) { return cr::EntryPrefix(N(f, 0)); }, true, false, true},
        {'H',
         {kU64, kStr},
         [](const F& f) { return cr::Hold(N(f, 0), f[1].text); },
         false,
         false,
         true},
        {'K',
         {kU64, kStr},
         [](const F& f) { return cr::Purchase(N(f, 0), f[1].text); },
         false,
         false,
         true}}},
      {"credits",
       "expiry",
       {{'X',
         {kTime, kU64, kStr},
         [](const F& f) { return cr::Expiry(f[0].time, N(f, 1), f[2].text); }}}},
      {"privacy",
       "settings",
       {{'s',
         {kU64},
         [](const F& f) { return privacy::PrivacyStore::Key(N(f, 0)); },
         false,
         false,
         true},
        {'m',
         {kU64},
         [](const F& f) { return privacy::PrivacyStore::MemberKey(N(f, 0)); },
         false,
         false,
         true}}},
  };
  return *families;
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
    for (const Family& family : Families()) {
      std::set<char> kinds;
      for (const Layout& l : family.layouts)
        FUZZ_CHECK(l.scan_prefix || kinds.insert(l.kind).second);
    }
    return true;
  }();
  (void)checked;
}

void CheckKeys(FuzzedDataProvider& in) {
  const Family& family = Families()[in.ConsumeIntegralInRange<size_t>(0, Families().size() - 1)];
  const Layout& l = family.layouts[in.ConsumeIntegralInRange<size_t>(0, family.layouts.size() - 1)];
  F fields;
  for (Type t : l.shape) fields.push_back(MakeField(t, in));
  const std::string key = l.make(fields);
  if (l.unordered_pair && fields[1].number < fields[0].number) std::swap(fields[0], fields[1]);
  std::string expected = Build(l.kind, fields);
  if (l.partitioned) {
    const uint32_t partition = l.by_conversation
                                   ? messaging::ConversationPartition(fields[0].number)
                               : l.shape[0] == kStr ? PartitionOfName(fields[0].text)
                                                    : PartitionOf(fields[0].number);
    expected.insert(0, {static_cast<char>(partition >> 8), static_cast<char>(partition & 0xff)});
  }
  FUZZ_CHECK(key == expected);
  FUZZ_CHECK(key.size() >= PrefixLength(family.store, family.name));

  // Values that hold a number or a time read back with KeyReader, as the
  // stores read them.
  const uint64_t n = in.ConsumeIntegral<uint64_t>();
  for (const std::string& value :
       {messaging::MessagingStore::EncodeId(n), identity::IdentityStore::EncodeCounter(n)}) {
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
    const MemberId member =
        small ? in.ConsumeIntegralInRange<MemberId>(1, 64) : in.ConsumeIntegral<MemberId>();
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
    case 0:
      liaison::fuzz::CheckKeys(in);
      break;
    case 1:
      liaison::fuzz::CheckAdjacencyOps(in);
      break;
    case 2:
      liaison::fuzz::CheckAdjacencyBytes(in);
      break;
    case 3:
      liaison::fuzz::CheckIntersections(in);
      break;
  }
  return 0;
}
