// How liaison-bench starts one call: the common OutgoingCall state, a token,
// a deadline, and the status code handed to the load loop; and stubs over
// Channels(), a connection each.
#ifndef LIAISON_TOOLS_BENCH_CALLS_H_
#define LIAISON_TOOLS_BENCH_CALLS_H_

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/client.h"
#include "tools/bench/load.h"
#include "tools/bench/scenarios.h"

namespace liaison::bench {

inline constexpr auto kCallTimeout = std::chrono::seconds(10);

template <typename Request, typename Response>
using Call = OutgoingCall<Request, Response>;

// Starts `call` with `start(context, request, response, callback)` (a stub's
// async method), carrying `token` if any; `done` gets the status code.
template <typename Request, typename Response, typename Start>
void Async(const std::string& token, std::shared_ptr<Call<Request, Response>> call, Start start,
           Done done) {
  if (!token.empty()) call->context.AddMetadata("authorization", "Bearer " + token);
  call->context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
  start(&call->context, &call->request, &call->response,
        [call, done = std::move(done)](grpc::Status s) { done(s.error_code()); });
}

template <typename Service>
std::vector<std::unique_ptr<typename Service::Stub>> Stubs(const std::string& address, int n) {
  std::vector<std::unique_ptr<typename Service::Stub>> out;
  for (auto& channel : Channels(address, n)) out.push_back(Service::NewStub(channel));
  return out;
}

}  // namespace liaison::bench

#endif  // LIAISON_TOOLS_BENCH_CALLS_H_
