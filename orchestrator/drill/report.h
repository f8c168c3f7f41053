// The drill report: what a drill did and measured. Its one representation is the proto
// foghorn.v1.DrillReport (proto/foghorn/v1/control.proto): the drill runner fills it, the control
// API returns it, ReportStore (report_store.h) keeps it as JSON and RenderReportHtml
// (report_html.h) draws it. This file holds its JSON codec (protobuf's JSON mapping, which also
// reads the files written before the report was a proto) and the helpers the runner, the store and
// the page share: enum names and time conversions.
//
// RTO per direction is the time from the start of the failover step until the read-write listener
// answered again after ARM showed the new roles (as sampled by the drill's ListenerSampler);
// listener_outage is the part of that window during which samples failed. Samples come from the
// sampler and from the verification dials (which always follow the role swap).
#ifndef FOGHORN_ORCHESTRATOR_DRILL_REPORT_H_
#define FOGHORN_ORCHESTRATOR_DRILL_REPORT_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "foghorn/v1/control.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "orchestrator/drill/readiness.h"

namespace foghorn::drill {

// The report is the proto; this name is only a shorthand for it.
using DrillReport = v1::DrillReport;

// Enum values as the report's readers see them: the value's name without the enum's prefix, in
// lower case ("passed", "done", "warn", "failure"); "unspecified" for the zero value and the
// number for a value this build does not know.
std::string DrillOutcomeName(v1::DrillOutcome outcome);
std::string DrillStepStateName(v1::DrillStepState state);
std::string DrillProbeOutcomeName(v1::DrillProbeOutcome outcome);
std::string ReadinessStatusName(v1::CheckStatus status);

// A readiness check as the report (and the control API) carries it.
v1::ReadinessCheck CheckResultToProto(const CheckResult& check);

// absl::Time <-> google.protobuf.Timestamp. An infinite time has no Timestamp: callers leave the
// field unset instead (`if (IsFiniteTime(t)) *m.mutable_at() = ToTimestamp(t);`), and TimeOrPast
// reads an unset field back as InfinitePast: TimeOrPast(s.has_finished_at(), s.finished_at()).
inline bool IsFiniteTime(absl::Time t) {
  return t != absl::InfinitePast() && t != absl::InfiniteFuture();
}
google::protobuf::Timestamp ToTimestamp(absl::Time t);  // precondition: IsFiniteTime(t)
absl::Time FromTimestamp(const google::protobuf::Timestamp& t);
absl::Time TimeOrPast(bool has, const google::protobuf::Timestamp& t);

// The stored form: protobuf's JSON mapping of the report with proto field names ("drill_id"),
// every field printed (zeros and empty lists too), enums by name ("DRILL_OUTCOME_PASSED"),
// times as RFC 3339 UTC and durations as "<seconds>s" strings. INTERNAL when protobuf refuses the
// message (a time or duration out of its range).
absl::StatusOr<std::string> ReportToJson(const DrillReport& report);

// Reads a stored report. Fields this build does not know are ignored (a newer agent's files
// load), and so are enum values it does not know (they read as UNSPECIFIED). Files written before
// the report was a proto (short lowercase enum names, "" for unset times, durations as
// rto_seconds / listener_outage_seconds numbers) are upgraded as they are read. INVALID_ARGUMENT
// when `json` is not JSON, not an object, or has no drill_id.
absl::StatusOr<DrillReport> ReportFromJson(const std::string& json);

// Whether `id` may be a drill id, which names the report's files: 1 to 128 of [A-Za-z0-9._-], not
// starting with a dot (no separators, NUL or control bytes, no "..").
bool IsValidDrillId(std::string_view id);

}  // namespace foghorn::drill

#endif  // FOGHORN_ORCHESTRATOR_DRILL_REPORT_H_
