// Where work and timers run. Components post work and schedule timers through an Executor so the
// same code runs on a real event-loop thread (ThreadExecutor) in production and step by step under
// a FakeClock (ManualExecutor) in tests.
#ifndef FOGHORN_ORCHESTRATOR_COMMON_EXECUTOR_H_
#define FOGHORN_ORCHESTRATOR_COMMON_EXECUTOR_H_

#include <cstdint>

#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"
#include "orchestrator/common/clock.h"

namespace foghorn::common {

// Identifies a scheduled timer; 0 is never a valid id.
using TimerId = std::uint64_t;

// Runs callbacks one at a time, in order of due time (ties in order of submission). Callbacks
// never run concurrently with each other, so state touched only from callbacks needs no lock.
// All methods are thread-safe and may be called from inside a callback.
class Executor {
 public:
  using Task = absl::AnyInvocable<void() &&>;

  virtual ~Executor() = default;

  // The clock that decides when timers are due.
  virtual const Clock& clock() const = 0;

  // Runs `task` as soon as possible.
  void Post(Task task) { ScheduleAt(clock().Now(), std::move(task)); }

  // Runs `task` once `when` has come. Returns an id for Cancel().
  virtual TimerId ScheduleAt(absl::Time when, Task task) = 0;

  // Runs `task` after `delay` from now.
  TimerId ScheduleAfter(absl::Duration delay, Task task) {
    return ScheduleAt(clock().Now() + delay, std::move(task));
  }

  // Cancels a timer that has not started. Returns false if it already ran, is running, or is
  // unknown.
  virtual bool Cancel(TimerId id) = 0;

  // Runs `task` on the executor and returns once it has run: inline when the caller is itself
  // running one of this executor's tasks, otherwise after the tasks already due (ThreadExecutor:
  // on the loop thread, the caller waiting; ManualExecutor: on the caller's thread, never
  // concurrently with another task). Returns false, without running it, once the executor has
  // shut down. The way another thread asks the owner of loop-confined state a question: a task
  // must therefore never wait for a thread that may be inside RunAndWait.
  virtual bool RunAndWait(absl::AnyInvocable<void() &&> task) = 0;
};

}  // namespace foghorn::common

#endif  // FOGHORN_ORCHESTRATOR_COMMON_EXECUTOR_H_
