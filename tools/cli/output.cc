#include "tools/cli/output.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"
#include "orchestrator/common/durations.h"

namespace foghorn::cli {

void PrintTable(std::ostream& out, const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size() && i < width.size(); ++i)
      width[i] = std::max(width[i], r[i].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (size_t i = 0; i < cells.size(); ++i) {
      s += cells[i];
      if (i + 1 < cells.size()) s += std::string(width[i] - cells[i].size() + 2, ' ');
    }
    out << s << "\n";
  };
  line(header);
  for (const auto& r : rows) line(r);
}

void PrintJson(std::ostream& out, const google::protobuf::Message& m, bool pretty) {
  google::protobuf::util::JsonPrintOptions o;
  o.add_whitespace = pretty;
  o.preserve_proto_field_names = true;
  std::string s;
  (void)google::protobuf::util::MessageToJsonString(m, &s, o);
  out << s << (pretty && absl::EndsWith(s, "\n") ? "" : "\n");
}

std::string FormatTime(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return "-";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(t.seconds()),
                          absl::UTCTimeZone());
}

std::string FormatDuration(const google::protobuf::Duration& d) {
  return absl::FormatDuration(common::FromProtoDuration(d));
}

std::string FormatMeasured(const google::protobuf::Duration& d) {
  return absl::FormatDuration(absl::Trunc(common::FromProtoDuration(d), absl::Milliseconds(1)));
}

std::string Short(const std::string& enum_name, const std::string& prefix) {
  std::string s = absl::StartsWith(enum_name, prefix) ? enum_name.substr(prefix.size()) : enum_name;
  return absl::AsciiStrToLower(s);
}

std::string KindName(v1::FailoverKind k) {
  return Short(v1::FailoverKind_Name(k), "FAILOVER_KIND_");
}
std::string VerdictName(v1::Verdict v) { return Short(v1::Verdict_Name(v), "VERDICT_"); }
std::string StageName(v1::DecisionStage s) {
  return Short(v1::DecisionStage_Name(s), "DECISION_STAGE_");
}
std::string OpStateName(v1::OperationState s) {
  return Short(v1::OperationState_Name(s), "OPERATION_STATE_");
}
std::string StepStateName(v1::StepState s) { return Short(v1::StepState_Name(s), "STEP_STATE_"); }
std::string DrillOutcomeName(v1::DrillOutcome o) {
  return Short(v1::DrillOutcome_Name(o), "DRILL_OUTCOME_");
}
std::string DrillStepStateName(v1::DrillStepState s) {
  return Short(v1::DrillStepState_Name(s), "DRILL_STEP_STATE_");
}

}  // namespace foghorn::cli
