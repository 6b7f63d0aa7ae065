// Pieces shared by the identity logic's .cc files.
#ifndef LIAISON_SERVICES_IDENTITY_IDENTITY_LOGIC_INTERNAL_H_
#define LIAISON_SERVICES_IDENTITY_IDENTITY_LOGIC_INTERNAL_H_

#include <google/protobuf/timestamp.pb.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/ids.h"
#include "services/identity/identity_logic.h"

namespace liaison::identity {

class IdentityLogic::Locked final {
 public:
  Locked(const IdentityLogic* logic, std::vector<uint64_t> ids) {
    for (uint64_t id : ids) stripes_.push_back(id % logic->stripes_.size());
    std::sort(stripes_.begin(), stripes_.end());
    stripes_.erase(std::unique(stripes_.begin(), stripes_.end()), stripes_.end());
    for (size_t s : stripes_) {
      logic->stripes_[s].Lock();
      held_.push_back(&logic->stripes_[s]);
    }
  }
  ~Locked() {
    for (auto it = held_.rbegin(); it != held_.rend(); ++it) (*it)->Unlock();
  }

 private:
  std::vector<size_t> stripes_;
  std::vector<absl::Mutex*> held_;
};

inline std::string HumanTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M UTC", t, absl::UTCTimeZone());
}

// Page ids share the member id format.
inline absl::StatusOr<uint64_t> ParsePageId(absl::string_view text) {
  return liaison::ParsePageId(text, "page_id");
}

}  // namespace liaison::identity

#endif  // LIAISON_SERVICES_IDENTITY_IDENTITY_LOGIC_INTERNAL_H_
