// Messaging's read model on its own: what it holds, what a change does to
// it, and when an answer is too old to hold (the race between an answer in
// flight and a change applied meanwhile).
#include "services/messaging/read_model.h"

#include <catch2/catch.hpp>

namespace liaison::messaging {
namespace {

using identity::v1::AccountTier;

identity::v1::Relationship Answer(MemberId member, MemberId other, bool connected,
                                  bool by_member = false, bool by_other = false) {
  identity::v1::Relationship r;
  r.set_member_id(FormatMemberId(member));
  r.set_other_member_id(FormatMemberId(other));
  r.set_degree(connected ? identity::v1::DEGREE_FIRST : identity::v1::DEGREE_SECOND);
  r.set_blocked(by_member || by_other);
  r.set_blocked_by_member(by_member);
  r.set_blocked_by_other(by_other);
  r.set_member_tier(identity::v1::ACCOUNT_TIER_BASIC);
  r.set_other_tier(identity::v1::ACCOUNT_TIER_PREMIUM_CAREER);
  return r;
}

identity::v1::Change Block(uint64_t cursor, MemberId blocker, MemberId blocked, bool on) {
  identity::v1::Change c;
  c.set_cursor(cursor);
  c.mutable_block()->set_blocker_member_id(FormatMemberId(blocker));
  c.mutable_block()->set_blocked_member_id(FormatMemberId(blocked));
  c.mutable_block()->set_blocked(on);
  return c;
}

identity::v1::Change Connection(uint64_t cursor, MemberId a, MemberId b, bool on) {
  identity::v1::Change c;
  c.set_cursor(cursor);
  c.mutable_connection()->set_member_id(FormatMemberId(a));
  c.mutable_connection()->set_other_member_id(FormatMemberId(b));
  c.mutable_connection()->set_connected(on);
  return c;
}

identity::v1::Change Tier(uint64_t cursor, MemberId m, AccountTier tier) {
  identity::v1::Change c;
  c.set_cursor(cursor);
  c.mutable_tier()->set_member_id(FormatMemberId(m));
  c.mutable_tier()->set_tier(tier);
  return c;
}

privacy::v1::SettingsChange Settings(uint64_t cursor, MemberId m, bool inmail) {
  privacy::v1::SettingsChange c;
  c.set_cursor(cursor);
  c.mutable_settings()->set_member_id(FormatMemberId(m));
  c.mutable_settings()->set_inmail_acceptance(inmail);
  return c;
}

struct ModelFixture {
  prometheus::Registry registry;
  ReadModel model{ReadModelOptions{}, registry};
};

TEST_CASE("Read model: nothing is held before a feed's stream has begun") {
  ModelFixture f;
  CHECK_FALSE(f.model.OfferRelationship(Answer(1, 2, true), 5));
  CHECK_FALSE(f.model.OfferSettings(2, privacy::v1::PrivacySettings(), 5));
  CHECK(f.model.size() == 0);
}

TEST_CASE("Read model: a connected pair is known both ways, with both tiers") {
  ModelFixture f;
  f.model.Begin(ModelFeed::kIdentity, 10);
  REQUIRE(f.model.OfferRelationship(Answer(1, 2, true), 10));
  auto r = f.model.Relationship(2, 1);
  REQUIRE(r.has_value());
  CHECK(r->degree() == identity::v1::DEGREE_FIRST);
  CHECK_FALSE(r->blocked());
  CHECK(r->member_tier() == identity::v1::ACCOUNT_TIER_PREMIUM_CAREER);
  CHECK(r->other_tier() == identity::v1::ACCOUNT_TIER_BASIC);
  CHECK(f.model.size() == 3);
}

TEST_CASE("Read model: a pair neither connected nor blocked is left to identity") {
  ModelFixture f;
  f.model.Begin(ModelFeed::kIdentity, 0);
  REQUIRE(f.model.OfferRelationship(Answer(1, 2, false), 3));
  CHECK_FALSE(f.model.Relationship(1, 2).has_value());
}

TEST_CASE("Read model: changes apply to what is held, and blocks are told apart by direction") {
  ModelFixture f;
  f.model.Begin(ModelFeed::kIdentity, 10);
  REQUIRE(f.model.OfferRelationship(Answer(1, 2, true), 10));
  f.model.Apply(Block(11, 2, 1, true));
  f.model.Apply(Connection(12, 1, 2, false));
  auto r = f.model.Relationship(1, 2);
  REQUIRE(r.has_value());
  CHECK(r->blocked());
  CHECK(r->blocked_by_other());
  CHECK_FALSE(r->blocked_by_member());
  CHECK(r->degree() != identity::v1::DEGREE_FIRST);
  // Applied twice: the same.
  f.model.Apply(Block(11, 2, 1, true));
  CHECK(f.model.Relationship(1, 2)->blocked());
  f.model.Apply(Block(13, 2, 1, false));
  CHECK_FALSE(f.model.Relationship(1, 2).has_value());  // neither: ask identity
  f.model.Apply(Connection(14, 2, 1, true));
  f.model.Apply(Tier(15, 1, identity::v1::ACCOUNT_TIER_SALES_NAVIGATOR));
  r = f.model.Relationship(1, 2);
  REQUIRE(r.has_value());
  CHECK(r->degree() == identity::v1::DEGREE_FIRST);
  CHECK(r->member_tier() == identity::v1::ACCOUNT_TIER_SALES_NAVIGATOR);
}

TEST_CASE("Read model: a change for something not held is dropped") {
  ModelFixture f;
  f.model.Begin(ModelFeed::kIdentity, 0);
  f.model.Begin(ModelFeed::kPrivacy, 0);
  f.model.Apply(Connection(1, 1, 2, true));
  f.model.Apply(Tier(2, 1, identity::v1::ACCOUNT_TIER_PREMIUM_CAREER));
  f.model.Apply(Settings(1, 1, false));
  CHECK(f.model.size() == 0);
  CHECK(f.model.Settings(1) == nullptr);
}

TEST_CASE("Read model: an answer older than a change already applied to a member is not held") {
  ModelFixture f;
  f.model.Begin(ModelFeed::kIdentity, 10);
  // Identity answered at 11, then 2 blocked 1 at 12; the change arrived
  // before the answer did: holding the answer would forget the block.
  f.model.Apply(Block(12, 2, 1, true));
  CHECK_FALSE(f.model.OfferRelationship(Answer(1, 2, true), 11));
  CHECK_FALSE(f.model.Relationship(1, 2).has_value());
  // The other member's change counts as much.
  f.model.Apply(Tier(13, 3, identity::v1::ACCOUNT_TIER_BASIC));
  CHECK_FALSE(f.model.OfferRelationship(Answer(4, 3, true), 12));
  // An answer that reflects the change is held.
  CHECK(f.model.OfferRelationship(Answer(1, 2, false, false, true), 12));
  CHECK(f.model.Relationship(1, 2)->blocked());
  // Settings: the same rule on privacy's feed.
  f.model.Begin(ModelFeed::kPrivacy, 5);
  f.model.Apply(Settings(7, 2, false));
  privacy::v1::PrivacySettings old;
  old.set_inmail_acceptance(true);
  CHECK_FALSE(f.model.OfferSettings(2, old, 6));
  CHECK(f.model.OfferSettings(2, Settings(7, 2, false).settings(), 7));
  CHECK_FALSE(f.model.Settings(2)->inmail_acceptance());
}

TEST_CASE("Read model: an answer from before the stream began is not held") {
  ModelFixture f;
  f.model.Begin(ModelFeed::kIdentity, 10);
  CHECK_FALSE(f.model.OfferRelationship(Answer(1, 2, true), 9));
  CHECK(f.model.OfferRelationship(Answer(1, 2, true), 10));
}

TEST_CASE("Read model: an answer newer than the stream is not undone by older changes") {
  ModelFixture f;
  f.model.Begin(ModelFeed::kIdentity, 10);
  // Identity answered at 20 (connected); the feed's older changes (a
  // resumed stream catching up) arrive afterwards.
  REQUIRE(f.model.OfferRelationship(Answer(1, 2, true), 20));
  f.model.Apply(Connection(15, 1, 2, false));
  f.model.Apply(Block(16, 1, 2, true));
  auto r = f.model.Relationship(1, 2);
  REQUIRE(r.has_value());
  CHECK(r->degree() == identity::v1::DEGREE_FIRST);
  CHECK_FALSE(r->blocked());
  f.model.Apply(Block(21, 1, 2, true));
  CHECK(f.model.Relationship(1, 2)->blocked_by_member());
}

TEST_CASE("Read model: past the window of recent changes, older answers are not held") {
  prometheus::Registry registry;
  ReadModel model(ReadModelOptions{1000, 2}, registry);
  model.Begin(ModelFeed::kIdentity, 0);
  model.Apply(Tier(5, 7, identity::v1::ACCOUNT_TIER_BASIC));
  model.Apply(Tier(6, 8, identity::v1::ACCOUNT_TIER_BASIC));
  model.Apply(Tier(7, 9, identity::v1::ACCOUNT_TIER_BASIC));  // forgets who changed at 5
  CHECK_FALSE(model.OfferRelationship(Answer(1, 2, true), 4));
  CHECK(model.OfferRelationship(Answer(1, 2, true), 5));
}

TEST_CASE("Read model: clearing a feed forgets what it said, and nothing is held until Begin") {
  ModelFixture f;
  f.model.Begin(ModelFeed::kIdentity, 0);
  f.model.Begin(ModelFeed::kPrivacy, 0);
  REQUIRE(f.model.OfferRelationship(Answer(1, 2, true), 1));
  REQUIRE(f.model.OfferSettings(2, privacy::v1::PrivacySettings(), 1));
  f.model.Clear(ModelFeed::kIdentity);
  CHECK_FALSE(f.model.Relationship(1, 2).has_value());
  CHECK(f.model.Settings(2) != nullptr);
  CHECK(f.model.size() == 1);
  CHECK_FALSE(f.model.OfferRelationship(Answer(1, 2, true), 100));
  f.model.Begin(ModelFeed::kIdentity, 100);
  CHECK(f.model.OfferRelationship(Answer(1, 2, true), 100));
}

TEST_CASE("Read model: the number of entries stays within its bound") {
  prometheus::Registry registry;
  ReadModel model(ReadModelOptions{64, 1000}, registry);
  model.Begin(ModelFeed::kIdentity, 0);
  for (MemberId m = 1; m <= 1000; ++m) model.OfferRelationship(Answer(m, m + 5000, true), 1);
  CHECK(model.size() <= 64);
  CHECK(model.size() > 0);
  // The most recent pair survives.
  CHECK(model.Relationship(1000, 6000).has_value());
}

TEST_CASE("Read model: a bound of 0 holds nothing") {
  prometheus::Registry registry;
  ReadModel model(ReadModelOptions{0, 1000}, registry);
  model.Begin(ModelFeed::kIdentity, 0);
  model.OfferRelationship(Answer(1, 2, true), 1);
  CHECK(model.size() == 0);
  CHECK_FALSE(model.Relationship(1, 2).has_value());
}

TEST_CASE("Read model: each privacy shard's feed judges its own members, by its own cursors") {
  const ShardMap map =
      ShardMap::Parse(R"({"epoch":1,"shards":[{"partitions":"0-2047","privacy":"h:1"},)"
                      R"({"partitions":"2048-4095","privacy":"h:2"}]})",
                      "test")
          .value();
  prometheus::Registry registry;
  ReadModel model(ReadModelOptions{100, 16, nullptr, &map}, registry);
  MemberId a = 1, b = 1;
  while (map.ShardOf(a) != 0) ++a;
  while (map.ShardOf(b) != 1) ++b;
  model.Begin(ModelFeed::kPrivacy, 0, 0);
  model.Begin(ModelFeed::kPrivacy, 100, 1);
  // Shard 0's feed is at 50 with a change to a; shard 1's began at 100.
  model.Apply(Settings(50, a, false), 0);
  privacy::v1::PrivacySettings on;
  on.set_inmail_acceptance(true);
  // b's answer is judged by shard 1's feed: 120 is after it began, and no
  // change of b since: held, though shard 0 has seen cursor 50 only.
  CHECK(model.OfferSettings(b, on, 120));
  // a's answer from before shard 0's change to a is not.
  CHECK_FALSE(model.OfferSettings(a, on, 40));
  CHECK(model.OfferSettings(a, Settings(50, a, false).settings(), 50));
  // A change on shard 1's feed reaches b.
  model.Apply(Settings(121, b, false), 1);
  CHECK_FALSE(model.Settings(b)->inmail_acceptance());
  // Losing shard 0's feed forgets its members only.
  model.Clear(ModelFeed::kPrivacy, 0);
  CHECK(model.Settings(a) == nullptr);
  REQUIRE(model.Settings(b) != nullptr);
  CHECK_FALSE(model.Settings(b)->inmail_acceptance());
  // And before shard 0 begins again, nothing of its members is held.
  CHECK_FALSE(model.OfferSettings(a, on, 60));
  CHECK(model.OfferSettings(b, on, 121));
}

TEST_CASE("Read model: with identity shards, a pair follows its lower member's shard's feed") {
  const ShardMap map =
      ShardMap::Parse(R"({"epoch":1,"shards":[{"partitions":"0-2047","identity":"h:1"},)"
                      R"({"partitions":"2048-4095","identity":"h:2"}]})",
                      "test")
          .value();
  prometheus::Registry registry;
  ReadModel model(ReadModelOptions{100, 16, &map}, registry);
  // low < high, on different shards: the pair's home is low's.
  MemberId low = 1, high = 2;
  while (map.ShardOf(low) == map.ShardOf(high) || low > high) ++high;
  const size_t home = map.ShardOf(low), away = map.ShardOf(high);
  model.Begin(ModelFeed::kIdentity, 0, home);
  model.Begin(ModelFeed::kIdentity, 1000, away);
  google::protobuf::Map<uint32_t, uint64_t> away_cursor;
  away_cursor[static_cast<uint32_t>(away)] = 1001;

  SECTION("asked of the higher member's shard: both tiers are held, the pair is not") {
    // That shard's copy of the pair is not what the pair's feed orders.
    google::protobuf::Map<uint32_t, uint64_t> home_cursor;
    home_cursor[static_cast<uint32_t>(home)] = 5;
    CHECK_FALSE(model.OfferRelationship(Answer(high, low, true), 1001, home_cursor));
    CHECK_FALSE(model.Relationship(low, high).has_value());
    CHECK(model.size() == 2);
  }
  SECTION("asked of the lower member's shard, with the other shard's cursor: all of it is held") {
    REQUIRE(model.OfferRelationship(Answer(low, high, true), 5, away_cursor));
    auto r = model.Relationship(high, low);
    REQUIRE(r.has_value());
    CHECK(r->degree() == identity::v1::DEGREE_FIRST);
    CHECK(r->member_tier() == identity::v1::ACCOUNT_TIER_PREMIUM_CAREER);
    // The pair's changes come on the home feed, the higher tier's on its own.
    model.Apply(Block(6, high, low, true), home);
    model.Apply(Tier(1002, high, identity::v1::ACCOUNT_TIER_BASIC), away);
    r = model.Relationship(low, high);
    REQUIRE(r.has_value());
    CHECK(r->blocked_by_other());
    CHECK(r->other_tier() == identity::v1::ACCOUNT_TIER_BASIC);
    // A change about the pair on the other feed (maps that disagree) drops it.
    model.Apply(Connection(1003, low, high, false), away);
    CHECK_FALSE(model.Relationship(low, high).has_value());
  }
  SECTION("without the other shard's cursor, its member's tier is not held") {
    CHECK_FALSE(model.OfferRelationship(Answer(low, high, true), 5));
    CHECK_FALSE(model.Relationship(low, high).has_value());
    CHECK(model.size() == 2);  // the pair and the lower member's tier
  }
  SECTION("each feed judges freshness by its own cursors") {
    model.Apply(Tier(1500, high, identity::v1::ACCOUNT_TIER_BASIC), away);
    // The away cursor 1001 predates that change: the higher tier is not held.
    CHECK_FALSE(model.OfferRelationship(Answer(low, high, true), 5, away_cursor));
    away_cursor[static_cast<uint32_t>(away)] = 1500;
    CHECK(model.OfferRelationship(Answer(low, high, true), 5, away_cursor));
  }
  SECTION("losing one identity feed forgets what it said only") {
    REQUIRE(model.OfferRelationship(Answer(low, high, true), 5, away_cursor));
    model.Clear(ModelFeed::kIdentity, away);
    CHECK(model.size() == 2);  // the pair and the lower tier stay
    CHECK_FALSE(model.Relationship(low, high).has_value());
    // Until the away feed begins again, its members' tiers are not held.
    CHECK_FALSE(model.OfferRelationship(Answer(low, high, true), 5, away_cursor));
    model.Begin(ModelFeed::kIdentity, 1600, away);
    away_cursor[static_cast<uint32_t>(away)] = 1600;
    CHECK(model.OfferRelationship(Answer(low, high, true), 5, away_cursor));
  }
}

}  // namespace
}  // namespace liaison::messaging
