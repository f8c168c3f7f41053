// A clock that only moves when told to, for tests and for replaying recorded timelines.
// A ManualExecutor attached to it runs due work as the clock advances (see manual_executor.h).
#ifndef FOGHORN_ORCHESTRATOR_COMMON_FAKE_CLOCK_H_
#define FOGHORN_ORCHESTRATOR_COMMON_FAKE_CLOCK_H_

#include <functional>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "orchestrator/common/clock.h"

namespace foghorn::common {

// Starts at `start` (default 2026-01-01T00:00:00Z) and moves forward only through Advance() or
// SetTime(). Thread-safe. Time never goes backwards: SetTime() to an earlier time is ignored.
class FakeClock final : public Clock {
 public:
  // Called by Advance() instead of moving the clock itself, so an attached executor can step the
  // clock through each due timer in order. The hook must end with the clock at `target`.
  using AdvanceHook = std::function<void(absl::Time target)>;

  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1767225600));

  absl::Time Now() const override;
  // Now() plus every StepWall() so far.
  absl::Time WallNow() const override;

  // Moves the clock forward by `d` (>= 0), running due work of an attached executor on the way.
  void Advance(absl::Duration d);

  // Sets the time directly, without running the hook. Earlier times are ignored.
  void SetTime(absl::Time t);

  // Steps the wall clock only (an NTP step, `date -s`): WallNow() moves by `d` (either sign),
  // Now() and the attached executor's timers do not.
  void StepWall(absl::Duration d);

  // Installs (or, with nullptr, removes) the advance hook. At most one hook at a time.
  void SetAdvanceHook(AdvanceHook hook);

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
  absl::Duration wall_offset_ ABSL_GUARDED_BY(mu_);
  AdvanceHook hook_ ABSL_GUARDED_BY(mu_);
};

}  // namespace foghorn::common

#endif  // FOGHORN_ORCHESTRATOR_COMMON_FAKE_CLOCK_H_
