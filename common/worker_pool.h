// A fixed pool of threads for work that blocks (fsync'ed writes), so gRPC's
// callback threads never wait on a disk.
#ifndef LIAISON_COMMON_WORKER_POOL_H_
#define LIAISON_COMMON_WORKER_POOL_H_

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace liaison {

class WorkerPool final {
 public:
  explicit WorkerPool(int threads);
  // Runs everything already posted, then joins the threads.
  ~WorkerPool();

  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Runs `work` on a pool thread, in FIFO order of posting.
  void Post(std::function<void()> work);

 private:
  void Loop();

  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace liaison

#endif  // LIAISON_COMMON_WORKER_POOL_H_
