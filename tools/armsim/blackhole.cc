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
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    auto down = emulator.RegionDown(region);
    if (!down || !down->control_plane || down->mode != OutageMode::kBlackhole) return;
    absl::MutexLock lock(&mu_);
    int64_t epoch = epoch_;
    auto changed = [this, epoch]()
                       ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopped_ || epoch_ != epoch; };
    mu_.AwaitWithDeadline(absl::Condition(&changed), deadline);
    if (stopped_) return;
  }
}

}  // namespace foghorn::armsim
