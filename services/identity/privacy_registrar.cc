#include "services/identity/privacy_registrar.h"

#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/keys.h"
#include "common/logging.h"
#include "common/status.h"

namespace liaison::identity {
namespace {

using privacy::v1::RegisterMembersRequest;
using privacy::v1::RegisterMembersResponse;

// The member id in a key of the form partition + kind + u64.
absl::StatusOr<MemberId> IdOfKey(const std::string& key) {
  char kind;
  MemberId id;
  KeyReader reader = keys::Reader(key);
  if (!reader.Kind(&kind) || !reader.U64(&id) || !reader.AtEnd()) {
    return absl::DataLossError("a member key does not parse");
  }
  return id;
}

RegisterMembersRequest RequestFor(const std::vector<MemberId>& members) {
  RegisterMembersRequest request;
  for (MemberId member : members) request.add_member_ids(FormatMemberId(member));
  return request;
}

// What a failed call means here: try again later, whatever the code (the
// details go to the log when a run of failures starts).
absl::Status Deferred(const grpc::Status& status) {
  return absl::UnavailableError(
      absl::StrCat("privacy answered ", status.error_code(), ": ", status.error_message()));
}

}  // namespace

PrivacyRegistrar::PrivacyRegistrar(IdentityStore* store, privacy::v1::PrivacyService::Stub* privacy,
                                   ServiceTokenSource* tokens, WorkerPool* writers,
                                   prometheus::Registry& registry, RegistrarOptions options)
    : store_(store), privacy_(privacy), tokens_(tokens), writers_(writers), options_(options) {
  auto& family = prometheus::BuildCounter()
                     .Name("liaison_identity_privacy_registrations_total")
                     .Help(
                         "Members registered with the privacy service (delivered), and "
                         "registrations that failed and wait for a retry (failed).")
                     .Register(registry);
  delivered_ = &family.Add({{"outcome", "delivered"}});
  failed_ = &family.Add({{"outcome", "failed"}});
  loop_ = std::thread([this] { Loop(); });
}

void PrivacyRegistrar::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (loop_.joinable()) loop_.join();
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](int* in_flight) { return *in_flight == 0; }, &in_flight_));
}

void PrivacyRegistrar::Finished(const std::function<void()>& done) {
  done();
  absl::MutexLock lock(&mu_);
  --in_flight_;
}

void PrivacyRegistrar::RegisterCreated(MemberId member, std::function<void()> done) {
  // Asynchronous: no thread waits for privacy.
  {
    absl::MutexLock lock(&mu_);
    ++in_flight_;
  }
  auto call = std::make_shared<OutgoingCall<RegisterMembersRequest, RegisterMembersResponse>>();
  tokens_->Prepare(&call->context, options_.call_timeout);
  call->request = RequestFor({member});
  privacy_->async()->RegisterMembers(
      &call->context, &call->request, &call->response,
      [this, call, member, done = std::move(done)](grpc::Status status) {
        if (!status.ok()) {
          failed_->Increment();
          LogWarn("privacy_registration_deferred",
                  {{"member_id", member}, {"error", Deferred(status).ToString()}});
          Finished(done);
          return;
        }
        writers_->Post([this, member, done] {
          if (absl::Status forgotten = Forget({member}); forgotten.ok()) {
            delivered_->Increment();
          } else {
            // The loop registers the member again: harmless, privacy is idempotent.
            LogError("privacy_registration_not_cleared", {{"error", forgotten.ToString()}});
          }
          Finished(done);
        });
      });
}

void PrivacyRegistrar::Loop() {
  absl::Duration pause = options_.interval;
  bool failing = false;
  while (!stop_.HasBeenNotified()) {
    absl::StatusOr<bool> more = Pass();
    if (!more.ok()) {
      if (!failing) LogWarn("privacy_registrations_waiting", {{"error", more.status().ToString()}});
      failing = true;
      if (stop_.WaitForNotificationWithTimeout(pause)) return;
      pause = std::min(pause * 2, options_.max_backoff);
      continue;
    }
    if (failing) LogInfo("privacy_registrations_resumed");
    failing = false;
    pause = options_.interval;
    if (!*more && stop_.WaitForNotificationWithTimeout(options_.interval)) return;
  }
}

