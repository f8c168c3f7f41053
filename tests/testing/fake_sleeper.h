// The one Sleeper for tests (arm/sleeper.h): it never really sleeps. It records every wait it is
// asked for; given a FakeClock it moves that clock forward by each wait, so code that waits "for"
// a duration sees the time pass. Closed, it makes waits block until the test opens it, so a test
// can catch code while it waits (a drill holding open, a runbook wait step).
#ifndef FOGHORN_TESTS_TESTING_FAKE_SLEEPER_H_
#define FOGHORN_TESTS_TESTING_FAKE_SLEEPER_H_

#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "orchestrator/common/fake_clock.h"
#include "orchestrator/common/sleeper.h"

namespace foghorn::testing {

// Thread-safe.
class FakeSleeper final : public common::Sleeper {
 public:
  // Waits return at once and time does not move.
  FakeSleeper() = default;
  // Each wait of d > 0 advances `clock` by d (running an attached executor's due work on the way,
  // on the sleeping thread). `clock` must outlive the sleeper.
  explicit FakeSleeper(common::FakeClock& clock) : clock_(&clock) {}

  FakeSleeper(const FakeSleeper&) = delete;
  FakeSleeper& operator=(const FakeSleeper&) = delete;

  // Records `d`; while the sleeper is closed, a wait of d > 0 then blocks until Open(). Then
  // advances the clock, if there is one.
  void SleepFor(absl::Duration d) override ABSL_LOCKS_EXCLUDED(mu_);

  // Every wait asked for so far (zero and negative ones included), in order, and their sum.
  std::vector<absl::Duration> sleeps() const ABSL_LOCKS_EXCLUDED(mu_);
  absl::Duration total() const ABSL_LOCKS_EXCLUDED(mu_);

  // A new sleeper is open. Close() makes later waits block; Open() releases every blocked wait
  // and lets later ones through.
  void Close() ABSL_LOCKS_EXCLUDED(mu_);
  void Open() ABSL_LOCKS_EXCLUDED(mu_);
  // Blocks until a wait is blocked on the closed sleeper, or until `timeout` (real time) passed:
  // false then.
  bool AwaitSleeping(absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  common::FakeClock* const clock_ = nullptr;
  mutable absl::Mutex mu_;
  std::vector<absl::Duration> sleeps_ ABSL_GUARDED_BY(mu_);
  bool open_ ABSL_GUARDED_BY(mu_) = true;
  int blocked_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace foghorn::testing

#endif  // FOGHORN_TESTS_TESTING_FAKE_SLEEPER_H_
