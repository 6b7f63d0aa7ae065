// The outgoing calls of MessagingHandler: facts from identity and privacy,
// the InMail saga's calls to credits. All asynchronous (callback API, one
// long-lived channel per dependency): no thread waits on the network, and
// store changes that follow are posted to the writer pool.
#include <atomic>
#include <memory>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "services/messaging/messaging_handler.h"

namespace liaison::messaging {
namespace {

constexpr absl::Duration kCallTimeout = absl::Seconds(2);

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
  deps.identity->async()->ListBlockedMembers(
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

}  // namespace

void MessagingHandler::FetchFacts(MemberId sender, MemberId recipient, FactsDone done,
                                  bool with_settings) {
  struct Gather {
    Call<identity::v1::GetRelationshipRequest, identity::v1::GetRelationshipResponse> identity;
    Call<privacy::v1::GetSettingsRequest, privacy::v1::GetSettingsResponse> privacy;
    std::atomic<int> pending{2};
    grpc::Status identity_status, privacy_status;
    FactsDone done;
  };
  auto g = std::make_shared<Gather>();
  g->done = std::move(done);
  g->pending = with_settings ? 2 : 1;
  auto finish = [g] {
    if (g->pending.fetch_sub(1) != 1) return;
    MemberSendFacts facts;
    if (g->identity_status.error_code() == grpc::StatusCode::NOT_FOUND) {
      facts.recipient_exists = false;  // the policy says NOT_FOUND
      g->done(facts);
      return;
    }
    if (!g->identity_status.ok()) return g->done(DependencyError("identity", g->identity_status));
    if (!g->privacy_status.ok()) return g->done(DependencyError("privacy", g->privacy_status));
    facts.relationship = g->identity.response.relationship();
    facts.recipient_settings = g->privacy.response.settings();
    g->done(std::move(facts));
  };
  deps_.tokens->Prepare(&g->identity.context, kCallTimeout);
  g->identity.request.set_member_id(FormatMemberId(sender));
  g->identity.request.set_other_member_id(FormatMemberId(recipient));
  deps_.identity->async()->GetRelationship(&g->identity.context, &g->identity.request,
                                           &g->identity.response, [g, finish](grpc::Status s) {
                                             g->identity_status = s;
                                             finish();
                                           });
  if (!with_settings) return;
  deps_.tokens->Prepare(&g->privacy.context, kCallTimeout);
  g->privacy.request.set_member_id(FormatMemberId(recipient));
  deps_.privacy->async()->GetSettings(&g->privacy.context, &g->privacy.request,
                                      &g->privacy.response, [g, finish](grpc::Status s) {
                                        g->privacy_status = s;
                                        finish();
                                      });
}

void MessagingHandler::FetchRelationships(MemberId member, const std::vector<MemberId>& others,
                                          RelationshipsDone done) {
  auto call = std::make_shared<Call<identity::v1::BatchGetRelationshipsRequest,
                                    identity::v1::BatchGetRelationshipsResponse>>();
  deps_.tokens->Prepare(&call->context, kCallTimeout);
  call->request.set_member_id(FormatMemberId(member));
  for (MemberId m : others) call->request.add_other_member_ids(FormatMemberId(m));
  deps_.identity->async()->BatchGetRelationships(
      &call->context, &call->request, &call->response,
      [call, done = std::move(done)](grpc::Status s) {
        if (!s.ok()) return done(DependencyError("identity", s));
        if (!call->response.missing_member_ids().empty()) {
          return done(absl::NotFoundError(
              absl::StrCat("no member ", call->response.missing_member_ids(0))));
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
  auto call =
      std::make_shared<Call<privacy::v1::GetSettingsRequest, privacy::v1::GetSettingsResponse>>();
  deps_.tokens->Prepare(&call->context, kCallTimeout);
  call->request.set_member_id(FormatMemberId(member));
  deps_.privacy->async()->GetSettings(&call->context, &call->request, &call->response,
                                      [call, done = std::move(done)](grpc::Status s) {
                                        if (!s.ok()) return done(DependencyError("privacy", s));
                                        const auto& settings = call->response.settings();
                                        // Unset is the default, on.
                                        done(!settings.has_focused_inbox() ||
                                             settings.focused_inbox());
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
  deps_.identity->async()->GetPage(&g->page.context, &g->page.request, &g->page.response,
                                   [g, finish](grpc::Status s) {
                                     g->page_status = std::move(s);
                                     finish();
                                   });
  deps_.tokens->Prepare(&g->relation.context, kCallTimeout);
  g->relation.request.set_page_id(FormatMemberId(page));
  g->relation.request.set_member_id(FormatMemberId(member));
  deps_.identity->async()->GetPageRelation(&g->relation.context, &g->relation.request,
                                           &g->relation.response, [g, finish](grpc::Status s) {
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
  deps_.credits->async()->RefundInMail(
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
  deps_.credits->async()->ReserveCredit(
      &call->context, &call->request, &call->response,
      [call, done = std::move(done)](grpc::Status s) {
        // No credit, or the hold was voided already: credits' own words are
        // for the client; anything else means credits could not answer.
        const bool decided = s.error_code() == grpc::StatusCode::FAILED_PRECONDITION ||
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
  deps_.credits->async()->CommitHold(
      &call->context, &call->request, &call->response,
      [this, call, inmail_id, done = std::move(done)](grpc::Status s) {
        if (s.ok()) {
          writers_->Post([this, inmail_id, done] { done(logic_->Deliver(inmail_id)); });
        } else if (s.error_code() == grpc::StatusCode::FAILED_PRECONDITION ||
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
  auto call = std::make_shared<
      Call<privacy::v1::BatchGetSettingsRequest, privacy::v1::BatchGetSettingsResponse>>();
  deps_.tokens->Prepare(&call->context, kCallTimeout);
  call->request.add_member_ids(FormatMemberId(caller.member_id));
  for (MemberId m : *others) call->request.add_member_ids(FormatMemberId(m));
  deps_.privacy->async()->BatchGetSettings(
      &call->context, &call->request, &call->response,
      [this, member = caller.member_id, call, others = *std::move(others),
       done = std::move(done)](grpc::Status s) {
        // Without privacy's answer nothing is shared: the safe side of the toggle.
        const auto& settings = call->response.settings();
        std::vector<MemberId> to;
        if (s.ok() && settings.size() == static_cast<int>(others.size()) + 1 &&
            settings[0].read_receipts_and_typing()) {
          for (size_t i = 0; i < others.size(); ++i) {
            if (settings[static_cast<int>(i) + 1].read_receipts_and_typing()) {
              to.push_back(others[i]);
            }
          }
        }
        if (to.empty()) return done(std::move(to));
        // Nor across a block, either way (in a group both stay; neither is
        // told of the other). Without identity's answer, nothing is shared.
        FetchRelationships(
            member, to,
            [done](absl::StatusOr<std::vector<identity::v1::Relationship>> relationships) {
              std::vector<MemberId> unblocked;
              for (const auto& r : relationships.ok() ? *relationships
                                                      : std::vector<identity::v1::Relationship>()) {
                if (!r.blocked()) unblocked.push_back(std::stoull(r.other_member_id()));
              }
              done(std::move(unblocked));
            });
      });
}

}  // namespace liaison::messaging
