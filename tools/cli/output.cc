#include "tools/cli/output.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
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

absl::Time FromProtoTime(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

absl::Duration Elapsed(const google::protobuf::Timestamp& from,
                       const google::protobuf::Timestamp& to) {
  return absl::Trunc(FromProtoTime(to) - FromProtoTime(from), absl::Milliseconds(1));
}

std::string FormatAge(absl::Duration age) {
  const bool ahead = age < absl::ZeroDuration();
  const absl::Duration a = absl::AbsDuration(age);
  if (a < absl::Seconds(1)) return "just now";
  std::string text;
  if (a < absl::Minutes(1)) {
    text = absl::StrCat(absl::ToInt64Seconds(a), "s");
  } else if (a < absl::Hours(1)) {
    text = absl::StrCat(absl::ToInt64Minutes(a), "m");
  } else if (a < absl::Hours(24)) {
    const int64_t minutes = absl::ToInt64Minutes(a);
    text = absl::StrCat(minutes / 60, "h", minutes % 60 ? absl::StrCat(minutes % 60, "m") : "");
  } else {
    text = absl::StrCat(absl::ToInt64Hours(a) / 24, "d");
  }
  return ahead ? absl::StrCat("in ", text) : absl::StrCat(text, " ago");
}

std::string FormatTimeIn(const google::protobuf::Timestamp& t, absl::TimeZone zone,
                         absl::Time now) {
  if (t.seconds() == 0 && t.nanos() == 0) return "-";
  const absl::Time at = FromProtoTime(t);
  return absl::StrCat(absl::FormatTime("%Y-%m-%d %H:%M:%S %Z", at, zone), " (", FormatAge(now - at),
                      ")");
}

std::string FormatTime(const google::protobuf::Timestamp& t) {
  return FormatTimeIn(t, absl::LocalTimeZone(), absl::Now());
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
