#include "services/credits/credit_logic.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/keys.h"
#include "common/pagination.h"
#include "common/status.h"
#include "services/credits/credit_rules.h"

namespace liaison::credits {
namespace {

absl::Time AnchorOf(const storage::v1::Account& account) {
  return account.has_billing_anchor_time() ? FromTimestamp(account.billing_anchor_time())
                                           : absl::InfinitePast();
}

std::string Human(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M UTC", t, absl::UTCTimeZone());
}

constexpr int kMaxQuantity = 10;

}  // namespace

// One change to one member's credits: the account as it becomes, the ledger
// entries that got it there, and anything else to write with them.
class CreditLogic::Change final {
 public:
  Change(CreditLogic* logic, MemberId member, storage::v1::Account account)
      : logic_(logic), member_(member), account_(std::move(account)) {}

  storage::v1::Account& account() { return account_; }
  rocksdb::WriteBatch& batch() { return batch_; }
  MemberId member() const { return member_; }

  const v1::LedgerEntry& Append(v1::EntryType type, int64_t monthly, int64_t purchased,
                                int64_t held, std::string reference) {
    account_.set_monthly(account_.monthly() + monthly);
    account_.set_purchased(account_.purchased() + purchased);
    account_.set_held(account_.held() + held);
    account_.set_last_sequence(account_.last_sequence() + 1);
    v1::LedgerEntry& entry = entries_.emplace_back();
    entry.set_sequence(account_.last_sequence());
    SetTimestamp(entry.mutable_time(), logic_->clock_->Now());
    entry.set_type(type);
    entry.set_monthly_delta(monthly);
    entry.set_purchased_delta(purchased);
    entry.set_held_delta(held);
    entry.set_reference(std::move(reference));
    entry.set_monthly_after(account_.monthly());
    entry.set_purchased_after(account_.purchased());
    entry.set_held_after(account_.held());
    return entry;
  }

  // The account changed without a ledger entry (the tier seen, say).
  void MarkChanged() { changed_ = true; }
  bool empty() const { return entries_.empty() && batch_.Count() == 0 && !changed_; }

  // Writes everything in one batch and waits for the fsync.
  absl::Status Save() {
    if (empty()) return absl::OkStatus();
    auto* ledger = logic_->store_->ledger();
    for (const auto& entry : entries_) {
      batch_.Put(ledger, keys::Entry(member_, entry.sequence()), entry.SerializeAsString());
      logic_->entries_.Add({{"type", v1::EntryType_Name(entry.type())}}).Increment();
    }
    batch_.Put(ledger, keys::Account(member_), account_.SerializeAsString());
    return logic_->store_->store()->Write(&batch_, Durability::kSynced);
  }

 private:
  CreditLogic* logic_;
  MemberId member_;
  storage::v1::Account account_;
  rocksdb::WriteBatch batch_;
  std::vector<v1::LedgerEntry> entries_;
  bool changed_ = false;
};

CreditLogic::CreditLogic(CreditStore* store, const Clock* clock, CreditConfig config,
                         prometheus::Registry& registry)
    : store_(store),
      clock_(clock),
      config_(std::move(config)),
      entries_(prometheus::BuildCounter()
                   .Name("liaison_inmail_credits_entries_total")
                   .Help("Ledger entries written, by type (GRANT, HOLD, COMMIT, REFUND, ...).")
                   .Register(registry)),
      tier_fallbacks_(prometheus::BuildCounter()
                          .Name("liaison_credits_tier_fallback_total")
                          .Help("Reads that applied identity's tier themselves because the tier "
                                "feed had not applied what identity's answer reflects (not live, "
                                "or not within the wait).")
                          .Register(registry)
                          .Add({})) {}

absl::Status CreditLogic::ValidateId(const std::string& id, const char* field) {
  bool ok = !id.empty() && id.size() <= 128;
  for (char c : id) ok = ok && (absl::ascii_isalnum(c) || c == '-' || c == '_');
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " must be 1 to 128 characters of A-Z, a-z, 0-9, - and _"));
  }
  return absl::OkStatus();
}

