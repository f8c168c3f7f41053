// Waiting, as an injectable seam. The ARM client waits for backoff delays, Retry-After and poll
// intervals through a Sleeper so unit tests run instantly: their FakeSleeper just advances a
// FakeClock. Only RealSleeper really sleeps. Waits that a shutdown may cut short (the retries of
// a background ARM read) use SleepUnlessCancelled; foghornd cancels its RealSleeper on SIGTERM so
// they never hold up the exit, while a failover's waits run on (it finishes before the exit).
#ifndef FOGHORN_ORCHESTRATOR_COMMON_SLEEPER_H_
#define FOGHORN_ORCHESTRATOR_COMMON_SLEEPER_H_

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace foghorn::common {

// Blocks the calling thread for a duration. Implementations are thread-safe.
class Sleeper {
 public:
  virtual ~Sleeper() = default;
  // Returns after `d` has passed on the sleeper's clock; returns at once for d <= 0.
  virtual void SleepFor(absl::Duration d) = 0;
  // Like SleepFor, but returns false, at once and without waiting, once the sleeper has been
  // cancelled (also when cancelled during the wait); true after the whole wait. A caller that
  // gets false gives up (CANCELLED): the process is stopping. Sleepers that cannot be cancelled
  // (the default) just wait and return true.
  virtual bool SleepUnlessCancelled(absl::Duration d) {
    SleepFor(d);
    return true;
  }
};

// absl::SleepFor on the system clock; Cancel() cuts SleepUnlessCancelled waits short.
class RealSleeper final : public Sleeper {
 public:
  void SleepFor(absl::Duration d) override;
  bool SleepUnlessCancelled(absl::Duration d) override;

  // Wakes every thread in SleepUnlessCancelled and makes later calls return false at once.
  // SleepFor is not affected. Idempotent and thread-safe; there is no way back (it is meant for
  // shutdown).
  void Cancel();
  bool cancelled() const { return cancelled_.HasBeenNotified(); }

 private:
  absl::Mutex cancel_mu_;  // Notify() may be called only once
  absl::Notification cancelled_;
};

}  // namespace foghorn::common

#endif  // FOGHORN_ORCHESTRATOR_COMMON_SLEEPER_H_
