// Members and account tiers, and what all identity logic shares.
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "common/status.h"
#include "common/text.h"
#include "services/identity/identity_changes.h"
#include "services/identity/identity_logic_internal.h"
#include "services/identity/rules.h"

namespace liaison::identity {
namespace {

absl::Status ValidateHandle(const std::string& handle) {
  bool ok = handle.size() >= kMinHandle && handle.size() <= kMaxHandle;
  for (char c : handle) ok = ok && (absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-');
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("handle \"", absl::CHexEscape(handle.substr(0, 40)), "\" must be ", kMinHandle,
                     " to ", kMaxHandle, " characters of a-z, 0-9 and -"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ValidateEmail(const std::string& email) {
  const size_t at = email.find('@');
  const bool ok = !email.empty() && email.size() <= kMaxEmail && at != std::string::npos &&
                  at > 0 && email.find('@', at + 1) == std::string::npos &&
                  email.find('.', at) != std::string::npos && email.back() != '.' &&
                  std::none_of(email.begin(), email.end(), [](char c) {
                    return static_cast<unsigned char>(c) <= ' ' || c == 0x7F;
                  });
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        "email \"", absl::CHexEscape(email.substr(0, 60)), "\" is not an email address"));
  }
  return absl::AsciiStrToLower(email);
}

// Whether a unique-index lookup found someone; storage errors are errors,
// not "free".
absl::StatusOr<bool> Taken(const absl::StatusOr<MemberId>& lookup) {
  if (lookup.ok()) return true;
  if (absl::IsNotFound(lookup.status())) return false;
  return lookup.status();
}

}  // namespace

IdentityLogic::IdentityLogic(IdentityStore* store, const Clock* clock,
                             prometheus::Registry& registry, ChangeFeed* feed)
    : store_(store),
      clock_(clock),
      feed_(feed),
      events_(prometheus::BuildCounter()
                  .Name("liaison_identity_events_total")
                  .Help("Identity changes, by event (member_created, invitation_sent, ...).")
                  .Register(registry)) {}

void IdentityLogic::Count(const char* event) { events_.Add({{"event", event}}).Increment(); }

absl::Status IdentityLogic::Commit(rocksdb::WriteBatch* batch,
                                   const std::vector<v1::Change>& changes) {
  if (feed_ == nullptr || changes.empty()) {
    return store_->store()->Write(batch, Durability::kSynced);
  }
  std::vector<std::string> records;
  records.reserve(changes.size());
  for (const auto& change : changes) records.push_back(change.SerializeAsString());
  return feed_->Write(batch, records, Durability::kSynced);
}

absl::Status IdentityLogic::Commit(PairWrite* write, const std::vector<v1::Change>& changes) {
  return Commit(write->batch(), changes);
}

absl::StatusOr<uint64_t> IdentityLogic::NewId(std::string (*key)(uint64_t)) {
  for (int attempt = 0; attempt < 8; ++attempt) {
    uint64_t id;
    {
      absl::MutexLock lock(&random_mu_);
      id = absl::Uniform<uint64_t>(random_, 1, uint64_t{1} << 53);
    }
    ASSIGN_OR_RETURN(bool used, store_->Exists(store_->members(), key(id)));
    if (!used) return id;
  }
  return absl::InternalError("could not find a free id");
}

absl::StatusOr<v1::Member> IdentityLogic::Self(const Caller& caller) const {
  auto self = store_->GetMember(caller.member_id);
  if (absl::IsNotFound(self.status())) {
    return absl::FailedPreconditionError(
        absl::StrCat("member ", caller.member_id, " (the token's subject) does not exist"));
  }
  return self;
}

absl::StatusOr<bool> IdentityLogic::BlockedEitherWay(MemberId a, MemberId b) const {
  // Both on a's side.
  ASSIGN_OR_RETURN(bool ab, store_->Exists(store_->social(), keys::Block(a, b)));
  if (ab) return true;
  return store_->Exists(store_->social(), keys::BlockedBy(a, b));
}

absl::StatusOr<v1::Member> IdentityLogic::Visible(const Caller& caller, MemberId id,
                                                  const char* field) const {
  auto member = store_->GetMember(id);
  const auto not_found = absl::NotFoundError(absl::StrCat(field, ": no member ", id));
  if (absl::IsNotFound(member.status())) return not_found;
  if (!member.ok()) return member.status();
  if (caller.is_member() && caller.member_id != id) {
    ASSIGN_OR_RETURN(bool blocked, BlockedEitherWay(caller.member_id, id));
    if (blocked) return not_found;
  }
  return member;
}

v1::Member IdentityLogic::Redact(const Caller& caller, v1::Member member) {
  if (caller.is_member() && FormatMemberId(caller.member_id) != member.member_id()) {
    member.clear_email();
    member.clear_billing_anchor_time();
  }
  return member;
}

absl::StatusOr<MemberId> IdentityLogic::SelfOrNamed(const Caller& caller,
                                                    const std::string& member_id,
                                                    const char* field) const {
  if (member_id.empty()) {
    if (caller.is_member()) return caller.member_id;
    return absl::InvalidArgumentError(absl::StrCat(field, " is required when a service calls"));
  }
  ASSIGN_OR_RETURN(MemberId id, ParseMemberId(member_id, field));
  if (caller.is_member() && id != caller.member_id) {
    return absl::PermissionDeniedError(absl::StrCat(field, " must be your own member id"));
  }
  return id;
}

absl::Status IdentityLogic::CreateMember(const v1::CreateMemberRequest& request,
                                         v1::CreateMemberResponse* response) {
  RETURN_IF_ERROR(ValidateHandle(request.handle()));
  ASSIGN_OR_RETURN(std::string display_name,
                   ValidateText(request.display_name(), {"display_name", kMaxDisplayName}));
  ASSIGN_OR_RETURN(std::string headline,
                   ValidateText(request.headline(), {"headline", kMaxHeadline, false}));
  ASSIGN_OR_RETURN(std::string email_key, ValidateEmail(request.email()));

  // Handles and emails are global: one lock for creation and renames.
  Locked lock(this, {0});
  ASSIGN_OR_RETURN(bool handle_taken, Taken(store_->MemberByHandle(request.handle())));
  if (handle_taken) {
    return absl::AlreadyExistsError(absl::StrCat("handle \"", request.handle(), "\" is taken"));
  }
  ASSIGN_OR_RETURN(bool email_taken, Taken(store_->MemberByEmail(email_key)));
  if (email_taken) return absl::AlreadyExistsError("a member with this email already exists");
  ASSIGN_OR_RETURN(MemberId id, NewId(&keys::Member));
  v1::Member member;
  member.set_member_id(FormatMemberId(id));
  member.set_handle(request.handle());
  member.set_display_name(display_name);
  member.set_headline(headline);
  member.set_email(request.email());
  member.set_tier(v1::ACCOUNT_TIER_BASIC);
  SetTimestamp(member.mutable_create_time(), clock_->Now());
  rocksdb::WriteBatch batch;
  batch.Put(store_->members(), keys::Member(id), member.SerializeAsString());
  batch.Put(store_->members(), keys::Handle(request.handle()), IdentityStore::EncodeCounter(id));
  batch.Put(store_->members(), keys::Email(email_key), IdentityStore::EncodeCounter(id));
  // Privacy must learn the member exists (PrivacyRegistrar): the outbox
  // record commits with the member, so no crash can lose it.
  batch.Put(store_->outbox(), keys::Registration(id), "");
  RETURN_IF_ERROR(Commit(&batch, {MemberChanged(member, true)}));
  Count("member_created");
  *response->mutable_member() = std::move(member);
  return absl::OkStatus();
}

absl::Status IdentityLogic::GetMember(const Caller& caller, const v1::GetMemberRequest& request,
                                      v1::GetMemberResponse* response) const {
  if (request.member_id().empty() == request.handle().empty()) {
    return absl::InvalidArgumentError("give exactly one of member_id and handle");
  }
  if (!request.member_id().empty()) {
    ASSIGN_OR_RETURN(MemberId id, ParseMemberId(request.member_id(), "member_id"));
    ASSIGN_OR_RETURN(v1::Member member, Visible(caller, id, "member_id"));
    *response->mutable_member() = Redact(caller, std::move(member));
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(ValidateHandle(request.handle()));
  // Absent or hidden by a block: the same answer, so a handle lookup reveals
  // neither the member's id nor the block.
  const auto no_such_handle =
      absl::NotFoundError(absl::StrCat("no member with handle \"", request.handle(), "\""));
  auto found = store_->MemberByHandle(request.handle());
  if (absl::IsNotFound(found.status())) return no_such_handle;
  if (!found.ok()) return found.status();
  auto member = Visible(caller, *found, "member_id");
  if (absl::IsNotFound(member.status())) return no_such_handle;
  if (!member.ok()) return member.status();
  *response->mutable_member() = Redact(caller, *std::move(member));
  return absl::OkStatus();
}

absl::Status IdentityLogic::BatchGetMembers(const Caller& caller,
                                            const v1::BatchGetMembersRequest& request,
                                            v1::BatchGetMembersResponse* response) const {
  const int n = request.member_ids_size();
  if (n == 0 || n > kMaxBatchMembers) {
    return absl::InvalidArgumentError(
        absl::StrCat("member_ids has ", n, " entries; give 1 to ", kMaxBatchMembers));
  }
  std::vector<MemberId> ids;
  for (int i = 0; i < n; ++i) {
    ASSIGN_OR_RETURN(MemberId id,
                     ParseMemberId(request.member_ids(i), absl::StrCat("member_ids[", i, "]")));
    ids.push_back(id);
  }
  auto members = store_->GetMembers(ids);
  for (int i = 0; i < n; ++i) {
    bool hidden = absl::IsNotFound(members[i].status());
    if (!hidden && !members[i].ok()) return members[i].status();
    if (!hidden && caller.is_member() && ids[i] != caller.member_id) {
      ASSIGN_OR_RETURN(hidden, BlockedEitherWay(caller.member_id, ids[i]));
    }
    if (hidden) {
      response->add_missing_member_ids(request.member_ids(i));
    } else {
      *response->add_members() = Redact(caller, *std::move(members[i]));
    }
  }
  return absl::OkStatus();
}

absl::Status IdentityLogic::UpdateMember(const Caller& caller,
                                         const v1::UpdateMemberRequest& request,
                                         v1::UpdateMemberResponse* response) {
  const v1::Member& values = request.member();
  if (!values.member_id().empty()) {
    ASSIGN_OR_RETURN(MemberId named, ParseMemberId(values.member_id(), "member.member_id"));
    if (named != caller.member_id) {
      return absl::PermissionDeniedError("members can change only their own profile");
    }
  }
  if (request.update_mask().paths().empty()) {
    return absl::InvalidArgumentError(
        "update_mask is empty; name the fields to change (handle, display_name, headline, email)");
  }
  std::string display_name, headline, email_key;
  for (const std::string& path : request.update_mask().paths()) {
    if (path == "handle") {
      RETURN_IF_ERROR(ValidateHandle(values.handle()));
    } else if (path == "display_name") {
      ASSIGN_OR_RETURN(display_name,
                       ValidateText(values.display_name(), {"display_name", kMaxDisplayName}));
    } else if (path == "headline") {
      ASSIGN_OR_RETURN(headline,
                       ValidateText(values.headline(), {"headline", kMaxHeadline, false}));
    } else if (path == "email") {
      ASSIGN_OR_RETURN(email_key, ValidateEmail(values.email()));
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("update_mask path \"", path,
                       "\" cannot be changed; use handle, display_name, headline "
                       "or email"));
    }
  }
  Locked lock(this, {0, caller.member_id});
  ASSIGN_OR_RETURN(v1::Member member, Self(caller));
  rocksdb::WriteBatch batch;
  const MemberId id = caller.member_id;
  for (const std::string& path : request.update_mask().paths()) {
    if (path == "handle" && values.handle() != member.handle()) {
      ASSIGN_OR_RETURN(bool taken, Taken(store_->MemberByHandle(values.handle())));
      if (taken) {
        return absl::AlreadyExistsError(absl::StrCat("handle \"", values.handle(), "\" is taken"));
      }
      batch.Delete(store_->members(), keys::Handle(member.handle()));
      batch.Put(store_->members(), keys::Handle(values.handle()), IdentityStore::EncodeCounter(id));
      member.set_handle(values.handle());
    } else if (path == "display_name") {
      member.set_display_name(display_name);
    } else if (path == "headline") {
      member.set_headline(headline);
    } else if (path == "email" && email_key != absl::AsciiStrToLower(member.email())) {
      ASSIGN_OR_RETURN(bool taken, Taken(store_->MemberByEmail(email_key)));
      if (taken) return absl::AlreadyExistsError("a member with this email already exists");
      batch.Delete(store_->members(), keys::Email(absl::AsciiStrToLower(member.email())));
      batch.Put(store_->members(), keys::Email(email_key), IdentityStore::EncodeCounter(id));
      member.set_email(values.email());
    } else if (path == "email") {
      member.set_email(values.email());
    }
  }
  batch.Put(store_->members(), keys::Member(id), member.SerializeAsString());
  RETURN_IF_ERROR(Commit(&batch, {MemberChanged(member, false)}));
  *response->mutable_member() = std::move(member);
  return absl::OkStatus();
}

absl::Status IdentityLogic::SetAccountTier(const v1::SetAccountTierRequest& request,
                                           v1::SetAccountTierResponse* response) {
  ASSIGN_OR_RETURN(MemberId id, ParseMemberId(request.member_id(), "member_id"));
  if (request.tier() == v1::ACCOUNT_TIER_UNSPECIFIED || !v1::AccountTier_IsValid(request.tier())) {
    return absl::InvalidArgumentError(absl::StrCat("tier ", request.tier(),
                                                   " is not a tier; use ACCOUNT_TIER_BASIC to "
                                                   "ACCOUNT_TIER_RECRUITER_CORPORATE"));
  }
  Locked lock(this, {id});
  auto member = store_->GetMember(id);
  if (absl::IsNotFound(member.status())) {
    return absl::NotFoundError(absl::StrCat("member_id: no member ", id));
  }
  if (!member.ok()) return member.status();
  if (member->tier() != request.tier()) {
    const v1::AccountTier previous = member->tier();
    member->set_tier(request.tier());
    if (IsPremium(request.tier())) {
      // A new premium tier starts a billing cycle now.
      SetTimestamp(member->mutable_billing_anchor_time(), clock_->Now());
    } else {
      member->clear_billing_anchor_time();
    }
    rocksdb::WriteBatch batch;
    batch.Put(store_->members(), keys::Member(id), member->SerializeAsString());
    RETURN_IF_ERROR(Commit(&batch, {TierChanged(*member, previous)}));
    Count("tier_changed");
  }
  *response->mutable_member() = *std::move(member);
  return absl::OkStatus();
}

}  // namespace liaison::identity
