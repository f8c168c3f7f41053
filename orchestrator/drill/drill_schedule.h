// The agent's drill schedule (AgentConfig.drills): which drills to run and when. Pure functions of
// the config and the time, so the schedule is tested without waiting; foghornd's main arms a
// timer on its control loop for the next slot and hands each due drill to a DrillLauncher.
#ifndef FOGHORN_ORCHESTRATOR_DRILL_DRILL_SCHEDULE_H_
#define FOGHORN_ORCHESTRATOR_DRILL_DRILL_SCHEDULE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "foghorn/v1/agent.pb.h"

namespace foghorn::drill {

// One validated DrillSchedule entry.
struct ScheduledDrill {
  std::string group;  // group id or unique name, as configured
  absl::Duration interval = absl::ZeroDuration();
  absl::Time first_at = absl::InfinitePast();
  std::optional<absl::Duration> hold;
  bool dry_run = false;
  std::string reason;
};

// The smallest interval a schedule may use.
inline constexpr absl::Duration kMinDrillInterval = absl::Minutes(1);

// Validates config.drills. An entry without first_at starts one interval after `agent_start`.
// INVALID_ARGUMENT naming the field ("drills[1].interval") for a missing group, an interval
// under kMinDrillInterval, a first_at that is not RFC 3339, or a negative hold.
absl::StatusOr<std::vector<ScheduledDrill>> ParseDrillSchedules(const v1::AgentConfig& config,
                                                                absl::Time agent_start);

// The first slot (first_at + k * interval, k >= 0) strictly after `after`. Slots missed while the
// agent was down are skipped, not made up.
absl::Time NextDrillTime(const ScheduledDrill& drill, absl::Time after);

}  // namespace foghorn::drill

#endif  // FOGHORN_ORCHESTRATOR_DRILL_DRILL_SCHEDULE_H_
