// No request's work grows with a number the client chose (DESIGN.md §5):
// huge positions, page sizes and cursors get the right answer at once, and
// a filter that matches nothing looks at a bounded part of a folder per call.
#include <limits>

#include "common/keys.h"
#include "common/pagination.h"
#include "tests/grpc/messaging_fixture.h"

namespace liaison::messaging {
namespace {

constexpr int64_t kHuge = std::numeric_limits<int64_t>::max();

struct Page {
  grpc::Status status;
  std::vector<int64_t> sequences;
  bool has_more = false;
};

Page List(MessagingFixture& f, MemberId member, const std::string& conversation,
          v1::Direction direction, int64_t before, int64_t after, int32_t page_size = 0) {
  v1::ListMessagesRequest request;
  request.set_conversation_id(conversation);
  request.set_direction(direction);
  request.set_before_sequence(before);
  request.set_after_sequence(after);
  request.set_page_size(page_size);
  v1::ListMessagesResponse response;
  Page page;
  page.status =
      f.stub->ListMessages(TestService::Context(f.Token(member)).get(), request, &response);
  for (const auto& m : response.messages()) page.sequences.push_back(m.sequence());
  page.has_more = response.has_more();
  return page;
}

TEST_CASE("ListMessages clamps positions to the messages there are") {
  MessagingFixture f;
  const MemberId a = f.NewMember(), b = f.NewMember();
  f.Connect(a, b);
  v1::SendMessageResponse sent;
  REQUIRE_THAT(f.Send(a, b, "one", "m1", &sent), IsOk());
  const std::string c = sent.conversation().conversation_id();
  REQUIRE_THAT(f.Reply(b, c, "two", "m2"), IsOk());
  REQUIRE_THAT(f.Reply(a, c, "three", "m3"), IsOk());
  using V = std::vector<int64_t>;

  // Older than a position far past the end: from the newest down.
  Page older = List(f, b, c, v1::DIRECTION_OLDER, kHuge, 0, 2);
  REQUIRE_THAT(older.status, IsOk());
  CHECK(older.sequences == V{3, 2});
  CHECK(older.has_more);
  older = List(f, b, c, v1::DIRECTION_OLDER, int64_t{1} << 62, 0);
  CHECK(older.sequences == V{3, 2, 1});
  CHECK_FALSE(older.has_more);
  older = List(f, b, c, v1::DIRECTION_OLDER, 2, 0);
  CHECK(older.sequences == V{1});
  CHECK_FALSE(older.has_more);
  CHECK(List(f, b, c, v1::DIRECTION_OLDER, 1, 0).sequences.empty());

  // Newer than a position at or past the end: nothing (not the last message).
  for (int64_t after : {int64_t{3}, int64_t{4}, int64_t{1} << 62, kHuge}) {
    INFO(after);
    Page newer = List(f, b, c, v1::DIRECTION_NEWER, 0, after);
    REQUIRE_THAT(newer.status, IsOk());
    CHECK(newer.sequences.empty());
    CHECK_FALSE(newer.has_more);
  }
  Page newer = List(f, b, c, v1::DIRECTION_NEWER, 0, 0, 2);
  CHECK(newer.sequences == V{1, 2});
  CHECK(newer.has_more);
  newer = List(f, b, c, v1::DIRECTION_NEWER, 0, 1);
  CHECK(newer.sequences == V{2, 3});
  CHECK_FALSE(newer.has_more);

  // The largest page size is clamped, not refused; negatives are refused.
  CHECK(List(f, b, c, v1::DIRECTION_OLDER, 0, 0, std::numeric_limits<int32_t>::max()).sequences ==
        V{3, 2, 1});
  CHECK_THAT(List(f, b, c, v1::DIRECTION_OLDER, -1, 0).status,
             StatusIs(Code::kInvalidArgument));
  CHECK_THAT(List(f, b, c, v1::DIRECTION_NEWER, 0, -kHuge).status,
             StatusIs(Code::kInvalidArgument));
  CHECK_THAT(List(f, b, c, v1::DIRECTION_OLDER, 0, 0, -1).status,
             StatusIs(Code::kInvalidArgument));
  // Someone outside the conversation learns nothing, however large the numbers.
  const MemberId eve = f.NewMember();
  CHECK_THAT(List(f, eve, c, v1::DIRECTION_OLDER, kHuge, 0).status, StatusIs(Code::kNotFound));
}

// Puts `count` group conversations in `member`'s FOCUSED folder straight into
// the store, all read; the oldest one (the last in the folder) has one unread
// message.
void FillFolder(MessagingFixture& f, MemberId member, int count) {
  MessagingStore store(f.messaging.store());
  rocksdb::WriteBatch batch;
  const absl::Time start = absl::FromUnixSeconds(1'700'000'000);
  for (int i = 0; i < count; ++i) {
    const ConversationId c = 1'000'000 + i;
    const absl::Time activity = start - absl::Seconds(i);
    storage::v1::ConversationRecord record;
    record.mutable_conversation()->set_conversation_id(std::to_string(c));
    record.mutable_conversation()->set_kind(v1::CONVERSATION_KIND_GROUP);
    record.mutable_conversation()->add_participant_ids(std::to_string(member));
    record.set_last_sequence(i == count - 1 ? 1 : 0);
    storage::v1::MemberState state;
    state.set_folder(v1::FOLDER_FOCUSED);
    state.set_home_folder(v1::FOLDER_FOCUSED);
    SetTimestamp(state.mutable_indexed_activity(), activity);
    batch.Put(store.conversations(), keys::Conversation(c), record.SerializeAsString());
    batch.Put(store.members(), keys::State(member, c), state.SerializeAsString());
    batch.Put(store.members(), keys::Inbox(member, v1::FOLDER_FOCUSED, activity, c), "");
  }
  REQUIRE_THAT(f.messaging.store()->Write(&batch, Durability::kSynced), IsOk());
}

TEST_CASE("A filter that matches little looks at a bounded part of the folder per call") {
  MessagingFixture f;
  const MemberId m = f.NewMember();
  const int count = MessagingLogic::kMaxScanned + 100;
  FillFolder(f, m, count);
  v1::ListConversationsRequest request;
  request.set_folder(v1::FOLDER_FOCUSED);
  request.set_filter(v1::FILTER_UNREAD);
  request.set_page_size(std::numeric_limits<int32_t>::max());
  v1::ListConversationsResponse first;
  REQUIRE_THAT(f.stub->ListConversations(TestService::Context(f.Token(m)).get(), request, &first),
               IsOk());
  // kMaxScanned read ones looked at: an empty page that goes on.
  CHECK(first.conversations().empty());
  REQUIRE_FALSE(first.next_page_token().empty());
  request.set_page_token(first.next_page_token());
  v1::ListConversationsResponse second;
  REQUIRE_THAT(f.stub->ListConversations(TestService::Context(f.Token(m)).get(), request, &second),
               IsOk());
  REQUIRE(second.conversations_size() == 1);
  CHECK(second.conversations(0).conversation_id() == std::to_string(1'000'000 + count - 1));
  CHECK(second.next_page_token().empty());
  // Without a filter, a page is at most the largest page size.
  request.clear_filter();
  request.clear_page_token();
  v1::ListConversationsResponse all;
  REQUIRE_THAT(f.stub->ListConversations(TestService::Context(f.Token(m)).get(), request, &all),
               IsOk());
  CHECK(all.conversations_size() == kMaxPageSize);
  CHECK_FALSE(all.next_page_token().empty());
  // Unread counts walk the whole folder, off the callback threads.
  v1::GetUnreadCountsResponse counts;
  REQUIRE_THAT(f.stub->GetUnreadCounts(TestService::Context(f.Token(m)).get(), {}, &counts),
               IsOk());
  for (const auto& count : counts.counts()) {
    if (count.folder() != v1::FOLDER_FOCUSED) continue;
    CHECK(count.conversations() == 1);
    CHECK(count.messages() == 1);
  }
}

TEST_CASE("Page sizes past the maximum are clamped in identity, credits and privacy") {
  MessagingFixture f;
  const MemberId a = f.NewMember(identity::v1::ACCOUNT_TIER_PREMIUM_CAREER), b = f.NewMember();
  f.Connect(a, b);
  identity::v1::ListConnectionsRequest connections;
  connections.set_page_size(std::numeric_limits<int32_t>::max());
  identity::v1::ListConnectionsResponse listed;
  REQUIRE_THAT(f.people->ListConnections(TestService::Context(f.Token(a)).get(), connections,
                                         &listed),
               IsOk());
  REQUIRE(listed.connections_size() == 1);
  CHECK(listed.connections(0).member_id() == std::to_string(b));
  CHECK(listed.next_page_token().empty());
  connections.set_page_size(std::numeric_limits<int32_t>::min());
  CHECK_THAT(f.people->ListConnections(TestService::Context(f.Token(a)).get(), connections,
                                       &listed),
             StatusIs(Code::kInvalidArgument));

  auto credits = credits::v1::CreditService::NewStub(f.credits.channel());
  credits::v1::ListLedgerRequest ledger;
  ledger.set_page_size(std::numeric_limits<int32_t>::max());
  credits::v1::ListLedgerResponse entries;
  REQUIRE_THAT(credits->ListLedger(TestService::Context(f.Token(a)).get(), ledger, &entries),
               IsOk());
  REQUIRE(entries.entries_size() == 1);  // the upgrade's grant
  CHECK(entries.entries(0).type() == credits::v1::ENTRY_TYPE_GRANT);
  CHECK(entries.next_page_token().empty());

  auto privacy = privacy::v1::PrivacyService::NewStub(f.privacy.channel());
  privacy::v1::BatchGetSettingsRequest batch;
  for (int i = 0; i < 1001; ++i) batch.add_member_ids(std::to_string(i + 1));
  privacy::v1::BatchGetSettingsResponse settings;
  CHECK_THAT(privacy->BatchGetSettings(
                 TestService::Context(f.identity.ServiceToken("messaging")).get(), batch,
                 &settings),
             StatusIs(Code::kInvalidArgument));
  batch.mutable_member_ids()->RemoveLast();
  REQUIRE_THAT(privacy->BatchGetSettings(
                   TestService::Context(f.identity.ServiceToken("messaging")).get(), batch,
                   &settings),
               IsOk());
  CHECK(settings.settings_size() == 1000);
}

}  // namespace
}  // namespace liaison::messaging
