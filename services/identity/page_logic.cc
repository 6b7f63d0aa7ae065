// Company pages and their followers.
#include "common/keys.h"
#include "common/pagination.h"
#include "common/status.h"
#include "common/text.h"
#include "services/identity/identity_changes.h"
#include "services/identity/identity_logic_internal.h"
#include "services/identity/rules.h"

namespace liaison::identity {
namespace {

absl::StatusOr<v1::Page> LoadPage(const IdentityStore& store, uint64_t page_id) {
  auto page = store.GetPage(page_id);
  if (absl::IsNotFound(page.status())) {
    return absl::NotFoundError(absl::StrCat("page_id: no page ", page_id));
  }
  return page;
}

bool IsAdmin(const v1::Page& page, MemberId member) {
  const std::string id = FormatMemberId(member);
  return std::find(page.admin_member_ids().begin(), page.admin_member_ids().end(), id) !=
         page.admin_member_ids().end();
}

}  // namespace

absl::Status IdentityLogic::CreatePage(const Caller& caller, const v1::CreatePageRequest& request,
                                       v1::CreatePageResponse* response) {
  ASSIGN_OR_RETURN(std::string name, ValidateText(request.name(), {"name", kMaxPageName}));
  std::vector<MemberId> admins = {caller.member_id};
  for (int i = 0; i < request.admin_member_ids_size(); ++i) {
    ASSIGN_OR_RETURN(MemberId id, ParseMemberId(request.admin_member_ids(i),
                                                absl::StrCat("admin_member_ids[", i, "]")));
    if (std::find(admins.begin(), admins.end(), id) == admins.end()) admins.push_back(id);
  }
  if (static_cast<int>(admins.size()) > kMaxPageAdmins) {
    return absl::InvalidArgumentError(absl::StrCat("a page has at most ", kMaxPageAdmins,
                                                   " admins; this request names ", admins.size()));
  }
  RETURN_IF_ERROR(Self(caller).status());
  for (size_t i = 1; i < admins.size(); ++i) {
    RETURN_IF_ERROR(Visible(caller, admins[i], "admin_member_ids").status());
  }
  ASSIGN_OR_RETURN(uint64_t page_id, NewId(&keys::Page));
  v1::Page page;
  page.set_page_id(FormatMemberId(page_id));
  page.set_name(name);
  for (MemberId admin : admins) page.add_admin_member_ids(FormatMemberId(admin));
  SetTimestamp(page.mutable_create_time(), clock_->Now());
  rocksdb::WriteBatch batch;
  batch.Put(store_->members(), keys::Page(page_id), page.SerializeAsString());
  RETURN_IF_ERROR(Commit(&batch));
  Count("page_created");
  *response->mutable_page() = std::move(page);
  return absl::OkStatus();
}

absl::Status IdentityLogic::GetPage(const Caller& caller, const v1::GetPageRequest& request,
                                    v1::GetPageResponse* response) const {
  ASSIGN_OR_RETURN(uint64_t page_id, ParsePageId(request.page_id()));
  ASSIGN_OR_RETURN(v1::Page page, LoadPage(*store_, page_id));
  ASSIGN_OR_RETURN(uint64_t followers, store_->FollowerCount(page_id));
  page.set_follower_count(static_cast<int64_t>(followers));
  if (caller.is_member() && !IsAdmin(page, caller.member_id)) page.clear_admin_member_ids();
  *response->mutable_page() = std::move(page);
  return absl::OkStatus();
}

absl::Status IdentityLogic::FollowPage(const Caller& caller, const v1::FollowPageRequest& request) {
  ASSIGN_OR_RETURN(uint64_t page_id, ParsePageId(request.page_id()));
  RETURN_IF_ERROR(LoadPage(*store_, page_id).status());
  RETURN_IF_ERROR(Self(caller).status());
  Locked lock(this, {page_id});
  const std::string key = keys::Follower(page_id, caller.member_id);
  ASSIGN_OR_RETURN(bool following, store_->Exists(store_->social(), key));
  if (following) return absl::OkStatus();  // Following is idempotent.
  ASSIGN_OR_RETURN(uint64_t followers, store_->FollowerCount(page_id));
  rocksdb::WriteBatch batch;
  batch.Put(store_->social(), key, IdentityStore::EncodeTime(clock_->Now()));
  batch.Put(store_->members(), keys::FollowerCount(page_id),
            IdentityStore::EncodeCounter(followers + 1));
  RETURN_IF_ERROR(Commit(&batch, {FollowChanged(page_id, caller.member_id, true)}));
  Count("page_followed");
  return absl::OkStatus();
}

absl::Status IdentityLogic::UnfollowPage(const Caller& caller,
                                         const v1::UnfollowPageRequest& request) {
  ASSIGN_OR_RETURN(uint64_t page_id, ParsePageId(request.page_id()));
  RETURN_IF_ERROR(LoadPage(*store_, page_id).status());
  Locked lock(this, {page_id});
  const std::string key = keys::Follower(page_id, caller.member_id);
  ASSIGN_OR_RETURN(bool following, store_->Exists(store_->social(), key));
  if (!following) return absl::OkStatus();
  ASSIGN_OR_RETURN(uint64_t followers, store_->FollowerCount(page_id));
  rocksdb::WriteBatch batch;
  batch.Delete(store_->social(), key);
  batch.Put(store_->members(), keys::FollowerCount(page_id),
            IdentityStore::EncodeCounter(followers > 0 ? followers - 1 : 0));
  RETURN_IF_ERROR(Commit(&batch, {FollowChanged(page_id, caller.member_id, false)}));
  Count("page_unfollowed");
  return absl::OkStatus();
}

absl::Status IdentityLogic::ListPageFollowers(const Caller& caller,
                                              const v1::ListPageFollowersRequest& request,
                                              v1::ListPageFollowersResponse* response) const {
  ASSIGN_OR_RETURN(uint64_t page_id, ParsePageId(request.page_id()));
  ASSIGN_OR_RETURN(int page_size, PageSize(request.page_size()));
  ASSIGN_OR_RETURN(std::string after, DecodePageToken("followers", request.page_token()));
  ASSIGN_OR_RETURN(v1::Page page, LoadPage(*store_, page_id));
  if (caller.is_member() && !IsAdmin(page, caller.member_id)) {
    return absl::PermissionDeniedError("only the page's admins can list its followers");
  }
  const std::string prefix = keys::Prefix('f', page_id);
  ASSIGN_OR_RETURN(auto entries, store_->Scan(store_->social(), prefix,
                                              after.empty() ? "" : prefix + after, page_size + 1));
  for (size_t i = 0; i < entries.size() && i < static_cast<size_t>(page_size); ++i) {
    KeyReader reader = keys::Reader(entries[i].key);
    char kind;
    uint64_t page_in_key, member;
    if (!reader.Kind(&kind) || !reader.U64(&page_in_key) || !reader.U64(&member)) {
      return absl::DataLossError("a follower key does not parse");
    }
    response->add_member_ids(FormatMemberId(member));
  }
  if (entries.size() > static_cast<size_t>(page_size)) {
    response->set_next_page_token(
        EncodePageToken("followers", entries[page_size - 1].key.substr(prefix.size())));
  }
  return absl::OkStatus();
}

absl::Status IdentityLogic::GetPageRelation(const Caller& caller,
                                            const v1::GetPageRelationRequest& request,
                                            v1::GetPageRelationResponse* response) const {
  ASSIGN_OR_RETURN(uint64_t page_id, ParsePageId(request.page_id()));
  ASSIGN_OR_RETURN(MemberId member, SelfOrNamed(caller, request.member_id(), "member_id"));
  ASSIGN_OR_RETURN(v1::Page page, LoadPage(*store_, page_id));
  auto exists = AnyMember(member);
  if (absl::IsNotFound(exists.status())) {
    return absl::NotFoundError(absl::StrCat("member_id: no member ", member));
  }
  if (!exists.ok()) return exists.status();
  ASSIGN_OR_RETURN(bool follows, store_->Exists(store_->social(), keys::Follower(page_id, member)));
  response->set_follows(follows);
  response->set_is_admin(IsAdmin(page, member));
  return absl::OkStatus();
}

}  // namespace liaison::identity
