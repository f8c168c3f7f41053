#include "runbooks/loader.h"

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "orchestrator/common/child_env.h"
#include "orchestrator/decision/policy.h"
#include "runbooks/duration.h"
#include "runbooks/yaml_to_proto.h"

namespace foghorn::runbooks {
namespace {

namespace v1 = foghorn::v1;
using google::protobuf::Duration;

// Probe defaults (docs/runbooks.md).
constexpr absl::Duration kDefaultProbeInterval = absl::Seconds(5);
constexpr absl::Duration kDefaultProbeTimeout = absl::Seconds(2);
constexpr int kDefaultUnhealthyThreshold = 3;
constexpr int kDefaultHealthyThreshold = 2;
// Step and drill defaults.
constexpr absl::Duration kDefaultStepTimeout = absl::Minutes(5);
constexpr absl::Duration kDefaultApprovalStepTimeout = absl::Hours(1);
constexpr absl::Duration kWaitStepSlack = absl::Minutes(1);
constexpr absl::Duration kDefaultDrillHold = absl::Minutes(10);
constexpr absl::Duration kDefaultDrillVerifyTimeout = absl::Minutes(5);
constexpr int kMaxStepRetries = 10;

const char* StepKindName(const v1::Step& step) {
  switch (step.action_case()) {
    case v1::Step::kNotify:
      return "notify";
    case v1::Step::kExec:
      return "exec";
    case v1::Step::kWait:
      return "wait";
    case v1::Step::kApproval:
      return "approval";
    case v1::Step::kProbeAssert:
      return "probe_assert";
    default:
      return "step";
  }
}

void DefaultSteps(google::protobuf::RepeatedPtrField<v1::Step>* steps) {
  for (int i = 0; i < steps->size(); ++i) {
    v1::Step& s = *steps->Mutable(i);
    if (s.name().empty()) s.set_name(absl::StrCat(StepKindName(s), "-", i + 1));
    if (!s.has_timeout()) {
      absl::Duration t = kDefaultStepTimeout;
      if (s.has_approval()) t = kDefaultApprovalStepTimeout;
      if (s.has_wait()) t = FromProto(s.wait().duration()) + kWaitStepSlack;
      ToProto(t, s.mutable_timeout());
    }
    if (s.on_failure() == v1::ON_FAILURE_UNSPECIFIED) s.set_on_failure(v1::ON_FAILURE_ABORT);
  }
}

bool IsHttpUrl(const std::string& url) {
  return absl::StartsWith(url, "https://") || absl::StartsWith(url, "http://");
}

// Azure's rule for server and failover group names.
bool IsAzureName(const std::string& name) {
  if (name.empty() || name.size() > 63 || name.front() == '-' || name.back() == '-') return false;
  for (char c : name) {
    if (!(absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-')) return false;
  }
  return true;
}

class Validator {
 public:
  Validator(const std::string& file, const SourceMap& map, std::vector<Diagnostic>* diags)
      : file_(file), map_(map), diags_(diags) {}

  // The location of `path`, or of its nearest written ancestor.
  Location Loc(std::string path) const {
    while (true) {
      auto it = map_.find(path);
      if (it != map_.end()) return it->second;
      if (path.empty()) return {1, 1};
      const size_t cut = path.find_last_of(".[");
      path = cut == std::string::npos ? "" : path.substr(0, cut);
    }
  }
  bool Written(const std::string& path) const { return map_.contains(path); }

  void Err(const std::string& path, std::string message) {
    const Location loc = Loc(path);
    diags_->push_back({file_, loc.line, loc.column, path, std::move(message)});
  }
  void Missing(const std::string& path) { Err(path, "missing required field"); }

  // Required fields: checked before defaults are filled in.
  void CheckRequired(const v1::Runbook& rb) {
    if (!rb.has_group()) {
      Missing("group");
    } else {
      const v1::FailoverGroupRef& g = rb.group();
      if (g.subscription_id().empty()) Missing("group.subscription_id");
      if (g.resource_group().empty()) Missing("group.resource_group");
      if (g.name().empty()) Missing("group.name");
      if (g.primary_server().empty()) Missing("group.primary_server");
      if (g.secondary_server().empty()) Missing("group.secondary_server");
    }
    for (int i = 0; i < rb.probes_size(); ++i) {
      const v1::ProbeSpec& p = rb.probes(i);
      const std::string path = absl::StrCat("probes[", i, "]");
      if (p.name().empty()) Missing(path + ".name");
      if (p.target() == v1::PROBE_TARGET_UNSPECIFIED) Missing(path + ".target");
      if (p.kind_case() == v1::ProbeSpec::KIND_NOT_SET) {
        Err(path, "missing one of tcp, http, dns, arm_state, exec");
      }
      // 0 would otherwise be mistaken for "unset" and silently become the default.
      for (const char* field : {"unhealthy_threshold", "healthy_threshold"}) {
        const std::string fpath = absl::StrCat(path, ".", field);
        const int value = std::string(field) == "unhealthy_threshold" ? p.unhealthy_threshold()
                                                                      : p.healthy_threshold();
        if (Written(fpath) && value == 0) Err(fpath, "must be at least 1, got 0");
      }
    }
    for (int i = 0; i < rb.health_rules_size(); ++i) {
      const std::string path = absl::StrCat("health_rules[", i, "]");
      if (rb.health_rules(i).target() == v1::PROBE_TARGET_UNSPECIFIED) Missing(path + ".target");
      if (rb.health_rules(i).probes().empty()) Missing(path + ".probes");
    }
    for (int i = 0; i < rb.policy().maintenance_windows_size(); ++i) {
      const std::string path = absl::StrCat("policy.maintenance_windows[", i, "]");
      if (rb.policy().maintenance_windows(i).start().empty()) Missing(path + ".start");
      if (!rb.policy().maintenance_windows(i).has_duration()) Missing(path + ".duration");
    }
    CheckStepsRequired(rb.pre_steps(), "pre_steps");
    CheckStepsRequired(rb.post_steps(), "post_steps");
  }

  void CheckSemantics(const v1::Runbook& rb) {
    CheckGroup(rb.group());
    absl::flat_hash_map<std::string, int> probe_index;
    for (int i = 0; i < rb.probes_size(); ++i) {
      const v1::ProbeSpec& p = rb.probes(i);
      const std::string path = absl::StrCat("probes[", i, "]");
      if (!p.name().empty()) {
        auto [it, inserted] = probe_index.emplace(p.name(), i);
        if (!inserted) {
          const Location first = Loc(absl::StrCat("probes[", it->second, "].name"));
          Err(path + ".name", absl::StrCat("duplicate probe name \"", p.name(),
                                           "\" (first defined at line ", first.line, ")"));
        }
      }
      CheckProbe(p, path);
    }
    auto check_ref = [&](const std::string& name, const std::string& path) {
      if (!probe_index.contains(name)) {
        Err(path, absl::StrCat("reference to undefined probe \"", name, "\""));
      }
    };
    bool primary_rule = false;
    absl::flat_hash_map<int, int> rule_for_target;
    for (int i = 0; i < rb.health_rules_size(); ++i) {
      const v1::HealthRule& r = rb.health_rules(i);
      const std::string path = absl::StrCat("health_rules[", i, "]");
      if (r.target() == v1::PROBE_TARGET_PRIMARY) primary_rule = true;
      if (r.target() != v1::PROBE_TARGET_UNSPECIFIED) {
        auto [it, inserted] = rule_for_target.emplace(r.target(), i);
        if (!inserted) {
          Err(path + ".target",
              absl::StrCat(
                  "a second rule for target ",
                  ShortEnumName(*v1::ProbeTarget_descriptor()->FindValueByNumber(r.target())),
                  " (first is health_rules[", it->second, "])"));
        }
      }
      for (int j = 0; j < r.probes_size(); ++j) {
        const std::string ppath = absl::StrCat(path, ".probes[", j, "]");
        check_ref(r.probes(j), ppath);
        auto it = probe_index.find(r.probes(j));
        if (it != probe_index.end() && rb.probes(it->second).target() != r.target()) {
          Err(ppath, absl::StrCat("probe \"", r.probes(j), "\" watches a different target"));
        }
      }
      if (r.quorum() == v1::QUORUM_MODE_K_OF_N) {
        if (r.k() < 1 || r.k() > r.probes_size()) {
          Err(path + ".k", absl::StrCat("k must be between 1 and the number of probes (",
                                        r.probes_size(), "), got ", r.k()));
        }
      } else if (r.k() != 0) {
        Err(path + ".k", "k is only used with quorum k_of_n");
      }
    }
    if (!primary_rule) {
      Err("probes", "nothing watches the primary: add a probe with target primary");
    }
    CheckPolicy(rb.policy());
    CheckSteps(rb.pre_steps(), "pre_steps", check_ref);
    CheckSteps(rb.post_steps(), "post_steps", check_ref);
    const v1::Drill& drill = rb.drill();
    for (int i = 0; i < drill.verify_probes_size(); ++i) {
      check_ref(drill.verify_probes(i), absl::StrCat("drill.verify_probes[", i, "]"));
    }
    if (FromProto(drill.verify_timeout()) <= absl::ZeroDuration()) {
      Err("drill.verify_timeout", "must be greater than 0");
    }
    if (drill.has_check_hook() && drill.check_hook().argv().empty()) {
      Missing("drill.check_hook.argv");
    }
    CheckInherit(drill.check_hook().inherit_env(), "drill.check_hook.inherit_env");
  }

 private:
  // A hook or exec probe may inherit named variables, never the agent's own credentials.
  void CheckInherit(const google::protobuf::RepeatedPtrField<std::string>& names,
                    const std::string& path) {
    for (int i = 0; i < names.size(); ++i) {
      if (common::IsAgentSecretEnv(names.Get(i))) {
        Err(absl::StrCat(path, "[", i, "]"),
            absl::StrCat(names.Get(i),
                         " holds the agent's credentials and is never passed to a command"));
      }
    }
  }

  void CheckStepsRequired(const google::protobuf::RepeatedPtrField<v1::Step>& steps,
                          const std::string& list) {
    for (int i = 0; i < steps.size(); ++i) {
      const v1::Step& s = steps.Get(i);
      const std::string path = absl::StrCat(list, "[", i, "]");
      switch (s.action_case()) {
        case v1::Step::ACTION_NOT_SET:
          Err(path, "missing one of notify, exec, wait, approval, probe_assert");
          break;
        case v1::Step::kNotify:
          if (s.notify().url().empty()) Missing(path + ".notify.url");
          break;
        case v1::Step::kExec:
          if (s.exec().argv().empty()) Missing(path + ".exec.argv");
          CheckInherit(s.exec().inherit_env(), path + ".exec.inherit_env");
          break;
        case v1::Step::kWait:
          if (!s.wait().has_duration()) Missing(path + ".wait.duration");
          break;
        case v1::Step::kProbeAssert:
          if (s.probe_assert().probe().empty()) Missing(path + ".probe_assert.probe");
          if (s.probe_assert().expect() == v1::VERDICT_UNSPECIFIED) {
            Missing(path + ".probe_assert.expect");
          }
          break;
        default:
          break;
      }
    }
  }

  void CheckGroup(const v1::FailoverGroupRef& g) {
    if (!g.name().empty() && !IsAzureName(g.name())) {
      Err("group.name", absl::StrCat("invalid failover group name \"", g.name(),
                                     "\" (lowercase letters, digits and '-', 1-63 characters)"));
    }
    for (const auto& [field, value] :
         {std::pair<const char*, const std::string&>{"primary_server", g.primary_server()},
          {"secondary_server", g.secondary_server()}}) {
      if (!value.empty() && !IsAzureName(value)) {
        Err(absl::StrCat("group.", field),
            absl::StrCat("invalid server name \"", value,
                         "\" (lowercase letters, digits and '-', 1-63 characters)"));
      }
    }
    if (!g.primary_server().empty() &&
        absl::EqualsIgnoreCase(g.primary_server(), g.secondary_server())) {
      Err("group.secondary_server",
          absl::StrCat("primary and secondary are the same server \"", g.primary_server(), "\""));
    }
    if (!IsHttpUrl(g.arm_endpoint())) {
      Err("group.arm_endpoint",
          absl::StrCat("must be an http(s) URL, got \"", g.arm_endpoint(), "\""));
    }
  }

  void CheckProbe(const v1::ProbeSpec& p, const std::string& path) {
    const absl::Duration interval = FromProto(p.interval());
    const absl::Duration timeout = FromProto(p.timeout());
    if (interval <= absl::ZeroDuration()) {
      Err(path + ".interval", "must be greater than 0");
    } else if (timeout <= absl::ZeroDuration()) {
      Err(path + ".timeout", "must be greater than 0");
    } else if (timeout >= interval) {
      Err(path + ".timeout",
          absl::StrCat("timeout ", FormatRunbookDuration(timeout),
                       Written(path + ".timeout") ? "" : " (default)",
                       " must be less than interval ", FormatRunbookDuration(interval)));
    }
    if (FromProto(p.jitter()) >= interval && interval > absl::ZeroDuration()) {
      Err(path + ".jitter",
          absl::StrCat("jitter must be less than interval ", FormatRunbookDuration(interval)));
    }
    if (p.unhealthy_threshold() < 1) {
      Err(path + ".unhealthy_threshold",
          absl::StrCat("must be at least 1, got ", p.unhealthy_threshold()));
    }
    if (p.healthy_threshold() < 1) {
      Err(path + ".healthy_threshold",
          absl::StrCat("must be at least 1, got ", p.healthy_threshold()));
    }
    switch (p.kind_case()) {
      case v1::ProbeSpec::kTcp: {
        const std::string& a = p.tcp().address();
        const size_t colon = a.rfind(':');
        int port = 0;
        if (!a.empty() &&
            (colon == std::string::npos || colon == 0 ||
             !absl::SimpleAtoi(a.substr(colon + 1), &port) || port < 1 || port > 65535)) {
          Err(path + ".tcp.address", absl::StrCat("expected host:port, got \"", a, "\""));
        }
        break;
      }
      case v1::ProbeSpec::kHttp: {
        const v1::HttpProbe& h = p.http();
        if (h.url().empty()) {
          Missing(path + ".http.url");
        } else if (!IsHttpUrl(h.url())) {
          Err(path + ".http.url", absl::StrCat("must be an http(s) URL, got \"", h.url(), "\""));
        }
        for (int i = 0; i < h.expected_statuses_size(); ++i) {
          const v1::StatusRange& r = h.expected_statuses(i);
          if (r.start() < 100 || r.end() > 599 || r.start() > r.end()) {
            Err(absl::StrCat(path, ".http.expected_statuses[", i, "]"),
                absl::StrCat("invalid status range [", r.start(), ", ", r.end(),
                             "] (100 <= start <= end <= 599)"));
          }
        }
        if (!h.json_field().empty() && !Written(path + ".http.json_field_value")) {
          Missing(path + ".http.json_field_value");
        }
        break;
      }
      case v1::ProbeSpec::kDns:
        if (p.dns().name().empty()) Missing(path + ".dns.name");
        break;
      case v1::ProbeSpec::kExec:
        if (p.exec().argv().empty()) Missing(path + ".exec.argv");
        CheckInherit(p.exec().inherit_env(), path + ".exec.inherit_env");
        break;
      default:
        break;
    }
    if (p.metric_kind() == v1::METRIC_KIND_REPLICATION_LAG_SECONDS &&
        !(p.has_http() && !p.http().metric_json_field().empty()) &&
        !(p.has_exec() && p.exec().metric_from_stdout())) {
      Err(path + ".metric_kind",
          "replication_lag_seconds needs http.metric_json_field or exec.metric_from_stdout");
    }
  }

  void CheckPolicy(const v1::Policy& p) {
    const absl::Duration planned = FromProto(p.planned_grace());
    const absl::Duration data_loss = FromProto(p.data_loss_grace());
    if (planned > data_loss) {
      Err(Written("policy.planned_grace") ? "policy.planned_grace" : "policy.data_loss_grace",
          absl::StrCat("planned_grace ", FormatRunbookDuration(planned),
                       " must not exceed data_loss_grace ", FormatRunbookDuration(data_loss)));
    }
    if (p.blast_radius_cap() < 0) {
      Err("policy.blast_radius_cap",
          absl::StrCat("must be 0 (no cap) or more, got ", p.blast_radius_cap()));
    }
    if (FromProto(p.reevaluate_interval()) <= absl::ZeroDuration()) {
      Err("policy.reevaluate_interval", "must be greater than 0");
    }
    if (FromProto(p.approval_ttl()) <= absl::ZeroDuration()) {
      Err("policy.approval_ttl", "must be greater than 0");
    }
    for (int i = 0; i < p.maintenance_windows_size(); ++i) {
      const v1::MaintenanceWindow& w = p.maintenance_windows(i);
      const std::string path = absl::StrCat("policy.maintenance_windows[", i, "]");
      for (int j = 0; j < w.days_size(); ++j) {
        if (!decision::ParseWeekday(w.days(j))) {
          Err(absl::StrCat(path, ".days[", j, "]"),
              absl::StrCat("unknown day \"", w.days(j), "\" (mon, tue, wed, thu, fri, sat, sun)"));
        }
      }
      if (!w.start().empty() && !decision::ParseTimeOfDay(w.start())) {
        Err(path + ".start", absl::StrCat("invalid time of day \"", w.start(), "\" (HH:MM, UTC)"));
      }
      const absl::Duration d = FromProto(w.duration());
      if (w.has_duration() && (d <= absl::ZeroDuration() || d > absl::Hours(24 * 7))) {
        Err(path + ".duration",
            absl::StrCat("duration ", FormatRunbookDuration(d), " out of range (0 < d <= 7d)"));
      }
    }
  }

  template <typename CheckRef>
  void CheckSteps(const google::protobuf::RepeatedPtrField<v1::Step>& steps,
                  const std::string& list, CheckRef& check_ref) {
    absl::flat_hash_map<std::string, int> names;
    for (int i = 0; i < steps.size(); ++i) {
      const v1::Step& s = steps.Get(i);
      const std::string path = absl::StrCat(list, "[", i, "]");
      auto [it, inserted] = names.emplace(s.name(), i);
      if (!inserted) {
        Err(path + ".name", absl::StrCat("duplicate step name \"", s.name(), "\" (first is ", list,
                                         "[", it->second, "])"));
      }
      const absl::Duration timeout = FromProto(s.timeout());
      if (timeout <= absl::ZeroDuration()) Err(path + ".timeout", "must be greater than 0");
      if (s.retries() < 0 || s.retries() > kMaxStepRetries) {
        Err(path + ".retries",
            absl::StrCat("must be between 0 and ", kMaxStepRetries, ", got ", s.retries()));
      }
      switch (s.action_case()) {
        case v1::Step::kNotify:
          if (!s.notify().url().empty() && !IsHttpUrl(s.notify().url())) {
            Err(path + ".notify.url",
                absl::StrCat("must be an http(s) URL, got \"", s.notify().url(), "\""));
          }
          break;
        case v1::Step::kWait: {
          const absl::Duration d = FromProto(s.wait().duration());
          if (s.wait().has_duration() && d <= absl::ZeroDuration()) {
            Err(path + ".wait.duration", "must be greater than 0");
          } else if (d >= timeout && timeout > absl::ZeroDuration()) {
            Err(path + ".timeout",
                absl::StrCat("timeout ", FormatRunbookDuration(timeout),
                             " must exceed the wait of ", FormatRunbookDuration(d)));
          }
          break;
        }
        case v1::Step::kProbeAssert: {
          const v1::ProbeAssertStep& a = s.probe_assert();
          if (!a.probe().empty()) check_ref(a.probe(), path + ".probe_assert.probe");
          if (a.expect() != v1::VERDICT_UNSPECIFIED && a.expect() != v1::VERDICT_HEALTHY &&
              a.expect() != v1::VERDICT_UNHEALTHY) {
            Err(path + ".probe_assert.expect", "must be healthy or unhealthy");
          }
          break;
        }
        default:
          break;
      }
    }
  }

  const std::string& file_;
  const SourceMap& map_;
  std::vector<Diagnostic>* diags_;
};

std::string GroupKey(const v1::FailoverGroupRef& g) {
  return absl::AsciiStrToLower(
      absl::StrCat(g.subscription_id(), "/", g.resource_group(), "/", g.name()));
}

}  // namespace

std::string ArmEndpointForCloud(v1::AzureCloud cloud) {
  switch (cloud) {
    case v1::AZURE_CLOUD_CHINA:
      return "https://management.chinacloudapi.cn";
    case v1::AZURE_CLOUD_US_GOVERNMENT:
      return "https://management.usgovcloudapi.net";
    default:
      return "https://management.azure.com";
  }
}

void ApplyDefaults(v1::Runbook* rb) {
  v1::FailoverGroupRef* g = rb->mutable_group();
  if (g->cloud() == v1::AZURE_CLOUD_UNSPECIFIED) g->set_cloud(v1::AZURE_CLOUD_PUBLIC);
  if (g->arm_endpoint().empty()) g->set_arm_endpoint(ArmEndpointForCloud(g->cloud()));
  if (g->secondary_resource_group().empty()) {
    g->set_secondary_resource_group(g->resource_group());
  }

  for (v1::ProbeSpec& p : *rb->mutable_probes()) {
    if (!p.has_interval()) ToProto(kDefaultProbeInterval, p.mutable_interval());
    if (!p.has_timeout())
      ToProto(std::min(kDefaultProbeTimeout, FromProto(p.interval()) / 2), p.mutable_timeout());
    if (!p.has_jitter()) ToProto(absl::ZeroDuration(), p.mutable_jitter());
    if (!p.has_initial_delay()) ToProto(absl::ZeroDuration(), p.mutable_initial_delay());
    if (p.unhealthy_threshold() == 0) p.set_unhealthy_threshold(kDefaultUnhealthyThreshold);
    if (p.healthy_threshold() == 0) p.set_healthy_threshold(kDefaultHealthyThreshold);
    if (p.has_http()) {
      v1::HttpProbe* h = p.mutable_http();
      if (h->method().empty()) h->set_method("GET");
      if (h->expected_statuses().empty()) {
        v1::StatusRange* r = h->add_expected_statuses();
        r->set_start(200);
        r->set_end(299);
      }
    }
  }

  // A default rule per side: every probe of that target votes, all must fail (QUORUM_MODE_ALL).
  for (v1::ProbeTarget target : {v1::PROBE_TARGET_PRIMARY, v1::PROBE_TARGET_SECONDARY}) {
    bool has_rule = false;
    for (const v1::HealthRule& r : rb->health_rules()) has_rule |= r.target() == target;
    if (has_rule) continue;
    v1::HealthRule rule;
    rule.set_target(target);
    for (const v1::ProbeSpec& p : rb->probes()) {
      if (p.target() == target && !p.name().empty()) rule.add_probes(p.name());
    }
    if (!rule.probes().empty()) *rb->add_health_rules() = std::move(rule);
  }
  for (v1::HealthRule& r : *rb->mutable_health_rules()) {
    if (r.quorum() == v1::QUORUM_MODE_UNSPECIFIED) r.set_quorum(v1::QUORUM_MODE_ALL);
  }

  v1::Policy* p = rb->mutable_policy();
  if (!p->has_confirm_after()) ToProto(decision::kDefaultConfirmAfter, p->mutable_confirm_after());
  if (!p->has_planned_grace()) ToProto(decision::kDefaultPlannedGrace, p->mutable_planned_grace());
  if (!p->has_data_loss_grace())
    ToProto(decision::kDefaultDataLossGrace, p->mutable_data_loss_grace());
  if (!p->has_data_loss_budget())
    ToProto(decision::kDefaultDataLossBudget, p->mutable_data_loss_budget());
  if (p->approval_mode() == v1::APPROVAL_MODE_UNSPECIFIED) {
    p->set_approval_mode(decision::kDefaultApprovalMode);
  }
  if (!p->has_cooldown()) ToProto(decision::kDefaultCooldown, p->mutable_cooldown());
  if (!p->has_reevaluate_interval())
    ToProto(decision::kDefaultReevaluateInterval, p->mutable_reevaluate_interval());
  if (!p->has_approval_ttl()) ToProto(decision::kDefaultApprovalTtl, p->mutable_approval_ttl());

  DefaultSteps(rb->mutable_pre_steps());
  DefaultSteps(rb->mutable_post_steps());

  v1::Drill* d = rb->mutable_drill();
  if (!d->has_hold()) ToProto(kDefaultDrillHold, d->mutable_hold());
  if (!d->has_verify_timeout()) ToProto(kDefaultDrillVerifyTimeout, d->mutable_verify_timeout());
  if (!d->has_fail_back()) d->set_fail_back(true);
  if (d->verify_probes().empty()) {
    for (const v1::ProbeSpec& probe : rb->probes()) {
      if (probe.target() == v1::PROBE_TARGET_PRIMARY ||
          probe.target() == v1::PROBE_TARGET_LISTENER_READ_WRITE) {
        d->add_verify_probes(probe.name());
      }
    }
  }
}

LoadResult LoadRunbookSources(const std::vector<RunbookSource>& sources) {
  LoadResult result;
  // Group key -> (file, location) of its first definition.
  absl::flat_hash_map<std::string, std::pair<std::string, Location>> groups;
  for (const RunbookSource& source : sources) {
    LoadedRunbook loaded;
    loaded.file = source.file;
    std::vector<Diagnostic> diags;
    if (!YamlToMessage(source.file, source.text, &loaded.runbook, &loaded.source_map, &diags)) {
      result.diagnostics.insert(result.diagnostics.end(), diags.begin(), diags.end());
      continue;
    }
    Validator validator(source.file, loaded.source_map, &diags);
    validator.CheckRequired(loaded.runbook);
    ApplyDefaults(&loaded.runbook);
    validator.CheckSemantics(loaded.runbook);
    const v1::FailoverGroupRef& g = loaded.runbook.group();
    if (!g.subscription_id().empty() && !g.resource_group().empty() && !g.name().empty()) {
      const Location here = validator.Loc("group");
      auto [it, inserted] = groups.emplace(GroupKey(g), std::make_pair(source.file, here));
      if (!inserted) {
        validator.Err("group",
                      absl::StrCat("failover group ", g.subscription_id(), "/", g.resource_group(),
                                   "/", g.name(), " is already defined in ", it->second.first, ":",
                                   it->second.second.line, ":", it->second.second.column));
      }
    }
    result.diagnostics.insert(result.diagnostics.end(), diags.begin(), diags.end());
    result.runbooks.push_back(std::move(loaded));
  }
  return result;
}

LoadResult LoadRunbookFiles(const std::vector<std::string>& paths) {
  std::vector<RunbookSource> sources;
  std::vector<Diagnostic> read_errors;
  for (const std::string& path : paths) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      read_errors.push_back({path, 0, 0, "", "cannot read file"});
      continue;
    }
    std::ostringstream text;
    text << in.rdbuf();
    sources.push_back({path, text.str()});
  }
  LoadResult result = LoadRunbookSources(sources);
  result.diagnostics.insert(result.diagnostics.begin(), read_errors.begin(), read_errors.end());
  return result;
}

absl::StatusOr<v1::Runbook> LoadRunbookFile(const std::string& path) {
  LoadResult result = LoadRunbookFiles({path});
  if (!result.ok()) return result.status();
  return std::move(result.runbooks.front().runbook);
}

}  // namespace foghorn::runbooks
