// How the CLI prints: aligned tables, timestamps in the viewer's local time zone (TZ) with their
// age ("2026-01-01 09:00:20 JST (12s ago)"), durations, the control API's enum values as short
// lower-case words ("FAILOVER_KIND_PLANNED" -> "planned"), and protobuf JSON (times in UTC).
#ifndef FOGHORN_TOOLS_CLI_OUTPUT_H_
#define FOGHORN_TOOLS_CLI_OUTPUT_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "foghorn/v1/control.pb.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"

namespace foghorn::cli {

// Columns padded to the widest cell (header included), two spaces apart, one row a line.
void PrintTable(std::ostream& out, const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows);

// Protobuf JSON with the proto's field names: pretty (multi-line), or one object on one line.
void PrintJson(std::ostream& out, const google::protobuf::Message& m, bool pretty = true);

// "2026-01-01 09:00:20 JST (12s ago)": the viewer's local zone (absl::LocalTimeZone, which follows
// TZ) and the age against this machine's clock; "-" for an unset timestamp.
std::string FormatTime(const google::protobuf::Timestamp& t);
// The same in `zone` with the age against `now` (tests).
std::string FormatTimeIn(const google::protobuf::Timestamp& t, absl::TimeZone zone, absl::Time now);
// "12s ago", "3m ago", "2h5m ago", "4d ago"; "just now" under a second; "in 5s" ahead of `now`.
std::string FormatAge(absl::Duration age);
absl::Time FromProtoTime(const google::protobuf::Timestamp& t);
// From `from` to `to`, to the millisecond (a failover of 0.4 s is "400ms", never "0").
absl::Duration Elapsed(const google::protobuf::Timestamp& from,
                       const google::protobuf::Timestamp& to);
// absl's "1h30m" form; FormatMeasured truncates to the millisecond first (RTOs, outages).
std::string FormatDuration(const google::protobuf::Duration& d);
std::string FormatMeasured(const google::protobuf::Duration& d);

// `enum_name` without `prefix`, lower case: Short("FAILOVER_KIND_PLANNED", "FAILOVER_KIND_").
std::string Short(const std::string& enum_name, const std::string& prefix);
std::string KindName(v1::FailoverKind k);
std::string VerdictName(v1::Verdict v);
std::string StageName(v1::DecisionStage s);
std::string OpStateName(v1::OperationState s);
std::string StepStateName(v1::StepState s);
std::string DrillOutcomeName(v1::DrillOutcome o);
std::string DrillStepStateName(v1::DrillStepState s);

}  // namespace foghorn::cli

#endif  // FOGHORN_TOOLS_CLI_OUTPUT_H_
