#include "common/memory_limits.h"

#include <grpcpp/resource_quota.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace liaison {
namespace {

// Resident bytes the heap does not count as in use: code, stacks, and free
// heap pages not yet returned to the kernel. Only the last part varies much.
size_t IdleResidentBytes() {
  std::ifstream in("/proc/self/statm");
  size_t pages = 0;
  size_t resident_pages = 0;
  in >> pages >> resident_pages;
  const size_t resident = resident_pages * static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const struct mallinfo2 heap = mallinfo2();
  const size_t in_use = heap.uordblks + heap.hblkhd;
  return resident > in_use ? resident - in_use : 0;
}

}  // namespace

absl::Status ApplyGrpcMemoryQuota(int memory_mb, int max_message_bytes,
                                  grpc::ServerBuilder* builder) {
  const size_t bytes = static_cast<size_t>(memory_mb) << 20;
  if (bytes < 2 * static_cast<size_t>(max_message_bytes)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--grpc-memory-mb (", memory_mb, " MiB) must be at least twice ",
                     "--max-message-bytes (", max_message_bytes, " bytes)"));
  }
  grpc::ResourceQuota quota("liaison-server");
  quota.Resize(bytes);
  builder->SetResourceQuota(quota);
  return absl::OkStatus();
}

HeapTrimmer::HeapTrimmer(size_t threshold, absl::Duration period)
    : threshold_(threshold), period_(period), thread_([this] { Loop(); }) {}

HeapTrimmer::~HeapTrimmer() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void HeapTrimmer::Loop() {
  size_t baseline = IdleResidentBytes();
  absl::MutexLock lock(&mu_);
  while (!mu_.AwaitWithTimeout(absl::Condition(&stopping_), period_)) {
    const size_t idle = IdleResidentBytes();
    baseline = std::min(baseline, idle);
    if (idle - baseline <= threshold_) continue;
    const absl::Time start = absl::Now();
    malloc_trim(0);
    // What a trim cannot return (pages shared with live chunks) is the new
    // baseline, so it is not trimmed for again and again.
    baseline = IdleResidentBytes();
    LogDebug("heap_trimmed", {{"idle_resident_mib_before", idle >> 20},
                              {"idle_resident_mib_after", baseline >> 20},
                              {"ms", absl::ToDoubleMilliseconds(absl::Now() - start)}});
  }
}

}  // namespace liaison
