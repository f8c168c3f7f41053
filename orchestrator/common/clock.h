// Time as foghorn sees it. Every component that needs "now" takes a Clock& so tests can run the
// whole agent under a FakeClock; only RealClock reads the system time.
//
// Two timelines: Now() is the one every elapsed-time rule runs on (graces, cooldowns, deadlines,
// approval expiry, timers). It never jumps: RealClock anchors it to the wall clock once, at
// construction, and moves it with the monotonic clock, so an NTP step or an operator's `date -s`
// cannot shorten a grace. WallNow() is the system's wall clock, for what is stored or shown to
// people (the journal's timestamps, persisted control state). The two agree until the wall clock
// is stepped.
#ifndef FOGHORN_ORCHESTRATOR_COMMON_CLOCK_H_
#define FOGHORN_ORCHESTRATOR_COMMON_CLOCK_H_

#include <chrono>

#include "absl/time/time.h"

namespace foghorn::common {

// A source of the current time. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  // The current time on a timeline that never jumps (see the file comment).
  virtual absl::Time Now() const = 0;
  // The current wall-clock time. Default: Now().
  virtual absl::Time WallNow() const { return Now(); }

  // Converts a wall-clock time (e.g. read back from the journal) to this clock's Now() timeline,
  // and back. Exact while the wall clock has not been stepped.
  absl::Time FromWall(absl::Time wall) const;
  absl::Time ToWall(absl::Time t) const;
};

// The system clocks: Now() follows std::chrono::steady_clock from an anchor taken at
// construction; WallNow() is absl::Now().
class RealClock final : public Clock {
 public:
  RealClock();
  absl::Time Now() const override;
  absl::Time WallNow() const override;

 private:
  absl::Time anchor_wall_;
  std::chrono::steady_clock::time_point anchor_steady_;
};

}  // namespace foghorn::common

#endif  // FOGHORN_ORCHESTRATOR_COMMON_CLOCK_H_
