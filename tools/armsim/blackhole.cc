#include "tools/armsim/blackhole.h"

namespace foghorn::armsim {

void BlackholeHold::RegionChanged() {
  absl::MutexLock lock(&mu_);
  ++epoch_;
}

void BlackholeHold::Stop() {
  absl::MutexLock lock(&mu_);
  stopped_ = true;
}

void BlackholeHold::Hold(Emulator& emulator, const std::string& region, absl::Duration timeout) {
  Hold(
      [&emulator, &region] {
        auto down = emulator.RegionDown(region);
        return down && down->control_plane && down->mode == OutageMode::kBlackhole;
      },
      timeout);
}

void BlackholeHold::Hold(const std::function<bool()>& dark, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    // Read the epoch before looking, so a change made while `dark` runs wakes the wait.
    int64_t epoch = 0;
    {
      absl::MutexLock lock(&mu_);
      if (stopped_) return;
      epoch = epoch_;
    }
    if (!dark()) return;
    absl::MutexLock lock(&mu_);
    auto changed = [this, epoch]()
                       ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopped_ || epoch_ != epoch; };
    mu_.AwaitWithDeadline(absl::Condition(&changed), deadline);
    if (stopped_) return;
  }
}

}  // namespace foghorn::armsim
