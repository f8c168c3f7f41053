#include "orchestrator/common/sleeper.h"

#include "absl/time/clock.h"

namespace foghorn::common {

void RealSleeper::SleepFor(absl::Duration d) {
  if (d > absl::ZeroDuration()) absl::SleepFor(d);
}

}  // namespace foghorn::common
