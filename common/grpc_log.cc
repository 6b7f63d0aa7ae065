#include "common/grpc_log.h"

#include <grpc/support/log.h>

#include <mutex>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace liaison {
namespace {

void HandleGrpcLog(gpr_log_func_args* args) {
  absl::string_view file = args->file != nullptr ? args->file : "";
  if (size_t slash = file.rfind('/'); slash != absl::string_view::npos) {
    file.remove_prefix(slash + 1);
  }
  const std::string source = absl::StrCat(file, ":", args->line);
  const std::string message = args->message != nullptr ? args->message : "";
  switch (args->severity) {
    case GPR_LOG_SEVERITY_DEBUG:
      LogDebug("grpc_log", {{"message", message}, {"source", source}});
      break;
    case GPR_LOG_SEVERITY_INFO:
      LogInfo("grpc_log", {{"message", message}, {"source", source}});
      break;
    default:
      LogError("grpc_log", {{"message", message}, {"source", source}});
      break;
  }
}

}  // namespace

void RouteGrpcLogs() {
  static std::once_flag once;
  std::call_once(once, [] { gpr_set_log_function(&HandleGrpcLog); });
}

}  // namespace liaison
