// Time as foghorn sees it. Every component that needs "now" takes a Clock& so tests can run the
// whole agent under a FakeClock; only RealClock reads the system time.
#ifndef FOGHORN_ORCHESTRATOR_COMMON_CLOCK_H_
#define FOGHORN_ORCHESTRATOR_COMMON_CLOCK_H_

#include "absl/time/time.h"

namespace foghorn::common {

// A source of the current time. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  // Returns the current time.
  virtual absl::Time Now() const = 0;
};

// The system clock (absl::Now()).
class RealClock final : public Clock {
 public:
  absl::Time Now() const override;
};

}  // namespace foghorn::common

#endif  // FOGHORN_ORCHESTRATOR_COMMON_CLOCK_H_
