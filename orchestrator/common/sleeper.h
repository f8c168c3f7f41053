// Waiting, as an injectable seam. The ARM client waits for backoff delays, Retry-After and poll
// intervals through a Sleeper so unit tests run instantly: their FakeSleeper just advances a
// FakeClock. Only RealSleeper really sleeps.
#ifndef FOGHORN_ORCHESTRATOR_COMMON_SLEEPER_H_
#define FOGHORN_ORCHESTRATOR_COMMON_SLEEPER_H_

#include "absl/time/time.h"

namespace foghorn::common {

// Blocks the calling thread for a duration. Implementations are thread-safe.
class Sleeper {
 public:
  virtual ~Sleeper() = default;
  // Returns after `d` has passed on the sleeper's clock; returns at once for d <= 0.
  virtual void SleepFor(absl::Duration d) = 0;
};

// absl::SleepFor on the system clock.
class RealSleeper final : public Sleeper {
 public:
  void SleepFor(absl::Duration d) override;
};

}  // namespace foghorn::common

#endif  // FOGHORN_ORCHESTRATOR_COMMON_SLEEPER_H_
