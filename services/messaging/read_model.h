// Messaging's read model (DESIGN.md §6, issue #12): what the send policy
// needs to know about other services' data, kept in memory so a send between
// connections asks no one.
//
// It holds, bounded by `max_entries` (sharded LRU):
//   - per pair of members: connected or not, and a block each way;
//   - per member: their account tier (and so that they exist);
//   - per member: their effective privacy settings.
// It is filled from the answers messaging asks for anyway (GetRelationship,
// BatchGetRelationships: the pair and both tiers; GetSettings,
// BatchGetSettings: settings), and kept current by identity's and privacy's
// change feeds (Apply). A change for something not held is dropped; changes
// carry absolute state, so applying one twice is harmless.
//
// Every entry remembers the feed cursor it reflects, and a change applies to
// it only if newer. With several identity shards each entry follows one
// feed: a tier its member's shard's, a pair the feed of the shard owning its
// lower member id (where identity publishes the pair's changes). An answer reflects its feed at
// least up to its change_cursor c, perhaps more: it is held (Offer*) only when no change after c
// touching its members has been applied already (it might predate that change), which is known for
// a bounded window of recent changes and only from the cursor the current stream began at;
// otherwise the caller uses the answer for its request alone.
//
// Thread-safe. Lookups lock one shard per entry; offers and changes are
// serialized among themselves.
#ifndef LIAISON_SERVICES_MESSAGING_READ_MODEL_H_
#define LIAISON_SERVICES_MESSAGING_READ_MODEL_H_

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <optional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "common/ids.h"
#include "common/shard_map.h"
#include "google/protobuf/map.h"
#include "liaison/identity/v1/identity.pb.h"
#include "liaison/privacy/v1/privacy.pb.h"

namespace liaison::messaging {

struct ReadModelOptions {
  static constexpr size_t kDefaultEntries = 1'000'000;
  // Pairs, tiers and settings held at most (together); the least recently
  // used go first. 0 holds nothing (every send asks).
  size_t max_entries = kDefaultEntries;
  // Recent changes remembered per feed to judge whether an answer is fresh.
  size_t recent_changes = 65'536;
  // Identity's and privacy's shards (common/shard_map.h), each with a feed
  // of its own members' changes; null: one feed.
  const ShardMap* identity_shards = nullptr;
  const ShardMap* privacy_shards = nullptr;
};

// The feeds the model follows: identity's and privacy's, one per shard of
// each (the `shard` argument of Begin, Clear and Apply).
enum class ModelFeed { kIdentity = 0, kPrivacy = 1 };

// Where a decision's facts came from (liaison_read_model_answers_total).
enum class ModelSource {
  kModel,  // the read model alone: no call
  kAsked,  // at least one call answered
  kStale,  // a dependency could not answer: the model's last word stood
};

class ReadModel final {
 public:
  ReadModel(ReadModelOptions options, prometheus::Registry& registry);

  ReadModel(const ReadModel&) = delete;
  ReadModel& operator=(const ReadModel&) = delete;

  // The relationship from `member` to `other` as the send policy reads it
  // (degree FIRST or unset, blocks both ways, both tiers), when the model
  // can decide alone: the pair and both tiers are held, and the two are
  // connected or a block stands between them. nullopt otherwise (a degree of
  // 2 or 3 depends on the whole graph: ask identity).
  std::optional<identity::v1::Relationship> Relationship(MemberId member, MemberId other);
  // The member's effective privacy settings, if held.
  std::shared_ptr<const privacy::v1::PrivacySettings> Settings(MemberId member);

  // An identity answer (relationship seen from r.member_id(), as a service
  // sees it) from r.member_id()'s identity shard, reflecting its feed at
  // least up to `change_cursor` and each other shard's in `other_shards`
  // (GetRelationshipResponse). Holds what it can: the pair when that shard
  // is the pair's (the lower id's), each tier whose shard's cursor is known;
  // true if it held all three.
  bool OfferRelationship(const identity::v1::Relationship& r, uint64_t change_cursor,
                         const google::protobuf::Map<uint32_t, uint64_t>& other_shards = {});
  // A privacy answer for `member`. True if held.
  bool OfferSettings(MemberId member, const privacy::v1::PrivacySettings& settings,
                     uint64_t change_cursor);

  // A stream of `feed` began at its head: every change after `floor` will
  // be applied, none before. Forgets what the feed said before (a stream
  // from the head follows a rebuild, or the start).
  void Begin(ModelFeed feed, uint64_t floor, size_t shard = 0);
  // The feed can no longer be followed from where it was (OUT_OF_RANGE):
  // forgets what it said; nothing is held again until Begin.
  void Clear(ModelFeed feed, size_t shard = 0);
  // A change from identity shard `shard`'s feed.
  void Apply(const identity::v1::Change& change, size_t shard = 0);
  // A change from privacy shard `shard`'s feed.
  void Apply(const privacy::v1::SettingsChange& change, size_t shard = 0);

