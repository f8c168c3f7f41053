// The health tracker: turns probe states into a verdict per target (primary, secondary, the
// read-write and read-only listeners of each failover group) by the runbook's quorum rules, with
// the time the failure streak began, the latest replication-lag sample per group, and the
// vantage-impairment guard. Feeds the decision engine through VerdictSink.
#ifndef FOGHORN_PROBES_HEALTH_TRACKER_H_
#define FOGHORN_PROBES_HEALTH_TRACKER_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "foghorn/v1/common.pb.h"
#include "foghorn/v1/probe.pb.h"
#include "orchestrator/common/clock.h"
#include "probes/probe_result.h"

namespace foghorn::probes {

// One target's verdict and what it rests on.
struct TargetHealth {
  std::string group;
  v1::ProbeTarget target = v1::PROBE_TARGET_UNSPECIFIED;
  // What is reported (IMPAIRED replaces UNHEALTHY while the vantage is impaired).
  v1::Verdict verdict = v1::VERDICT_UNKNOWN;
  // The verdict from this target's probes alone, before the impairment guard.
  v1::Verdict raw_verdict = v1::VERDICT_UNKNOWN;
  // When `verdict` took its current value.
  absl::Time since = absl::InfinitePast();
  // For an UNHEALTHY/IMPAIRED verdict: when the streak satisfying the quorum began.
  absl::Time failure_streak_start = absl::InfinitePast();
  int voting = 0;
  int unhealthy = 0;
  int abstaining = 0;
};

// The latest replication-lag sample of a group (from a probe with
// METRIC_KIND_REPLICATION_LAG_SECONDS), for the decision engine's data-loss estimate.
struct LagSample {
  double seconds = 0;
  absl::Time sampled_at = absl::InfinitePast();
  std::string probe_id;
};

// How a verdict is formed (per target, from the probes its HealthRule names):
// - Probes in UNKNOWN state (no results yet, or unable to run) abstain. No voters -> UNKNOWN.
// - ALL (default): UNHEALTHY iff every voter is unhealthy. ANY: iff at least one is. K_OF_N: iff
//   at least k are (k > voters can never be met: HEALTHY). Otherwise HEALTHY.
// - failure_streak_start is the earliest time at which the quorum was met by first-failure
//   times: sort the unhealthy voters' streak starts and take the needed-th (ANY: 1st, ALL: last,
//   K_OF_N: k-th).
// - Impairment guard: once at least `impairment_min_targets` targets have an opinion (HEALTHY or
//   UNHEALTHY) and the share of them UNHEALTHY reaches `impairment_fraction`, every UNHEALTHY
//   target is reported IMPAIRED instead, until the share falls below the fraction again.
// Thread-safe; OnProbeEvent and AddRule may be called from any thread, events are delivered on
// the calling thread after the tracker's lock is released. `clock` and `sink` must outlive it.
class HealthTracker final : public ProbeEventSink {
 public:
  struct Options {
    double impairment_fraction = 0.8;
    int impairment_min_targets = 4;
  };

  HealthTracker(const common::Clock& clock, VerdictSink* sink, Options options);
  HealthTracker(const common::Clock& clock, VerdictSink* sink)
      : HealthTracker(clock, sink, Options()) {}

  // Adds the rule for (group, rule.target). Probe names refer to probes of that group (ids
  // "<group>/<name>"). kInvalidArgument for a bad rule, kAlreadyExists if the target has one.
  absl::Status AddRule(const std::string& group, const v1::HealthRule& rule);

  // Forgets every rule and sample of `group`.
  void RemoveGroup(const std::string& group);

  void OnProbeEvent(const ProbeEvent& event) override;

  std::optional<TargetHealth> Get(const std::string& group, v1::ProbeTarget target) const;
  // The state of one probe ("<group>/<name>") as its last event reported it, whether or not a
  // rule names it; nullopt before its first event.
  std::optional<ProbeState> ProbeStateOf(const std::string& probe_id) const;
  std::optional<LagSample> ReplicationLag(const std::string& group) const;
  bool impaired() const;

 private:
  struct ProbeView {
    ProbeState state = ProbeState::kUnknown;
    absl::Time failure_streak_start = absl::InfinitePast();
  };
  struct Target {
    TargetHealth health;
    std::vector<std::string> probe_ids;
    v1::QuorumMode mode = v1::QUORUM_MODE_ALL;
    int k = 1;
  };

  static std::string TargetKey(const std::string& group, v1::ProbeTarget target);
  // Recomputes a target's raw verdict and updates the opinion counters.
  void Recompute(Target& t) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Applies the impairment guard to one target; appends an event if its verdict changed.
  void Publish(Target& t, absl::Time now, std::vector<VerdictEvent>* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool ComputeImpaired() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Publishes `changed` targets, or all of them when the impairment state flipped.
  void Settle(const std::vector<Target*>& changed, std::vector<VerdictEvent>* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const common::Clock& clock_;
  VerdictSink* sink_;
  const Options options_;

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<Target>> targets_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::vector<Target*>> by_probe_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, ProbeView> probes_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, LagSample> lag_ ABSL_GUARDED_BY(mu_);
  int with_opinion_ ABSL_GUARDED_BY(mu_) = 0;
  int raw_unhealthy_ ABSL_GUARDED_BY(mu_) = 0;
  bool impaired_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace foghorn::probes

#endif  // FOGHORN_PROBES_HEALTH_TRACKER_H_
