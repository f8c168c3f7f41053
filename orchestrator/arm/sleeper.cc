#include "orchestrator/arm/sleeper.h"

#include "absl/time/clock.h"

namespace foghorn::arm {

void RealSleeper::SleepFor(absl::Duration d) {
  if (d > absl::ZeroDuration()) absl::SleepFor(d);
}

}  // namespace foghorn::arm
