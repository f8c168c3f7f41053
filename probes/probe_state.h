// The per-probe state machine: turns a stream of attempt outcomes into HEALTHY / UNHEALTHY with
// thresholds and hysteresis (Envoy's unhealthy_threshold / healthy_threshold), lets UNKNOWN
// outcomes abstain, and remembers when the current failure streak began.
#ifndef FOGHORN_PROBES_PROBE_STATE_H_
#define FOGHORN_PROBES_PROBE_STATE_H_

#include "absl/time/time.h"
#include "probes/probe_result.h"

namespace foghorn::probes {

// Rules, in order of precedence:
// - A failure adds to the failure count and clears the success count; once the failure count
//   reaches `unhealthy_threshold` the probe is UNHEALTHY.
// - A success adds to the success count and clears the failure count and the failure streak.
//   An UNHEALTHY probe turns HEALTHY after `healthy_threshold` successes; a probe that has never
//   been UNHEALTHY (start-up, or back from UNKNOWN after being healthy) needs one success.
// - An UNKNOWN outcome changes neither count nor the failure streak (it carries no evidence);
//   `unhealthy_threshold` UNKNOWN outcomes in a row turn the probe UNKNOWN, so it abstains until
//   it can see again. Counts survive, so UNHEALTHY -> UNKNOWN -> one failure is UNHEALTHY again.
// - The failure streak starts at the first failing result after a success (or at start-up), not
//   at the threshold crossing, so grace periods count from the real start of the outage.
// Not thread-safe; the scheduler owns one per probe.
class ProbeStateMachine {
 public:
  ProbeStateMachine(int unhealthy_threshold, int healthy_threshold);

  // Applies one outcome observed at `at` (the attempt's start). Returns the new state.
  ProbeState Apply(ProbeOutcome outcome, absl::Time at);

  ProbeState state() const { return state_; }
  // InfinitePast when there is no current failure streak.
  absl::Time failure_streak_start() const { return failure_streak_start_; }

 private:
  int unhealthy_threshold_;
  int healthy_threshold_;
  ProbeState state_ = ProbeState::kUnknown;
  bool ever_unhealthy_since_healthy_ = false;
  int failures_ = 0;
  int successes_ = 0;
  int unknowns_ = 0;
  absl::Time failure_streak_start_ = absl::InfinitePast();
};

}  // namespace foghorn::probes

#endif  // FOGHORN_PROBES_PROBE_STATE_H_
