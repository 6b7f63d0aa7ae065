// Focused inbox (DESIGN.md §4, "Messages and inbox"). A member's conversation
// state keeps the folder of its kind: FOCUSED, OTHER, INMAIL, REQUESTS (or
// ARCHIVED, SPAM). FOCUSED and OTHER are worked out from it when read, with
// the member's focused_inbox setting:
//   - FOCUSED: conversations with connections, groups, pages the member
//     follows or wrote to, anything the member wrote in (InMail they sent);
//   - OTHER: message requests and InMails the member received and has not
//     answered (and pages the member neither follows nor wrote to);
//   - setting off: all of those in FOCUSED, OTHER empty.
// INMAIL and REQUESTS stay views of their kinds whatever the setting. The
// setting is read at every list, so turning it off or on moves nothing.
#ifndef LIAISON_SERVICES_MESSAGING_FOCUSED_INBOX_H_
#define LIAISON_SERVICES_MESSAGING_FOCUSED_INBOX_H_

#include <vector>

#include "common/ids.h"
#include "liaison/messaging/storage/v1/records.pb.h"
#include "liaison/messaging/v1/messaging.pb.h"

namespace liaison::messaging {

// The folder `member` sees a conversation in, stored in `stored`: FOCUSED or
// OTHER for the inbox kinds, `stored` itself for ARCHIVED and SPAM.
v1::Folder ShownFolder(v1::Folder stored, const storage::v1::ConversationRecord& record,
                       MemberId member, bool focused_inbox);

// The stored folders whose conversations may be shown in `listed`.
std::vector<v1::Folder> StoredFoldersOf(v1::Folder listed, bool focused_inbox);

}  // namespace liaison::messaging

#endif  // LIAISON_SERVICES_MESSAGING_FOCUSED_INBOX_H_