absl::StatusOr<bool> PrivacyRegistrar::Pass() {
  ASSIGN_OR_RETURN(int delivered, DeliverPending());
  if (delivered > 0) return true;
  return BackfillStep();
}

absl::Status PrivacyRegistrar::Send(const std::vector<MemberId>& members) {
  // The background thread: a blocking call is fine here.
  grpc::ClientContext context;
  tokens_->Prepare(&context, options_.call_timeout);
  RegisterMembersResponse response;
  grpc::Status status = privacy_->RegisterMembers(&context, RequestFor(members), &response);
  if (!status.ok()) {
    failed_->Increment(static_cast<double>(members.size()));
    return Deferred(status);
  }
  delivered_->Increment(static_cast<double>(members.size()));
  return absl::OkStatus();
}

absl::StatusOr<int> PrivacyRegistrar::DeliverPending() {
  // Registrations are the outbox's only member-keyed records: they sort
  // first (a partition's first byte is below every kind byte).
  ASSIGN_OR_RETURN(auto pending,
                   store_->Scan(store_->outbox(), "", "", static_cast<size_t>(options_.batch)));
  std::vector<MemberId> members;
  for (const auto& entry : pending) {
    if (keys::KindOf(entry.key) != 'r' || !keys::IsMemberKeyed(entry.key)) break;
    ASSIGN_OR_RETURN(MemberId member, IdOfKey(entry.key));
    members.push_back(member);
  }
  if (members.empty()) return 0;
  RETURN_IF_ERROR(Send(members));
  RETURN_IF_ERROR(Forget(members));
  return static_cast<int>(members.size());
}

absl::StatusOr<bool> PrivacyRegistrar::BackfillStep() {
  const std::string cursor_key = keys::RegistrationBackfill();
  auto cursor = store_->store()->Get(store_->outbox(), cursor_key);
  if (!cursor.ok() && !absl::IsNotFound(cursor.status())) return cursor.status();
  const std::string walked = cursor.ok() ? *std::move(cursor) : "";
  if (walked == IdentityStore::EncodeCounter(kBackfillDone)) return false;
  if (walked.empty()) LogInfo("privacy_registration_backfill_started");
  // The members family holds names and pages too: a step reads a bounded
  // number of keys, whatever they are, and registers the members among them.
  ASSIGN_OR_RETURN(auto records, store_->Scan(store_->members(), "", walked,
                                              static_cast<size_t>(options_.batch)));
  std::vector<MemberId> members;
  for (const auto& entry : records) {
    if (keys::KindOf(entry.key) != 'm') continue;
    ASSIGN_OR_RETURN(MemberId member, IdOfKey(entry.key));
    members.push_back(member);
  }
  if (!members.empty()) RETURN_IF_ERROR(Send(members));
  const bool done = records.size() < static_cast<size_t>(options_.batch);
  rocksdb::WriteBatch batch;
  RETURN_IF_ERROR(FromRocksStatus(
      batch.Put(store_->outbox(), cursor_key,
                done ? IdentityStore::EncodeCounter(kBackfillDone) : records.back().key),
      "batch put"));
  // Lost to a crash, a step is only done again.
  RETURN_IF_ERROR(store_->store()->Write(&batch, Durability::kBuffered));
  if (done) LogInfo("privacy_registration_backfill_done");
  return !done;
}

absl::Status PrivacyRegistrar::Forget(const std::vector<MemberId>& members) {
  rocksdb::WriteBatch batch;
  for (MemberId member : members) {
    RETURN_IF_ERROR(FromRocksStatus(batch.Delete(store_->outbox(), keys::Registration(member)),
                                    "batch delete"));
  }
  // Lost to a crash, a record is only delivered again.
  return store_->store()->Write(&batch, Durability::kBuffered);
}

}  // namespace liaison::identity
