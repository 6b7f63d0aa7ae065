// Tells the privacy service which members exist (PrivacyService's
// RegisterMembers), so that only members may change privacy settings.
// Identity calls privacy, never the other way round (DESIGN.md §2).
//
// CreateMember commits an outbox record (keys::Registration) with the member;
// RegisterCreated delivers it at once, so a client may change settings right
// after creating a member. Whatever is left (privacy was down or slow, or
// identity crashed in between) a background loop delivers in batches, with
// backoff while privacy fails, deleting each record once privacy confirmed.
// The same loop registers, once per store, every member that existed before
// registrations did (or that liaison-seed-graph wrote): it walks the members
// a batch at a time behind a cursor kept in the store, after start-up, so a
// large store does not delay serving.
#ifndef LIAISON_SERVICES_IDENTITY_PRIVACY_REGISTRAR_H_
#define LIAISON_SERVICES_IDENTITY_PRIVACY_REGISTRAR_H_

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/client.h"
#include "common/ids.h"
#include "common/worker_pool.h"
#include "liaison/privacy/v1/privacy.grpc.pb.h"
#include "services/identity/identity_store.h"

namespace liaison::identity {

struct RegistrarOptions {
  // Deadline of one RegisterMembers call.
  absl::Duration call_timeout = absl::Seconds(1);
  // Pause between passes when nothing is left; the first retry after a failure.
  absl::Duration interval = absl::Seconds(1);
  // Longest pause between retries while privacy keeps failing.
  absl::Duration max_backoff = absl::Seconds(10);
  // Members per RegisterMembers call (privacy takes at most 1,000).
  int batch = 1000;
};

class PrivacyRegistrar final {
 public:
  // Starts the background loop. Every pointer must outlive this.
  PrivacyRegistrar(IdentityStore* store, privacy::v1::PrivacyService::Stub* privacy,
                   ServiceTokenSource* tokens, WorkerPool* writers, prometheus::Registry& registry,
                   RegistrarOptions options);
  ~PrivacyRegistrar() { Stop(); }

  PrivacyRegistrar(const PrivacyRegistrar&) = delete;
  PrivacyRegistrar& operator=(const PrivacyRegistrar&) = delete;

  // Ends the loop and waits for it and for RegisterCreated calls in flight
  // (each within its deadline), so nothing touches the store afterwards.
  // Idempotent.
  void Stop();

  // Registers a member whose outbox record was just committed, without
  // blocking: `done` runs (on a writer thread or a gRPC thread) once privacy
  // confirmed and the record is gone, or once the call failed, leaving the
  // record to the loop.
  void RegisterCreated(MemberId member, std::function<void()> done);

  // One step of the loop: delivers a batch of pending records or, with none
  // pending, registers the backfill's next batch of members. True if work
  // remains; UnavailableError if privacy failed (or what the store said).
  absl::StatusOr<bool> Pass();

 private:
  void Loop();
  // RegisterMembers, blocking, within the call timeout.
  absl::Status Send(const std::vector<MemberId>& members);
  // Registers up to a batch of pending records; how many it delivered.
  absl::StatusOr<int> DeliverPending();
  // Registers the backfill's next batch and moves its cursor; false once
  // every member has been walked.
  absl::StatusOr<bool> BackfillStep();
  // Deletes the outbox records of members privacy has registered.
  absl::Status Forget(const std::vector<MemberId>& members);
  // Runs `done` and counts a RegisterCreated call as finished.
  void Finished(const std::function<void()>& done);

  IdentityStore* store_;
  privacy::v1::PrivacyService::Stub* privacy_;
  ServiceTokenSource* tokens_;
  WorkerPool* writers_;
  RegistrarOptions options_;
  prometheus::Counter* delivered_;
  prometheus::Counter* failed_;
  absl::Notification stop_;
  std::thread loop_;
  absl::Mutex mu_;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace liaison::identity

#endif  // LIAISON_SERVICES_IDENTITY_PRIVACY_REGISTRAR_H_
