// A small fixed pool of threads for blocking work (ARM calls, hooks) that must never run on the
// control loop. Tasks run in submission order as threads free up.
#ifndef FOGHORN_ORCHESTRATOR_COMMON_WORKER_POOL_H_
#define FOGHORN_ORCHESTRATOR_COMMON_WORKER_POOL_H_

#include <deque>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"

namespace foghorn::common {

// Thread-safe. Shutdown() stops taking tasks, lets queued and running tasks finish, and joins.
class WorkerPool {
 public:
  using Task = absl::AnyInvocable<void() &&>;

  explicit WorkerPool(int threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `task`. Returns false (and drops it) after Shutdown().
  bool Submit(Task task);

  // Blocks until no task is queued or running.
  void WaitIdle();

  // Idempotent. Must not be called from a task.
  void Shutdown();

 private:
  void Run();

  absl::Mutex mu_;
  std::deque<Task> queue_ ABSL_GUARDED_BY(mu_);
  int running_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace foghorn::common

#endif  // FOGHORN_ORCHESTRATOR_COMMON_WORKER_POOL_H_
