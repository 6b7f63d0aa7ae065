// Bounds on the memory that requests can make a service hold.
//
// gRPC 1.51 receives a whole message before its size check: the transport
// opens its flow-control window to the length a message announces, so a
// 100 MiB request against a 4 MiB --max-message-bytes is held in full, then
// refused with RESOURCE_EXHAUSTED before any interceptor or handler (and so
// before auth) sees it. Smaller HTTP/2 windows, no BDP probing or smaller
// frames do not change that. Two bounds do:
//  - ApplyGrpcMemoryQuota gives the server a gRPC memory quota: past it,
//    gRPC cancels streams (RST_STREAM ENHANCE_YOUR_CALM, which clients see as
//    RESOURCE_EXHAUSTED) and asks idle connections to reconnect, rather than
//    buffering on.
//  - HeapTrimmer hands freed heap memory back to the kernel. glibc keeps the
//    pages those buffers occupied in its per-thread arenas, resident, among
//    small live chunks: M_TRIM_THRESHOLD, M_ARENA_MAX and a fixed mmap
//    threshold leave them there; malloc_trim(0) returns them.
#ifndef LIAISON_COMMON_MEMORY_LIMITS_H_
#define LIAISON_COMMON_MEMORY_LIMITS_H_

#include <grpcpp/server_builder.h>

#include <cstddef>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace liaison {

// Gives the server built by `builder` a gRPC memory quota of `memory_mb`
// MiB. InvalidArgumentError, naming both flags, if the quota is less than
// twice `max_message_bytes`: a request of the largest size allowed must fit
// with room to spare, or gRPC would cancel it instead of serving it.
absl::Status ApplyGrpcMemoryQuota(int memory_mb, int max_message_bytes,
                                  grpc::ServerBuilder* builder);

// A thread that, every `period`, calls malloc_trim(0) when the resident
// memory the heap does not account as in use has grown by more than
// `threshold` bytes since the last trim (or the start). Between trims it
// costs one mallinfo2() and one read of /proc/self/statm per period; a trim
// that returned 25-55 MiB took 7-10 ms on a 2-core machine.
class HeapTrimmer final {
 public:
  explicit HeapTrimmer(size_t threshold = size_t{16} << 20,
                       absl::Duration period = absl::Seconds(1));
  // Stops the thread.
  ~HeapTrimmer();

  HeapTrimmer(const HeapTrimmer&) = delete;
  HeapTrimmer& operator=(const HeapTrimmer&) = delete;

 private:
  void Loop();

  const size_t threshold_;
  const absl::Duration period_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace liaison

#endif  // LIAISON_COMMON_MEMORY_LIMITS_H_
