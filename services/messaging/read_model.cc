#include "services/messaging/read_model.h"

#include <algorithm>
#include <utility>

namespace liaison::messaging {
namespace {

std::optional<MemberId> IdOf(const std::string& text) {
  auto id = ParseMemberId(text, "member_id");
  if (!id.ok()) return std::nullopt;
  return *id;
}

prometheus::Family<prometheus::Counter>& AnswersFamily(prometheus::Registry& registry) {
  return prometheus::BuildCounter()
      .Name("liaison_read_model_answers_total")
      .Help(
          "Send decisions by where their facts came from: the read model alone (model), a "
          "call to identity or privacy (asked), or the read model because the call failed "
          "(stale).")
      .Register(registry);
}

}  // namespace

ReadModel::ReadModel(ReadModelOptions options, prometheus::Registry& registry)
    : options_(options),
      identity_feeds_(options.identity_shards == nullptr ? 1 : options.identity_shards->size()),
      per_shard_(options.max_entries == 0 ? 0 : std::max<size_t>(1, options.max_entries / kShards)),
      entries_gauge_(prometheus::BuildGauge()
                         .Name("liaison_read_model_entries")
                         .Help("Pairs, tiers and privacy settings held by messaging's read model.")
                         .Register(registry)
                         .Add({})),
      from_model_(AnswersFamily(registry).Add({{"source", "model"}})),
      asked_(AnswersFamily(registry).Add({{"source", "asked"}})),
      stale_(AnswersFamily(registry).Add({{"source", "stale"}})) {
  absl::MutexLock lock(&feeds_mu_);
  windows_.resize(identity_feeds_ +
                  (options_.privacy_shards == nullptr ? 1 : options_.privacy_shards->size()));
}

ReadModel::Shard& ReadModel::ShardOf(const Key& key) {
  return shards_[(absl::HashOf(key) >> 60) % kShards];  // the map uses the low bits
}

template <typename F>
bool ReadModel::Read(const Key& key, F read) {
  Shard& shard = ShardOf(key);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.entries.find(key);
  if (it == shard.entries.end()) return false;
  shard.lru.splice(shard.lru.begin(), shard.lru, it->second.lru);
  read(it->second);
  return true;
}

template <typename F>
void ReadModel::Update(const Key& key, uint64_t cursor, F update) {
  Shard& shard = ShardOf(key);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.entries.find(key);
  if (it == shard.entries.end() || cursor <= it->second.cursor) return;
  update(it->second);
  it->second.cursor = cursor;
}

void ReadModel::Forget(const Key& key) {
  Shard& shard = ShardOf(key);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.entries.find(key);
  if (it == shard.entries.end()) return;
  shard.lru.erase(it->second.lru);
  shard.entries.erase(it);
  entries_gauge_.Set(static_cast<double>(size_.fetch_sub(1, std::memory_order_relaxed) - 1));
}

void ReadModel::Put(const Key& key, Entry entry) {
  if (per_shard_ == 0) return;
  Shard& shard = ShardOf(key);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.entries.find(key);
  if (it != shard.entries.end()) {
    shard.lru.splice(shard.lru.begin(), shard.lru, it->second.lru);
    if (it->second.cursor >= entry.cursor) return;  // what is held is as new
    entry.lru = it->second.lru;
    it->second = std::move(entry);
    return;
  }
  while (shard.entries.size() >= per_shard_) {
    shard.entries.erase(shard.lru.back());
    shard.lru.pop_back();
    size_.fetch_sub(1, std::memory_order_relaxed);
  }
  shard.lru.push_front(key);
  entry.lru = shard.lru.begin();
  shard.entries.emplace(key, std::move(entry));
  entries_gauge_.Set(static_cast<double>(size_.fetch_add(1, std::memory_order_relaxed) + 1));
}

std::optional<identity::v1::Relationship> ReadModel::Relationship(MemberId member, MemberId other) {
  const Key pair = PairKey(member, other);
  bool connected = false, by_member = false, by_other = false;
  if (!Read(pair, [&](const Entry& e) {
        connected = e.connected;
        by_member = member == pair.a ? e.a_blocks_b : e.b_blocks_a;
        by_other = member == pair.a ? e.b_blocks_a : e.a_blocks_b;
      })) {
    return std::nullopt;
  }
  if (!connected && !by_member && !by_other) return std::nullopt;
  identity::v1::AccountTier member_tier, other_tier;
  if (!Read(Key{Kind::kTier, member, 0}, [&](const Entry& e) { member_tier = e.tier; }) ||
      !Read(Key{Kind::kTier, other, 0}, [&](const Entry& e) { other_tier = e.tier; })) {
    return std::nullopt;
  }
  identity::v1::Relationship r;
  r.set_member_id(FormatMemberId(member));
  r.set_other_member_id(FormatMemberId(other));
  if (connected) r.set_degree(identity::v1::DEGREE_FIRST);
  r.set_blocked(by_member || by_other);
  r.set_blocked_by_member(by_member);
  r.set_blocked_by_other(by_other);
  r.set_member_tier(member_tier);
  r.set_other_tier(other_tier);
  return r;
}

std::shared_ptr<const privacy::v1::PrivacySettings> ReadModel::Settings(MemberId member) {
  std::shared_ptr<const privacy::v1::PrivacySettings> settings;
  Read(Key{Kind::kSettings, member, 0}, [&](const Entry& e) { settings = e.settings; });
  return settings;
}

bool ReadModel::OfferRelationship(const identity::v1::Relationship& r, uint64_t change_cursor,
                                  const google::protobuf::Map<uint32_t, uint64_t>& other_shards) {
  const auto member = IdOf(r.member_id());
  const auto other = IdOf(r.other_member_id());
  if (!member || !other || *member == *other) return false;
  // The answer was made on the member's shard, from its store.
  const size_t answered = IdentityShardOf(*member);
  auto cursor_of = [&](size_t shard) -> std::optional<uint64_t> {
    if (shard == answered) return change_cursor;
    auto it = other_shards.find(static_cast<uint32_t>(shard));
    if (it == other_shards.end()) return std::nullopt;
    return it->second;
  };
  absl::MutexLock lock(&feeds_mu_);
  int held = 0;
  // The pair as the member's shard stores it: its feed's word only where
  // that feed is the pair's.
  const Key pair = PairKey(*member, *other);
  const Window& home = windows_[WindowOf(ModelFeed::kIdentity, answered)];
  if (IdentityShardOf(pair.a) == answered && Fresh(home, *member, change_cursor) &&
      Fresh(home, *other, change_cursor)) {
    Entry facts;
    facts.cursor = change_cursor;
    facts.connected = r.degree() == identity::v1::DEGREE_FIRST;
    const bool member_is_a = *member == pair.a;
    facts.a_blocks_b = member_is_a ? r.blocked_by_member() : r.blocked_by_other();
    facts.b_blocks_a = member_is_a ? r.blocked_by_other() : r.blocked_by_member();
    Put(pair, std::move(facts));
    ++held;
  }
  for (const auto& [id, tier] :
       {std::pair(*member, r.member_tier()), std::pair(*other, r.other_tier())}) {
    const size_t shard = IdentityShardOf(id);
    const auto cursor = cursor_of(shard);
    if (!cursor || !Fresh(windows_[WindowOf(ModelFeed::kIdentity, shard)], id, *cursor)) continue;
    Entry entry;
    entry.cursor = *cursor;
    entry.tier = tier;
    Put(Key{Kind::kTier, id, 0}, std::move(entry));
    ++held;
  }
  return held == 3;
}

bool ReadModel::OfferSettings(MemberId member, const privacy::v1::PrivacySettings& settings,
                              uint64_t change_cursor) {
  absl::MutexLock lock(&feeds_mu_);
  const Window& window = windows_[WindowOf(ModelFeed::kPrivacy, PrivacyShardOf(member))];
  if (!Fresh(window, member, change_cursor)) return false;
  Entry entry;
  entry.cursor = change_cursor;
  entry.settings = std::make_shared<const privacy::v1::PrivacySettings>(settings);
  Put(Key{Kind::kSettings, member, 0}, std::move(entry));
  return true;
}

void ReadModel::Begin(ModelFeed feed, uint64_t floor, size_t shard) {
  absl::MutexLock lock(&feeds_mu_);
  ForgetLocked(feed, shard);
  windows_[WindowOf(feed, shard)].floor = floor;
}

void ReadModel::Clear(ModelFeed feed, size_t shard) {
  absl::MutexLock lock(&feeds_mu_);
  ForgetLocked(feed, shard);
}

void ReadModel::ForgetLocked(ModelFeed feed, size_t feed_shard) {
  windows_[WindowOf(feed, feed_shard)] = Window{};
  for (Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mu);
    for (auto it = shard.lru.begin(); it != shard.lru.end();) {
      if (FeedOf(*it) != std::pair(feed, feed_shard)) {
        ++it;
        continue;
      }
      shard.entries.erase(*it);
      it = shard.lru.erase(it);
      size_.fetch_sub(1, std::memory_order_relaxed);
    }
  }
  entries_gauge_.Set(static_cast<double>(size_.load(std::memory_order_relaxed)));
}

