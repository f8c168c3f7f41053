#include "probes/probe_state.h"

namespace foghorn::probes {

ProbeStateMachine::ProbeStateMachine(int unhealthy_threshold, int healthy_threshold)
    : unhealthy_threshold_(unhealthy_threshold < 1 ? 1 : unhealthy_threshold),
      healthy_threshold_(healthy_threshold < 1 ? 1 : healthy_threshold) {}

ProbeState ProbeStateMachine::Apply(ProbeOutcome outcome, absl::Time at) {
  switch (outcome) {
    case ProbeOutcome::kSuccess:
      unknowns_ = 0;
      failures_ = 0;
      ++successes_;
      failure_streak_start_ = absl::InfinitePast();
      if (state_ != ProbeState::kHealthy &&
          (!ever_unhealthy_since_healthy_ || successes_ >= healthy_threshold_)) {
        state_ = ProbeState::kHealthy;
        ever_unhealthy_since_healthy_ = false;
      }
      break;
    case ProbeOutcome::kFailure:
      unknowns_ = 0;
      successes_ = 0;
      ++failures_;
      if (failure_streak_start_ == absl::InfinitePast()) failure_streak_start_ = at;
      if (state_ != ProbeState::kUnhealthy && failures_ >= unhealthy_threshold_) {
        state_ = ProbeState::kUnhealthy;
        ever_unhealthy_since_healthy_ = true;
      }
      break;
    case ProbeOutcome::kUnknown:
      ++unknowns_;
      if (unknowns_ >= unhealthy_threshold_) state_ = ProbeState::kUnknown;
      break;
  }
  return state_;
}

}  // namespace foghorn::probes
