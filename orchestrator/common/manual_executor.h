// The test twin of ThreadExecutor: nothing runs until the test says so. Attached to a FakeClock,
// it runs each timer when FakeClock::Advance() passes its due time, with the clock set to that
// due time while the task runs (Envoy's SimulatedTimeSystem, leveldb's Env).
#ifndef FOGHORN_ORCHESTRATOR_COMMON_MANUAL_EXECUTOR_H_
#define FOGHORN_ORCHESTRATOR_COMMON_MANUAL_EXECUTOR_H_

#include <atomic>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "orchestrator/common/executor.h"
#include "orchestrator/common/fake_clock.h"
#include "orchestrator/common/timer_queue.h"

namespace foghorn::common {

// Installs itself as `clock`'s advance hook for its lifetime; `clock` must outlive it. Tasks run
// on the thread that calls Advance(), RunUntilIdle() or RunAndWait(), one at a time (a run lock
// keeps two threads' tasks apart, as one loop thread would). Thread-safe for scheduling.
class ManualExecutor final : public Executor {
 public:
  explicit ManualExecutor(FakeClock& clock);
  ~ManualExecutor() override;

  ManualExecutor(const ManualExecutor&) = delete;
  ManualExecutor& operator=(const ManualExecutor&) = delete;

  const Clock& clock() const override { return clock_; }
  TimerId ScheduleAt(absl::Time when, Task task) override;
  bool Cancel(TimerId id) override;
  bool RunAndWait(absl::AnyInvocable<void() &&> task) override;

  // Runs every task due now, including tasks they post for now. Returns how many ran.
  int RunUntilIdle();

  // Advances the attached clock by `d`, running due tasks in order (same as clock.Advance(d)).
  void Advance(absl::Duration d) { clock_.Advance(d); }

  // Number of queued tasks (due or not).
  size_t pending() const;

 private:
  // Runs due tasks in order up to `target`, moving the clock to each task's due time.
  void RunTo(absl::Time target);
  // Runs one task under the run lock (inline when this thread already holds it).
  void RunOne(absl::AnyInvocable<void() &&> task);

  FakeClock& clock_;
  absl::Mutex run_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  // The thread running a task now (default id: none).
  std::atomic<std::thread::id> runner_{};
  mutable absl::Mutex mu_;
  TimerQueue queue_ ABSL_GUARDED_BY(mu_);
};

}  // namespace foghorn::common

#endif  // FOGHORN_ORCHESTRATOR_COMMON_MANUAL_EXECUTOR_H_