  // Counts one decision's facts by where they came from.
  void Count(ModelSource source);

  size_t size() const { return static_cast<size_t>(size_.load(std::memory_order_relaxed)); }

 private:
  enum class Kind : uint8_t { kPair, kTier, kSettings };
  struct Key {
    Kind kind;
    MemberId a;  // kPair: the lower id
    MemberId b;  // kPair: the higher id; otherwise 0
    bool operator==(const Key& o) const { return kind == o.kind && a == o.a && b == o.b; }
    template <typename H>
    friend H AbslHashValue(H h, const Key& k) {
      return H::combine(std::move(h), k.kind, k.a, k.b);
    }
  };
  struct Entry {
    uint64_t cursor = 0;  // the feed cursor this entry reflects
    bool connected = false;
    bool a_blocks_b = false;
    bool b_blocks_a = false;
    identity::v1::AccountTier tier = identity::v1::ACCOUNT_TIER_UNSPECIFIED;
    std::shared_ptr<const privacy::v1::PrivacySettings> settings;
    std::list<Key>::iterator lru;
  };
  struct Shard {
    absl::Mutex mu;
    absl::flat_hash_map<Key, Entry> entries ABSL_GUARDED_BY(mu);
    std::list<Key> lru ABSL_GUARDED_BY(mu);  // most recent first
  };
  // What a feed has touched lately, to judge an answer's freshness.
  struct Window {
    std::optional<uint64_t> floor;  // unset: no stream has begun
    absl::flat_hash_map<MemberId, uint64_t> last;
    std::deque<std::pair<uint64_t, MemberId>> order;
  };
  static constexpr size_t kShards = 16;

  static Key PairKey(MemberId x, MemberId y) {
    return x < y ? Key{Kind::kPair, x, y} : Key{Kind::kPair, y, x};
  }
  Shard& ShardOf(const Key& key);
  // Runs `read` on the entry under its shard's lock (marking it used);
  // false if not held.
  template <typename F>
  bool Read(const Key& key, F read);
  // Runs `update` on the entry if held and `cursor` is newer than it.
  template <typename F>
  void Update(const Key& key, uint64_t cursor, F update);
  // Holds `entry` unless an entry as new is held.
  void Put(const Key& key, Entry entry);
  void Touch(Window& window, MemberId member, uint64_t cursor)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(feeds_mu_);
  bool Fresh(const Window& window, MemberId member, uint64_t cursor) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(feeds_mu_);
  void ForgetLocked(ModelFeed feed, size_t shard) ABSL_EXCLUSIVE_LOCKS_REQUIRED(feeds_mu_);
  // Drops `key`'s entry, if held.
  void Forget(const Key& key);
  // windows_[s] is identity shard s's; windows_[identity shards + s]
  // privacy shard s's.
  size_t WindowOf(ModelFeed feed, size_t shard) const {
    return feed == ModelFeed::kIdentity ? shard : identity_feeds_ + shard;
  }
  size_t IdentityShardOf(MemberId member) const {
    return options_.identity_shards == nullptr ? 0 : options_.identity_shards->ShardOf(member);
  }
  size_t PrivacyShardOf(MemberId member) const {
    return options_.privacy_shards == nullptr ? 0 : options_.privacy_shards->ShardOf(member);
  }
  // The feed an entry follows (ModelFeed and shard).
  std::pair<ModelFeed, size_t> FeedOf(const Key& key) const {
    return key.kind == Kind::kSettings ? std::pair(ModelFeed::kPrivacy, PrivacyShardOf(key.a))
                                       : std::pair(ModelFeed::kIdentity, IdentityShardOf(key.a));
  }

  const ReadModelOptions options_;
  const size_t identity_feeds_;
  const size_t per_shard_;
  std::array<Shard, kShards> shards_;
  std::atomic<int64_t> size_{0};

  absl::Mutex feeds_mu_;  // taken before a shard's
  std::vector<Window> windows_ ABSL_GUARDED_BY(feeds_mu_);

  prometheus::Gauge& entries_gauge_;
  prometheus::Counter& from_model_;
  prometheus::Counter& asked_;
  prometheus::Counter& stale_;
};

}  // namespace liaison::messaging

#endif  // LIAISON_SERVICES_MESSAGING_READ_MODEL_H_
