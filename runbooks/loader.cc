#include "runbooks/loader.h"

#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "orchestrator/common/child_env.h"
#include "orchestrator/common/durations.h"
#include "orchestrator/common/files.h"
#include "orchestrator/config/yaml_to_proto.h"
#include "orchestrator/decision/policy.h"
#include "probes/probe_config.h"

namespace foghorn::runbooks {
namespace {

namespace v1 = foghorn::v1;
using common::FormatDurationText;
using common::FromProtoDuration;
using common::ToProtoDuration;
using google::protobuf::Duration;

// Step and drill defaults.
constexpr absl::Duration kDefaultStepTimeout = absl::Minutes(5);
constexpr absl::Duration kDefaultApprovalStepTimeout = absl::Hours(1);
constexpr absl::Duration kWaitStepSlack = absl::Minutes(1);
constexpr absl::Duration kDefaultDrillHold = absl::Minutes(10);
constexpr absl::Duration kDefaultDrillVerifyTimeout = absl::Minutes(5);
constexpr absl::Duration kDefaultDrillVerifyPollInterval = absl::Seconds(2);
constexpr absl::Duration kMaxDrillVerifyPollInterval = absl::Minutes(1);
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
      if (s.has_wait()) t = FromProtoDuration(s.wait().duration()) + kWaitStepSlack;
      ToProtoDuration(t, s.mutable_timeout());
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
  Validator(const std::string& file, const config::SourceMap& map,
            std::vector<config::Diagnostic>* diags)
      : file_(file), map_(map), diags_(diags) {}

