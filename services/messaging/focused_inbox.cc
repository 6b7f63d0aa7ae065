#include "services/messaging/focused_inbox.h"

namespace liaison::messaging {

v1::Folder ShownFolder(v1::Folder stored, const storage::v1::ConversationRecord& record,
                       MemberId member, bool focused_inbox) {
  v1::Folder inbox;
  switch (stored) {
    case v1::FOLDER_FOCUSED:
      inbox = v1::FOLDER_FOCUSED;
      break;
    case v1::FOLDER_OTHER:
    case v1::FOLDER_REQUESTS:
      inbox = v1::FOLDER_OTHER;
      break;
    case v1::FOLDER_INMAIL:
      // Its sender wrote in it; its recipient has not answered yet (an
      // answer moves it to FOCUSED).
      inbox = record.conversation().inmail().recipient_id() == FormatMemberId(member)
                  ? v1::FOLDER_OTHER
                  : v1::FOLDER_FOCUSED;
      break;
    default:
      return stored;
  }
  return focused_inbox ? inbox : v1::FOLDER_FOCUSED;
}

std::vector<v1::Folder> StoredFoldersOf(v1::Folder listed, bool focused_inbox) {
  switch (listed) {
    case v1::FOLDER_FOCUSED:
      if (!focused_inbox) {
        return {v1::FOLDER_FOCUSED, v1::FOLDER_OTHER, v1::FOLDER_INMAIL, v1::FOLDER_REQUESTS};
      }
      return {v1::FOLDER_FOCUSED, v1::FOLDER_INMAIL};
    case v1::FOLDER_OTHER:
      if (!focused_inbox) return {};
      return {v1::FOLDER_OTHER, v1::FOLDER_INMAIL, v1::FOLDER_REQUESTS};
    default:
      return {listed};
  }
}

}  // namespace liaison::messaging
