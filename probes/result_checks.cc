#include "probes/result_checks.h"

#include <sys/wait.h>

#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "nlohmann/json.hpp"

namespace foghorn::probes {
namespace {

ProbeResult Make(ProbeOutcome outcome, std::string detail) {
  ProbeResult r;
  r.outcome = outcome;
  r.detail = std::move(detail);
  return r;
}

// Follows a dotted path ("a.b.0.c"; numbers index arrays). nullptr when absent.
const nlohmann::json* Lookup(const nlohmann::json& root, const std::string& path) {
  const nlohmann::json* cur = &root;
  for (absl::string_view part : absl::StrSplit(path, '.')) {
    std::string key(part);
    if (cur->is_object()) {
      auto it = cur->find(key);
      if (it == cur->end()) return nullptr;
      cur = &*it;
    } else if (cur->is_array()) {
      size_t index = 0;
      if (!absl::SimpleAtoi(part, &index) || index >= cur->size()) return nullptr;
      cur = &(*cur)[index];
    } else {
      return nullptr;
    }
  }
  return cur;
}

std::string NormalizeName(std::string name) {
  absl::AsciiStrToLower(&name);
  while (!name.empty() && name.back() == '.') name.pop_back();
  return name;
}

}  // namespace

std::optional<double> ParseMetric(const std::string& text) {
  absl::string_view line = text;
  size_t nl = line.find('\n');
  if (nl != absl::string_view::npos) line = line.substr(0, nl);
  line = absl::StripAsciiWhitespace(line);
  double value = 0;
  if (line.empty() || !absl::SimpleAtod(line, &value) || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

ProbeResult JudgeHttpResponse(const v1::HttpProbe& spec, long status, const std::string& body) {
  bool status_ok = false;
  if (spec.expected_statuses().empty()) {
    status_ok = status >= 200 && status <= 299;
  } else {
    for (const auto& range : spec.expected_statuses()) {
      if (status >= range.start() && status <= range.end()) status_ok = true;
    }
  }
  if (!status_ok) {
    return Make(ProbeOutcome::kFailure, absl::StrCat("http status ", status, " not expected"));
  }
  if (!spec.body_contains().empty() && !absl::StrContains(body, spec.body_contains())) {
    return Make(ProbeOutcome::kFailure, "body lacks the expected text");
  }
  nlohmann::json doc;
  bool need_json = !spec.json_field().empty() || !spec.metric_json_field().empty();
  bool parsed = false;
  if (need_json) {
    doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
    parsed = !doc.is_discarded();
  }
  if (!spec.json_field().empty()) {
    if (!parsed) return Make(ProbeOutcome::kFailure, "body is not JSON");
    const nlohmann::json* field = Lookup(doc, spec.json_field());
    if (field == nullptr) {
      return Make(ProbeOutcome::kFailure,
                  absl::StrCat("json field ", spec.json_field(), " absent"));
    }
    std::string text = field->is_string() ? field->get<std::string>() : field->dump();
    if (text != spec.json_field_value()) {
      return Make(ProbeOutcome::kFailure,
                  absl::StrCat("json field ", spec.json_field(), " is ", text));
    }
  }
  ProbeResult r = Make(ProbeOutcome::kSuccess, absl::StrCat("http status ", status));
  if (!spec.metric_json_field().empty() && parsed) {
    const nlohmann::json* field = Lookup(doc, spec.metric_json_field());
    if (field != nullptr && field->is_number()) {
      r.metric = field->get<double>();
    } else if (field != nullptr && field->is_string()) {
      r.metric = ParseMetric(field->get<std::string>());
    }
  }
  return r;
}

ProbeResult JudgeExit(const v1::ExecProbe& spec, int wait_status, const std::string& stdout_text) {
  ProbeResult r;
  if (WIFSIGNALED(wait_status)) {
    return Make(ProbeOutcome::kFailure, absl::StrCat("killed by signal ", WTERMSIG(wait_status)));
  }
  int code = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
  if (code == 0) {
    r = Make(ProbeOutcome::kSuccess, "exit 0");
  } else if (code == 127) {
    r = Make(ProbeOutcome::kUnknown, "exit 127: command not found");
  } else {
    r = Make(ProbeOutcome::kFailure, absl::StrCat("exit ", code));
  }
  if (spec.metric_from_stdout()) r.metric = ParseMetric(stdout_text);
  return r;
}

ProbeResult JudgeArmState(const v1::ArmStateProbe& spec,
                          const absl::StatusOr<FailoverGroupState>& state) {
  if (!state.ok()) {
    switch (state.status().code()) {
      case absl::StatusCode::kUnavailable:
      case absl::StatusCode::kDeadlineExceeded:
      case absl::StatusCode::kUnauthenticated:
      case absl::StatusCode::kPermissionDenied:
      case absl::StatusCode::kResourceExhausted:
      case absl::StatusCode::kCancelled:
        return Make(ProbeOutcome::kUnknown,
                    absl::StrCat("arm read failed: ", state.status().ToString()));
      default:
        return Make(ProbeOutcome::kFailure,
                    absl::StrCat("arm read failed: ", state.status().ToString()));
    }
  }
  if (spec.expect_role() != v1::ROLE_UNSPECIFIED && state->role != spec.expect_role()) {
    return Make(ProbeOutcome::kFailure, absl::StrCat("role is ", v1::Role_Name(state->role),
                                                     ", want ", v1::Role_Name(spec.expect_role())));
  }
  if (!spec.expect_replication_states().empty()) {
    bool found = false;
    for (const std::string& want : spec.expect_replication_states()) {
      if (absl::EqualsIgnoreCase(want, state->replication_state)) found = true;
    }
    if (!found) {
      return Make(ProbeOutcome::kFailure,
                  absl::StrCat("replication state is '", state->replication_state, "'"));
    }
  }
  return Make(ProbeOutcome::kSuccess,
              absl::StrCat(v1::Role_Name(state->role), " ", state->replication_state));
}

ProbeResult JudgeDns(const v1::DnsProbe& spec, const std::vector<std::string>& addresses,
                     const std::string& canonical_name) {
  if (addresses.empty()) return Make(ProbeOutcome::kFailure, "no addresses");
  std::string summary = absl::StrCat("resolved to ", addresses.front());
  if (spec.expect_any().empty()) return Make(ProbeOutcome::kSuccess, summary);
  std::string canon = NormalizeName(canonical_name);
  for (const std::string& want_raw : spec.expect_any()) {
    std::string want = NormalizeName(want_raw);
    if (!canon.empty() && want == canon) return Make(ProbeOutcome::kSuccess, summary);
    for (const std::string& a : addresses) {
      if (NormalizeName(a) == want) return Make(ProbeOutcome::kSuccess, summary);
    }
  }
  return Make(ProbeOutcome::kFailure,
              absl::StrCat(summary, (canon.empty() ? "" : absl::StrCat(" (", canon, ")")),
                           ", none expected"));
}

}  // namespace foghorn::probes
