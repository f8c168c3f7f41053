// A pool of threads for blocking work (ARM calls, hooks, journaled operations) that must never run
// on the control loop. Tasks run in submission order as threads free up.
//
// Two shapes: a fixed pool (WorkerPool(n)) for work whose concurrency should be capped, e.g. the
// background ARM reads; and an elastic pool (Options::max_threads > threads) for work whose tasks
// are independent and long-lived, e.g. failover operations that hold a thread while they poll an
// ARM operation: a task submitted while every thread is busy gets a new thread, up to max_threads,
// so one group's operation never waits for another's. Threads above the core size retire after
// idling for Options::idle_timeout.
#ifndef FOGHORN_ORCHESTRATOR_COMMON_WORKER_POOL_H_
#define FOGHORN_ORCHESTRATOR_COMMON_WORKER_POOL_H_

#include <deque>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace foghorn::common {

// Thread-safe. Shutdown() stops taking tasks, lets queued and running tasks finish, and joins.
class WorkerPool {
 public:
  using Task = absl::AnyInvocable<void() &&>;

  struct Options {
    // Threads started at once and kept until Shutdown (at least 1).
    int threads = 1;
    // Upper bound on threads. When it is above `threads`, a task that finds no idle thread starts
    // a new one (up to this many); at or below `threads` the pool is fixed.
    int max_threads = 0;
    // A thread above `threads` that found no work for this long exits.
    absl::Duration idle_timeout = absl::Minutes(1);
  };

  // A fixed pool of `threads` threads (at least 1).
  explicit WorkerPool(int threads);
  explicit WorkerPool(Options options);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `task`, starting a thread for it when the pool is elastic, no thread is idle and the
  // limit allows. Returns false (and drops it) after Shutdown().
  bool Submit(Task task);

  // Blocks until no task is queued or running.
  void WaitIdle();

  // Idempotent. Must not be called from a task.
  void Shutdown();

  // Threads alive now, 0 after Shutdown() (for tests and diagnostics).
  int threads();

 private:
  void StartThreadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Run();

  const Options options_;
  absl::Mutex mu_;
  std::deque<Task> queue_ ABSL_GUARDED_BY(mu_);
  int running_ ABSL_GUARDED_BY(mu_) = 0;  // tasks running
  int idle_ ABSL_GUARDED_BY(mu_) = 0;     // threads waiting for a task
  int live_ ABSL_GUARDED_BY(mu_) = 0;     // threads started and not retired
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
  // Retired threads, joined by the next Submit() or by Shutdown().
  std::vector<std::thread::id> retired_ ABSL_GUARDED_BY(mu_);
};

}  // namespace foghorn::common

#endif  // FOGHORN_ORCHESTRATOR_COMMON_WORKER_POOL_H_
