#include "probes/probe_config.h"

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "orchestrator/common/child_env.h"
#include "orchestrator/common/durations.h"
#include "orchestrator/common/host_port.h"

namespace foghorn::probes {
namespace {

using common::FormatDurationText;
using common::FromProtoDuration;

constexpr char kMissing[] = "missing required field";

void TimingProblems(const ProbeTiming& t, std::vector<ProbeSpecProblem>* out) {
  if (t.interval <= absl::ZeroDuration()) {
    out->push_back({"interval", "must be greater than 0"});
  } else if (t.timeout <= absl::ZeroDuration()) {
    out->push_back({"timeout", "must be greater than 0"});
  } else if (t.timeout >= t.interval) {
    out->push_back(
        {"timeout", absl::StrCat("timeout ", FormatDurationText(t.timeout),
                                 " must be less than interval ", FormatDurationText(t.interval))});
  }
  if (t.jitter < absl::ZeroDuration()) {
    out->push_back({"jitter", "must not be negative"});
  } else if (t.jitter >= t.interval && t.interval > absl::ZeroDuration()) {
    out->push_back({"jitter", absl::StrCat("jitter must be less than interval ",
                                           FormatDurationText(t.interval))});
  }
  if (t.initial_delay < absl::ZeroDuration()) {
    out->push_back({"initial_delay", "must not be negative"});
  }
  if (t.unhealthy_threshold < 1) {
    out->push_back(
        {"unhealthy_threshold", absl::StrCat("must be at least 1, got ", t.unhealthy_threshold)});
  }
  if (t.healthy_threshold < 1) {
    out->push_back(
        {"healthy_threshold", absl::StrCat("must be at least 1, got ", t.healthy_threshold)});
  }
}

absl::Status ToStatus(const v1::ProbeSpec& spec, const std::vector<ProbeSpecProblem>& problems) {
  if (problems.empty()) return absl::OkStatus();
  std::vector<std::string> parts;
  for (const ProbeSpecProblem& p : problems) {
    parts.push_back(p.field.empty() ? p.message : absl::StrCat("field ", p.field, ": ", p.message));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("probe '", spec.name(), "': ", absl::StrJoin(parts, "; ")));
}

// An ARM name segment (database, metric): what ids and query values accept without escaping
// surprises.
bool IsArmName(const std::string& name) {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name) {
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
          c == '(' || c == ')')) {
      return false;
    }
  }
  return true;
}

}  // namespace

ProbeTiming TimingWithDefaults(const v1::ProbeSpec& spec) {
  ProbeTiming t;
  if (spec.has_interval()) t.interval = FromProtoDuration(spec.interval());
  // The default timeout stays below a short interval.
  t.timeout = spec.has_timeout() ? FromProtoDuration(spec.timeout())
                                 : std::min(kDefaultProbeTimeout, t.interval / 2);
  if (spec.has_jitter()) t.jitter = FromProtoDuration(spec.jitter());
  if (spec.has_initial_delay()) t.initial_delay = FromProtoDuration(spec.initial_delay());
  if (spec.unhealthy_threshold() != 0) t.unhealthy_threshold = spec.unhealthy_threshold();
  if (spec.healthy_threshold() != 0) t.healthy_threshold = spec.healthy_threshold();
  return t;
}

absl::StatusOr<ProbeTiming> ResolveTiming(const v1::ProbeSpec& spec) {
  ProbeTiming t = TimingWithDefaults(spec);
  std::vector<ProbeSpecProblem> problems;
  TimingProblems(t, &problems);
  if (!problems.empty()) return ToStatus(spec, problems);
  return t;
}

