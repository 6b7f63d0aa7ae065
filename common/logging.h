// Structured logging: one JSON object per line on stderr, e.g.
//   {"ts":"2026-11-24T02:42:14.123456Z","level":"info","svc":"privacy","event":"serving","grpc_port":50054}
// Built on spdlog (formatting, levels, thread-safe sink) and nlohmann::json
// (escaping), so a log line is always valid JSON whatever a field holds.
#ifndef LIAISON_COMMON_LOGGING_H_
#define LIAISON_COMMON_LOGGING_H_

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace liaison {

using LogFields = std::initializer_list<std::pair<const char*, nlohmann::ordered_json>>;

// Names the service in every line and sets the minimum level ("debug",
// "info", "warn", "error"). InvalidArgumentError for an unknown level.
// Logging works before this call too (service "liaison", level info).
absl::Status InitLogging(absl::string_view service, absl::string_view level);

void LogDebug(absl::string_view event, LogFields fields = {});
void LogInfo(absl::string_view event, LogFields fields = {});
void LogWarn(absl::string_view event, LogFields fields = {});
void LogError(absl::string_view event, LogFields fields = {});

}  // namespace liaison

#endif  // LIAISON_COMMON_LOGGING_H_
