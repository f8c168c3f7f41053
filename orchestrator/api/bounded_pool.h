// The control API's worker pools: a common::WorkerPool that refuses work beyond its threads plus
// a bounded queue, so a flood of calls is answered RESOURCE_EXHAUSTED (Overloaded) instead of
// queueing without bound. The server runs its read, mutation and readiness pools on it, and the
// Watch streams set up on the read or mutation pool.
#ifndef FOGHORN_ORCHESTRATOR_API_BOUNDED_POOL_H_
#define FOGHORN_ORCHESTRATOR_API_BOUNDED_POOL_H_

#include <atomic>
#include <utility>

#include "absl/status/status.h"
#include "orchestrator/common/worker_pool.h"

namespace foghorn::api {

class BoundedPool {
 public:
  enum class Submitted { kQueued, kFull, kShutDown };

  // `threads` workers (at least 1) and at most `max_queued` tasks waiting for one.
  BoundedPool(int threads, int max_queued);

  // Queues `fn` unless threads + max_queued tasks are in flight already (kFull) or the pool is
  // shut down (kShutDown); `fn` is then dropped without running. Thread-safe.
  template <typename Fn>
  Submitted Submit(Fn fn) {
    if (in_flight_.fetch_add(1) >= limit_) {
      in_flight_.fetch_sub(1);
      return Submitted::kFull;
    }
    bool queued = pool_.Submit([this, fn = std::move(fn)]() mutable {
      fn();
      in_flight_.fetch_sub(1);
    });
    if (!queued) {
      in_flight_.fetch_sub(1);
      return Submitted::kShutDown;
    }
    return Submitted::kQueued;
  }

  // Stops the workers (common::WorkerPool::Shutdown). Idempotent.
  void Shutdown();

 private:
  common::WorkerPool pool_;
  const int limit_;
  std::atomic<int> in_flight_{0};
};

// RESOURCE_EXHAUSTED for a call refused at a limit: "the agent is at its limit of <what>; retry
// with backoff".
absl::Status Overloaded(const char* what);

}  // namespace foghorn::api

#endif  // FOGHORN_ORCHESTRATOR_API_BOUNDED_POOL_H_