void ReadModel::Touch(Window& window, MemberId member, uint64_t cursor) {
  uint64_t& last = window.last[member];
  last = std::max(last, cursor);
  window.order.emplace_back(cursor, member);
  while (window.order.size() > options_.recent_changes) {
    const auto [oldest, who] = window.order.front();
    window.order.pop_front();
    auto it = window.last.find(who);
    if (it != window.last.end() && it->second == oldest) window.last.erase(it);
    // Whether `who` changed after an answer older than this is forgotten.
    window.floor = std::max(window.floor.value_or(0), oldest);
  }
}

bool ReadModel::Fresh(const Window& window, MemberId member, uint64_t cursor) const {
  if (!window.floor.has_value() || cursor < *window.floor) return false;
  auto it = window.last.find(member);
  return it == window.last.end() || it->second <= cursor;
}

void ReadModel::Apply(const identity::v1::Change& change, size_t shard) {
  const uint64_t cursor = change.cursor();
  absl::MutexLock lock(&feeds_mu_);
  Window& window = windows_[WindowOf(ModelFeed::kIdentity, shard)];
  // An entry follows one feed; a change about it on another (shard maps
  // that disagree) says it can no longer be trusted to be current.
  auto apply = [&](const Key& key, auto update) {
    if (FeedOf(key) == std::pair(ModelFeed::kIdentity, shard)) {
      Update(key, cursor, update);
    } else {
      Forget(key);
    }
  };
  auto set_tier = [&](const std::string& id, identity::v1::AccountTier tier) {
    const auto member = IdOf(id);
    if (!member) return;
    Touch(window, *member, cursor);
    apply(Key{Kind::kTier, *member, 0}, [tier](Entry& e) { e.tier = tier; });
  };
  auto pair = [&](const std::string& x_id, const std::string& y_id, auto update) {
    const auto x = IdOf(x_id);
    const auto y = IdOf(y_id);
    if (!x || !y || *x == *y) return;
    Touch(window, *x, cursor);
    Touch(window, *y, cursor);
    const Key key = PairKey(*x, *y);
    apply(key, [&](Entry& e) { update(e, *x == key.a); });
  };
  switch (change.change_case()) {
    case identity::v1::Change::kMember:
      set_tier(change.member().member().member_id(), change.member().member().tier());
      break;
    case identity::v1::Change::kTier:
      set_tier(change.tier().member_id(), change.tier().tier());
      break;
    case identity::v1::Change::kConnection: {
      const bool connected = change.connection().connected();
      pair(change.connection().member_id(), change.connection().other_member_id(),
           [connected](Entry& e, bool) { e.connected = connected; });
      break;
    }
    case identity::v1::Change::kBlock: {
      const bool blocked = change.block().blocked();
      pair(change.block().blocker_member_id(), change.block().blocked_member_id(),
           [blocked](Entry& e, bool blocker_is_a) {
             (blocker_is_a ? e.a_blocks_b : e.b_blocks_a) = blocked;
           });
      break;
    }
    default:
      break;  // page follows: not asked for
  }
}

void ReadModel::Apply(const privacy::v1::SettingsChange& change, size_t shard) {
  const auto member = IdOf(change.settings().member_id());
  if (!member) return;
  auto settings = std::make_shared<const privacy::v1::PrivacySettings>(change.settings());
  absl::MutexLock lock(&feeds_mu_);
  Touch(windows_[WindowOf(ModelFeed::kPrivacy, shard)], *member, change.cursor());
  Update(Key{Kind::kSettings, *member, 0}, change.cursor(),
         [&settings](Entry& e) { e.settings = std::move(settings); });
}

void ReadModel::Count(ModelSource source) {
  switch (source) {
    case ModelSource::kModel:
      from_model_.Increment();
      break;
    case ModelSource::kAsked:
      asked_.Increment();
      break;
    case ModelSource::kStale:
      stale_.Increment();
      break;
  }
}

}  // namespace liaison::messaging
