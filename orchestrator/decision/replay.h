// Replay: feeds a recorded timeline of observations (JSON lines) through Decide() under a
// FakeClock and returns the decisions the engine would have made, evaluating both at every
// observation and at every next_evaluation time in between. This is the regression-test tool for
// past incidents and the basis of observe-only shadow mode. The timeline format is documented in
// docs/decision-policy.md ("Replay"). Pure: reads only the text it is given.
#ifndef FOGHORN_ORCHESTRATOR_DECISION_REPLAY_H_
#define FOGHORN_ORCHESTRATOR_DECISION_REPLAY_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "orchestrator/decision/decide.h"
#include "orchestrator/decision/group_view.h"
#include "orchestrator/decision/policy.h"

namespace foghorn::decision {

struct ReplayOptions {
  Policy policy;
  // Report only decisions whose stage, action or reason codes differ from the previous one.
  bool only_changes = true;
  // Keep evaluating timers after the last observation until this time (default: stop there).
  std::optional<absl::Time> until;
  // Numeric "t" values are seconds after this instant.
  absl::Time epoch = absl::FromUnixSeconds(1767225600);  // 2026-01-01T00:00:00Z
  // Guard against runaway timelines.
  int max_evaluations = 1000000;
};

struct ReplayedDecision {
  absl::Time at;
  // 1-based line of the observation that triggered it; 0 for a timer (next_evaluation).
  int line = 0;
  Decision decision;
};

// Replays `timeline` (one JSON object per line; blank lines and lines starting with '#' are
// skipped). Returns kInvalidArgument naming the line for malformed JSON, an unknown observation
// type or field value, or time going backwards; kResourceExhausted past max_evaluations.
absl::StatusOr<std::vector<ReplayedDecision>> Replay(absl::string_view timeline,
                                                     const ReplayOptions& options);

// One JSON line for a replayed decision: {"t":..,"stage":..,"action":..,"reasons":[..],..}.
std::string ReplayedDecisionToJson(const ReplayedDecision& decision);

}  // namespace foghorn::decision

#endif  // FOGHORN_ORCHESTRATOR_DECISION_REPLAY_H_
