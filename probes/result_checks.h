// Pure judgements shared by the real prober and tests: given what came back from a target (an
// HTTP response, a command's exit and stdout, ARM's answer, resolved names), decide the probe
// outcome. No I/O here.
#ifndef FOGHORN_PROBES_RESULT_CHECKS_H_
#define FOGHORN_PROBES_RESULT_CHECKS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "foghorn/v1/probe.pb.h"
#include "probes/failover_group_state_reader.h"
#include "probes/probe_result.h"

namespace foghorn::probes {

// Status in expected_statuses (default 200-299), then body_contains, then json_field ==
// json_field_value (a JSON string compares by its text, anything else by its compact JSON form).
// metric_json_field, when set, yields the metric (a JSON number or numeric string); a missing
// metric does not fail the probe. A body that is not JSON fails a json_field check.
ProbeResult JudgeHttpResponse(const v1::HttpProbe& spec, long status, const std::string& body);

// Exit code 0 passes; other codes and signals fail; 127 (the shell's "command not found") is
// UNKNOWN. With metric_from_stdout, the first line of stdout parsed as a number is the metric.
ProbeResult JudgeExit(const v1::ExecProbe& spec, int wait_status, const std::string& stdout_text);

// Role and replication state checks. ARM unreachable / auth errors -> UNKNOWN; kNotFound and
// other errors -> failure.
ProbeResult JudgeArmState(const v1::ArmStateProbe& spec,
                          const absl::StatusOr<FailoverGroupState>& state);

// Passes when the name resolved and, if expect_any is set, one of `addresses` or `canonical_name`
// is in it (names compared case-insensitively, ignoring a trailing dot).
ProbeResult JudgeDns(const v1::DnsProbe& spec, const std::vector<std::string>& addresses,
                     const std::string& canonical_name);

// The first line of `text` as a number ("2.5\n" -> 2.5), or nullopt.
std::optional<double> ParseMetric(const std::string& text);

}  // namespace foghorn::probes

#endif  // FOGHORN_PROBES_RESULT_CHECKS_H_
