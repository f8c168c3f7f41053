#include "orchestrator/common/clock.h"

#include "absl/time/clock.h"

namespace foghorn::common {

absl::Time RealClock::Now() const { return absl::Now(); }

}  // namespace foghorn::common