absl::Status CreditLogic::BringUpToDate(Change& change, const MemberFacts& facts) {
  storage::v1::Account& account = change.account();
  const absl::Time now = clock_->Now();
  if (facts.feed_applied && account.tier() != identity::v1::ACCOUNT_TIER_UNSPECIFIED) {
    // The tier feed already wrote every tier change identity's answer
    // reflects: only the clock moves the account here.
    Refresh(change, now);
    return absl::OkStatus();
  }
  // A member credits has no account for yet, or the feed could not vouch
  // for this answer: identity's tier is applied here.
  if (!facts.feed_applied) tier_fallbacks_.Increment();
  ApplyTier(change, facts.tier, facts.anchor);
  Refresh(change, now);
  if (facts.cursor > account.applied_cursor()) {
    // Feed changes up to it are in this answer already: replayed later, they
    // would undo and redo what is here.
    account.set_applied_cursor(facts.cursor);
    change.MarkChanged();
  }
  return absl::OkStatus();
}

void CreditLogic::ApplyTier(Change& change, identity::v1::AccountTier tier, absl::Time anchor) {
  storage::v1::Account& account = change.account();
  if (!IsPremium(tier)) {
    // Cancelled (or never premium): nothing may be kept.
    if (account.monthly() != 0 || account.purchased() != 0) {
      change.Append(v1::ENTRY_TYPE_FORFEIT, -account.monthly(), -account.purchased(), 0,
                    "cancelled");
    }
    if (account.tier() != tier || account.has_billing_anchor_time()) {
      account.set_tier(tier);
      account.clear_billing_anchor_time();
      account.set_periods_applied(0);
      change.MarkChanged();
    }
    return;
  }
  if (account.tier() == tier && AnchorOf(account) == anchor) return;
  // A new premium tier: its allotment at once, and a new billing cycle.
  const TierRule rule = RuleFor(tier);
  account.set_tier(tier);
  SetTimestamp(account.mutable_billing_anchor_time(), anchor);
  account.set_periods_applied(0);
  const std::string reference = absl::StrCat("upgrade:", identity::v1::AccountTier_Name(tier));
  change.Append(v1::ENTRY_TYPE_GRANT, rule.allotment, 0, 0, reference);
  if (account.monthly() > rule.cap) {
    change.Append(v1::ENTRY_TYPE_EXPIRE, rule.cap - account.monthly(), 0, 0, reference);
  }
}

void CreditLogic::Refresh(Change& change, absl::Time until) {
  storage::v1::Account& account = change.account();
  const auto tier = static_cast<identity::v1::AccountTier>(account.tier());
  if (!IsPremium(tier) || !account.has_billing_anchor_time()) return;
  const TierRule rule = RuleFor(tier);
  const absl::Time anchor = AnchorOf(account);
  // Every refresh date passed since the last access, in order: add, then clamp.
  while (RefreshTime(anchor, account.periods_applied() + 1) <= until) {
    account.set_periods_applied(account.periods_applied() + 1);
    const std::string reference = absl::StrCat("period:", account.periods_applied());
    change.Append(v1::ENTRY_TYPE_GRANT, rule.allotment, 0, 0, reference);
    if (account.monthly() > rule.cap) {
      change.Append(v1::ENTRY_TYPE_EXPIRE, rule.cap - account.monthly(), 0, 0, reference);
    }
  }
}

absl::StatusOr<bool> CreditLogic::ApplyTierChange(const TierEvent& event, absl::string_view feed) {
  absl::MutexLock lock(&Stripe(event.member));
  ASSIGN_OR_RETURN(auto account, store_->GetAccount(event.member));
  if (event.cursor <= account.applied_cursor()) return false;
  Change change(this, event.member, std::move(account));
  // The old tier's refreshes due before the change, then the change. (A
  // member with no account gets one: a read racing this change may have
  // seen identity's tier before it, and must not be the last word.)
  const absl::Time at = std::min(event.commit_time, clock_->Now());
  Refresh(change, at);
  ApplyTier(change, event.tier, event.anchor);
  Refresh(change, at);
  change.account().set_applied_cursor(event.cursor);
  change.MarkChanged();
  store_->PutFeedCursor(&change.batch(), feed, event.cursor);
  RETURN_IF_ERROR(change.Save());
  return true;
}

