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

const char* VerdictName(v1::Verdict verdict) {
  switch (verdict) {
    case v1::VERDICT_UNKNOWN:
      return "unknown";
    case v1::VERDICT_HEALTHY:
      return "healthy";
    case v1::VERDICT_UNHEALTHY:
      return "unhealthy";
    case v1::VERDICT_IMPAIRED:
      return "impaired";
    default:
      return "unspecified";
  }
}

}  // namespace foghorn::probes
