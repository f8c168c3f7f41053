#include "orchestrator/common/thread_executor.h"

#include <optional>

namespace foghorn::common {

ThreadExecutor::ThreadExecutor(const Clock& clock) : clock_(clock) {
  thread_ = std::thread([this] { Loop(); });
}

ThreadExecutor::~ThreadExecutor() { Shutdown(); }

TimerId ThreadExecutor::ScheduleAt(absl::Time when, Task task) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return 0;
  return queue_.Add(when, std::move(task));
}

bool ThreadExecutor::Cancel(TimerId id) {
  absl::MutexLock lock(&mu_);
  return queue_.Remove(id);
}

void ThreadExecutor::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
  absl::MutexLock lock(&mu_);
  queue_.Clear();
}

bool ThreadExecutor::InLoopThread() const { return std::this_thread::get_id() == thread_.get_id(); }

void ThreadExecutor::Loop() {
  for (;;) {
    std::optional<Task> task;
    {
      absl::MutexLock lock(&mu_);
      for (;;) {
        if (stopping_) return;
        absl::Time now = clock_.Now();
        task = queue_.TakeDue(now);
        if (task) break;
        std::optional<absl::Time> next = queue_.NextDue();
        // Wake when the earliest timer is due or when new work may be earlier; the wait is
        // bounded so a clock that jumps (NTP) is noticed within a second.
        absl::Time deadline =
            next ? std::min(*next, now + absl::Seconds(1)) : now + absl::Seconds(1);
        mu_.AwaitWithDeadline(
            absl::Condition(
                +[](ThreadExecutor* self) ABSL_NO_THREAD_SAFETY_ANALYSIS {
                  return self->stopping_ ||
                         (self->queue_.NextDue() && *self->queue_.NextDue() <= self->clock_.Now());
                },
                this),
            deadline);
      }
    }
    std::move (*task)();
  }
}

}  // namespace foghorn::common