absl::Status CreditLogic::ResetTier(MemberId member, const MemberFacts& facts) {
  absl::MutexLock lock(&Stripe(member));
  ASSIGN_OR_RETURN(bool known, store_->HasAccount(member));
  if (!known) return absl::NotFoundError(absl::StrCat("member ", member, " has no account"));
  ASSIGN_OR_RETURN(auto account, store_->GetAccount(member));
  Change change(this, member, std::move(account));
  ApplyTier(change, facts.tier, facts.anchor);
  Refresh(change, clock_->Now());
  change.account().set_applied_cursor(facts.cursor);
  change.MarkChanged();
  return change.Save();
}

absl::Status CreditLogic::SaveFeedCursor(absl::string_view feed, uint64_t cursor) {
  rocksdb::WriteBatch batch;
  store_->PutFeedCursor(&batch, feed, cursor);
  return store_->store()->Write(&batch, Durability::kBuffered);
}

void CreditLogic::FillBalance(MemberId member, const storage::v1::Account& account,
                              v1::Balance* balance) const {
  const auto tier = static_cast<identity::v1::AccountTier>(account.tier());
  const TierRule rule = RuleFor(tier);
  balance->set_member_id(FormatMemberId(member));
  balance->set_tier(tier);
  balance->set_tier_name(identity::v1::AccountTier_Name(tier));
  balance->set_monthly_available(account.monthly());
  balance->set_purchased_available(account.purchased());
  balance->set_held(account.held());
  balance->set_available(account.monthly() + account.purchased());
  balance->set_monthly_allotment(rule.allotment);
  balance->set_rollover_cap(rule.cap);
  if (account.has_billing_anchor_time() && IsPremium(tier)) {
    *balance->mutable_billing_anchor_time() = account.billing_anchor_time();
    SetTimestamp(balance->mutable_next_refresh_time(),
                 RefreshTime(AnchorOf(account), account.periods_applied() + 1));
  }
}

absl::Status CreditLogic::GetBalance(MemberId member, const MemberFacts& facts,
                                     v1::Balance* balance) {
  absl::MutexLock lock(&Stripe(member));
  ASSIGN_OR_RETURN(auto account, store_->GetAccount(member));
  Change change(this, member, std::move(account));
  RETURN_IF_ERROR(BringUpToDate(change, facts));
  RETURN_IF_ERROR(change.Save());
  FillBalance(member, change.account(), balance);
  return absl::OkStatus();
}

absl::Status CreditLogic::ListLedger(MemberId member, const MemberFacts& facts,
                                     const v1::ListLedgerRequest& request,
                                     v1::ListLedgerResponse* response) {
  ASSIGN_OR_RETURN(int page_size, PageSize(request.page_size()));
  ASSIGN_OR_RETURN(std::string after, DecodePageToken("ledger", request.page_token()));
  v1::Balance ignored;
  RETURN_IF_ERROR(GetBalance(member, facts, &ignored));
  std::string last;
  ASSIGN_OR_RETURN(auto entries, store_->Entries(member, after, page_size + 1, &last));
  const bool more = entries.size() > static_cast<size_t>(page_size);
  if (more) entries.pop_back();
  for (auto& entry : entries) *response->add_entries() = std::move(entry);
  if (more) {
    response->set_next_page_token(
        EncodePageToken("ledger", keys::Entry(member, response->entries().rbegin()->sequence())
                                      .substr(keys::EntryPrefix(member).size())));
  }
  return absl::OkStatus();
}

