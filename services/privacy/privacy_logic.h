// PrivacyService's methods without gRPC: who may read or change whose
// settings, input validation, and the store. Each returns an absl::Status
// whose code is the RPC's (DESIGN.md §5) and fills the response on success.
#ifndef LIAISON_SERVICES_PRIVACY_PRIVACY_LOGIC_H_
#define LIAISON_SERVICES_PRIVACY_PRIVACY_LOGIC_H_

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <array>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/auth.h"
#include "liaison/privacy/v1/privacy.pb.h"
#include "services/privacy/privacy_store.h"

namespace liaison::privacy {

// Most members a BatchGetSettings or RegisterMembers call may name.
inline constexpr int kMaxBatch = 1000;

class PrivacyLogic final {
 public:
  // member_ids of a batch call: 1 to kMaxBatch well-formed ids, in order.
  static absl::StatusOr<std::vector<MemberId>> ParseBatch(
      const google::protobuf::RepeatedPtrField<std::string>& ids);

  // `registry` receives liaison_privacy_setting_changes_total.
  PrivacyLogic(PrivacyStore* store, prometheus::Registry& registry);

  // Members read their own settings; services read anyone's.
  absl::Status GetSettings(const Caller& caller, const v1::GetSettingsRequest& request,
                           v1::GetSettingsResponse* response) const;
  // Members change only their own settings, and only once identity has
  // registered them (FailedPreconditionError before). Synced to disk before
  // it returns.
  absl::Status UpdateSettings(const Caller& caller, const v1::UpdateSettingsRequest& request,
                              v1::UpdateSettingsResponse* response);
  // Services only (the handler enforces it).
  absl::Status BatchGetSettings(const v1::BatchGetSettingsRequest& request,
                                v1::BatchGetSettingsResponse* response) const;
  // Services only (the handler enforces it). Synced to disk before it returns.
  absl::Status RegisterMembers(const v1::RegisterMembersRequest& request);

 private:
  absl::StatusOr<MemberId> Target(const Caller& caller, const std::string& member_id,
                                  const char* verb) const;
  absl::StatusOr<v1::PrivacySettings> Choices(MemberId member) const;

  PrivacyStore* store_;
  prometheus::Family<prometheus::Counter>& changes_;
  // Updates are read-modify-write: concurrent updates of one member
  // serialize on that member's stripe.
  std::array<absl::Mutex, 64> stripes_;
};

}  // namespace liaison::privacy

#endif  // LIAISON_SERVICES_PRIVACY_PRIVACY_LOGIC_H_
