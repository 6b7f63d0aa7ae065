#include "services/credits/tier_feed.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "common/clock.h"
#include "common/logging.h"
#include "common/status.h"

namespace liaison::credits {
namespace {

// BatchGetMembers takes up to 100 members (identity.proto).
constexpr size_t kRebuildBatch = 100;
constexpr absl::Duration kRebuildCallTimeout = absl::Seconds(10);
constexpr absl::Duration kStartWait = absl::Seconds(2);

// Ends the stream (FeedFollower::Follow makes it UNAVAILABLE).
absl::Status StreamFailed(const absl::Status& status) {
  return absl::UnavailableError("credits could not store a tier change: " + status.ToString());
}

}  // namespace

TierFeed::TierFeed(CreditLogic* logic, const CreditStore* store,
                   identity::v1::IdentityService::Stub* identity, ServiceTokenSource* tokens,
                   const ShardIdentity* shard, prometheus::Registry& registry)
    : logic_(logic),
      store_(store),
      identity_(identity),
      tokens_(tokens),
      shard_(shard),
      registry_(registry) {}

TierFeed::~TierFeed() { Stop(); }

absl::Status TierFeed::Start() {
  ASSIGN_OR_RETURN(stored_, store_->GetFeedCursor(kFeed));
  std::optional<uint64_t> start = stored_;
  if (!stored_.has_value()) {
    // Never followed: accounts written before (from identity's answers
    // alone) may be behind identity, so set them from it first. With no
    // accounts, every retained change is replayed.
    ASSIGN_OR_RETURN(auto any, store_->AccountMembers(0, 1));
    rebuild_first_ = !any.empty();
    start = 0;
  }
  FeedFollowerOptions options;
  options.feed = "identity";
  options.consumer = "credits";
  follower_ = std::make_unique<FeedFollower>(
      std::move(options), start,
      [this](grpc::ClientContext* context) {
        // No deadline: the stream stays open.
        context->AddMetadata("authorization", "Bearer " + tokens_->Token());
      },
      [this](grpc::ClientContext* context, std::optional<uint64_t> after) {
        return Run(context, after);
      },
      [this] { return Rebuild(); }, registry_);
  follower_->Start();
  // Serve once caught up (or after kStartWait, identity being down): a read
  // before then would apply identity's tier alone, and miss a cancellation
  // that came and went while credits was down.
  const absl::Time until = absl::Now() + kStartWait;
  while (!follower_->Live() && absl::Now() < until) absl::SleepFor(absl::Milliseconds(10));
  if (!follower_->Live()) {
    LogWarn("credits_tier_feed_not_live_at_start",
            {{"feed", kFeed}, {"effect", "reads apply identity's tier until the feed catches up"}});
  }
  return absl::OkStatus();
}

void TierFeed::Stop() {
  stopping_ = true;
  if (follower_ != nullptr) follower_->Stop();
}

void TierFeed::Resolve(MemberFacts facts, std::function<void(const MemberFacts&)> done) {
  if (facts.cursor == 0 || follower_ == nullptr) {
    // Identity gave no cursor to wait for: its answer is all there is.
    NoteRead(false);
    done(facts);
    return;
  }
  follower_->WhenApplied(facts.cursor, kReadWait,
                         [this, facts, done = std::move(done)](bool reached) mutable {
                           facts.feed_applied = reached;
                           NoteRead(reached);
                           done(facts);
                         });
}

void TierFeed::NoteRead(bool from_feed) {
  const int now = from_feed ? 1 : 2;
  if (last_read_.exchange(now) == now) return;
  if (from_feed) {
    LogInfo("credits_tiers_from_feed",
            {{"feed", kFeed}, {"effect", "reads use the tier the change feed wrote"}});
  } else {
    LogWarn("credits_tier_fallback",
            {{"feed", kFeed},
             {"live", follower_ != nullptr && follower_->Live()},
             {"effect", "reads apply identity's tier themselves until the feed catches up"}});
  }
}

grpc::Status TierFeed::Run(grpc::ClientContext* context, std::optional<uint64_t> after) {
  if (rebuild_first_) {
    rebuild_first_ = false;
    return grpc::Status(grpc::StatusCode::OUT_OF_RANGE,
                        "credits has accounts but no stored cursor of identity's feed");
  }
  identity::v1::WatchChangesRequest request;
  if (after.has_value()) request.set_after_cursor(*after);
  request.add_kinds(identity::v1::CHANGE_KIND_TIER);
  auto reader = identity_->WatchChanges(context, request);
  return follower_->Follow<identity::v1::WatchChangesResponse>(
      context, reader.get(), [this](const identity::v1::WatchChangesResponse& response) {
        for (const identity::v1::Change& change : response.changes()) {
          if (!change.has_tier()) continue;
          const identity::v1::TierChange& tier = change.tier();
          auto member = ParseMemberId(tier.member_id(), "member_id");
          if (!member.ok()) {
            LogError("tier_change_unparsable", {{"feed", kFeed},
                                                {"cursor", static_cast<int64_t>(change.cursor())},
                                                {"error", member.status().ToString()}});
            continue;
          }
          // Another shard's member: that shard applies it.
          if (shard_ != nullptr && !shard_->Owns(*member)) continue;
          TierEvent event;
          event.cursor = change.cursor();
          event.member = *member;
          event.tier = tier.tier();
          if (tier.has_billing_anchor_time()) {
            event.anchor = FromTimestamp(tier.billing_anchor_time());
          }
          event.commit_time = FromTimestamp(change.commit_time());
          auto applied = logic_->ApplyTierChange(event, kFeed);
          // Resume from the last change applied, after the usual backoff.
          if (!applied.ok()) return StreamFailed(applied.status());
          if (*applied) stored_ = std::max(stored_.value_or(0), event.cursor);
        }
        if (!stored_.has_value() || response.cursor() > *stored_) {
          if (absl::Status saved = logic_->SaveFeedCursor(kFeed, response.cursor()); !saved.ok()) {
            return StreamFailed(saved);
          }
          stored_ = response.cursor();
        }
        return absl::OkStatus();
      });
}

absl::StatusOr<std::optional<uint64_t>> TierFeed::Rebuild() {
  LogInfo("credits_tier_rebuild_started", {{"feed", kFeed}});
  std::optional<uint64_t> resume;
  MemberId after = 0;
  int64_t accounts = 0;
  while (true) {
    if (stopping_) return absl::CancelledError("credits is stopping");
    ASSIGN_OR_RETURN(std::vector<MemberId> members, store_->AccountMembers(after, kRebuildBatch));
    if (members.empty()) break;
    identity::v1::BatchGetMembersRequest request;
    for (MemberId m : members) request.add_member_ids(FormatMemberId(m));
    identity::v1::BatchGetMembersResponse response;
    grpc::ClientContext context;
    tokens_->Prepare(&context, kRebuildCallTimeout);
    grpc::Status status = identity_->BatchGetMembers(&context, request, &response);
    if (!status.ok()) return DependencyError("identity", status);
    for (const identity::v1::Member& found : response.members()) {
      ASSIGN_OR_RETURN(MemberId member, ParseMemberId(found.member_id(), "member_id"));
      MemberFacts facts;
      facts.tier = found.tier();
      if (found.has_billing_anchor_time())
        facts.anchor = FromTimestamp(found.billing_anchor_time());
      facts.cursor = response.change_cursor();
      RETURN_IF_ERROR(logic_->ResetTier(member, facts));
    }
    // Changes after the earliest answer may be missing from some accounts:
    // the stream replays them, and accounts already past them skip them.
    resume = std::min(resume.value_or(response.change_cursor()), response.change_cursor());
    accounts += static_cast<int64_t>(members.size());
    after = members.back();
  }
  if (resume.has_value()) {
    RETURN_IF_ERROR(logic_->SaveFeedCursor(kFeed, *resume));
  }
  // With no accounts there is nothing to resume from: follow from the head,
  // and store the first cursor the stream sends, whatever was stored before.
  stored_ = resume;
  LogInfo("credits_tier_rebuild_done",
          {{"feed", kFeed},
           {"accounts", accounts},
           {"resume_after", resume.has_value() ? static_cast<int64_t>(*resume) : -1}});
  return resume;
}

}  // namespace liaison::credits