absl::Status CreditLogic::Purchase(MemberId member, const MemberFacts& facts,
                                   const v1::PurchaseCreditsRequest& request,
                                   v1::PurchaseCreditsResponse* response) {
  RETURN_IF_ERROR(ValidateId(request.idempotency_key(), "idempotency_key"));
  if (request.quantity() < 0 || request.quantity() > kMaxQuantity) {
    return absl::InvalidArgumentError(absl::StrCat("quantity is ", request.quantity(),
                                                   "; buy 1 to ", kMaxQuantity, " packs at once"));
  }
  const int quantity = request.quantity() == 0 ? 1 : request.quantity();
  if (request.pack_id().empty()) {
    return absl::InvalidArgumentError(
        "pack_id is empty; give the id of a pack ListCreditPacks shows, such as \"5\"");
  }
  const v1::CreditPack* pack = nullptr;
  for (const auto& p : config_.packs) {
    if (p.pack_id() == request.pack_id()) pack = &p;
  }
  if (pack == nullptr) {
    return absl::NotFoundError(absl::StrCat("no credit pack \"", request.pack_id(),
                                            "\"; ListCreditPacks shows the packs"));
  }
  absl::MutexLock lock(&Stripe(member));
  auto earlier = store_->GetPurchase(member, request.idempotency_key());
  if (earlier.ok()) {
    if (earlier->pack_id() != request.pack_id() || earlier->quantity() != quantity) {
      return absl::InvalidArgumentError(
          "idempotency_key was already used for a different purchase; use a new key");
    }
    *response->mutable_entry() = earlier->entry();
    ASSIGN_OR_RETURN(auto account, store_->GetAccount(member));
    FillBalance(member, account, response->mutable_balance());
    return absl::OkStatus();
  }
  if (!absl::IsNotFound(earlier.status())) return earlier.status();
  ASSIGN_OR_RETURN(auto account, store_->GetAccount(member));
  Change change(this, member, std::move(account));
  RETURN_IF_ERROR(BringUpToDate(change, facts));
  if (!RuleFor(static_cast<identity::v1::AccountTier>(change.account().tier())).may_buy) {
    RETURN_IF_ERROR(change.Save());  // keep any refresh or forfeit just applied
    return absl::FailedPreconditionError(
        "only Premium Career and Premium Business members can buy credits");
  }
  const v1::LedgerEntry entry =
      change.Append(v1::ENTRY_TYPE_PURCHASE, 0, pack->credits() * quantity, 0,
                    absl::StrCat("purchase:", request.idempotency_key()));
  storage::v1::Purchase record;
  record.set_pack_id(pack->pack_id());
  record.set_quantity(quantity);
  *record.mutable_entry() = entry;
  SetTimestamp(record.mutable_time(), clock_->Now());
  change.batch().Put(store_->ledger(), keys::Purchase(member, request.idempotency_key()),
                     record.SerializeAsString());
  RETURN_IF_ERROR(change.Save());
  *response->mutable_entry() = entry;
  FillBalance(member, change.account(), response->mutable_balance());
  return absl::OkStatus();
}

void CreditLogic::VoidHeld(Change& change, v1::Hold* hold, const char* why) {
  const bool monthly = hold->pool() == v1::CREDIT_POOL_MONTHLY;
  change.Append(v1::ENTRY_TYPE_VOID, monthly ? 1 : 0, monthly ? 0 : 1, -1,
                absl::StrCat(why, ":", hold->inmail_id()));
  change.batch().Delete(store_->expiry(), keys::Expiry(FromTimestamp(hold->expire_time()),
                                                       change.member(), hold->inmail_id()));
  hold->set_state(v1::HOLD_STATE_VOIDED);
  change.batch().Put(store_->ledger(), keys::Hold(change.member(), hold->inmail_id()),
                     hold->SerializeAsString());
}

