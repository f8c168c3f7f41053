#include "orchestrator/common/sleeper.h"

#include "absl/time/clock.h"

namespace foghorn::common {

void RealSleeper::SleepFor(absl::Duration d) {
  if (d > absl::ZeroDuration()) absl::SleepFor(d);
}

bool RealSleeper::SleepUnlessCancelled(absl::Duration d) {
  if (d <= absl::ZeroDuration()) return !cancelled_.HasBeenNotified();
  return !cancelled_.WaitForNotificationWithTimeout(d);
}

void RealSleeper::Cancel() {
  absl::MutexLock lock(&cancel_mu_);
  if (!cancelled_.HasBeenNotified()) cancelled_.Notify();
}

}  // namespace foghorn::common
