#include "orchestrator/common/worker_pool.h"

#include <algorithm>
#include <iterator>
#include <optional>
#include <utility>

namespace foghorn::common {

WorkerPool::WorkerPool(int threads) : WorkerPool(Options{threads, threads, absl::Minutes(1)}) {}

WorkerPool::WorkerPool(Options options)
    : options_{std::max(1, options.threads), std::max(options.threads, options.max_threads),
               options.idle_timeout} {
  absl::MutexLock lock(&mu_);
  for (int i = 0; i < options_.threads; ++i) StartThreadLocked();
}

WorkerPool::~WorkerPool() { Shutdown(); }

void WorkerPool::StartThreadLocked() {
  // A new thread counts as idle from now on, so tasks submitted before it runs do not start
  // more threads than they need.
  ++live_;
  ++idle_;
  threads_.emplace_back([this] { Run(); });
}

bool WorkerPool::Submit(Task task) {
  std::vector<std::thread> retired;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return false;
    queue_.push_back(std::move(task));
    // Every queued task beyond the idle threads would wait for a running one to finish: with
    // long-running independent tasks (an operation polling ARM for minutes) that wait is the
    // cost this mode exists to avoid.
    if (static_cast<int>(queue_.size()) > idle_ && live_ < options_.max_threads) {
      StartThreadLocked();
    }
    if (!retired_.empty()) {
      auto done = std::stable_partition(threads_.begin(), threads_.end(), [&](std::thread& t) {
        return std::find(retired_.begin(), retired_.end(), t.get_id()) == retired_.end();
      });
      std::move(done, threads_.end(), std::back_inserter(retired));
      threads_.erase(done, threads_.end());
      retired_.clear();
    }
  }
  // A retired thread has left Run() and takes no lock again, so joining it is quick.
  for (auto& t : retired) t.join();
  return true;
}

void WorkerPool::WaitIdle() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](WorkerPool* self)
           ABSL_NO_THREAD_SAFETY_ANALYSIS { return self->queue_.empty() && self->running_ == 0; },
      this));
}

void WorkerPool::Shutdown() {
  std::vector<std::thread> threads;
  {
    // No thread starts once stopping_ is set, so this collects them all; they still drain the
    // queue before they return.
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    threads.swap(threads_);
    retired_.clear();
  }
  for (auto& t : threads) {
    if (t.joinable()) t.join();
  }
}

int WorkerPool::threads() {
  absl::MutexLock lock(&mu_);
  return live_;
}

void WorkerPool::Run() {
  const auto has_work = +[](WorkerPool* self) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return self->stopping_ || !self->queue_.empty();
  };
  for (;;) {
    std::optional<Task> task;
    {
      // This thread is counted in idle_ until it takes a task.
      absl::MutexLock lock(&mu_);
      if (live_ > options_.threads) {
        mu_.AwaitWithTimeout(absl::Condition(has_work, this), options_.idle_timeout);
      } else {
        mu_.Await(absl::Condition(has_work, this));
      }
      if (queue_.empty()) {
        if (stopping_) {  // everything queued has run
          --idle_;
          --live_;
          return;
        }
        if (live_ > options_.threads) {
          // Idle for idle_timeout above the core size: retire. Submit() or Shutdown() joins.
          --idle_;
          --live_;
          retired_.push_back(std::this_thread::get_id());
          return;
        }
        continue;
      }
      task = std::move(queue_.front());
      queue_.pop_front();
      --idle_;
      ++running_;
    }
    std::move (*task)();
    absl::MutexLock lock(&mu_);
    --running_;
    ++idle_;
  }
}

}  // namespace foghorn::common
