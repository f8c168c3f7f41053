#include "orchestrator/drill/report.h"

#include <cctype>
#include <cmath>
#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"
#include "orchestrator/common/durations.h"

namespace foghorn::drill {
namespace {

using nlohmann::json;

std::string ShortName(const std::string& full, absl::string_view prefix, int value) {
  if (full.empty()) return absl::StrCat(value);
  return absl::AsciiStrToLower(absl::StartsWith(full, prefix) ? full.substr(prefix.size()) : full);
}

// --- Files written before the report was a proto ---
//
// Until the report became foghorn.v1.DrillReport, a hand-written codec stored it. Its field names
// are the proto's (snake_case), and so are its numbers, booleans and strings; it differs in three
// ways, which are rewritten here before protobuf's parser reads the document:
//   * unset times were "" (the mapping omits an unset Timestamp);
//   * enums were short lowercase names: outcome "passed", step state "done", check status "warn",
//     probe point outcome "failure";
//   * durations were numbers of seconds: rto_seconds (null when not measured) and
//     listener_outage_seconds, where the mapping has rto and listener_outage as "<seconds>s".
// Each rewrite matches only the old shape, so a current file passes through unchanged.

constexpr const char* kTimeKeys[] = {"at", "started_at", "finished_at", "roles_swapped_at",
                                     "rw_restored_at"};

void DropEmptyTimes(json& j) {
  if (j.is_array()) {
    for (json& e : j) DropEmptyTimes(e);
    return;
  }
  if (!j.is_object()) return;
  for (const char* key : kTimeKeys) {
    auto it = j.find(key);
    if (it != j.end() && it->is_string() && it->get_ref<const std::string&>().empty()) j.erase(it);
  }
  for (auto& item : j.items()) DropEmptyTimes(item.value());
}

// "passed" -> "DRILL_OUTCOME_PASSED"; "" is dropped (UNSPECIFIED). A name that matches no value
// is left for the parser, which ignores unknown enum values.
void UpgradeEnum(json& obj, const char* key, absl::string_view prefix) {
  if (!obj.is_object()) return;
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return;
  const std::string& value = it->get_ref<const std::string&>();
  if (value.empty()) {
    obj.erase(it);
  } else if (!absl::StartsWith(value, prefix)) {
    *it = absl::StrCat(prefix, absl::AsciiStrToUpper(value));
  }
}

void UpgradeSeconds(json& obj, const char* old_key, const char* new_key) {
  auto it = obj.find(old_key);
  if (it == obj.end()) return;
  if (it->is_number() && !obj.contains(new_key)) {
    const double seconds = it->get<double>();
    if (std::isfinite(seconds) &&
        std::abs(seconds) < static_cast<double>(common::kMaxProtoDurationSeconds)) {
      obj[new_key] = absl::StrFormat("%.9fs", seconds);
    }
  }
  obj.erase(old_key);
}

template <typename F>
void ForEachIn(json& obj, const char* key, F f) {
  if (!obj.is_object()) return;
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_array()) return;
  for (json& e : *it) f(e);
}

void UpgradeLegacy(json& r) {
  DropEmptyTimes(r);
  UpgradeEnum(r, "outcome", "DRILL_OUTCOME_");
  ForEachIn(r, "steps", [](json& s) { UpgradeEnum(s, "state", "DRILL_STEP_STATE_"); });
  ForEachIn(r, "checks", [](json& c) { UpgradeEnum(c, "status", "CHECK_STATUS_"); });
  ForEachIn(r, "probes", [](json& p) {
    ForEachIn(p, "points", [](json& pt) { UpgradeEnum(pt, "outcome", "DRILL_PROBE_OUTCOME_"); });
  });
  ForEachIn(r, "directions", [](json& d) {
    if (!d.is_object()) return;
    UpgradeSeconds(d, "rto_seconds", "rto");
    UpgradeSeconds(d, "listener_outage_seconds", "listener_outage");
  });
}

}  // namespace

std::string DrillOutcomeName(v1::DrillOutcome outcome) {
  return ShortName(v1::DrillOutcome_Name(outcome), "DRILL_OUTCOME_", outcome);
}

std::string DrillStepStateName(v1::DrillStepState state) {
  return ShortName(v1::DrillStepState_Name(state), "DRILL_STEP_STATE_", state);
}

std::string DrillProbeOutcomeName(v1::DrillProbeOutcome outcome) {
  return ShortName(v1::DrillProbeOutcome_Name(outcome), "DRILL_PROBE_OUTCOME_", outcome);
}

std::string ReadinessStatusName(v1::CheckStatus status) {
  return ShortName(v1::CheckStatus_Name(status), "CHECK_STATUS_", status);
}

v1::ReadinessCheck CheckResultToProto(const CheckResult& c) {
  v1::ReadinessCheck out;
  out.set_name(c.name);
  switch (c.status) {
    case CheckStatus::kPass:
      out.set_status(v1::CHECK_STATUS_PASS);
      break;
    case CheckStatus::kWarn:
      out.set_status(v1::CHECK_STATUS_WARN);
      break;
    case CheckStatus::kFail:
      out.set_status(v1::CHECK_STATUS_FAIL);
      break;
    case CheckStatus::kSkip:
      out.set_status(v1::CHECK_STATUS_SKIP);
      break;
  }
  out.set_reason(c.reason);
  out.set_fix(c.fix);
  return out;
}

google::protobuf::Timestamp ToTimestamp(absl::Time t) {
  const std::int64_t nanos = absl::ToUnixNanos(t);
  std::int64_t secs = nanos / 1000000000;
  std::int64_t rem = nanos % 1000000000;
  if (rem < 0) {
    rem += 1000000000;
    --secs;
  }
  google::protobuf::Timestamp out;
  out.set_seconds(secs);
  out.set_nanos(static_cast<std::int32_t>(rem));
  return out;
}

absl::Time FromTimestamp(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

absl::Time TimeOrPast(bool has, const google::protobuf::Timestamp& t) {
  return has ? FromTimestamp(t) : absl::InfinitePast();
}

absl::StatusOr<std::string> ReportToJson(const DrillReport& report) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string out;
  auto status = google::protobuf::util::MessageToJsonString(report, &out, options);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("drill report ", report.drill_id(),
                                            " cannot be written as JSON: ", status.ToString()));
  }
  return out;
}

absl::StatusOr<DrillReport> ReportFromJson(const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return absl::InvalidArgumentError("not a drill report (not a JSON object)");
  UpgradeLegacy(j);
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  DrillReport report;
  auto status = google::protobuf::util::JsonStringToMessage(
      j.dump(-1, ' ', false, json::error_handler_t::replace), &report, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("malformed drill report: ", status.ToString()));
  }
  if (report.drill_id().empty()) {
    return absl::InvalidArgumentError("not a drill report (no drill_id)");
  }
  return report;
}

bool IsValidDrillId(std::string_view id) {
  if (id.empty() || id.size() > 128 || id == "." || id == ".." || id.front() == '.') return false;
  for (char c : id) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) {
      return false;
    }
  }
  return true;
}

}  // namespace foghorn::drill
