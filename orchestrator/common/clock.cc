#include "orchestrator/common/clock.h"

#include "absl/time/clock.h"

namespace foghorn::common {

absl::Time Clock::FromWall(absl::Time wall) const {
  if (wall == absl::InfinitePast() || wall == absl::InfiniteFuture()) return wall;
  return Now() + (wall - WallNow());
}

absl::Time Clock::ToWall(absl::Time t) const {
  if (t == absl::InfinitePast() || t == absl::InfiniteFuture()) return t;
  return WallNow() + (t - Now());
}

RealClock::RealClock()
    : anchor_wall_(absl::Now()), anchor_steady_(std::chrono::steady_clock::now()) {}

absl::Time RealClock::Now() const {
  return anchor_wall_ + absl::FromChrono(std::chrono::steady_clock::now() - anchor_steady_);
}

absl::Time RealClock::WallNow() const { return absl::Now(); }

}  // namespace foghorn::common
