// Pure judgements shared by the real prober and tests: given what came back from a target (an
// HTTP response, a command's exit and stdout, ARM's answer, resolved names), decide the probe
// outcome. No I/O here.
#ifndef FOGHORN_PROBES_RESULT_CHECKS_H_
#define FOGHORN_PROBES_RESULT_CHECKS_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "foghorn/v1/probe.pb.h"
#include "probes/azure_signal_reader.h"
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

// azure_metric. Errors: kNotFound (no such database) fails; anything else (ARM unreachable,
// throttled, credentials, a bad metric name) is UNKNOWN: Azure Monitor is a global service, its
// trouble says nothing about the target. No value in the lookback, or a newest value older than
// max_sample_age (default 5m, by its minute's start), is UNKNOWN. Otherwise max_value/min_value
// judge the value. The metric reported is the value, plus the value's age in seconds when the
// probe's metric_kind is REPLICATION_LAG_SECONDS (a conservative lag as of now: Azure publishes a
// minute 1.5-2.5 minutes late, and the lag can only have grown by that much since).
ProbeResult JudgeAzureMetric(const v1::ProbeSpec& spec,
                             const absl::StatusOr<std::optional<MetricSample>>& sample,
                             absl::Time now);
// The metric an azure_metric probe reads (its default follows metric_kind), its aggregation
// ("Maximum" unless set) and its max_sample_age.
std::string AzureMetricName(const v1::ProbeSpec& spec);
std::string AzureMetricAggregation(const v1::AzureMetricProbe& spec);
absl::Duration AzureMetricMaxAge(const v1::AzureMetricProbe& spec);

// resource_health: a state in down_states (default Unavailable) fails, in unknown_states (default
// Unknown) is UNKNOWN, anything else passes. Errors as for JudgeAzureMetric.
ProbeResult JudgeResourceHealth(const v1::ResourceHealthProbe& spec,
                                const absl::StatusOr<HealthStatus>& status);

// replication_link: the links of the database (to partner_server when set) must exist, each with
// expect_role (when set) and a replicationState in expect_states (default CATCH_UP); SEEDING and
// SUSPENDED always fail ("not ready"). Errors as for JudgeArmState (the route is Microsoft.Sql's,
// in the target's region).
ProbeResult JudgeReplicationLink(const v1::ReplicationLinkProbe& spec,
                                 const absl::StatusOr<std::vector<LinkStatus>>& links);

// TDS (MS-TDS 2.2.6.5) PRELOGIN request a tcp probe with tds_prelogin sends: VERSION, ENCRYPTION
// (not supported: no TLS follows), INSTOPT, THREADID, MARS, then the 0xFF terminator.
std::string TdsPreloginRequest();
// What a PRELOGIN response buffer holds so far.
enum class TdsParse { kNeedMore, kValid, kMalformed };
struct TdsPreloginReply {
  TdsParse state = TdsParse::kNeedMore;
  std::string error;  // for kMalformed: what is wrong
  // The server's VERSION option, e.g. "16.0.1000" (major.minor.build), for kValid.
  std::string version;
};
// Judges `data`, the bytes received so far: kNeedMore until a whole packet (its header's length)
// arrived; then kValid only for a tabular-result packet (type 0x04) with status EOM, a length of
// 8..4096 that fits, option tokens (type, offset, length) whose data lies inside the payload,
// terminated by 0xFF, and a VERSION option (token 0x00) of at least 6 bytes. Never reads out of
// bounds; any input is safe.
TdsPreloginReply ParseTdsPreloginReply(std::string_view data);

// The first line of `text` as a number ("2.5\n" -> 2.5), or nullopt.
std::optional<double> ParseMetric(const std::string& text);

}  // namespace foghorn::probes

#endif  // FOGHORN_PROBES_RESULT_CHECKS_H_
