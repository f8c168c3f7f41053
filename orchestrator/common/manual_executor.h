// The test twin of ThreadExecutor: nothing runs until the test says so. Attached to a FakeClock,
// it runs each timer when FakeClock::Advance() passes its due time, with the clock set to that
// due time while the task runs (Envoy's SimulatedTimeSystem, leveldb's Env).
#ifndef FOGHORN_ORCHESTRATOR_COMMON_MANUAL_EXECUTOR_H_
#define FOGHORN_ORCHESTRATOR_COMMON_MANUAL_EXECUTOR_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "orchestrator/common/executor.h"
#include "orchestrator/common/fake_clock.h"
#include "orchestrator/common/timer_queue.h"

namespace foghorn::common {

// Installs itself as `clock`'s advance hook for its lifetime; `clock` must outlive it. Tasks run
// on the thread that calls Advance() or RunUntilIdle(). Thread-safe for scheduling.
class ManualExecutor final : public Executor {
 public:
  explicit ManualExecutor(FakeClock& clock);
  ~ManualExecutor() override;

  ManualExecutor(const ManualExecutor&) = delete;
  ManualExecutor& operator=(const ManualExecutor&) = delete;

  const Clock& clock() const override { return clock_; }
  TimerId ScheduleAt(absl::Time when, Task task) override;
  bool Cancel(TimerId id) override;

  // Runs every task due now, including tasks they post for now. Returns how many ran.
  int RunUntilIdle();

  // Advances the attached clock by `d`, running due tasks in order (same as clock.Advance(d)).
  void Advance(absl::Duration d) { clock_.Advance(d); }

  // Number of queued tasks (due or not).
  size_t pending() const;

 private:
  // Runs due tasks in order up to `target`, moving the clock to each task's due time.
  void RunTo(absl::Time target);

  FakeClock& clock_;
  mutable absl::Mutex mu_;
  TimerQueue queue_ ABSL_GUARDED_BY(mu_);
};

}  // namespace foghorn::common

#endif  // FOGHORN_ORCHESTRATOR_COMMON_MANUAL_EXECUTOR_H_
