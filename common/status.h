// Status helpers shared by every layer: the one absl::Status -> grpc::Status
// mapping, and the RETURN_IF_ERROR / ASSIGN_OR_RETURN pair that Abseil
// 20220623 does not ship.
#ifndef LIAISON_COMMON_STATUS_H_
#define LIAISON_COMMON_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace liaison {

// Maps an absl::Status to the grpc::Status sent to clients. Codes map one to
// one. INTERNAL and UNKNOWN messages are replaced by a generic text (the
// original is logged) so storage paths and internals never reach a client.
grpc::Status ToGrpcStatus(const absl::Status& status);

// The reverse, for results of outgoing calls.
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace liaison

#define LIAISON_STATUS_CONCAT_INNER_(a, b) a##b
#define LIAISON_STATUS_CONCAT_(a, b) LIAISON_STATUS_CONCAT_INNER_(a, b)

// Returns from the enclosing function if `expr` (an absl::Status) is not OK.
#define RETURN_IF_ERROR(expr)                                                                 \
  do {                                                                                        \
    if (absl::Status liaison_status_ = (expr); !liaison_status_.ok()) return liaison_status_; \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, StatusOrExpr());` binds the value or returns the
// error from the enclosing function.
#define ASSIGN_OR_RETURN(lhs, expr) \
  LIAISON_ASSIGN_OR_RETURN_IMPL_(LIAISON_STATUS_CONCAT_(liaison_statusor_, __LINE__), lhs, expr)
#define LIAISON_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return std::move(tmp).status();       \
  lhs = std::move(tmp).value()

#endif  // LIAISON_COMMON_STATUS_H_
