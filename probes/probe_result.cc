#include "probes/probe_result.h"

namespace foghorn::probes {

const char* ProbeOutcomeName(ProbeOutcome outcome) {
  switch (outcome) {
    case ProbeOutcome::kSuccess:
      return "success";
    case ProbeOutcome::kFailure:
      return "failure";
    case ProbeOutcome::kUnknown:
      return "unknown";
  }
  return "?";
}

const char* ProbeStateName(ProbeState state) {
  switch (state) {
    case ProbeState::kUnknown:
      return "unknown";
    case ProbeState::kHealthy:
      return "healthy";
    case ProbeState::kUnhealthy:
      return "unhealthy";
  }
  return "?";
}

}  // namespace foghorn::probes
