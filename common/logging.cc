#include "common/logging.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string_view>

namespace liaison {
namespace {

std::shared_ptr<spdlog::logger> MakeLogger(absl::string_view service) {
  auto logger = std::make_shared<spdlog::logger>("liaison",
                                                 std::make_shared<spdlog::sinks::stderr_sink_mt>());
  // The message is a JSON object without its opening brace; the pattern
  // supplies the brace and the fields every line has.
  nlohmann::json svc = std::string(service);
  logger->set_pattern(
      "{\"ts\":\"%Y-%m-%dT%H:%M:%S.%fZ\",\"level\":\"%l\",\"svc\":" + svc.dump() + ",%v",
      spdlog::pattern_time_type::utc);
  logger->flush_on(spdlog::level::trace);
  return logger;
}

std::shared_ptr<spdlog::logger>& Logger() {
  static auto* logger = new std::shared_ptr<spdlog::logger>(MakeLogger("liaison"));
  return *logger;
}

void Log(spdlog::level::level_enum level, absl::string_view event, LogFields fields) {
  auto& logger = Logger();
  if (!logger->should_log(level)) return;
  nlohmann::ordered_json line = nlohmann::ordered_json::object();
  line["event"] = std::string(event);
  for (const auto& [key, value] : fields) line[key] = value;
  // Invalid UTF-8 in a field is replaced rather than thrown.
  std::string text = line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  logger->log(level, "{}", std::string_view(text).substr(1));
}

}  // namespace

absl::Status InitLogging(absl::string_view service, absl::string_view level) {
  auto parsed = spdlog::level::from_str(std::string(level));
  if (parsed == spdlog::level::off && level != "off") {
    return absl::InvalidArgumentError("log level \"" + std::string(level) +
                                      "\" is not one of debug, info, warn, error");
  }
  auto logger = MakeLogger(service);
  logger->set_level(parsed);
  Logger() = logger;
  return absl::OkStatus();
}

void LogDebug(absl::string_view event, LogFields fields) {
  Log(spdlog::level::debug, event, fields);
}
void LogInfo(absl::string_view event, LogFields fields) { Log(spdlog::level::info, event, fields); }
void LogWarn(absl::string_view event, LogFields fields) { Log(spdlog::level::warn, event, fields); }
void LogError(absl::string_view event, LogFields fields) { Log(spdlog::level::err, event, fields); }

}  // namespace liaison
