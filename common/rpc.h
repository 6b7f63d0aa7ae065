// The one path every unary handler takes: authorize the caller, run the
// method's logic, map its absl::Status to the gRPC status. Handlers stay
// one-liners; auth and status mapping live here once.
#ifndef LIAISON_COMMON_RPC_H_
#define LIAISON_COMMON_RPC_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include <chrono>
#include <utility>

#include "common/auth.h"
#include "common/status.h"
#include "common/worker_pool.h"

namespace liaison {

// `logic` is called as `absl::Status(const Caller&)` once the caller is
// authorized for `access`; it fills the response itself.
template <typename Logic>
grpc::ServerUnaryReactor* ServeUnary(grpc::CallbackServerContext* context,
                                     const TokenVerifier& verifier, Access access, Logic&& logic) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<Caller> caller = verifier.Authorize(*context, access);
  reactor->Finish(
      ToGrpcStatus(caller.ok() ? std::forward<Logic>(logic)(*caller) : caller.status()));
  return reactor;
}

// OK while the client still waits for the call's answer; CANCELLED once it
// cancelled the call, DEADLINE_EXCEEDED once its deadline passed. Work that
// is queued or long asks before it starts and as it goes.
inline absl::Status StillWanted(const grpc::CallbackServerContext& context) {
  if (context.IsCancelled()) return absl::CancelledError("the call was cancelled");
  if (std::chrono::system_clock::now() > context.deadline()) {
    return absl::DeadlineExceededError("the call's deadline passed");
  }
  return absl::OkStatus();
}

// Runs `logic` (`absl::Status()`) on `pool` and finishes `reactor` with its
// status; a call its client gave up on while it waited in the queue is not
// run.
template <typename Logic>
void FinishOnPool(grpc::CallbackServerContext* context, grpc::ServerUnaryReactor* reactor,
                  WorkerPool& pool, Logic logic) {
  pool.Post([context, reactor, logic = std::move(logic)]() mutable {
    absl::Status wanted = StillWanted(*context);
    reactor->Finish(ToGrpcStatus(wanted.ok() ? logic() : wanted));
  });
}

// Like ServeUnary, but runs `logic` on `pool` (for logic that blocks, e.g.
// on an fsync, or reads that can be long); the callback thread returns at
// once. Authorization is cheap and happens inline. A call its client gave up
// on while it waited in the queue is not run.
template <typename Logic>
grpc::ServerUnaryReactor* ServeUnaryOnPool(grpc::CallbackServerContext* context,
                                           const TokenVerifier& verifier, Access access,
                                           WorkerPool& pool, Logic logic) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<Caller> caller = verifier.Authorize(*context, access);
  if (!caller.ok()) {
    reactor->Finish(ToGrpcStatus(caller.status()));
    return reactor;
  }
  FinishOnPool(
      context, reactor, pool,
      [caller = *std::move(caller), logic = std::move(logic)]() mutable { return logic(caller); });
  return reactor;
}

// For methods that call other services first: `start` is called as
// `void(const Caller&, grpc::ServerUnaryReactor*)` once the caller is
// authorized, and must see to it that the reactor is finished exactly once
// (typically from an outgoing call's callback). It must not block.
template <typename Start>
grpc::ServerUnaryReactor* ServeUnaryAsync(grpc::CallbackServerContext* context,
                                          const TokenVerifier& verifier, Access access,
                                          Start&& start) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<Caller> caller = verifier.Authorize(*context, access);
  if (!caller.ok()) {
    reactor->Finish(ToGrpcStatus(caller.status()));
    return reactor;
  }
  std::forward<Start>(start)(*caller, reactor);
  return reactor;
}

}  // namespace liaison

#endif  // LIAISON_COMMON_RPC_H_
