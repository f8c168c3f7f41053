#include "orchestrator/common/fake_clock.h"

#include <utility>

namespace foghorn::common {

FakeClock::FakeClock(absl::Time start) : now_(start) {}

absl::Time FakeClock::Now() const {
  absl::MutexLock lock(&mu_);
  return now_;
}

absl::Time FakeClock::WallNow() const {
  absl::MutexLock lock(&mu_);
  return now_ + wall_offset_;
}

void FakeClock::StepWall(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  wall_offset_ += d;
}

void FakeClock::Advance(absl::Duration d) {
  AdvanceHook hook;
  absl::Time target;
  {
    absl::MutexLock lock(&mu_);
    target = now_ + (d < absl::ZeroDuration() ? absl::ZeroDuration() : d);
    hook = hook_;
    if (!hook) now_ = target;
  }
  // The hook runs without the lock: the work it runs reads the clock.
  if (hook) {
    hook(target);
    SetTime(target);
  }
}

void FakeClock::SetTime(absl::Time t) {
  absl::MutexLock lock(&mu_);
  if (t > now_) now_ = t;
}

void FakeClock::SetAdvanceHook(AdvanceHook hook) {
  absl::MutexLock lock(&mu_);
  hook_ = std::move(hook);
}

}  // namespace foghorn::common
