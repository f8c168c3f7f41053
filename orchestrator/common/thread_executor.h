// The production Executor: one event-loop thread that runs posted work and timers in order.
// Timers fire when the executor's clock reaches them: the loop sleeps on the monotonic clock for
// the time left and is woken at once by a timer earlier than the one it sleeps for, and by
// Shutdown().
#ifndef FOGHORN_ORCHESTRATOR_COMMON_THREAD_EXECUTOR_H_
#define FOGHORN_ORCHESTRATOR_COMMON_THREAD_EXECUTOR_H_

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "orchestrator/common/clock.h"
#include "orchestrator/common/executor.h"
#include "orchestrator/common/timer_queue.h"

namespace foghorn::common {

// Owns one thread, started by the constructor and joined by Shutdown() or the destructor.
// Shutdown() lets the running task finish, then drops pending work; tasks posted after shutdown
// are dropped. Dropped tasks are destroyed without the executor's lock held, so a task's
// destructor may call back into the executor (a Post then is dropped too). `clock` must outlive
// the executor.
class ThreadExecutor final : public Executor {
 public:
  explicit ThreadExecutor(const Clock& clock);
  ~ThreadExecutor() override;

  ThreadExecutor(const ThreadExecutor&) = delete;
  ThreadExecutor& operator=(const ThreadExecutor&) = delete;

  const Clock& clock() const override { return clock_; }
  TimerId ScheduleAt(absl::Time when, Task task) override;
  bool Cancel(TimerId id) override;
  bool RunAndWait(absl::AnyInvocable<void() &&> task) override;

  // Stops the loop, joins the thread and drops pending work. Idempotent and thread-safe: of
  // concurrent callers one joins and the others wait for it, so every caller returns with the
  // thread joined. Must not be called from a task.
  void Shutdown();

 private:
  void Loop();

  const Clock& clock_;
  mutable absl::Mutex mu_;
  // Waited on with mu_ held. absl's own timed waits sleep until an absolute wall-clock time, which
  // a step of the system clock stretches; std::condition_variable_any sleeps on steady_clock.
  std::condition_variable_any wake_;
  TimerQueue queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // The loop thread's id, set by the thread itself (RunAndWait runs inline on it).
  std::atomic<std::thread::id> loop_id_{};
  // Stopping and joining happen once, whoever calls Shutdown first; std::call_once makes
  // concurrent callers wait until the join is done.
  std::once_flag stop_once_;
  std::thread thread_;
};

}  // namespace foghorn::common

#endif  // FOGHORN_ORCHESTRATOR_COMMON_THREAD_EXECUTOR_H_
