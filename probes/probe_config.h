// Turns the runbook's probe and health-rule messages (proto/foghorn/v1/probe.proto) into checked,
// defaulted settings for the scheduler and the tracker. The runbook loader can call the Validate*
// functions to report bad probes early.
#ifndef FOGHORN_PROBES_PROBE_CONFIG_H_
#define FOGHORN_PROBES_PROBE_CONFIG_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "foghorn/v1/probe.pb.h"

namespace foghorn::probes {

// A probe's timing and thresholds with defaults applied (see ProbeSpec for the meaning).
struct ProbeTiming {
  absl::Duration interval = absl::Seconds(5);
  absl::Duration timeout = absl::Seconds(2);
  absl::Duration jitter = absl::ZeroDuration();
  absl::Duration initial_delay = absl::ZeroDuration();
  int unhealthy_threshold = 3;
  int healthy_threshold = 2;
};

// Applies defaults and checks ranges. Returns kInvalidArgument naming the probe and field when
// a duration is negative, the timeout is not below the interval, a threshold is negative, or the
// interval is zero.
absl::StatusOr<ProbeTiming> ResolveTiming(const v1::ProbeSpec& spec);

// Checks a whole probe: name, timing, and that the chosen kind has what it needs (tcp address
// as host:port when given, http url, dns name, exec argv). kInvalidArgument otherwise.
absl::Status ValidateProbeSpec(const v1::ProbeSpec& spec);

// Checks a health rule: a target, at least one probe, and 1 <= k <= number of probes for
// QUORUM_MODE_K_OF_N. kInvalidArgument otherwise. Does not check that the probes exist.
absl::Status ValidateHealthRule(const v1::HealthRule& rule);

// Splits "host:port" or "[v6]:port". kInvalidArgument when malformed.
absl::Status SplitHostPort(const std::string& address, std::string* host, int* port);

}  // namespace foghorn::probes

#endif  // FOGHORN_PROBES_PROBE_CONFIG_H_