  // The location of `path`, or of its nearest written ancestor.
  config::Location Loc(std::string path) const {
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
    const config::Location loc = Loc(path);
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
      // The name and the kind are checked with the rest of the probe (CheckProbe).
      if (p.target() == v1::PROBE_TARGET_UNSPECIFIED) Missing(path + ".target");
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
          const config::Location first = Loc(absl::StrCat("probes[", it->second, "].name"));
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
              absl::StrCat("a second rule for target ",
                           config::ShortEnumName(
                               *v1::ProbeTarget_descriptor()->FindValueByNumber(r.target())),
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
    if (FromProtoDuration(drill.verify_timeout()) <= absl::ZeroDuration()) {
      Err("drill.verify_timeout", "must be greater than 0");
    }
    const absl::Duration poll = FromProtoDuration(drill.verify_poll_interval());
    if (poll <= absl::ZeroDuration()) {
      Err("drill.verify_poll_interval", "must be greater than 0");
    } else if (poll > kMaxDrillVerifyPollInterval) {
      Err("drill.verify_poll_interval",
          absl::StrCat("must be at most ", FormatDurationText(kMaxDrillVerifyPollInterval),
                       ", got ", FormatDurationText(poll)));
    } else if (poll > FromProtoDuration(drill.verify_timeout()) &&
               FromProtoDuration(drill.verify_timeout()) > absl::ZeroDuration()) {
      Err("drill.verify_poll_interval",
          absl::StrCat("must be at most drill.verify_timeout (",
                       FormatDurationText(FromProtoDuration(drill.verify_timeout())), "), got ",
                       FormatDurationText(poll)));
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

  // The rules of one probe are probes::ProbeSpecProblems, the ones the agent applies.
  void CheckProbe(const v1::ProbeSpec& p, const std::string& path) {
    for (const probes::ProbeSpecProblem& problem : probes::ProbeSpecProblems(p)) {
      Err(problem.field.empty() ? path : absl::StrCat(path, ".", problem.field), problem.message);
    }
  }

  void CheckPolicy(const v1::Policy& p) {
    const absl::Duration planned = FromProtoDuration(p.planned_grace());
    const absl::Duration data_loss = FromProtoDuration(p.data_loss_grace());
    if (planned > data_loss) {
      Err(Written("policy.planned_grace") ? "policy.planned_grace" : "policy.data_loss_grace",
          absl::StrCat("planned_grace ", FormatDurationText(planned),
                       " must not exceed data_loss_grace ", FormatDurationText(data_loss)));
    }
    if (p.blast_radius_cap() < 0) {
      Err("policy.blast_radius_cap",
          absl::StrCat("must be 0 (no cap) or more, got ", p.blast_radius_cap()));
    }
    if (FromProtoDuration(p.reevaluate_interval()) <= absl::ZeroDuration()) {
      Err("policy.reevaluate_interval", "must be greater than 0");
    }
    if (FromProtoDuration(p.approval_ttl()) <= absl::ZeroDuration()) {
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
      const absl::Duration d = FromProtoDuration(w.duration());
      if (w.has_duration() && (d <= absl::ZeroDuration() || d > absl::Hours(24 * 7))) {
        Err(path + ".duration",
            absl::StrCat("duration ", FormatDurationText(d), " out of range (0 < d <= 7d)"));
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
      const absl::Duration timeout = FromProtoDuration(s.timeout());
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
          const absl::Duration d = FromProtoDuration(s.wait().duration());
          if (s.wait().has_duration() && d <= absl::ZeroDuration()) {
            Err(path + ".wait.duration", "must be greater than 0");
          } else if (d >= timeout && timeout > absl::ZeroDuration()) {
            Err(path + ".timeout",
                absl::StrCat("timeout ", FormatDurationText(timeout), " must exceed the wait of ",
                             FormatDurationText(d)));
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
  const config::SourceMap& map_;
  std::vector<config::Diagnostic>* diags_;
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
    // The probes' own defaults, written out so the runbook shows what runs.
    const probes::ProbeTiming t = probes::TimingWithDefaults(p);
    if (!p.has_interval()) ToProtoDuration(t.interval, p.mutable_interval());
    if (!p.has_timeout()) ToProtoDuration(t.timeout, p.mutable_timeout());
    if (!p.has_jitter()) ToProtoDuration(t.jitter, p.mutable_jitter());
    if (!p.has_initial_delay()) ToProtoDuration(t.initial_delay, p.mutable_initial_delay());
    p.set_unhealthy_threshold(t.unhealthy_threshold);
    p.set_healthy_threshold(t.healthy_threshold);
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
  if (!p->has_confirm_after())
    ToProtoDuration(decision::kDefaultConfirmAfter, p->mutable_confirm_after());
  if (!p->has_planned_grace())
    ToProtoDuration(decision::kDefaultPlannedGrace, p->mutable_planned_grace());
  if (!p->has_data_loss_grace())
    ToProtoDuration(decision::kDefaultDataLossGrace, p->mutable_data_loss_grace());
  if (!p->has_data_loss_budget())
    ToProtoDuration(decision::kDefaultDataLossBudget, p->mutable_data_loss_budget());
  if (p->approval_mode() == v1::APPROVAL_MODE_UNSPECIFIED) {
    p->set_approval_mode(decision::kDefaultApprovalMode);
  }
  if (!p->has_cooldown()) ToProtoDuration(decision::kDefaultCooldown, p->mutable_cooldown());
  if (!p->has_reevaluate_interval())
    ToProtoDuration(decision::kDefaultReevaluateInterval, p->mutable_reevaluate_interval());
  if (!p->has_approval_ttl())
    ToProtoDuration(decision::kDefaultApprovalTtl, p->mutable_approval_ttl());

  DefaultSteps(rb->mutable_pre_steps());
  DefaultSteps(rb->mutable_post_steps());

  v1::Drill* d = rb->mutable_drill();
  if (!d->has_hold()) ToProtoDuration(kDefaultDrillHold, d->mutable_hold());
  if (!d->has_verify_timeout())
    ToProtoDuration(kDefaultDrillVerifyTimeout, d->mutable_verify_timeout());
  if (!d->has_verify_poll_interval())
    ToProtoDuration(kDefaultDrillVerifyPollInterval, d->mutable_verify_poll_interval());
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
  absl::flat_hash_map<std::string, std::pair<std::string, config::Location>> groups;
  for (const RunbookSource& source : sources) {
    LoadedRunbook loaded;
    loaded.file = source.file;
    std::vector<config::Diagnostic> diags;
    if (!config::YamlToMessage(source.file, source.text, &loaded.runbook, &loaded.source_map,
                               &diags)) {
      result.diagnostics.insert(result.diagnostics.end(), diags.begin(), diags.end());
      continue;
    }
    Validator validator(source.file, loaded.source_map, &diags);
    validator.CheckRequired(loaded.runbook);
    ApplyDefaults(&loaded.runbook);
    validator.CheckSemantics(loaded.runbook);
    const v1::FailoverGroupRef& g = loaded.runbook.group();
    if (!g.subscription_id().empty() && !g.resource_group().empty() && !g.name().empty()) {
      const config::Location here = validator.Loc("group");
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
  std::vector<config::Diagnostic> read_errors;
  for (const std::string& path : paths) {
    absl::StatusOr<std::string> text = common::ReadFile(path);
    if (!text.ok()) {
      read_errors.push_back({path, 0, 0, "", "cannot read file"});
      continue;
    }
    sources.push_back({path, *std::move(text)});
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