absl::Status CreditLogic::Reserve(MemberId member, const MemberFacts& facts,
                                  const std::string& inmail_id, v1::Hold* hold) {
  RETURN_IF_ERROR(ValidateId(inmail_id, "inmail_id"));
  absl::MutexLock lock(&Stripe(member));
  auto existing = store_->GetHold(member, inmail_id);
  if (existing.ok()) {
    if (existing->state() == v1::HOLD_STATE_VOIDED) {
      return absl::AbortedError(absl::StrCat("the hold for InMail ", inmail_id,
                                             " was voided; send it again with a new inmail_id"));
    }
    *hold = *std::move(existing);  // a retry: the first result
    return absl::OkStatus();
  }
  if (!absl::IsNotFound(existing.status())) return existing.status();
  ASSIGN_OR_RETURN(auto account, store_->GetAccount(member));
  Change change(this, member, std::move(account));
  RETURN_IF_ERROR(BringUpToDate(change, facts));
  storage::v1::Account& a = change.account();
  v1::CreditPool pool;
  if (a.monthly() > 0) {
    pool = v1::CREDIT_POOL_MONTHLY;
  } else if (a.purchased() > 0) {
    pool = v1::CREDIT_POOL_PURCHASED;
  } else {
    RETURN_IF_ERROR(change.Save());  // keep any refresh or forfeit just applied
    const auto tier = static_cast<identity::v1::AccountTier>(a.tier());
    if (!IsPremium(tier)) {
      return absl::FailedPreconditionError("basic members have no InMail credits");
    }
    return absl::FailedPreconditionError(
        absl::StrCat("no InMail credits left; the next ", RuleFor(tier).allotment, " arrive on ",
                     Human(RefreshTime(AnchorOf(a), a.periods_applied() + 1))));
  }
  const bool monthly = pool == v1::CREDIT_POOL_MONTHLY;
  change.Append(v1::ENTRY_TYPE_HOLD, monthly ? -1 : 0, monthly ? 0 : -1, 1,
                absl::StrCat("inmail:", inmail_id));
  const absl::Time now = clock_->Now();
  hold->set_member_id(FormatMemberId(member));
  hold->set_inmail_id(inmail_id);
  hold->set_state(v1::HOLD_STATE_HELD);
  hold->set_pool(pool);
  SetTimestamp(hold->mutable_create_time(), now);
  SetTimestamp(hold->mutable_expire_time(), now + config_.hold_timeout);
  change.batch().Put(store_->ledger(), keys::Hold(member, inmail_id), hold->SerializeAsString());
  change.batch().Put(store_->expiry(), keys::Expiry(now + config_.hold_timeout, member, inmail_id),
                     "");
  return change.Save();
}

absl::Status CreditLogic::Commit(MemberId member, const std::string& inmail_id, v1::Hold* hold) {
  RETURN_IF_ERROR(ValidateId(inmail_id, "inmail_id"));
  absl::MutexLock lock(&Stripe(member));
  auto found = store_->GetHold(member, inmail_id);
  if (absl::IsNotFound(found.status())) {
    return absl::NotFoundError(absl::StrCat("no hold for InMail ", inmail_id));
  }
  if (!found.ok()) return found.status();
  *hold = *std::move(found);
  if (hold->state() == v1::HOLD_STATE_COMMITTED) return absl::OkStatus();
  if (hold->state() == v1::HOLD_STATE_VOIDED) {
    return absl::FailedPreconditionError(
        absl::StrCat("the hold for InMail ", inmail_id, " was voided and cannot be committed"));
  }
  ASSIGN_OR_RETURN(auto account, store_->GetAccount(member));
  Change change(this, member, std::move(account));
  const absl::Time now = clock_->Now();
  if (now >= FromTimestamp(hold->expire_time())) {
    VoidHeld(change, hold, "expired");
    RETURN_IF_ERROR(change.Save());
    return absl::FailedPreconditionError(
        absl::StrCat("the hold for InMail ", inmail_id, " expired and its credit was returned"));
  }
  change.Append(v1::ENTRY_TYPE_COMMIT, 0, 0, -1, absl::StrCat("inmail:", inmail_id));
  change.batch().Delete(store_->expiry(),
                        keys::Expiry(FromTimestamp(hold->expire_time()), member, inmail_id));
  hold->set_state(v1::HOLD_STATE_COMMITTED);
  SetTimestamp(hold->mutable_commit_time(), now);
  change.batch().Put(store_->ledger(), keys::Hold(member, inmail_id), hold->SerializeAsString());
  return change.Save();
}

