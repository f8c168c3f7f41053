#include "orchestrator/drill/drill_schedule.h"

#include <algorithm>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "orchestrator/common/durations.h"

namespace foghorn::drill {

absl::StatusOr<std::vector<ScheduledDrill>> ParseDrillSchedules(const v1::AgentConfig& config,
                                                                absl::Time agent_start) {
  std::vector<ScheduledDrill> out;
  std::vector<std::string> problems;
  for (int i = 0; i < config.drills_size(); ++i) {
    const v1::DrillSchedule& d = config.drills(i);
    const std::string field = absl::StrCat("drills[", i, "]");
    ScheduledDrill s;
    s.group = d.group();
    if (s.group.empty()) problems.push_back(field + ".group: required");
    s.interval = common::FromProtoDuration(d.interval());
    if (s.interval < kMinDrillInterval) {
      problems.push_back(absl::StrCat(field, ".interval: must be at least ",
                                      absl::FormatDuration(kMinDrillInterval)));
    }
    if (d.first_at().empty()) {
      s.first_at = agent_start + s.interval;
    } else {
      std::string error;
      if (!absl::ParseTime(absl::RFC3339_full, d.first_at(), &s.first_at, &error)) {
        problems.push_back(absl::StrCat(field, ".first_at: \"", d.first_at(),
                                        "\" is not an RFC 3339 time (", error, ")"));
      }
    }
    if (d.has_hold()) {
      s.hold = common::FromProtoDuration(d.hold());
      if (*s.hold < absl::ZeroDuration()) {
        problems.push_back(field + ".hold: must not be negative");
      }
    }
    s.dry_run = d.dry_run();
    s.reason = d.reason().empty() ? "scheduled drill" : d.reason();
    out.push_back(std::move(s));
  }
  if (!problems.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("agent config: ", absl::StrJoin(problems, "; ")));
  }
  return out;
}

absl::Time NextDrillTime(const ScheduledDrill& drill, absl::Time after) {
  if (drill.first_at > after) return drill.first_at;
  if (drill.interval <= absl::ZeroDuration()) return absl::InfiniteFuture();
  // Whole milliseconds (Debian's abseil IDivDuration is unreliable); the loop fixes rounding.
  const int64_t interval_ms = std::max<int64_t>(1, absl::ToInt64Milliseconds(drill.interval));
  int64_t k = absl::ToInt64Milliseconds(after - drill.first_at) / interval_ms + 1;
  absl::Time slot = drill.first_at + k * drill.interval;
  while (slot <= after) slot = drill.first_at + (++k) * drill.interval;
  return slot;
}

}  // namespace foghorn::drill