std::vector<ProbeSpecProblem> ProbeSpecProblems(const v1::ProbeSpec& spec) {
  std::vector<ProbeSpecProblem> out;
  if (spec.name().empty()) {
    out.push_back({"name", kMissing});
  } else if (spec.name().find('/') != std::string::npos) {
    // Probe ids are "<group id>/<name>" (and a group id holds '/' already).
    out.push_back({"name", "must not contain '/'"});
  }
  TimingProblems(TimingWithDefaults(spec), &out);
  switch (spec.kind_case()) {
    case v1::ProbeSpec::kTcp:
      // Empty: the target's SQL endpoint (ProbeContext::default_address).
      if (!spec.tcp().address().empty()) {
        if (auto a = common::ParseHostPort(spec.tcp().address()); !a.ok()) {
          out.push_back({"tcp.address", std::string(a.status().message())});
        }
      }
      if (spec.tcp().tds_prelogin() &&
          (!spec.tcp().send().empty() || !spec.tcp().expect().empty())) {
        out.push_back({"tcp.tds_prelogin", "cannot be combined with send or expect"});
      }
      break;
    case v1::ProbeSpec::kHttp: {
      const v1::HttpProbe& h = spec.http();
      if (h.url().empty()) {
        out.push_back({"http.url", kMissing});
      } else if (!absl::StartsWith(h.url(), "https://") && !absl::StartsWith(h.url(), "http://")) {
        out.push_back({"http.url", absl::StrCat("must be an http(s) URL, got \"", h.url(), "\"")});
      }
      for (int i = 0; i < h.expected_statuses_size(); ++i) {
        const v1::StatusRange& r = h.expected_statuses(i);
        if (r.start() < 100 || r.end() > 599 || r.start() > r.end()) {
          out.push_back({absl::StrCat("http.expected_statuses[", i, "]"),
                         absl::StrCat("invalid status range [", r.start(), ", ", r.end(),
                                      "] (100 <= start <= end <= 599)")});
        }
      }
      // Both or neither: an empty json_field_value cannot be told from an unset one.
      if (!h.json_field().empty() && h.json_field_value().empty()) {
        out.push_back({"http.json_field_value", "must not be empty when json_field is set"});
      } else if (h.json_field().empty() && !h.json_field_value().empty()) {
        out.push_back({"http.json_field", "must be set with json_field_value"});
      }
      break;
    }
    case v1::ProbeSpec::kDns:
      if (spec.dns().name().empty()) out.push_back({"dns.name", kMissing});
      break;
    case v1::ProbeSpec::kArmState:
      break;
    case v1::ProbeSpec::kExec: {
      const v1::ExecProbe& e = spec.exec();
      if (e.argv().empty()) {
        out.push_back({"exec.argv", kMissing});
      } else if (e.argv(0).empty()) {
        out.push_back({"exec.argv", "must name a command"});
      }
      for (int i = 0; i < e.inherit_env_size(); ++i) {
        if (common::IsAgentSecretEnv(e.inherit_env(i))) {
          out.push_back({absl::StrCat("exec.inherit_env[", i, "]"),
                         absl::StrCat(e.inherit_env(i),
                                      " holds the agent's credentials and is never passed to a "
                                      "command")});
        }
      }
      break;
    }
    case v1::ProbeSpec::kAzureMetric: {
      const v1::AzureMetricProbe& m = spec.azure_metric();
      if (m.database().empty()) {
        out.push_back({"azure_metric.database", kMissing});
      } else if (!IsArmName(m.database())) {
        out.push_back({"azure_metric.database", "not a valid database name"});
      }
      if (m.metric().empty() && spec.metric_kind() != v1::METRIC_KIND_REPLICATION_LAG_SECONDS) {
        out.push_back({"azure_metric.metric",
                       "must be set (or metric_kind: METRIC_KIND_REPLICATION_LAG_SECONDS)"});
      } else if (!m.metric().empty() && !IsArmName(m.metric())) {
        out.push_back({"azure_metric.metric", "not a valid metric name"});
      }
      if (!m.aggregation().empty()) {
        bool known = false;
        for (const char* a : {"Average", "Minimum", "Maximum", "Total", "Count"}) {
          known = known || absl::EqualsIgnoreCase(a, m.aggregation());
        }
        if (!known) {
          out.push_back({"azure_metric.aggregation",
                         absl::StrCat("unknown aggregation \"", m.aggregation(),
                                      "\" (Average, Minimum, Maximum, Total, Count)")});
        }
      }
      if (m.has_max_value() && m.has_min_value() && m.min_value() > m.max_value()) {
        out.push_back({"azure_metric.min_value", "must not exceed max_value"});
      }
      if (m.has_max_sample_age()) {
        const absl::Duration age = FromProtoDuration(m.max_sample_age());
        if (age < absl::Minutes(1) || age > absl::Hours(24)) {
          out.push_back({"azure_metric.max_sample_age",
                         "must be between 1m and 24h (Azure Monitor's grain is a minute)"});
        }
      }
      break;
    }
    case v1::ProbeSpec::kResourceHealth:
      if (!spec.resource_health().database().empty() &&
          !IsArmName(spec.resource_health().database())) {
        out.push_back({"resource_health.database", "not a valid database name"});
      }
      break;
    case v1::ProbeSpec::kReplicationLink:
      if (spec.replication_link().database().empty()) {
        out.push_back({"replication_link.database", kMissing});
      } else if (!IsArmName(spec.replication_link().database())) {
        out.push_back({"replication_link.database", "not a valid database name"});
      }
      break;
    case v1::ProbeSpec::KIND_NOT_SET:
      out.push_back({"",
                     "missing one of tcp, http, dns, arm_state, exec, azure_metric, "
                     "resource_health, replication_link"});
      break;
  }
  if (spec.metric_kind() == v1::METRIC_KIND_REPLICATION_LAG_SECONDS &&
      !(spec.has_http() && !spec.http().metric_json_field().empty()) &&
      !(spec.has_exec() && spec.exec().metric_from_stdout()) && !spec.has_azure_metric()) {
    out.push_back({"metric_kind",
                   "replication_lag_seconds needs http.metric_json_field, "
                   "exec.metric_from_stdout or azure_metric"});
  }
  return out;
}

absl::Status ValidateProbeSpec(const v1::ProbeSpec& spec) {
  return ToStatus(spec, ProbeSpecProblems(spec));
}

absl::Status ValidateHealthRule(const v1::HealthRule& rule) {
  std::string where = absl::StrCat("health rule for ", v1::ProbeTarget_Name(rule.target()));
  if (rule.target() == v1::PROBE_TARGET_UNSPECIFIED) {
    return absl::InvalidArgumentError("health rule: field target: must be set");
  }
  if (rule.probes().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": field probes: must not be empty"));
  }
  if (rule.quorum() == v1::QUORUM_MODE_K_OF_N && (rule.k() < 1 || rule.k() > rule.probes_size())) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": field k: need 1 <= k <= ", rule.probes_size()));
  }
  return absl::OkStatus();
}

}  // namespace foghorn::probes
