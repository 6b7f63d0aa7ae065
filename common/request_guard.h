// Requests whose bytes do not parse. gRPC's callback API answers a request it
// cannot deserialize with UNIMPLEMENTED and an empty message, before any
// handler (and so before auth) runs. The interceptor made here turns that
// answer into INVALID_ARGUMENT with a message naming the method, the request
// type and protobuf's reason (e.g. which string field holds invalid UTF-8).
//
// RouteProtobufLogs sends libprotobuf's own log output through the JSON
// logger instead of raw "[libprotobuf ERROR ...]" lines on stderr. A parse
// error caused by a client is reported to that client and logged at debug
// level only, so bad requests cannot flood the log.
#ifndef LIAISON_COMMON_REQUEST_GUARD_H_
#define LIAISON_COMMON_REQUEST_GUARD_H_

#include <grpcpp/support/server_interceptor.h>

#include <memory>
#include <string>

namespace liaison {

// Installs the protobuf log handler. Idempotent and thread-safe.
void RouteProtobufLogs();

// An interceptor factory for every server: cheap for requests that parse.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
UnparsableRequestInterceptor();

// The message sent for a request to `method` ("/pkg.Service/Method") that did
// not parse, with protobuf's `reason` if it gave one (may be empty).
std::string UnparsableRequestMessage(const std::string& method, const std::string& reason);

}  // namespace liaison

#endif  // LIAISON_COMMON_REQUEST_GUARD_H_
