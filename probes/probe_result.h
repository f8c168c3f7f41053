// The vocabulary shared by probes, the scheduler and the health tracker: what one probe attempt
// found (ProbeResult), what a probe currently believes (ProbeState), and the timestamped events
// the scheduler and the tracker emit (ProbeEvent, VerdictEvent) through sink interfaces.
#ifndef FOGHORN_PROBES_PROBE_RESULT_H_
#define FOGHORN_PROBES_PROBE_RESULT_H_

#include <optional>
#include <string>

#include "absl/time/time.h"
#include "foghorn/v1/common.pb.h"
#include "foghorn/v1/probe.pb.h"

namespace foghorn::probes {

// What one probe attempt found.
enum class ProbeOutcome {
  // The target answered as expected.
  kSuccess,
  // The target did not answer as expected (refused, timed out, wrong status, exit code != 0...).
  kFailure,
  // The probe could not run: our own resolver or network failed, the command is missing, the
  // configuration cannot be used. Abstains: counts neither for nor against the target.
  kUnknown,
};

// What a probe currently believes about its target, after thresholds.
enum class ProbeState {
  // No usable result yet, or only UNKNOWN results lately. Abstains from verdicts.
  kUnknown,
  kHealthy,
  kUnhealthy,
};

const char* ProbeOutcomeName(ProbeOutcome outcome);
const char* ProbeStateName(ProbeState state);

// One attempt's result as a Prober reports it. The scheduler fills in the times.
struct ProbeResult {
  ProbeOutcome outcome = ProbeOutcome::kUnknown;
  // Human-readable reason, e.g. "connect: Connection refused" or "http status 503". Never holds a
  // secret (headers are not echoed).
  std::string detail;
  // A number the probe measured (HTTP JSON field or exec stdout), e.g. replication lag seconds.
  std::optional<double> metric;
  // When the attempt was due, when it started and when its result was recorded (scheduler clock).
  absl::Time scheduled = absl::InfinitePast();
  absl::Time started = absl::InfinitePast();
  absl::Time finished = absl::InfinitePast();
};

// Emitted by the ProbeScheduler for every finished attempt.
struct ProbeEvent {
  // "<group>/<probe name>".
  std::string probe_id;
  std::string group;
  v1::ProbeTarget target = v1::PROBE_TARGET_UNSPECIFIED;
  v1::MetricKind metric_kind = v1::METRIC_KIND_UNSPECIFIED;
  ProbeResult result;
  ProbeState previous_state = ProbeState::kUnknown;
  ProbeState state = ProbeState::kUnknown;
  // The first failing result of the current failure streak; InfinitePast when the latest usable
  // result was a success.
  absl::Time failure_streak_start = absl::InfinitePast();
};

// Emitted by the HealthTracker when a target's verdict changes.
struct VerdictEvent {
  std::string group;
  v1::ProbeTarget target = v1::PROBE_TARGET_UNSPECIFIED;
  v1::Verdict previous = v1::VERDICT_UNSPECIFIED;
  v1::Verdict verdict = v1::VERDICT_UNSPECIFIED;
  // When the change was observed (tracker clock).
  absl::Time at = absl::InfinitePast();
  // For UNHEALTHY and IMPAIRED: when the failure streak that satisfies the quorum began (the
  // first failing results, not the threshold crossings). InfinitePast otherwise.
  absl::Time failure_streak_start = absl::InfinitePast();
  // Why, e.g. "2 of 2 voting probes unhealthy (mode all)".
  std::string reason;
};

// Receives probe events. Called on the scheduler's executor; must not block.
class ProbeEventSink {
 public:
  virtual ~ProbeEventSink() = default;
  virtual void OnProbeEvent(const ProbeEvent& event) = 0;
};

// Receives verdict changes. Called on the thread that feeds the tracker; must not block.
class VerdictSink {
 public:
  virtual ~VerdictSink() = default;
  virtual void OnVerdictChange(const VerdictEvent& event) = 0;
};

}  // namespace foghorn::probes

#endif  // FOGHORN_PROBES_PROBE_RESULT_H_
