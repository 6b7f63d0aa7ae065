// Invitations: sending (every limit of DESIGN.md §4 "Connections"),
// answering, withdrawing and listing.
#include "absl/strings/ascii.h"
#include "common/keys.h"
#include "common/pagination.h"
#include "common/status.h"
#include "common/text.h"
#include "services/identity/identity_logic_internal.h"
#include "services/identity/rules.h"

namespace liaison::identity {
namespace {

uint32_t YearMonth(absl::Time t) {
  const auto civil = absl::ToCivilSecond(t, absl::UTCTimeZone());
  return static_cast<uint32_t>(civil.year() * 100 + civil.month());
}

}  // namespace

absl::StatusOr<MemberId> IdentityLogic::ParseInvitationRecipient(
    const Caller& caller, const v1::SendInvitationRequest& request) const {
  ASSIGN_OR_RETURN(MemberId recipient, ParseMemberId(request.recipient_id(), "recipient_id"));
  if (recipient == caller.member_id) {
    return absl::InvalidArgumentError("you cannot invite yourself");
  }
  RETURN_IF_ERROR(ValidateText(request.note(), {"note", kMaxNotePremium, false, true}).status());
  return recipient;
}

absl::Status IdentityLogic::CheckConnectionRoom(MemberId a, MemberId b) const {
  for (MemberId m : {a, b}) {
    ASSIGN_OR_RETURN(uint32_t count, ConnectionCount(m));
    if (count >= kMaxConnections) {
      return absl::FailedPreconditionError(
          absl::StrCat(m == a ? "you have" : "the other member has", " ", kMaxConnections,
                       " connections, the most allowed"));
    }
  }
  return absl::OkStatus();
}

absl::Status IdentityLogic::SendInvitation(const Caller& caller,
                                           const v1::SendInvitationRequest& request,
                                           const privacy::v1::PrivacySettings& recipient_settings,
                                           v1::SendInvitationResponse* response) {
  ASSIGN_OR_RETURN(MemberId recipient, ParseInvitationRecipient(caller, request));
  ASSIGN_OR_RETURN(std::string note,
                   ValidateText(request.note(), {"note", kMaxNotePremium, false, true}));
  const MemberId sender = caller.member_id;
  Locked lock(this, {sender, recipient});
  ASSIGN_OR_RETURN(v1::Member self, Self(caller));
  // Blocked either way, the recipient is invisible to the sender: NOT_FOUND.
  ASSIGN_OR_RETURN(v1::Member other, Visible(caller, recipient, "recipient_id"));
  ASSIGN_OR_RETURN(Adjacency mine, store_->GetAdjacency(sender));
  if (mine.Contains(recipient)) {
    return absl::AlreadyExistsError("you are already connected to this member");
  }
  auto pending = store_->GetInvitation(sender, recipient);
  if (pending.ok()) return absl::AlreadyExistsError("you have already invited this member");
  if (!absl::IsNotFound(pending.status())) return pending.status();

  const absl::Time now = clock_->Now();
  // They invited us first: this is a yes.
  auto theirs = store_->GetReceivedInvitation(sender, recipient);
  if (theirs.ok()) {
    RETURN_IF_ERROR(CheckConnectionRoom(sender, recipient));
    PairWrite write(store_, outbox_);
    RETURN_IF_ERROR(DeleteInvitation(&write, *theirs, recipient, sender));
    std::vector<v1::Change> changes;
    RETURN_IF_ERROR(Connect(&write, sender, recipient, &changes));
    RETURN_IF_ERROR(Commit(&write, changes));
    Count("invitation_accepted");
    response->set_connected(true);
    return absl::OkStatus();
  }
  if (!absl::IsNotFound(theirs.status())) return theirs.status();

  ASSIGN_OR_RETURN(bool refused,
                   store_->Exists(store_->social(), keys::RefusedBy(sender, recipient)));
  if (refused)
    return absl::PermissionDeniedError("this member does not accept invitations from you");
  auto withdrawn = store_->GetTime(keys::Withdrawn(sender, recipient));
  if (!withdrawn.ok() && !absl::IsNotFound(withdrawn.status())) return withdrawn.status();
  if (withdrawn.ok() && now < *withdrawn + kReinviteCooldown) {
    return absl::FailedPreconditionError(absl::StrCat(
        "you withdrew an invitation to this member on ", HumanTime(*withdrawn),
        "; you can invite them again from ", HumanTime(*withdrawn + kReinviteCooldown)));
  }
  switch (recipient_settings.who_can_invite()) {
    case privacy::v1::INVITE_POLICY_EMAIL_REQUIRED:
      if (absl::AsciiStrToLower(request.recipient_email()) !=
          absl::AsciiStrToLower(other.email())) {
        return absl::PermissionDeniedError(
            "this member accepts invitations only from people who know their email address; "
            "give it in recipient_email");
      }
      break;
    case privacy::v1::INVITE_POLICY_SECOND_DEGREE_ONLY: {
      ASSIGN_OR_RETURN(auto theirs_ids, graph_->Neighbors(recipient));
      if (!Intersects(mine.ids, theirs_ids)) {
        return absl::PermissionDeniedError(
            "this member accepts invitations only from people who share a connection with them");
      }
      break;
    }
    default:
      break;
  }
  RETURN_IF_ERROR(CheckConnectionRoom(sender, recipient));

  // At most 100 invitations in any 7 days; older log entries are pruned here.
  const std::string log_prefix = keys::Prefix('q', sender);
  ASSIGN_OR_RETURN(auto sent,
                   store_->Scan(store_->social(), log_prefix, "", 10 * kInvitationsPerWeek));
  PairWrite write(store_, outbox_);
  std::vector<absl::Time> recent;
  for (const auto& entry : sent) {
    KeyReader reader = keys::Reader(entry.key);
    char kind;
    uint64_t id;
    absl::Time t;
    if (!reader.Kind(&kind) || !reader.U64(&id) || !reader.Time(&t)) {
      return absl::DataLossError("a sent-log key does not parse");
    }
    if (t + kInvitationWindow <= now) {
      write.Delete(sender, store_->social(), entry.key);
    } else {
      recent.push_back(t);
    }
  }
  if (static_cast<int>(recent.size()) >= kInvitationsPerWeek) {
    return absl::ResourceExhaustedError(
        absl::StrCat("you have sent ", kInvitationsPerWeek,
                     " invitations in the last 7 days; you can send "
                     "another from ",
                     HumanTime(recent[recent.size() - kInvitationsPerWeek] + kInvitationWindow)));
  }
  if (!note.empty() && !IsPremium(self.tier())) {
    if (CodePoints(note) > kMaxNoteBasic) {
      return absl::InvalidArgumentError(
          absl::StrCat("note is ", CodePoints(note), " characters; the limit for basic members is ",
                       kMaxNoteBasic, " (premium: ", kMaxNotePremium, ")"));
    }
    const std::string notes_key = keys::Notes(sender, YearMonth(now));
    ASSIGN_OR_RETURN(uint64_t notes, store_->GetCounter(store_->social(), notes_key));
    if (notes >= kBasicNotesPerMonth) {
      return absl::ResourceExhaustedError(
          absl::StrCat("basic members can add a note to ", kBasicNotesPerMonth,
                       " invitations a month; send this one without a note, or upgrade"));
    }
    write.Put(sender, store_->social(), notes_key, IdentityStore::EncodeCounter(notes + 1));
  }

  v1::Invitation invitation;
  invitation.set_sender_id(FormatMemberId(sender));
  invitation.set_recipient_id(FormatMemberId(recipient));
  invitation.set_note(note);
  SetTimestamp(invitation.mutable_create_time(), now);
  const std::string record = invitation.SerializeAsString();
  write.Put(sender, store_->social(), keys::Invitation(sender, recipient), record);
  write.Put(sender, store_->social(), keys::Outgoing(sender, now, recipient), "");
  write.Put(sender, store_->social(), keys::SentLog(sender, now, recipient), "");
  write.Put(recipient, store_->social(), keys::Received(recipient, sender), record);
  write.Put(recipient, store_->social(), keys::Incoming(recipient, now, sender), "");
  RETURN_IF_ERROR(Commit(&write));
  Count("invitation_sent");
  *response->mutable_invitation() = std::move(invitation);
  return absl::OkStatus();
}

absl::Status IdentityLogic::DeleteInvitation(PairWrite* write, const v1::Invitation& invitation,
                                             MemberId sender, MemberId recipient) {
  const absl::Time sent = FromTimestamp(invitation.create_time());
  write->Delete(sender, store_->social(), keys::Invitation(sender, recipient));
  write->Delete(sender, store_->social(), keys::Outgoing(sender, sent, recipient));
  write->Delete(recipient, store_->social(), keys::Received(recipient, sender));
  write->Delete(recipient, store_->social(), keys::Incoming(recipient, sent, sender));
  return absl::OkStatus();
}

absl::Status IdentityLogic::RespondToInvitation(const Caller& caller,
                                                const v1::RespondToInvitationRequest& request,
                                                v1::RespondToInvitationResponse* response) {
  ASSIGN_OR_RETURN(MemberId sender, ParseMemberId(request.sender_id(), "sender_id"));
  if (sender == caller.member_id) {
    return absl::InvalidArgumentError(
        "sender_id is your own member id; you cannot answer an invitation from yourself");
  }
  const auto answer = request.response();
  if (answer == v1::INVITATION_RESPONSE_UNSPECIFIED || !v1::InvitationResponse_IsValid(answer)) {
    return absl::InvalidArgumentError(
        "response must be INVITATION_RESPONSE_ACCEPT, _IGNORE or _I_DONT_KNOW");
  }
  const MemberId recipient = caller.member_id;
  Locked lock(this, {sender, recipient});
  auto invitation = store_->GetReceivedInvitation(recipient, sender);
  if (absl::IsNotFound(invitation.status())) {
    return absl::NotFoundError(absl::StrCat("no pending invitation from member ", sender));
  }
  if (!invitation.ok()) return invitation.status();
  const absl::Time sent = FromTimestamp(invitation->create_time());
  PairWrite write(store_, outbox_);
  std::vector<v1::Change> changes;
  if (answer == v1::INVITATION_RESPONSE_ACCEPT) {
    RETURN_IF_ERROR(CheckConnectionRoom(recipient, sender));
    RETURN_IF_ERROR(DeleteInvitation(&write, *invitation, sender, recipient));
    RETURN_IF_ERROR(Connect(&write, sender, recipient, &changes));
    response->set_connected(true);
    Count("invitation_accepted");
  } else {
    // Hidden from the recipient; the sender still sees it pending.
    write.Delete(recipient, store_->social(), keys::Incoming(recipient, sent, sender));
    if (answer == v1::INVITATION_RESPONSE_I_DONT_KNOW) {
      write.Put(recipient, store_->social(), keys::DontKnow(recipient, sender), "");
      write.Put(sender, store_->social(), keys::RefusedBy(sender, recipient), "");
      Count("invitation_refused");
    } else {
      Count("invitation_ignored");
    }
  }
  return Commit(&write, changes);
}

absl::Status IdentityLogic::WithdrawInvitation(const Caller& caller,
                                               const v1::WithdrawInvitationRequest& request) {
  ASSIGN_OR_RETURN(MemberId recipient, ParseMemberId(request.recipient_id(), "recipient_id"));
  const MemberId sender = caller.member_id;
  if (recipient == sender) {
    return absl::InvalidArgumentError(
        "recipient_id is your own member id; you cannot have invited yourself");
  }
  Locked lock(this, {sender, recipient});
  auto invitation = store_->GetInvitation(sender, recipient);
  if (absl::IsNotFound(invitation.status())) {
    return absl::NotFoundError(
        absl::StrCat("you have no pending invitation to member ", recipient));
  }
  if (!invitation.ok()) return invitation.status();
  PairWrite write(store_, outbox_);
  RETURN_IF_ERROR(DeleteInvitation(&write, *invitation, sender, recipient));
  write.Put(sender, store_->social(), keys::Withdrawn(sender, recipient),
            IdentityStore::EncodeTime(clock_->Now()));
  RETURN_IF_ERROR(Commit(&write));
  Count("invitation_withdrawn");
  return absl::OkStatus();
}

absl::Status IdentityLogic::ListInvitations(const Caller& caller,
                                            const v1::ListInvitationsRequest& request,
                                            v1::ListInvitationsResponse* response) const {
  const bool incoming = request.direction() == v1::INVITATION_DIRECTION_INCOMING;
  if (!incoming && request.direction() != v1::INVITATION_DIRECTION_OUTGOING) {
    return absl::InvalidArgumentError(
        "direction must be INVITATION_DIRECTION_INCOMING or INVITATION_DIRECTION_OUTGOING");
  }
  ASSIGN_OR_RETURN(int page_size, PageSize(request.page_size()));
  const char* list = incoming ? "incoming" : "outgoing";
  ASSIGN_OR_RETURN(std::string after, DecodePageToken(list, request.page_token()));
  const std::string prefix = keys::Prefix(incoming ? 'n' : 'o', caller.member_id);
  ASSIGN_OR_RETURN(auto entries, store_->Scan(store_->social(), prefix,
                                              after.empty() ? "" : prefix + after, page_size + 1));
  for (size_t i = 0; i < entries.size() && i < static_cast<size_t>(page_size); ++i) {
    KeyReader reader = keys::Reader(entries[i].key);
    char kind;
    uint64_t me, other;
    absl::Time t;
    if (!reader.Kind(&kind) || !reader.U64(&me) || !reader.TimeDesc(&t) || !reader.U64(&other)) {
      return absl::DataLossError("an invitation index key does not parse");
    }
    ASSIGN_OR_RETURN(v1::Invitation invitation, incoming ? store_->GetReceivedInvitation(me, other)
                                                         : store_->GetInvitation(me, other));
    *response->add_invitations() = std::move(invitation);
  }
  if (entries.size() > static_cast<size_t>(page_size)) {
    response->set_next_page_token(
        EncodePageToken(list, entries[page_size - 1].key.substr(prefix.size())));
  }
  return absl::OkStatus();
}

}  // namespace liaison::identity