absl::Status CreditLogic::Void(MemberId member, const std::string& inmail_id, v1::Hold* hold) {
  RETURN_IF_ERROR(ValidateId(inmail_id, "inmail_id"));
  absl::MutexLock lock(&Stripe(member));
  auto found = store_->GetHold(member, inmail_id);
  ASSIGN_OR_RETURN(auto account, store_->GetAccount(member));
  Change change(this, member, std::move(account));
  if (absl::IsNotFound(found.status())) {
    // A member credits has never seen cannot have a hold, nor a reserve in
    // flight worth refusing (a late one would expire on its own): store
    // nothing for ids that may not even be members.
    ASSIGN_OR_RETURN(bool known, store_->HasAccount(member));
    if (!known) {
      return absl::NotFoundError(absl::StrCat("member ", member, " has no hold for InMail ",
                                              inmail_id, " and no credits account"));
    }
    // Voided before it was reserved (a retry overtook the reserve): remember,
    // so a late ReserveCredit for this InMail is refused.
    hold->set_member_id(FormatMemberId(member));
    hold->set_inmail_id(inmail_id);
    hold->set_state(v1::HOLD_STATE_VOIDED);
    SetTimestamp(hold->mutable_create_time(), clock_->Now());
    change.batch().Put(store_->ledger(), keys::Hold(member, inmail_id), hold->SerializeAsString());
    return change.Save();
  }
  if (!found.ok()) return found.status();
  *hold = *std::move(found);
  if (hold->state() == v1::HOLD_STATE_VOIDED) return absl::OkStatus();
  if (hold->state() == v1::HOLD_STATE_COMMITTED) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the hold for InMail ", inmail_id, " was committed; refund it with RefundInMail"));
  }
  VoidHeld(change, hold, "void");
  return change.Save();
}

absl::Status CreditLogic::Refund(MemberId member, const std::string& inmail_id, v1::Hold* hold) {
  RETURN_IF_ERROR(ValidateId(inmail_id, "inmail_id"));
  absl::MutexLock lock(&Stripe(member));
  auto found = store_->GetHold(member, inmail_id);
  if (absl::IsNotFound(found.status())) {
    return absl::NotFoundError(absl::StrCat("no InMail ", inmail_id, " was charged"));
  }
  if (!found.ok()) return found.status();
  *hold = *std::move(found);
  if (hold->state() != v1::HOLD_STATE_COMMITTED) {
    return absl::FailedPreconditionError(
        absl::StrCat("InMail ", inmail_id, " was never charged, so there is nothing to refund"));
  }
  if (hold->refunded()) return absl::OkStatus();  // once per InMail
  const absl::Time sent = FromTimestamp(hold->create_time());
  if (clock_->Now() > sent + kRefundWindow) {
    return absl::FailedPreconditionError(absl::StrCat("InMail ", inmail_id, " was sent on ",
                                                      Human(sent), "; refunds end after 90 days"));
  }
  ASSIGN_OR_RETURN(auto account, store_->GetAccount(member));
  Change change(this, member, std::move(account));
  const bool monthly = hold->pool() == v1::CREDIT_POOL_MONTHLY;
  change.Append(v1::ENTRY_TYPE_REFUND, monthly ? 1 : 0, monthly ? 0 : 1, 0,
                absl::StrCat("inmail:", inmail_id));
  hold->set_refunded(true);
  change.batch().Put(store_->ledger(), keys::Hold(member, inmail_id), hold->SerializeAsString());
  return change.Save();
}

absl::StatusOr<int> CreditLogic::SweepExpired(size_t limit) {
  const absl::Time now = clock_->Now();
  ASSIGN_OR_RETURN(auto expired, store_->Expired(now, limit));
  int voided = 0;
  for (const ExpiredHold& e : expired) {
    absl::MutexLock lock(&Stripe(e.member));
    auto hold = store_->GetHold(e.member, e.inmail_id);
    if (!hold.ok() || hold->state() != v1::HOLD_STATE_HELD) {
      // Committed or voided meanwhile (or gone): just drop the index entry.
      rocksdb::WriteBatch batch;
      batch.Delete(store_->expiry(), keys::Expiry(e.expire, e.member, e.inmail_id));
      RETURN_IF_ERROR(store_->store()->Write(&batch, Durability::kSynced));
      continue;
    }
    ASSIGN_OR_RETURN(auto account, store_->GetAccount(e.member));
    Change change(this, e.member, std::move(account));
    VoidHeld(change, &*hold, "expired");
    RETURN_IF_ERROR(change.Save());
    ++voided;
  }
  return voided;
}

}  // namespace liaison::credits
