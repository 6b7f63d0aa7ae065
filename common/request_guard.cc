#include "common/request_guard.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/stubs/logging.h>

#include <mutex>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/logging.h"

namespace liaison {
namespace {

using grpc::experimental::InterceptionHookPoints;

// protobuf reports a parse failure's reason through its log handler on the
// thread that parses; gRPC deserializes a request and runs the interceptors'
// POST_RECV_MESSAGE on the same thread, so the reason is handed over here.
thread_local std::string last_parse_error;

const char* LevelName(google::protobuf::LogLevel level) {
  switch (level) {
    case google::protobuf::LOGLEVEL_INFO:
      return "info";
    case google::protobuf::LOGLEVEL_WARNING:
      return "warning";
    case google::protobuf::LOGLEVEL_ERROR:
      return "error";
    case google::protobuf::LOGLEVEL_FATAL:
      return "fatal";
  }
  return "unknown";
}

void HandleProtobufLog(google::protobuf::LogLevel level, const char* filename, int line,
                       const std::string& message) {
  if (absl::StrContains(message, "when parsing a protocol buffer")) {
    last_parse_error = message;
    LogDebug("protobuf_parse_error", {{"message", message}});
    return;
  }
  LogFields fields = {{"protobuf_level", LevelName(level)},
                      {"file", filename == nullptr ? "" : filename},
                      {"line", line},
                      {"message", message}};
  if (level == google::protobuf::LOGLEVEL_INFO) {
    LogInfo("protobuf", fields);
  } else if (level == google::protobuf::LOGLEVEL_WARNING) {
    LogWarn("protobuf", fields);
  } else {
    LogError("protobuf", fields);
  }
}

// "/liaison.x.v1.Service/Method" -> the request message's full name, or "".
std::string RequestType(const std::string& method) {
  if (method.size() < 2 || method[0] != '/') return "";
  std::string dotted = absl::StrReplaceAll(method.substr(1), {{"/", "."}});
  const google::protobuf::MethodDescriptor* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(dotted);
  return descriptor == nullptr ? "" : descriptor->input_type()->full_name();
}

class UnparsableInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit UnparsableInterceptor(grpc::experimental::ServerRpcInfo* info)
      : method_(info->method() == nullptr ? "" : info->method()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE)) {
      if (methods->GetRecvMessage() == nullptr) {
        unparsable_ = true;
        reason_ = std::move(last_parse_error);
      }
      last_parse_error.clear();
    }
    if (unparsable_ &&
        methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      // The callback API answers UNIMPLEMENTED, the sync API INTERNAL.
      grpc::StatusCode code = methods->GetSendStatus().error_code();
      if (code == grpc::StatusCode::UNIMPLEMENTED || code == grpc::StatusCode::INTERNAL) {
        methods->ModifySendStatus(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                               UnparsableRequestMessage(method_, reason_)));
      }
    }
    methods->Proceed();
  }

 private:
  // The registered method's name, which lives as long as the server. Copied
  // only into the message for a request that did not parse: every call
  // passes through here, so the common path allocates nothing.
  const char* method_;
  bool unparsable_ = false;
  std::string reason_;
};

class UnparsableFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new UnparsableInterceptor(info);
  }
};

}  // namespace

void RouteProtobufLogs() {
  static std::once_flag once;
  std::call_once(once, [] { google::protobuf::SetLogHandler(&HandleProtobufLog); });
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
UnparsableRequestInterceptor() {
  return std::make_unique<UnparsableFactory>();
}

std::string UnparsableRequestMessage(const std::string& method, const std::string& reason) {
  std::string type = RequestType(method);
  std::string message =
      absl::StrCat("the request to ", method.empty() ? "this method" : method, " is not a valid ",
                   type.empty() ? "request message" : type, ": ");
  if (reason.empty()) {
    absl::StrAppend(&message,
                    "its bytes are not well-formed protobuf wire data (check the encoding and "
                    "that the message matches the method)");
  } else if (size_t start = reason.find("String field '");
             start != std::string::npos && absl::StrContains(reason, "invalid UTF-8")) {
    start += sizeof("String field '") - 1;
    size_t end = reason.find('\'', start);
    absl::StrAppend(&message, "string field ", reason.substr(start, end - start),
                    " holds invalid UTF-8; text must be valid UTF-8");
  } else {
    absl::StrAppend(&message, reason);
  }
  return message;
}

}  // namespace liaison
