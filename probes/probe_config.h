// Turns the runbook's probe and health-rule messages (proto/foghorn/v1/probe.proto) into checked,
// defaulted settings for the scheduler and the tracker. ProbeSpecProblems is the one set of rules
// for a probe: the runbook loader reports each problem at its YAML line (so `foghornd --check`
// refuses it), and the agent and the scheduler refuse the same probes through ValidateProbeSpec.
#ifndef FOGHORN_PROBES_PROBE_CONFIG_H_
#define FOGHORN_PROBES_PROBE_CONFIG_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "foghorn/v1/probe.pb.h"

namespace foghorn::probes {

// Defaults of ProbeTiming (docs/runbooks.md): the timeout's default is capped at half the
// interval, so a short interval gets a timeout below it.
inline constexpr absl::Duration kDefaultProbeInterval = absl::Seconds(5);
inline constexpr absl::Duration kDefaultProbeTimeout = absl::Seconds(2);

// A probe's timing and thresholds with defaults applied (see ProbeSpec for the meaning).
struct ProbeTiming {
  absl::Duration interval = kDefaultProbeInterval;
  absl::Duration timeout = kDefaultProbeTimeout;
  absl::Duration jitter = absl::ZeroDuration();
  absl::Duration initial_delay = absl::ZeroDuration();
  int unhealthy_threshold = 3;
  int healthy_threshold = 2;
};

// `spec`'s timing with defaults for what is unset (a threshold of 0 is unset; a timeout left unset
// is min(kDefaultProbeTimeout, interval / 2)). Not checked; the loader writes these defaults
// into the runbook. Pure.
ProbeTiming TimingWithDefaults(const v1::ProbeSpec& spec);

// TimingWithDefaults, checked: INVALID_ARGUMENT naming the probe and field unless interval > 0,
// 0 < timeout < interval, 0 <= jitter < interval, initial_delay >= 0 and both thresholds >= 1.
absl::StatusOr<ProbeTiming> ResolveTiming(const v1::ProbeSpec& spec);

// One thing wrong with a probe: the field, relative to the probe ("tcp.address",
// "http.expected_statuses[1]"; empty for the probe as a whole), and why.
struct ProbeSpecProblem {
  std::string field;
  std::string message;
};

// Every rule a single probe must meet, in field order; empty when it meets them all:
//  - a name without '/';
//  - the timing rules of ResolveTiming (after defaults);
//  - exactly one kind, with what it needs: tcp.address empty (the target's SQL endpoint) or a
//    host:port for common::ParseHostPort (port 1-65535); an http(s) http.url, expected status
//    ranges within 100-599, json_field and json_field_value both set or both empty; a dns.name;
//    an exec.argv naming a command, inheriting none of the agent's credential variables;
//  - metric_kind replication_lag_seconds only with http.metric_json_field or
//    exec.metric_from_stdout.
// What involves more than the probe (unique names, its target, health rules that name it) is the
// runbook loader's. Pure; thread-safe.
std::vector<ProbeSpecProblem> ProbeSpecProblems(const v1::ProbeSpec& spec);

// OK when ProbeSpecProblems(spec) is empty; otherwise INVALID_ARGUMENT
// "probe '<name>': field <field>: <message>", the problems joined by "; ".
absl::Status ValidateProbeSpec(const v1::ProbeSpec& spec);

// Checks a health rule: a target, at least one probe, and 1 <= k <= number of probes for
// QUORUM_MODE_K_OF_N. kInvalidArgument otherwise. Does not check that the probes exist.
absl::Status ValidateHealthRule(const v1::HealthRule& rule);

}  // namespace foghorn::probes

#endif  // FOGHORN_PROBES_PROBE_CONFIG_H_
