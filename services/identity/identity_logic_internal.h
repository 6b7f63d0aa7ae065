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
#include "common/status.h"
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

class IdentityLogic::Graph final : public NeighborSource {
 public:
  Graph(const IdentityStore* store, IdentityPeers* peers) : store_(store), peers_(peers) {}

  absl::StatusOr<std::vector<MemberId>> Neighbors(MemberId member) const override {
    if (peers_ == nullptr || peers_->Owns(member)) return store_->Neighbors(member);
    ASSIGN_OR_RETURN(auto facts, peers_->Facts({member}, true));
    return std::vector<MemberId>(facts[0].connection_ids().begin(),
                                 facts[0].connection_ids().end());
  }

  absl::StatusOr<std::vector<std::vector<MemberId>>> NeighborsOfMany(
      const std::vector<MemberId>& members) const override {
    if (peers_ == nullptr) return store_->NeighborsOfMany(members);
    std::vector<MemberId> here, there;
    for (MemberId m : members) (peers_->Owns(m) ? here : there).push_back(m);
    ASSIGN_OR_RETURN(auto local, store_->NeighborsOfMany(here));
    std::vector<v1::MemberFacts> remote;
    if (!there.empty()) {
      ASSIGN_OR_RETURN(remote, peers_->Facts(there, true));
    }
    std::vector<std::vector<MemberId>> out;
    out.reserve(members.size());
    size_t h = 0, t = 0;
    for (MemberId m : members) {
      if (peers_->Owns(m)) {
        out.push_back(std::move(local[h++]));
      } else {
        const auto& ids = remote[t++].connection_ids();
        out.emplace_back(ids.begin(), ids.end());
      }
    }
    return out;
  }

 private:
  const IdentityStore* store_;
  IdentityPeers* peers_;
};

// The directory key of a handle or an email.
inline std::string NameKey(v1::NameKind kind, const std::string& name) {
  return kind == v1::NAME_KIND_HANDLE ? keys::Handle(name) : keys::Email(name);
}

inline std::string HumanTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M UTC", t, absl::UTCTimeZone());
}

// Page ids share the member id format.
inline absl::StatusOr<uint64_t> ParsePageId(absl::string_view text) {
  return liaison::ParsePageId(text, "page_id");
}

}  // namespace liaison::identity

#endif  // LIAISON_SERVICES_IDENTITY_IDENTITY_LOGIC_INTERNAL_H_
