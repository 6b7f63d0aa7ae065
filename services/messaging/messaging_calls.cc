// The outgoing calls of MessagingHandler: facts from identity and privacy,
// the InMail saga's calls to credits. All asynchronous (callback API, one
// long-lived channel per dependency): no thread waits on the network, and
// store changes that follow are posted to the writer pool.
#include <algorithm>
#include <atomic>
#include <memory>
#include <optional>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "services/messaging/messaging_handler.h"

namespace liaison::messaging {
namespace {

constexpr absl::Duration kCallTimeout = absl::Seconds(2);

// The dependency did not answer (down, or too slow): what the read model
// last heard from it may stand in.
bool Unreachable(const grpc::Status& s) {
  return s.error_code() == grpc::StatusCode::UNAVAILABLE ||
         s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
}

template <typename Request, typename Response>
using Call = OutgoingCall<Request, Response>;

struct BlockedSoFar {
  absl::flat_hash_set<std::string> blocked;
  MessagingHandler::BlockedDone done;
};

// One page of a member's blocks, then the next: almost always a single page
// of none or a few (at most 1,200 blocks, 1,000 a page).
void ListBlockedPage(const Dependencies& deps, MemberId member, const std::string& page_token,
                     std::shared_ptr<BlockedSoFar> so_far) {
  auto call = std::make_shared<
      Call<identity::v1::ListBlockedMembersRequest, identity::v1::ListBlockedMembersResponse>>();
  deps.tokens->Prepare(&call->context, kCallTimeout);
  call->request.set_member_id(FormatMemberId(member));
  call->request.set_page_size(1000);
  call->request.set_page_token(page_token);
  deps.identity->For(member)->async()->ListBlockedMembers(
      &call->context, &call->request, &call->response,
      [deps, member, call, so_far](grpc::Status s) {
        if (!s.ok()) return so_far->done(DependencyError("identity", s));
        for (const auto& b : call->response.blocked_members())
          so_far->blocked.insert(b.member_id());
        if (!call->response.next_page_token().empty()) {
          return ListBlockedPage(deps, member, call->response.next_page_token(), so_far);
        }
        so_far->done(std::move(so_far->blocked));
      });
}

// `r` seen from its other member: what a service is told, both ways, but
// invitation_pending (the send policy does not read it).
identity::v1::Relationship Reversed(const identity::v1::Relationship& r) {
  identity::v1::Relationship out = r;
  out.set_member_id(r.other_member_id());
  out.set_other_member_id(r.member_id());
  out.set_blocked_by_member(r.blocked_by_other());
  out.set_blocked_by_other(r.blocked_by_member());
  out.set_member_tier(r.other_tier());
  out.set_other_tier(r.member_tier());
  out.set_invitation_pending(false);
  return out;
}

}  // namespace

void MessagingHandler::FetchFacts(MemberId sender, MemberId recipient, FactsDone done,
                                  bool with_settings) {
  // What the model knows now: answers outright while its feed is live, and
  // stands if the dependency cannot answer.
  struct Gather {
    Call<identity::v1::GetRelationshipRequest, identity::v1::GetRelationshipResponse> identity;
    // The sender's own shard, asked when the pair's says "not connected".
    Call<identity::v1::GetRelationshipRequest, identity::v1::GetRelationshipResponse> sender_side;
    Call<privacy::v1::GetSettingsRequest, privacy::v1::GetSettingsResponse> privacy;
    std::atomic<int> pending{0};
    grpc::Status identity_status, privacy_status;
    std::optional<identity::v1::Relationship> known_relationship;
    std::shared_ptr<const privacy::v1::PrivacySettings> known_settings;
    bool ask_identity = false, ask_privacy = false;
    FactsDone done;
  };
  auto g = std::make_shared<Gather>();
  g->done = std::move(done);
  g->known_relationship = deps_.model->Relationship(sender, recipient);
  if (with_settings) g->known_settings = deps_.model->Settings(recipient);
  g->ask_identity = !g->known_relationship || !deps_.IdentityLive(sender, recipient);
  g->ask_privacy = with_settings && (!g->known_settings || !deps_.PrivacyLive(recipient));
  g->pending = int{g->ask_identity} + int{g->ask_privacy};
  ReadModel* model = deps_.model;
  auto finish = [g, model, sender, recipient] {
    if (g->pending.fetch_sub(1) > 1) return;
    MemberSendFacts facts;
    bool stale = false;
    if (!g->ask_identity) {
      facts.relationship = *g->known_relationship;
    } else if (g->identity_status.error_code() == grpc::StatusCode::NOT_FOUND) {
      facts.recipient_exists = false;  // the policy says NOT_FOUND
      model->Count(ModelSource::kAsked);
      g->done(facts);
      return;
    } else if (g->identity_status.ok()) {
      const auto& answer = g->identity.response.relationship();
      model->OfferRelationship(answer, g->identity.response.change_cursor(),
                               g->identity.response.other_shard_cursors());
      facts.relationship = answer.member_id() == FormatMemberId(sender) ? answer : Reversed(answer);
      if (g->sender_side.response.has_relationship()) {
        facts.relationship = g->sender_side.response.relationship();
      }
    } else if (Unreachable(g->identity_status) && g->known_relationship) {
      facts.relationship = *g->known_relationship;  // no one can block while identity is down
      stale = true;
    } else {
      return g->done(DependencyError("identity", g->identity_status));
    }
    if (g->known_settings && !g->ask_privacy) {
      facts.recipient_settings = *g->known_settings;
    } else if (g->ask_privacy && g->privacy_status.ok()) {
      facts.recipient_settings = g->privacy.response.settings();
      model->OfferSettings(recipient, facts.recipient_settings,
                           g->privacy.response.change_cursor());
    } else if (g->ask_privacy && Unreachable(g->privacy_status) && g->known_settings) {
      facts.recipient_settings = *g->known_settings;
      stale = true;
    } else if (g->ask_privacy) {
      return g->done(DependencyError("privacy", g->privacy_status));
    }
    model->Count(stale                               ? ModelSource::kStale
                 : g->ask_identity || g->ask_privacy ? ModelSource::kAsked
                                                     : ModelSource::kModel);
    g->done(std::move(facts));
  };
  if (g->pending == 0) return finish();  // between connections: no call at all
  if (g->ask_identity) {
    // Asked of the lower id's shard, which publishes the pair's changes:
    // its answer can stay in the read model (ReadModel::OfferRelationship).
    const MemberId lower = std::min(sender, recipient);
    deps_.tokens->Prepare(&g->identity.context, kCallTimeout);
    g->identity.request.set_member_id(FormatMemberId(lower));
    g->identity.request.set_other_member_id(FormatMemberId(lower == sender ? recipient : sender));
    g->identity.request.set_skip_mutual_count(true);
    // A change the sender made on their own shard (an invitation just
    // accepted there) reaches the pair's shard a delivery later: when that
    // one says neither connected nor blocked, the sender's shard has the
    // last word for this send.
    const bool elsewhere = deps_.identity->ShardOf(sender) != deps_.identity->ShardOf(lower);
    deps_.identity->For(lower)->async()->GetRelationship(
        &g->identity.context, &g->identity.request, &g->identity.response,
        [this, g, finish, sender, recipient, elsewhere](grpc::Status s) {
          g->identity_status = s;
          const auto& r = g->identity.response.relationship();
          if (!s.ok() || !elsewhere || r.degree() == identity::v1::DEGREE_FIRST || r.blocked()) {
            return finish();
          }
          deps_.tokens->Prepare(&g->sender_side.context, kCallTimeout);
          g->sender_side.request.set_member_id(FormatMemberId(sender));
          g->sender_side.request.set_other_member_id(FormatMemberId(recipient));
          g->sender_side.request.set_skip_mutual_count(true);
          deps_.identity->For(sender)->async()->GetRelationship(
              &g->sender_side.context, &g->sender_side.request, &g->sender_side.response,
              [g, finish](grpc::Status side) {
                if (!side.ok()) g->sender_side.response.Clear();  // the pair's answer stands
                finish();
              });
        });
  }
  if (g->ask_privacy) {
    deps_.tokens->Prepare(&g->privacy.context, kCallTimeout);
    g->privacy.request.set_member_id(FormatMemberId(recipient));
    deps_.privacy->For(recipient)->async()->GetSettings(&g->privacy.context, &g->privacy.request,
                                                        &g->privacy.response,
                                                        [g, finish](grpc::Status s) {
                                                          g->privacy_status = s;
                                                          finish();
                                                        });
  }
}

void MessagingHandler::FetchRelationships(MemberId member, const std::vector<MemberId>& others,
                                          RelationshipsDone done) {
  std::vector<identity::v1::Relationship> known;
  for (MemberId m : others) {
    auto r = deps_.model->Relationship(member, m);
    if (!r) break;
    known.push_back(*std::move(r));
  }
  const bool all_known = known.size() == others.size();
  if (all_known && std::all_of(others.begin(), others.end(),
                               [&](MemberId m) { return deps_.IdentityLive(member, m); })) {
    deps_.model->Count(ModelSource::kModel);
    return done(std::move(known));
  }
  auto call = std::make_shared<Call<identity::v1::BatchGetRelationshipsRequest,
                                    identity::v1::BatchGetRelationshipsResponse>>();
  deps_.tokens->Prepare(&call->context, kCallTimeout);
  call->request.set_member_id(FormatMemberId(member));
  for (MemberId m : others) call->request.add_other_member_ids(FormatMemberId(m));
  call->request.set_skip_mutual_count(true);
  deps_.identity->For(member)->async()->BatchGetRelationships(
      &call->context, &call->request, &call->response,
      [call, model = deps_.model, known = all_known ? std::move(known) : decltype(known)(),
       done = std::move(done)](grpc::Status s) mutable {
        if (Unreachable(s) && !known.empty()) {
          model->Count(ModelSource::kStale);
          return done(std::move(known));
        }
        if (!s.ok()) return done(DependencyError("identity", s));
        model->Count(ModelSource::kAsked);
        if (!call->response.missing_member_ids().empty()) {
          return done(absl::NotFoundError(
              absl::StrCat("no member ", call->response.missing_member_ids(0))));
        }
        for (const auto& r : call->response.relationships()) {
          model->OfferRelationship(r, call->response.change_cursor(),
                                   call->response.other_shard_cursors());
        }
        done(std::vector<identity::v1::Relationship>(call->response.relationships().begin(),
                                                     call->response.relationships().end()));
      });
}

void MessagingHandler::FetchBlocked(MemberId member, BlockedDone done) {
  auto so_far = std::make_shared<BlockedSoFar>();
  so_far->done = std::move(done);
  ListBlockedPage(deps_, member, "", std::move(so_far));
}

void MessagingHandler::FetchFocusedInbox(MemberId member,
                                         std::function<void(absl::StatusOr<bool>)> done) {
  // Unset is the default, on.
  auto focused = [](const privacy::v1::PrivacySettings& settings) {
    return !settings.has_focused_inbox() || settings.focused_inbox();
  };
  auto known = deps_.model->Settings(member);
  if (known && deps_.PrivacyLive(member)) {
    deps_.model->Count(ModelSource::kModel);
    return done(focused(*known));
  }
  auto call =
      std::make_shared<Call<privacy::v1::GetSettingsRequest, privacy::v1::GetSettingsResponse>>();
  deps_.tokens->Prepare(&call->context, kCallTimeout);
  call->request.set_member_id(FormatMemberId(member));
  deps_.privacy->For(member)->async()->GetSettings(
      &call->context, &call->request, &call->response,
      [call, member, model = deps_.model, known, focused, done = std::move(done)](grpc::Status s) {
        if (Unreachable(s) && known) {
          model->Count(ModelSource::kStale);
          return done(focused(*known));
        }
        if (!s.ok()) return done(DependencyError("privacy", s));
        model->Count(ModelSource::kAsked);
        model->OfferSettings(member, call->response.settings(), call->response.change_cursor());
        done(focused(call->response.settings()));
      });
}

void MessagingHandler::HideBlocked(MemberId member,
                                   google::protobuf::RepeatedPtrField<v1::Conversation>* list,
                                   std::function<void(absl::Status)> done) {
  // Only 1:1 and InMail conversations can be hidden: no call for a list without one.
  if (std::none_of(list->begin(), list->end(), IsOneToOne)) return done(absl::OkStatus());
  FetchBlocked(member, [list, member, done = std::move(done)](
                           absl::StatusOr<absl::flat_hash_set<std::string>> blocked) {
    if (!blocked.ok()) return done(blocked.status());
    list->erase(std::remove_if(
                    list->begin(), list->end(),
                    [&](const v1::Conversation& c) { return HiddenByBlock(c, member, *blocked); }),
                list->end());
    done(absl::OkStatus());
  });
}

void MessagingHandler::FetchPage(uint64_t page, MemberId member,
                                 std::function<void(absl::StatusOr<PageFacts>)> done) {
  struct Gather {
    Call<identity::v1::GetPageRequest, identity::v1::GetPageResponse> page;
    Call<identity::v1::GetPageRelationRequest, identity::v1::GetPageRelationResponse> relation;
    std::atomic<int> pending{2};
    grpc::Status page_status, relation_status;
    std::function<void(absl::StatusOr<PageFacts>)> done;
  };
  auto g = std::make_shared<Gather>();
  g->done = std::move(done);
  auto finish = [g] {
    if (g->pending.fetch_sub(1) != 1) return;
    PageFacts facts;
    if (g->page_status.error_code() == grpc::StatusCode::NOT_FOUND) {
      return g->done(facts);  // the policy says NOT_FOUND
    }
    if (!g->page_status.ok()) return g->done(DependencyError("identity", g->page_status));
    facts.exists = true;
    for (const auto& id : g->page.response.page().admin_member_ids()) {
      facts.admins.push_back(std::stoull(id));
    }
    if (g->relation_status.error_code() == grpc::StatusCode::NOT_FOUND) {
      facts.member_exists = false;  // the page exists, so the member does not
      return g->done(std::move(facts));
    }
    if (!g->relation_status.ok()) return g->done(DependencyError("identity", g->relation_status));
    facts.member_follows = g->relation.response.follows();
    g->done(std::move(facts));
  };
  deps_.tokens->Prepare(&g->page.context, kCallTimeout);
  g->page.request.set_page_id(FormatMemberId(page));
  deps_.identity->For(page)->async()->GetPage(&g->page.context, &g->page.request, &g->page.response,
                                              [g, finish](grpc::Status s) {
                                                g->page_status = std::move(s);
                                                finish();
                                              });
  deps_.tokens->Prepare(&g->relation.context, kCallTimeout);
  g->relation.request.set_page_id(FormatMemberId(page));
  g->relation.request.set_member_id(FormatMemberId(member));
  deps_.identity->For(page)->async()->GetPageRelation(&g->relation.context, &g->relation.request,
                                                      &g->relation.response,
                                                      [g, finish](grpc::Status s) {
                                                        g->relation_status = std::move(s);
                                                        finish();
                                                      });
}

void MessagingHandler::Refund(MemberId sender, const std::string& inmail_id,
                              std::function<void()> done) {
  auto call =
      std::make_shared<Call<credits::v1::RefundInMailRequest, credits::v1::RefundInMailResponse>>();
  deps_.tokens->Prepare(&call->context, kCallTimeout);
  call->request.set_member_id(FormatMemberId(sender));
  call->request.set_inmail_id(inmail_id);
  deps_.credits->For(sender)->async()->RefundInMail(
      &call->context, &call->request, &call->response,
      [this, call, inmail_id, done = std::move(done)](grpc::Status s) {
        if (!s.ok()) return done();  // the outbox loop tries again
        writers_->Post([this, inmail_id, done] {
          (void)logic_->ClearOutbox(inmail_id);
          done();
        });
      });
}

void MessagingHandler::Reserve(MemberId sender, const std::string& inmail_id,
                               std::function<void(grpc::Status)> done) {
  auto call = std::make_shared<
      Call<credits::v1::ReserveCreditRequest, credits::v1::ReserveCreditResponse>>();
  deps_.tokens->Prepare(&call->context, kCallTimeout);
  call->request.set_member_id(FormatMemberId(sender));
  call->request.set_inmail_id(inmail_id);
  deps_.credits->For(sender)->async()->ReserveCredit(
      &call->context, &call->request, &call->response,
      [call, done = std::move(done)](grpc::Status s) {
        // No credit, or the hold was voided already: credits' own words are
        // for the client; anything else means credits could not answer (a
        // shard that does not own the sender, too: shards mid-reshard).
        const bool decided = (s.error_code() == grpc::StatusCode::FAILED_PRECONDITION &&
                              !RefusedAsWrongShard(call->context)) ||
                             s.error_code() == grpc::StatusCode::ABORTED;
        done(s.ok() || decided ? s : ToGrpcStatus(DependencyError("credits", s)));
      });
}

void MessagingHandler::CommitAndDeliver(MemberId sender, const std::string& inmail_id,
                                        std::function<void(absl::Status)> done) {
  auto call =
      std::make_shared<Call<credits::v1::CommitHoldRequest, credits::v1::CommitHoldResponse>>();
  deps_.tokens->Prepare(&call->context, kCallTimeout);
  call->request.set_member_id(FormatMemberId(sender));
  call->request.set_inmail_id(inmail_id);
  deps_.credits->For(sender)->async()->CommitHold(
      &call->context, &call->request, &call->response,
      [this, call, inmail_id, done = std::move(done)](grpc::Status s) {
        if (s.ok()) {
          writers_->Post([this, inmail_id, done] { done(logic_->Deliver(inmail_id)); });
        } else if ((s.error_code() == grpc::StatusCode::FAILED_PRECONDITION &&
                    !RefusedAsWrongShard(call->context)) ||
                   s.error_code() == grpc::StatusCode::NOT_FOUND) {
          // The hold is gone: this InMail can never be paid for, so it is not sent.
          writers_->Post([this, inmail_id, done] {
            absl::Status abandoned = logic_->Abandon(inmail_id);
            done(abandoned.ok() ? absl::AbortedError("the credit hold for this InMail expired "
                                                     "before it could be sent; send it again")
                                : abandoned);
          });
        } else {
          // Stored with its outbox record: the outbox loop delivers it.
          done(absl::OkStatus());
        }
      });
}

void MessagingHandler::ShareWith(const Caller& caller, const std::string& conversation_id,
                                 std::function<void(absl::StatusOr<std::vector<MemberId>>)> done) {
  auto others = logic_->OthersIn(caller, conversation_id);
  if (!others.ok() || others->empty()) return done(std::move(others));
  // `on`: each one's toggle, the caller's first; empty when privacy could
  // not answer, and then nothing is shared (the safe side of the toggle).
  auto share = [this, member = caller.member_id, others = *others,
                done = std::move(done)](const std::vector<bool>& on) {
    std::vector<MemberId> to;
    if (on.size() == others.size() + 1 && on[0]) {
      for (size_t i = 0; i < others.size(); ++i) {
        if (on[i + 1]) to.push_back(others[i]);
      }
    }
    if (to.empty()) return done(std::move(to));
    // Nor across a block, either way (in a group both stay; neither is
    // told of the other). Without identity's answer, nothing is shared.
    FetchRelationships(
        member, to, [done](absl::StatusOr<std::vector<identity::v1::Relationship>> relationships) {
          std::vector<MemberId> unblocked;
          for (const auto& r :
               relationships.ok() ? *relationships : std::vector<identity::v1::Relationship>()) {
            if (!r.blocked()) unblocked.push_back(std::stoull(r.other_member_id()));
          }
          done(std::move(unblocked));
        });
  };
  std::vector<MemberId> members = {caller.member_id};
  members.insert(members.end(), others->begin(), others->end());
  {
    std::vector<bool> on;
    for (MemberId m : members) {
      auto settings = deps_.PrivacyLive(m) ? deps_.model->Settings(m) : nullptr;
      if (!settings) break;
      on.push_back(settings->read_receipts_and_typing());
    }
    if (on.size() == members.size()) {
      deps_.model->Count(ModelSource::kModel);
      return share(on);
    }
  }
  auto call = std::make_shared<
      Call<privacy::v1::BatchGetSettingsRequest, privacy::v1::BatchGetSettingsResponse>>();
  deps_.tokens->Prepare(&call->context, kCallTimeout);
  for (MemberId m : members) call->request.add_member_ids(FormatMemberId(m));
  // Any privacy shard splits a batch among the shards that own its members.
  deps_.privacy->For(caller.member_id)
      ->async()
      ->BatchGetSettings(&call->context, &call->request, &call->response,
                         [call, model = deps_.model, members = std::move(members),
                          share = std::move(share)](grpc::Status s) {
                           const auto& settings = call->response.settings();
                           std::vector<bool> on;
                           if (s.ok() && settings.size() == static_cast<int>(members.size())) {
                             model->Count(ModelSource::kAsked);
                             for (size_t i = 0; i < members.size(); ++i) {
                               const auto& one = settings[static_cast<int>(i)];
                               model->OfferSettings(members[i], one,
                                                    call->response.change_cursor());
                               on.push_back(one.read_receipts_and_typing());
                             }
                           }
                           share(on);
                         });
}

}  // namespace liaison::messaging
