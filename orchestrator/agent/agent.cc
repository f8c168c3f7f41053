#include "orchestrator/agent/agent.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <set>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "orchestrator/agent/agent_steps.h"
#include "orchestrator/agent/control_keys.h"
#include "orchestrator/agent/group_state.h"
#include "orchestrator/agent/manual_request.h"
#include "orchestrator/common/durations.h"
#include "orchestrator/common/status_macros.h"
#include "probes/probe_config.h"

namespace foghorn::agent {

namespace {

bool IsBad(v1::Verdict v) { return v == v1::VERDICT_UNHEALTHY || v == v1::VERDICT_IMPAIRED; }

arm::FailoverKind ToArmKind(v1::FailoverKind kind) {
  switch (kind) {
    case v1::FAILOVER_KIND_FORCED:
      return arm::FailoverKind::kForcedAllowDataLoss;
    case v1::FAILOVER_KIND_TRY_PLANNED_BEFORE_FORCED:
      return arm::FailoverKind::kTryPlannedBeforeForced;
    default:
      return arm::FailoverKind::kPlanned;
  }
}

v1::FailoverKind FromArmKind(arm::FailoverKind kind) {
  switch (kind) {
    case arm::FailoverKind::kForcedAllowDataLoss:
      return v1::FAILOVER_KIND_FORCED;
    case arm::FailoverKind::kTryPlannedBeforeForced:
      return v1::FAILOVER_KIND_TRY_PLANNED_BEFORE_FORCED;
    case arm::FailoverKind::kPlanned:
      return v1::FAILOVER_KIND_PLANNED;
  }
  return v1::FAILOVER_KIND_PLANNED;
}

std::string ReasonCodes(const decision::Decision& d) {
  std::vector<std::string> codes;
  for (const auto& r : d.reasons) codes.emplace_back(decision::ReasonCodeName(r.code));
  return absl::StrJoin(codes, ",");
}

bool SameDecision(const decision::Decision& a, const decision::Decision& b) {
  return a.stage == b.stage && a.action == b.action && a.intended == b.intended &&
         ReasonCodes(a) == ReasonCodes(b);
}

std::string ReasonsJson(const decision::Decision& d) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& r : d.reasons) {
    j.push_back({{"code", std::string(decision::ReasonCodeName(r.code))}, {"text", r.text}});
  }
  return j.dump();
}

// The ARM error code an operation's outcome carries, e.g. PlannedFailoverTimedOut.
std::string ErrorCodeOf(const std::string& outcome) {
  for (const char* code : {"PlannedFailoverTimedOut", "FailoverGroupBusy", "OperationTimedOut",
                           "FailoverGroupFailoverRequestOnPrimary"}) {
    if (outcome.find(code) != std::string::npos) return code;
  }
  return "OperationFailed";
}

constexpr char kAbandonedPrefix[] = "abandoned after a restart: ";

bool IsAutomatic(const journal::OperationRecord& op) {
  return op.request_id.rfind("auto/", 0) == 0;
}

// What the journal says an operation's ARM step did.
struct ArmFacts {
  bool arm_failed = false;  // the ARM step ran and failed
  bool completed = false;   // verify:roles saw the target primary: ARM carried the failover out
};

ArmFacts ArmFactsOf(const std::vector<journal::StepRecord>& steps) {
  ArmFacts f;
  for (const auto& s : steps) {
    if (s.name.rfind("arm:", 0) == 0 && s.state == journal::StepState::kFailed) f.arm_failed = true;
    if (s.name == "verify:roles" && s.state == journal::StepState::kDone) f.completed = true;
  }
  return f;
}

}  // namespace

std::string GroupId(const v1::FailoverGroupRef& ref) {
  return absl::StrCat(ref.subscription_id(), "/", ref.resource_group(), "/", ref.name());
}

AgentEvent::Kind AgentEvent::kind() const {
  struct KindOf {
    Kind operator()(const VerdictChanged&) const { return Kind::kVerdict; }
    Kind operator()(const DecisionMade&) const { return Kind::kDecision; }
    Kind operator()(const OperationStepChanged&) const { return Kind::kOperationStep; }
    Kind operator()(const OperationChanged&) const { return Kind::kOperation; }
    Kind operator()(const ExternalFailoverNoticed&) const { return Kind::kOperation; }
  };
  return std::visit(KindOf{}, detail);
}

Agent::Agent(Deps deps, Options options) : deps_(std::move(deps)), options_(options) {}

void Agent::Emit(AgentEvent e) const {
  if (!deps_.events) return;
  if (e.at == absl::InfinitePast()) e.at = deps_.clock.Now();
  deps_.events(e);
}

Agent::~Agent() {
  Stop();
  // On the loop: once this has run no loop task touches the agent (each checks alive_ first,
  // and they run one at a time). Workers must be joined by the owner before the agent goes
  // (foghornd shuts its pools down first).
  (void)deps_.loop.RunAndWait([this] {
    alive_.reset();
    for (auto& [id, g] : groups_) {
      if (g->eval_timer) deps_.loop.Cancel(g->eval_timer);
      if (g->refresh_timer) deps_.loop.Cancel(g->refresh_timer);
    }
  });
}

absl::Status Agent::OnLoop(absl::AnyInvocable<void() &&> fn) {
  if (!deps_.loop.RunAndWait(std::move(fn))) {
    return absl::UnavailableError("agent stopped: its control loop has shut down");
  }
  return absl::OkStatus();
}

void Agent::Publish(const GroupState& g) {
  auto snapshot = std::make_shared<const GroupSnapshot>(SnapshotOf(g));
  absl::MutexLock lock(&published_mu_);
  published_[g.id] = std::move(snapshot);
  if (g.cancel_gate) {
    published_gates_[g.id] = g.cancel_gate;
  } else {
    published_gates_.erase(g.id);
  }
}

void Agent::PublishGlobal() {
  std::pair<absl::Time, std::string> pause = GlobalPauseOnLoop();
  absl::MutexLock lock(&published_mu_);
  published_global_pause_ = std::move(pause);
}

void Agent::Unpublish(const std::string& group_id) {
  absl::MutexLock lock(&published_mu_);
  published_.erase(group_id);
  published_gates_.erase(group_id);
}

Agent::GroupState* Agent::Find(const std::string& group_id) {
  auto it = groups_.find(group_id);
  return it == groups_.end() ? nullptr : it->second.get();
}

absl::Status Agent::SetRunbooks(const std::vector<v1::Runbook>& runbooks) {
  std::map<std::string, const v1::Runbook*> wanted;
  std::map<std::string, decision::Policy> policies;
  // Validate everything before changing anything, so a bad set leaves the running one intact.
  for (const v1::Runbook& rb : runbooks) {
    std::string id = GroupId(rb.group());
    if (wanted.count(id)) {
      return absl::InvalidArgumentError(absl::StrCat("group ", id, " is defined twice"));
    }
    auto policy = decision::PolicyFromProto(rb.policy());
    if (!policy.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(id, ": ", policy.status().message()));
    }
    std::set<std::string> names;
    for (const auto& spec : rb.probes()) {
      absl::Status s = probes::ValidateProbeSpec(spec);
      if (!s.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(id, ": probe ", spec.name(), ": ", s.message()));
      }
      names.insert(spec.name());
    }
    for (const auto& rule : rb.health_rules()) {
      absl::Status s = probes::ValidateHealthRule(rule);
      for (const auto& p : rule.probes()) {
        if (s.ok() && names.count(p) == 0) {
          s = absl::InvalidArgumentError(absl::StrCat("health rule names unknown probe ", p));
        }
      }
      if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat(id, ": ", s.message()));
    }
    // A step this agent cannot carry out is refused now, not when a failover needs it.
    RETURN_IF_ERROR(
        CheckRunbookSteps(rb, [this](const v1::Step& step) { return deps_.runner.CanRun(step); }));
    wanted[id] = &rb;
    policies[id] = *policy;
  }
  absl::Status result;
  // The probes and rules are registered on the loop too: the scheduler and tracker feed it.
  RETURN_IF_ERROR(OnLoop([&] {
    for (const auto& [id, g] : groups_) {
      if (wanted.count(id) == 0 && !g->in_flight_op.empty()) {
        result = absl::FailedPreconditionError(absl::StrCat(
            "cannot stop watching ", id, " while operation ", g->in_flight_op, " runs"));
        return;
      }
    }
    // Remove groups that are gone, and re-register the probes of groups whose probes or rules
    // changed, so the change takes effect. A group whose probes and rules are unchanged keeps
    // its probes and their verdict history: a reload must not restart a failure streak.
    auto probes_key = [](const v1::Runbook& rb) {
      std::string key = rb.group().SerializeAsString();
      for (const auto& p : rb.probes()) key += p.SerializeAsString();
      for (const auto& r : rb.health_rules()) key += r.SerializeAsString();
      return key;
    };
    std::set<std::string> unchanged;
    for (auto it = groups_.begin(); it != groups_.end();) {
      const std::string& id = it->first;
      auto w = wanted.find(id);
      if (w != wanted.end() && probes_key(*w->second) == probes_key(it->second->runbook)) {
        unchanged.insert(id);
        ++it;
        continue;
      }
      for (const auto& p : it->second->runbook.probes()) {
        (void)deps_.scheduler.RemoveProbe(probes::ProbeScheduler::ProbeId(id, p.name()));
      }
      deps_.tracker.RemoveGroup(id);
      if (wanted.count(id) == 0) {
        if (it->second->eval_timer) deps_.loop.Cancel(it->second->eval_timer);
        if (it->second->refresh_timer) deps_.loop.Cancel(it->second->refresh_timer);
        deps_.logger.Info("stopped watching group", {{"group", id}});
        Unpublish(id);
        it = groups_.erase(it);
      } else {
        ++it;
      }
    }
    for (const auto& [id, rb] : wanted) {
      GroupState* g = Find(id);
      if (g == nullptr) {
        auto fresh = std::make_unique<GroupState>();
        fresh->id = id;
        fresh->roles = {rb->group().primary_server(), rb->group().secondary_server()};
        g = fresh.get();
        groups_[id] = std::move(fresh);
        deps_.logger.Info("watching group", {{"group", id},
                                             {"primary", rb->group().primary_server()},
                                             {"secondary", rb->group().secondary_server()}});
      }
      g->runbook = *rb;
      g->policy = policies[id];
      if (unchanged.count(id) != 0) {
        ScheduleEvaluation(*g, deps_.clock.Now());
        continue;
      }
      for (const auto& rule : rb->health_rules()) {
        absl::Status s = deps_.tracker.AddRule(id, rule);
        if (!s.ok()) {
          result = absl::InvalidArgumentError(absl::StrCat(id, ": ", s.message()));
          return;
        }
      }
      for (const auto& spec : rb->probes()) {
        probes::ProbeContext ctx;
        const bool on_secondary = spec.target() == v1::PROBE_TARGET_SECONDARY;
        const std::string& server =
            on_secondary ? rb->group().secondary_server() : rb->group().primary_server();
        const std::string& rg = on_secondary && !rb->group().secondary_resource_group().empty()
                                    ? rb->group().secondary_resource_group()
                                    : rb->group().resource_group();
        ctx.failover_group = {rb->group().subscription_id(), rg, server, rb->group().name()};
        // A TCP probe without an address checks the server's SQL endpoint.
        ctx.default_address = server + ".database.windows.net:1433";
        absl::Status s = deps_.scheduler.AddProbe(id, spec, ctx);
        if (!s.ok()) {
          result = absl::InvalidArgumentError(absl::StrCat(id, ": ", s.message()));
          return;
        }
      }
      // A reloaded runbook (new policy, probes) is looked at again at once; before Start() the
      // evaluation is a no-op.
      ScheduleEvaluation(*g, deps_.clock.Now());
    }
    deps_.metrics.SetGauge("foghorn_groups", {}, static_cast<double>(groups_.size()));
    for (const auto& [id, g] : groups_) Publish(*g);
    if (deps_.coordination != nullptr) {
      std::vector<std::string> ids;
      for (const auto& [id, g] : groups_) ids.push_back(id);
      deps_.coordination->SetGroups(ids);
    }
  }));
  return result;
}

absl::Status Agent::Start() {
  std::weak_ptr<bool> alive_for_steps = alive_;
  deps_.runner.SetStepObserver(
      [this, alive_for_steps](const journal::OperationRecord& op, const journal::StepRecord& step) {
        if (alive_for_steps.expired()) return;
        Emit({op.group_id, step.operation_id, absl::InfinitePast(),
              absl::StrCat(step.name, " ", journal::StepStateName(step.state),
                           step.detail.empty() ? "" : ": ", step.detail),
              OperationStepChanged{step, op.kind, op.request_id}});
      });
  ASSIGN_OR_RETURN(std::vector<journal::OperationRecord> unfinished,
                   deps_.journal.UnfinishedOperations());
  // What people said (pauses, approvals) and what the agent must not forget (outage start, lag,
  // cooldown anchor, failed planned attempts) comes back before anything is evaluated; a
  // journal that cannot be read refuses the start rather than forgetting a pause.
  ASSIGN_OR_RETURN(auto control_state, deps_.journal.ControlState());
  // A drill is the drill launcher's to resume (DrillLauncher::ResumeUnfinished, after Start):
  // the agent leaves it untouched, and its group keeps the drill's pause meanwhile.
  std::set<std::string> drill_groups;
  for (auto it = unfinished.begin(); it != unfinished.end();) {
    if (it->kind == "drill") {
      drill_groups.insert(it->group_id);
      it = unfinished.erase(it);
    } else {
      ++it;
    }
  }
  std::map<std::string, bool> arm_begun;
  for (const journal::OperationRecord& op : unfinished) {
    ASSIGN_OR_RETURN(std::vector<journal::StepRecord> steps, deps_.journal.Steps(op.id));
    bool begun = !op.arm_operation_url.empty();
    for (const auto& step : steps) begun |= step.name.rfind("arm:", 0) == 0;
    arm_begun[op.id] = begun;
  }
  // Operations whose ARM step began come first: one that may be in ARM's hands is never shadowed
  // by an older one that never reached ARM.
  std::stable_sort(unfinished.begin(), unfinished.end(),
                   [&](const journal::OperationRecord& a, const journal::OperationRecord& b) {
                     return arm_begun[a.id] && !arm_begun[b.id];
                   });
  // Cancels acknowledged before the restart end their operations now (the gate guaranteed that
  // none of them reached its ARM step); their markers are then removed.
  std::map<std::string, std::string> done_markers;
  for (const auto& [key, value] : control_state) {
    if (key.rfind(kCancelKeyPrefix, 0) != 0) continue;
    const std::string op_id = key.substr(sizeof(kCancelKeyPrefix) - 1);
    done_markers[key] = "";
    auto it = std::find_if(unfinished.begin(), unfinished.end(),
                           [&](const journal::OperationRecord& o) { return o.id == op_id; });
    if (it == unfinished.end()) continue;
    if (arm_begun[op_id]) {
      deps_.logger.Error("a cancelled operation shows an ARM step; resuming it",
                         {{"operation", op_id}});
      continue;
    }
    nlohmann::json j = nlohmann::json::parse(value, nullptr, false);
    const std::string who = j.is_object() && j.contains("who") && j["who"].is_string()
                                ? j["who"].get<std::string>()
                                : std::string("a person");
    RETURN_IF_ERROR(deps_.journal.UpdateOperation(
        op_id, journal::OperationState::kCancelled,
        absl::StrCat("cancelled by ", who, " before the ARM failover")));
    unfinished.erase(it);
  }
  if (!done_markers.empty()) RETURN_IF_ERROR(deps_.journal.PutControlState(done_markers));
  // Cooldown anchors, read here (the journal is never read on the loop).
  std::vector<std::string> group_ids;
  {
    absl::MutexLock lock(&published_mu_);
    for (const auto& [id, snapshot] : published_) group_ids.push_back(id);
  }
  std::map<std::string, absl::Time> last_failover;
  for (const std::string& id : group_ids) {
    auto last = deps_.journal.LastSucceededFailover(id);
    if (last.ok() && last->has_value()) last_failover[id] = deps_.clock.FromWall(**last);
  }
  // Operations the loop decides to end, journaled after it (on this thread).
  struct Ending {
    std::string id;
    std::string outcome;
  };
  std::vector<Ending> endings;
  RETURN_IF_ERROR(OnLoop([&] {
    for (auto& [id, g] : groups_) {
      if (auto it = last_failover.find(id); it != last_failover.end()) {
        g->last_failover_at = std::max(g->last_failover_at, it->second);
      }
    }
    RestoreControlState(control_state, drill_groups);
    for (const journal::OperationRecord& op : unfinished) {
      if (executor::ParseOperationKind(op.kind).ok() == false) {
        // Anything that is neither a failover nor a drill, interrupted by a restart, is not
        // resumed: resuming it as a failover could move the primary.
        endings.push_back({op.id, absl::StrCat("agent restarted during the ", op.kind)});
        deps_.logger.Warn("aborted an interrupted non-failover operation",
                          {{"operation", op.id}, {"group", op.group_id}, {"kind", op.kind}});
        continue;
      }
      GroupState* g = Find(op.group_id);
      if (g == nullptr) {
        deps_.logger.Warn("unfinished operation for a group no runbook names; leaving it",
                          {{"operation", op.id}, {"group", op.group_id}});
        continue;
      }
      if (!g->in_flight_op.empty()) {
        // One operation per group: a second unfinished one never reached ARM (begun ones sort
        // first), so it is not carried out.
        if (!arm_begun[op.id]) {
          endings.push_back({op.id, absl::StrCat(kAbandonedPrefix, "operation ", g->in_flight_op,
                                                 " of the same group is resumed instead")});
        }
        continue;
      }
      if (arm_begun[op.id]) {
        // The failover may be in ARM's hands: continue through the idempotent client (poll the
        // journaled URL, read the group), never a fresh POST decision.
        deps_.logger.Info("resuming operation", {{"operation", op.id},
                                                 {"group", op.group_id},
                                                 {"kind", op.kind},
                                                 {"target", op.target_server}});
        // The ARM step began before the restart: the gate is closed before anyone can cancel.
        g->cancel_gate = std::make_shared<executor::CancelGate>();
        g->cancel_gate->BeginArmStep();
        LaunchOperation(*g, op, /*journaled=*/true);
        continue;
      }
      // Nothing was sent yet: the operation is carried out only if a fresh decision still wants
      // it (DecideResume); until then the group is busy with it.
      auto kind = executor::ParseOperationKind(op.kind);
      g->resume_candidate = op;
      g->resume_deadline = deps_.clock.Now() + options_.resume_verdict_wait;
      g->in_flight = decision::OperationInFlight{
          kind.ok() ? FromArmKind(*kind) : v1::FAILOVER_KIND_PLANNED, deps_.clock.Now()};
      g->in_flight_op = op.id;
      g->cancel_gate = std::make_shared<executor::CancelGate>();
      deps_.logger.Info("operation interrupted before its ARM step waits for a fresh decision",
                        {{"operation", op.id},
                         {"group", op.group_id},
                         {"kind", op.kind},
                         {"target", op.target_server}});
    }
    started_ = true;
    ApplySharedControls();
    for (auto& [id, g] : groups_) {
      ScheduleRoleRefresh(*g, absl::ZeroDuration());
      ScheduleEvaluation(*g, deps_.clock.Now());
      Publish(*g);
    }
    PublishGlobal();
  }));
  for (const Ending& e : endings) {
    deps_.journal.UpdateOperation(e.id, journal::OperationState::kAborted, e.outcome).IgnoreError();
  }
  return absl::OkStatus();
}

void Agent::Stop() {
  if (!OnLoop([this] { stopped_ = true; }).ok()) stopped_ = true;  // no loop: nothing races
  // An approval step or probe assertion still waiting ends now (its operation stays unfinished
  // and is resumed at the next start), so shutdown never waits for a person.
  step_gates_.Shutdown();
  absl::Status s = FlushControlState();
  if (!s.ok()) deps_.logger.Error("cannot journal control state", {{"error", s.ToString()}});
}

void Agent::OnVerdictChange(const probes::VerdictEvent& event) {
  deps_.metrics.IncrementCounter("foghorn_verdict_changes_total",
                                 {{"group", event.group},
                                  {"target", v1::ProbeTarget_Name(event.target)},
                                  {"verdict", v1::Verdict_Name(event.verdict)}});
  Emit({event.group, "", event.at,
        absl::StrCat(v1::ProbeTarget_Name(event.target), " ", v1::Verdict_Name(event.previous),
                     " -> ", v1::Verdict_Name(event.verdict), ": ", event.reason),
        VerdictChanged{event.target, event.verdict, event.previous, event.reason}});
  if (deps_.coordination != nullptr) {
    std::optional<probes::TargetHealth> th = deps_.tracker.Get(event.group, event.target);
    deps_.coordination->PublishVerdict(
        event.group, event.target, event.verdict,
        th && IsBad(th->verdict) ? th->failure_streak_start : absl::InfinitePast());
  }
  std::weak_ptr<bool> alive = alive_;
  std::string group = event.group;
  const bool bad = IsBad(event.verdict);
  const absl::Time at = event.at;
  const v1::ProbeTarget target = event.target;
  // The tracker calls from the prober's thread: hand over to the control loop.
  deps_.loop.Post([this, alive, group, bad, at, target] {
    if (alive.expired()) return;
    GroupState* g = Find(group);
    if (g == nullptr) return;
    const std::string& server = target == v1::PROBE_TARGET_SECONDARY
                                    ? g->runbook.group().secondary_server()
                                    : g->runbook.group().primary_server();
    if (bad && server == g->roles.primary_server) g->primary_down_observed_at = at;
    Evaluate(*g);
  });
}

void Agent::OnCoordinationChange(const std::string& group_id) {
  std::weak_ptr<bool> alive = alive_;
  deps_.loop.Post([this, alive, group_id] {
    if (alive.expired()) return;
    if (!group_id.empty()) {
      EvaluateById(group_id);
      return;
    }
    // Control state, sessions and agents come with "": what other agents said applies first.
    ApplySharedControls();
    for (auto& [id, g] : groups_) Evaluate(*g);
  });
}

void Agent::EvaluateById(const std::string& group_id) {
  GroupState* g = Find(group_id);
  if (g != nullptr) Evaluate(*g);
}

decision::GroupView Agent::BuildView(const GroupState& g) const {
  decision::GroupView v;
  const v1::FailoverGroupRef& ref = g.runbook.group();
  // Probe targets PRIMARY/SECONDARY name the runbook's steady-state servers; after a failover
  // their health feeds the other side of the view.
  auto health_of = [&](const std::string& server) {
    decision::TargetHealth h;
    v1::ProbeTarget t =
        server == ref.secondary_server() ? v1::PROBE_TARGET_SECONDARY : v1::PROBE_TARGET_PRIMARY;
    std::optional<probes::TargetHealth> th = deps_.tracker.Get(g.id, t);
    if (th) {
      h.verdict = th->verdict;
      if (IsBad(th->verdict)) h.unhealthy_since = th->failure_streak_start;
    }
    return h;
  };
  v.primary = health_of(g.roles.primary_server);
  v.secondary = health_of(g.roles.secondary_server);
  // The outage began when this agent first saw it, even if a reload or a restart since then
  // restarted the tracker's failure streak.
  if (v.primary.verdict == v1::VERDICT_UNHEALTHY && g.outage_began != absl::InfinitePast() &&
      g.outage_began < v.primary.unhealthy_since) {
    v.primary.unhealthy_since = g.outage_began;
  }
  if (deps_.coordination != nullptr) {
    // Coordinated: the live vantages' quorum decides whether the primary is down, and the
    // outage began when the quorum began to see it (docs/coordination.md).
    const v1::ProbeTarget primary_target = g.roles.primary_server == ref.secondary_server()
                                               ? v1::PROBE_TARGET_SECONDARY
                                               : v1::PROBE_TARGET_PRIMARY;
    CoordinationFacts facts = deps_.coordination->Facts(g.id, primary_target);
    if (facts.view.primary_quorum == decision::CoordinationView::Quorum::kConfirmedDown) {
      v.primary.verdict = v1::VERDICT_UNHEALTHY;
      if (facts.quorum_down_since != absl::InfinitePast()) {
        v.primary.unhealthy_since = facts.quorum_down_since;
      } else if (v.primary.unhealthy_since == absl::InfinitePast()) {
        v.primary.unhealthy_since = deps_.clock.Now();
      }
    }
    v.coordination = std::move(facts.view);
  }
  v.vantage_impaired = deps_.tracker.impaired();
  v.last_lag = g.last_lag;
  if (auto lag = deps_.tracker.ReplicationLag(g.id)) {
    if (!v.last_lag || lag->sampled_at > v.last_lag->sampled_at) {
      v.last_lag = decision::LagSample{absl::Seconds(lag->seconds), lag->sampled_at};
    }
  }
  v.roles = g.roles;
  v.in_flight = g.in_flight;
  v.last_failover_at = g.last_failover_at;
  v.paused_until = EffectivePause(g).first;
  if (!g.cancel_hold.empty()) v.operator_hold = g.cancel_hold;
  v.last_planned_attempt = g.last_planned_attempt;
  v.approval = g.approval;
  v.groups_failing = GroupsFailing();
  return v;
}

int Agent::GroupsFailing() const {
  int n = 0;
  for (const auto& [id, g] : groups_) {
    if (g->in_flight) {
      ++n;
      continue;
    }
    if (!g->last_decision) continue;
    switch (g->last_decision->stage) {
      case decision::Stage::kConfirmedDown:
      case decision::Stage::kPlanned:
      case decision::Stage::kForced:
      case decision::Stage::kTryPlannedBeforeForced:
      case decision::Stage::kWaitApproval:
        ++n;
        break;
      default:
        break;
    }
  }
  return n;
}

void Agent::Evaluate(GroupState& g) {
  EvaluateAndAct(g);
  Publish(g);
}

void Agent::EvaluateAndAct(GroupState& g) {
  if (!started_) return;
  const absl::Time now = deps_.clock.Now();
  Observe(g, now);
  if (g.resume_candidate) {
    DecideResume(g, now);
    if (g.resume_candidate) return;  // still waiting for fresh verdicts
  }
  if (deps_.coordination != nullptr && !g.in_flight && !stopped_) {
    const v1::ProbeTarget primary_target =
        g.roles.primary_server == g.runbook.group().secondary_server() ? v1::PROBE_TARGET_SECONDARY
                                                                       : v1::PROBE_TARGET_PRIMARY;
    CoordinationFacts facts = deps_.coordination->Facts(g.id, primary_target);
    if (facts.intent && TakeOverIntent(g, *facts.intent)) return;
  }
  decision::GroupView view = BuildView(g);
  // This group counts itself once it is failing; GroupsFailing() counted its previous decision.
  decision::Decision d = decision::Decide(view, g.policy, now);
  deps_.metrics.IncrementCounter("foghorn_evaluations_total", {{"group", g.id}});
  if (!g.last_decision || !SameDecision(*g.last_decision, d)) {
    deps_.metrics.IncrementCounter(
        "foghorn_decisions_total",
        {{"group", g.id}, {"stage", std::string(decision::StageName(d.stage))}});
    journal::DecisionRecord rec;
    rec.group_id = g.id;
    rec.at = deps_.clock.ToWall(now);  // wall time for people; the rules ran on `now`
    rec.state = std::string(decision::StageName(d.stage));
    rec.action =
        d.action == v1::FAILOVER_KIND_UNSPECIFIED ? "none" : v1::FailoverKind_Name(d.action);
    rec.reasons_json = ReasonsJson(d);
    rec.summary = d.summary;
    absl::Status s = deps_.journal.RecordDecision(rec);
    if (!s.ok()) deps_.logger.Error("cannot journal decision", {{"error", s.ToString()}});
    Emit({g.id, "", now, d.summary, DecisionMade{d}});
    deps_.logger.Info(
        "decision",
        {{"group", g.id}, {"stage", rec.state}, {"action", rec.action}, {"summary", d.summary}});
    if (d.stage == decision::Stage::kWaitApproval) {
      executor::Notification n;
      n.event = "decision_needs_human";
      n.group_id = g.id;
      n.summary = d.summary;
      n.details_json = rec.reasons_json;
      n.dedup_key = absl::StrCat(g.id, "/wait_approval/",
                                 d.outage_began ? absl::ToUnixSeconds(*d.outage_began) : 0);
      deps_.notifier.Notify(std::move(n));
    }
  }
  g.last_decision = d;
  if (d.action != v1::FAILOVER_KIND_UNSPECIFIED && !g.in_flight && !stopped_) {
    journal::OperationRecord op;
    op.group_id = g.id;
    op.kind = executor::OperationKindName(ToArmKind(d.action));
    op.target_server = g.roles.secondary_server;
    op.requested_by = "agent";
    op.reason = d.summary;
    // The same outage and kind map to the same operation, across re-evaluations and restarts.
    // The outage's journaled identity when the agent holds one (so a restart maps to the same
    // request id); otherwise its start as the engine saw it.
    const std::int64_t outage_us =
        g.outage_id_us != 0 && d.outage_began && *d.outage_began == g.outage_began
            ? g.outage_id_us
            : (d.outage_began ? absl::ToUnixMicros(deps_.clock.ToWall(*d.outage_began)) : 0);
    op.request_id = absl::StrCat("auto/", g.id, "/", outage_us, "/", op.kind);
    // The worker that journals it settles the final id (an operation of this outage abandoned at
    // a restart, or cancelled, does not stand for this fresh decision: "/after-<id>"); the loop
    // knows what the last one of this outage settled on.
    std::string settled = op.request_id;
    if (auto it = g.auto_request_ids.find(op.request_id); it != g.auto_request_ids.end()) {
      settled = it->second;
    }
    if (g.finished_auto_requests.count(settled) != 0) {
      // This outage's automatic failover of this kind already ran and did not succeed: it is
      // not retried automatically (that would be a second attempt nobody decided on); a human
      // looks, and may request a failover through the control API.
      if (g.escalated.insert(settled).second) {
        executor::Notification n;
        n.event = "decision_needs_human";
        n.group_id = g.id;
        n.summary = absl::StrCat("automatic ", op.kind, " failover of ", g.id,
                                 " did not succeed; not retried automatically: ", d.summary);
        n.dedup_key = settled + "/escalated";
        deps_.notifier.Notify(std::move(n));
        deps_.logger.Warn("automatic failover not retried",
                          {{"group", g.id}, {"request_id", settled}});
      }
      ScheduleEvaluation(g, d.next_evaluation);
      return;
    }
    if (g.primary_down_observed_at != absl::InfinitePast()) {
      deps_.metrics.Observe("foghorn_detection_to_action_seconds", {},
                            absl::ToDoubleSeconds(now - g.primary_down_observed_at));
    }
    LaunchOperation(g, std::move(op), /*journaled=*/false);
  }
  ScheduleEvaluation(g, d.next_evaluation);
}

void Agent::ScheduleEvaluation(GroupState& g, absl::Time when) {
  if (when == absl::InfiniteFuture()) return;
  if (g.eval_timer != 0 && g.eval_at <= when) return;  // an earlier evaluation is due anyway
  if (g.eval_timer != 0) deps_.loop.Cancel(g.eval_timer);
  std::weak_ptr<bool> alive = alive_;
  std::string id = g.id;
  g.eval_at = when;
  g.eval_timer = deps_.loop.ScheduleAt(when, [this, alive, id] {
    if (alive.expired()) return;
    GroupState* g = Find(id);
    if (g == nullptr) return;
    g->eval_timer = 0;
    g->eval_at = absl::InfiniteFuture();
    Evaluate(*g);
  });
}

executor::FailoverPlan Agent::PlanFor(const GroupState& g,
                                      const journal::OperationRecord& op) const {
  const v1::FailoverGroupRef& ref = g.runbook.group();
  executor::FailoverPlan plan;
  plan.group_id = g.id;
  const bool to_secondary_side = op.target_server == ref.secondary_server();
  plan.target = {ref.subscription_id(),
                 to_secondary_side && !ref.secondary_resource_group().empty()
                     ? ref.secondary_resource_group()
                     : ref.resource_group(),
                 op.target_server, ref.name()};
  plan.kind = executor::ParseOperationKind(op.kind).value_or(arm::FailoverKind::kPlanned);
  plan.pre_steps.assign(g.runbook.pre_steps().begin(), g.runbook.pre_steps().end());
  plan.post_steps.assign(g.runbook.post_steps().begin(), g.runbook.post_steps().end());
  bool has_listener_rule = false;
  for (const auto& rule : g.runbook.health_rules()) {
    has_listener_rule |= rule.target() == v1::PROBE_TARGET_LISTENER_READ_WRITE;
  }
  if (has_listener_rule) {
    const absl::Duration timeout =
        g.runbook.drill().has_verify_timeout()
            ? common::FromProtoDuration(g.runbook.drill().verify_timeout())
            : options_.listener_verify_timeout;
    std::string group_id = g.id;
    std::weak_ptr<bool> alive = alive_;
    plan.verify_listeners = [this, alive, group_id, timeout]() -> absl::Status {
      const absl::Time deadline = deps_.clock.Now() + timeout;
      for (;;) {
        if (alive.expired()) return absl::CancelledError("agent stopped");
        std::optional<probes::TargetHealth> h =
            deps_.tracker.Get(group_id, v1::PROBE_TARGET_LISTENER_READ_WRITE);
        if (h && h->verdict == v1::VERDICT_HEALTHY) return absl::OkStatus();
        if (deps_.sleeper == nullptr || deps_.clock.Now() >= deadline) {
          return absl::DeadlineExceededError(
              absl::StrCat("read-write listener of ", group_id, " not healthy after the failover (",
                           h ? v1::Verdict_Name(h->verdict) : std::string("no verdict"), ")"));
        }
        deps_.sleeper->SleepFor(options_.listener_verify_interval);
      }
    };
  }
  return plan;
}

void Agent::LaunchOperation(GroupState& g, journal::OperationRecord op, bool journaled,
                            bool takeover) {
  auto kind = executor::ParseOperationKind(op.kind);
  g.in_flight = decision::OperationInFlight{
      kind.ok() ? FromArmKind(*kind) : v1::FAILOVER_KIND_PLANNED, deps_.clock.Now()};
  g.in_flight_op = journaled ? op.id : "(starting)";
  executor::FailoverPlan plan = PlanFor(g, op);
  if (takeover) plan.pre_steps.clear();  // they ran on the agent that wrote the intent
  if (!g.cancel_gate) g.cancel_gate = std::make_shared<executor::CancelGate>();
  plan.cancel_gate = g.cancel_gate;
  if (deps_.coordination != nullptr) {
    deps_.coordination->SetBusy(g.id, true);
    Coordination* coordination = deps_.coordination;
    plan.fence = [coordination](const journal::OperationRecord& record) {
      return coordination->FenceBeforeArm(record);
    };
  }
  std::weak_ptr<bool> alive = alive_;
  std::string group_id = g.id;
  const bool automatic_new = !journaled && !takeover && IsAutomatic(op);
  // The gate is visible to the runbook steps before the worker can reach one.
  Publish(g);
  bool submitted = deps_.workers.Submit([this, alive, group_id, op = std::move(op), journaled,
                                         automatic_new, plan = std::move(plan)]() mutable {
    if (alive.expired()) return;
    absl::StatusOr<journal::OperationRecord> result = op;
    bool created_here = false;
    if (automatic_new) {
      // An operation of this outage abandoned at a restart (never sent), or cancelled, does
      // not stand for this fresh decision: the new one gets its own request id.
      const std::string base = op.request_id;
      for (int i = 0; i < 8; ++i) {
        auto prior = deps_.journal.FindByRequestId(op.request_id);
        if (!prior.ok() || !prior->has_value() ||
            ((*prior)->outcome.rfind(kAbandonedPrefix, 0) != 0 &&
             (*prior)->state != journal::OperationState::kCancelled)) {
          break;
        }
        op.request_id = absl::StrCat(op.request_id, "/after-", (*prior)->id);
      }
      if (op.request_id != base) {
        (void)deps_.loop.RunAndWait([this, alive, group_id, base, settled = op.request_id] {
          if (alive.expired()) return;
          if (GroupState* g = Find(group_id)) g->auto_request_ids[base] = settled;
        });
      }
    }
    if (!journaled) {
      // Journaled as running at once: one durable write before the ARM step, not two.
      op.state = journal::OperationState::kRunning;
      absl::StatusOr<journal::Journal::Created> created = deps_.journal.CreateOperation(op);
      if (!created.ok()) {
        result = created.status();
      } else {
        op = created->operation;
        result = op;
        created_here = created->created;
        // Known on the loop before any step runs, so a cancel or an approval that names the
        // operation finds it.
        (void)deps_.loop.RunAndWait([this, alive, group_id, id = op.id] {
          if (alive.expired()) return;
          GroupState* g = Find(group_id);
          if (g == nullptr || g->in_flight_op != "(starting)") return;
          g->in_flight_op = id;
          Publish(*g);
        });
      }
    }
    if (result.ok()) result = deps_.runner.Run(op, plan);
    if (deps_.coordination != nullptr && result.ok() && journal::IsFinished(result->state) &&
        plan.cancel_gate != nullptr && plan.cancel_gate->arm_begun()) {
      // The intent written by the fence says the operation ended, so a later leader does not
      // carry it on. Fenced: refused when another agent leads the group now (it takes over).
      absl::Status s = deps_.coordination->FinishIntent(*result);
      if (!s.ok()) {
        deps_.logger.Warn("cannot mark the operation's intent finished",
                          {{"operation", result->id}, {"error", s.ToString()}});
      }
    }
    if (!journaled && !op.id.empty()) {
      // Audited after the run: the audit trail says who asked; it guards no side effect.
      deps_.journal
          .Audit({0, absl::InfinitePast(), op.requested_by, "StartFailover", op.group_id,
                  absl::StrCat(op.kind, " to ", op.target_server, ": ", op.reason),
                  !result.ok()   ? result.status().ToString()
                  : created_here ? journal::OperationStateName(result->state)
                                 : "existing operation " + op.id})
          .IgnoreError();
    }
    // What ARM did decides what the ladder learns: only a failover ARM ran and failed is a
    // failed attempt; one ARM carried out starts the cooldown even if a later step failed.
    bool arm_failed = false;
    bool completed = false;
    if (result.ok()) {
      auto steps = deps_.journal.Steps(result->id);
      if (steps.ok()) {
        ArmFacts facts = ArmFactsOf(*steps);
        arm_failed = facts.arm_failed;
        completed = facts.completed;
      }
    }
    OnOperationDone(group_id, std::move(result), arm_failed, completed);
  });
  if (!submitted) {
    g.in_flight.reset();
    g.in_flight_op.clear();
  }
  Publish(g);
}

void Agent::OnOperationDone(const std::string& group_id,
                            absl::StatusOr<journal::OperationRecord> op, bool arm_failed,
                            bool completed) {
  // The group's state takes the outcome in first (the worker waits for the loop; the loop never
  // waits for a worker), then the event goes out: a client that sees the operation end and reads
  // the group sees the new roles.
  std::optional<AgentEvent> ended;
  if (op.ok()) {
    ended = AgentEvent{group_id, op->id, deps_.clock.Now(),
                       absl::StrCat(op->kind, " failover ", journal::OperationStateName(op->state),
                                    ": ", op->outcome),
                       OperationChanged{*op}};
  }
  std::weak_ptr<bool> alive = alive_;
  (void)deps_.loop.RunAndWait(
      [this, alive, group_id, op = std::move(op), arm_failed, completed]() mutable {
        if (alive.expired()) return;
        OnOperationDoneOnLoop(group_id, std::move(op), arm_failed, completed);
      });
  if (ended && !alive.expired()) Emit(*std::move(ended));
}

void Agent::OnOperationDoneOnLoop(const std::string& group_id,
                                  absl::StatusOr<journal::OperationRecord> op, bool arm_failed,
                                  bool completed) {
  GroupState* g = Find(group_id);
  if (g == nullptr) return;
  const v1::FailoverKind kind = g->in_flight ? g->in_flight->kind : v1::FAILOVER_KIND_PLANNED;
  if (deps_.coordination != nullptr) deps_.coordination->SetBusy(group_id, false);
  g->in_flight.reset();
  g->in_flight_op.clear();
  g->cancel_gate.reset();
  const absl::Time now = deps_.clock.Now();
  if (!op.ok()) {
    deps_.logger.Error("operation could not run",
                       {{"group", group_id}, {"error", op.status().ToString()}});
  } else {
    if (op->state == journal::OperationState::kSucceeded || completed) {
      // ARM carried the failover out (even when a listener check or a post step failed
      // afterwards): the cooldown starts and this outage is over.
      g->last_failover_at = now;
      if (op->target_server == g->roles.secondary_server) {
        std::swap(g->roles.primary_server, g->roles.secondary_server);
        ++g->roles_generation;
      }
      g->approval.reset();
      MarkShared(kApprovalKeyPrefix + group_id);
      g->primary_down_observed_at = absl::InfinitePast();
      g->outage_began = absl::InfinitePast();
      g->outage_id_us = 0;
      g->cancel_hold.clear();
      MarkDirty(GroupKey(group_id));
    }
    if (op->state != journal::OperationState::kSucceeded) {
      // Not retried automatically within the same outage (see Evaluate).
      // A cancelled one is the person's to decide: after their resume the engine may decide it
      // afresh (new request id, see Evaluate); the cancel hold stops it until then.
      if (IsAutomatic(*op) && op->state != journal::OperationState::kCancelled) {
        g->finished_auto_requests.insert(op->request_id);
      }
      // Only a planned failover ARM ran and failed moves the ladder on; a cancel, a veto or an
      // abort before the ARM step is not a failed attempt.
      if (kind == v1::FAILOVER_KIND_PLANNED && arm_failed) {
        g->last_planned_attempt = decision::PlannedAttempt{now, decision::AttemptOutcome::kFailed,
                                                           ErrorCodeOf(op->outcome)};
        MarkDirty(GroupKey(group_id));
      }
    }
  }
  ScheduleRoleRefresh(*g, absl::ZeroDuration());
  ScheduleEvaluation(*g, now);
  Publish(*g);
}

void Agent::ScheduleRoleRefresh(GroupState& g, absl::Duration after) {
  if (g.refresh_timer != 0) deps_.loop.Cancel(g.refresh_timer);
  std::weak_ptr<bool> alive = alive_;
  std::string id = g.id;
  g.refresh_timer = deps_.loop.ScheduleAfter(after, [this, alive, id] {
    if (alive.expired()) return;
    RefreshRoles(id);
  });
}

void Agent::RefreshRoles(const std::string& group_id) {
  GroupState* g = Find(group_id);
  if (g == nullptr) return;
  g->refresh_timer = 0;
  if (g->refresh_running || stopped_) return;
  g->refresh_running = true;
  const std::uint64_t generation = g->roles_generation;
  const v1::FailoverGroupRef& ref = g->runbook.group();
  std::vector<arm::FailoverGroupId> ids;
  // Ask the current secondary first: in a regional outage it is the side still answering.
  for (const std::string& server : {g->roles.secondary_server, g->roles.primary_server}) {
    const bool secondary_side = server == ref.secondary_server();
    ids.push_back({ref.subscription_id(),
                   secondary_side && !ref.secondary_resource_group().empty()
                       ? ref.secondary_resource_group()
                       : ref.resource_group(),
                   server, ref.name()});
  }
  const std::string known_primary = g->roles.primary_server;
  const absl::Duration cooldown = g->policy.cooldown;
  std::weak_ptr<bool> alive = alive_;
  common::WorkerPool& pool = deps_.read_workers != nullptr ? *deps_.read_workers : deps_.workers;
  bool submitted = pool.Submit([this, alive, group_id, ids, generation, known_primary, cooldown] {
    if (alive.expired()) return;
    RoleRead read;
    read.generation = generation;
    for (const arm::FailoverGroupId& id : ids) {
      absl::StatusOr<arm::FailoverGroup> fg = deps_.arm.Get(id);
      if (!fg.ok()) {
        read.last_error = fg.status();
        continue;
      }
      std::string partner;
      if (!fg->partner_servers.empty()) {
        const std::string& pid = fg->partner_servers.front().id;
        partner = pid.substr(pid.find_last_of('/') + 1);
      }
      if (fg->replication_role == arm::ReplicationRole::kPrimary) {
        read.roles = decision::Roles{id.server, partner};
      } else if (fg->replication_role == arm::ReplicationRole::kSecondary) {
        read.roles = decision::Roles{partner, id.server};
      }
      if (read.roles) break;
    }
    if (read.roles && read.roles->primary_server != known_primary) {
      // The primary moved. A recent operation of ours may explain it: a drill (running, or
      // finished a moment ago), or a failover whose ARM step ran and whose outcome the loop has
      // not applied (it completed just before a restart, or its verification could not read
      // the group). Read here, off the loop.
      auto recent = deps_.journal.ListOperations(group_id, 5);
      if (recent.ok()) {
        for (const journal::OperationRecord& op : *recent) {
          const absl::Duration age = deps_.clock.WallNow() - op.updated_at;
          if (op.kind == "drill" && (!journal::IsFinished(op.state) || age <= absl::Minutes(10))) {
            read.drill_recent = true;
            break;
          }
          if (!executor::ParseOperationKind(op.kind).ok() ||
              op.target_server != read.roles->primary_server || age > cooldown) {
            continue;
          }
          auto steps = deps_.journal.Steps(op.id);
          bool arm_ran = false;
          if (steps.ok()) {
            for (const auto& st : *steps) arm_ran |= st.name.rfind("arm:", 0) == 0;
          }
          if (!arm_ran) continue;
          read.explained_at = deps_.clock.FromWall(op.updated_at);
          break;
        }
      }
    }
    deps_.loop.Post([this, alive, group_id, read = std::move(read)]() mutable {
      if (alive.expired()) return;
      ApplyRoles(group_id, std::move(read));
    });
  });
  if (!submitted) g->refresh_running = false;
}

void Agent::ApplyRoles(const std::string& group_id, RoleRead read) {
  GroupState* g = Find(group_id);
  if (g == nullptr) return;
  g->refresh_running = false;
  std::optional<decision::Roles> roles = std::move(read.roles);
  absl::Status last_error = read.last_error;
  if (read.generation != g->roles_generation) {
    roles.reset();  // read before the agent's own failover changed the roles: stale
    last_error = absl::OkStatus();
  }
  if (roles && !roles->primary_server.empty() && !roles->secondary_server.empty()) {
    const bool changed = roles->primary_server != g->roles.primary_server;
    if (changed) {
      deps_.logger.Info("roles changed", {{"group", group_id},
                                          {"primary", roles->primary_server},
                                          {"secondary", roles->secondary_server}});
      // Only an operation of ours whose ARM step began can explain the change.
      const bool ours_in_flight = g->in_flight && g->cancel_gate && g->cancel_gate->arm_begun();
      if (g->roles_known && !ours_in_flight) {
        NoticeExternalFailover(*g, *roles, read.explained_at, read.drill_recent);
      }
    }
    g->roles = *roles;
    g->roles_from_arm = true;
    if (changed || !g->roles_known) MarkDirty(GroupKey(group_id));
    g->roles_known = true;
  } else if (!last_error.ok()) {
    deps_.logger.Warn("cannot read roles from ARM",
                      {{"group", group_id}, {"error", last_error.ToString()}});
  }
  // Up to two reads per group per refresh, spread to stay within the read budget.
  const absl::Duration budgeted = absl::Seconds(2.0 * static_cast<double>(groups_.size()) /
                                                options_.role_refresh_reads_per_second);
  ScheduleRoleRefresh(*g, std::max(options_.role_refresh_interval, budgeted));
  Evaluate(*g);
}

GroupSnapshot Agent::SnapshotOf(const GroupState& g) const {
  GroupSnapshot s;
  s.id = g.id;
  s.runbook = g.runbook;
  s.roles = g.roles;
  s.roles_from_arm = g.roles_from_arm;
  s.view = BuildView(g);
  s.last_decision = g.last_decision;
  s.in_flight_operation = g.in_flight_op;
  std::tie(s.paused_until, s.pause_reason) = EffectivePause(g);
  return s;
}

namespace {

// A published snapshot with the probes' states as the scheduler holds them now.
GroupSnapshot WithProbes(const GroupSnapshot& published, probes::ProbeScheduler& scheduler) {
  GroupSnapshot s = published;
  for (const auto& p : s.runbook.probes()) {
    if (auto st = scheduler.Status(probes::ProbeScheduler::ProbeId(s.id, p.name()))) {
      s.probes.push_back(std::move(*st));
    }
  }
  return s;
}

}  // namespace

std::vector<GroupSnapshot> Agent::Groups() {
  std::vector<std::shared_ptr<const GroupSnapshot>> published;
  {
    absl::MutexLock lock(&published_mu_);
    for (const auto& [id, snapshot] : published_) published.push_back(snapshot);
  }
  std::vector<GroupSnapshot> out;
  out.reserve(published.size());
  for (const auto& snapshot : published) out.push_back(WithProbes(*snapshot, deps_.scheduler));
  return out;
}

absl::StatusOr<GroupSnapshot> Agent::Group(const std::string& group_id) {
  std::shared_ptr<const GroupSnapshot> snapshot;
  {
    absl::MutexLock lock(&published_mu_);
    auto it = published_.find(group_id);
    if (it != published_.end()) snapshot = it->second;
  }
  if (!snapshot) return absl::NotFoundError(absl::StrCat("no failover group ", group_id));
  return WithProbes(*snapshot, deps_.scheduler);
}

absl::StatusOr<FailoverResponse> Agent::RequestFailover(const FailoverRequest& request) {
  // A repeated request id maps to the operation it created, whatever the state now.
  if (!request.request_id.empty() && !request.dry_run) {
    ASSIGN_OR_RETURN(auto existing, deps_.journal.FindByRequestId(request.request_id));
    if (existing) {
      if (existing->group_id != request.group_id) {
        return absl::AlreadyExistsError(absl::StrCat("request id ", request.request_id,
                                                     " was used for group ", existing->group_id));
      }
      FailoverResponse resp;
      resp.operation = *existing;
      resp.created = false;
      auto kind = executor::ParseOperationKind(existing->kind);
      resp.kind = kind.ok() ? FromArmKind(*kind) : v1::FAILOVER_KIND_UNSPECIFIED;
      return resp;
    }
  }
  journal::OperationRecord op;
  FailoverResponse resp;
  const Requester requester{request.requested_by, request.approver, request.override_holds,
                            request.override_reason};
  ManualClearance clearance;
  // The decision and the reservation, on the loop; journal writes after it, on this thread.
  absl::Status checked;
  RETURN_IF_ERROR(OnLoop([&]() -> void {
    GroupState* g = Find(request.group_id);
    if (g == nullptr) {
      checked = absl::NotFoundError(absl::StrCat("no failover group ", request.group_id));
      return;
    }
    const absl::Time now = deps_.clock.Now();
    decision::GroupView view = BuildView(*g);
    resp.decision = decision::Decide(view, g->policy, now);
    if (g->in_flight) {
      checked = absl::AbortedError(
          absl::StrCat("operation ", g->in_flight_op, " is in flight for ", g->id));
      return;
    }
    v1::FailoverKind kind = request.kind;
    if (kind == v1::FAILOVER_KIND_AUTO || kind == v1::FAILOVER_KIND_UNSPECIFIED) {
      if (request.override_holds) {
        checked = absl::InvalidArgumentError(
            "override_holds needs an explicit kind: auto starts only what the engine would start "
            "now");
        return;
      }
      if (resp.decision.action == v1::FAILOVER_KIND_UNSPECIFIED) {
        checked = absl::FailedPreconditionError(absl::StrCat(
            "the engine would not fail over ", g->id, " now: ", resp.decision.summary));
        return;
      }
      kind = resp.decision.action;
    } else {
      // A person asked for a specific kind: the holds automation obeys apply (an approver may
      // override some, audited), and a kind that may lose data needs a second person.
      absl::StatusOr<ManualClearance> cleared =
          CheckManualRequest(g->id, kind, requester, view, g->policy, now, g->approval_by);
      if (!cleared.ok()) {
        checked = cleared.status();
        return;
      }
      clearance = *std::move(cleared);
    }
    resp.kind = kind;
    if (request.dry_run) return;
    op.group_id = g->id;
    op.kind = executor::OperationKindName(ToArmKind(kind));
    op.target_server = g->roles.secondary_server;
    op.requested_by = request.requested_by;
    op.reason = request.reason;
    op.request_id = request.request_id;
    // Reserve the group before journaling so a concurrent request sees it busy.
    g->in_flight = decision::OperationInFlight{kind, now};
    g->in_flight_op = "(starting)";
    Publish(*g);
  }));
  RETURN_IF_ERROR(checked);
  if (request.dry_run) return resp;
  const std::string cleared = ClearanceSummary(clearance, requester);
  absl::Status override_audited;
  if (!clearance.overridden.empty()) {
    // Durable before anything happens: an override nobody can trace is not allowed.
    override_audited = deps_.journal.Audit(
        {0, absl::InfinitePast(), request.requested_by, "OverrideHolds", op.group_id, cleared,
         absl::StrCat(op.kind, " failover requested: ", request.reason)});
  }
  absl::StatusOr<journal::Journal::Created> created =
      override_audited.ok() ? deps_.journal.CreateOperation(op)
                            : absl::StatusOr<journal::Journal::Created>(override_audited);
  if (created.ok()) {
    resp.operation = created->operation;
    resp.created = created->created;
    deps_.journal
        .Audit({0, absl::InfinitePast(), request.requested_by, "RequestFailover", op.group_id,
                absl::StrCat(op.kind, ": ", request.reason, cleared.empty() ? "" : " (", cleared,
                             cleared.empty() ? "" : ")"),
                "operation " + resp.operation.id})
        .IgnoreError();
  }
  absl::Status launched;
  absl::Status on_loop = OnLoop([&] {
    GroupState* g = Find(request.group_id);
    if (!created.ok() || g == nullptr) {
      if (g != nullptr) {
        g->in_flight.reset();
        g->in_flight_op.clear();
        Publish(*g);
      }
      launched = created.ok() ? absl::NotFoundError("group removed") : created.status();
      return;
    }
    LaunchOperation(*g, resp.operation, /*journaled=*/true);
  });
  if (!on_loop.ok() && created.ok()) {
    // Journaled but the loop is gone: the next start resumes it (or decides it afresh).
    return on_loop;
  }
  RETURN_IF_ERROR(launched);
  return resp;
}

absl::Status Agent::Pause(const std::string& group_id, absl::Time until, const std::string& reason,
                          const std::string& who, PauseOwner owner) {
  const bool resume = until == absl::InfinitePast();
  absl::Status found;
  RETURN_IF_ERROR(OnLoop([&]() -> void {
    const absl::Time now = deps_.clock.Now();
    PauseEntry entry{until, reason, who};
    if (group_id.empty()) {
      if (resume) {
        global_pauses_.erase(owner);
      } else {
        global_pauses_[owner] = entry;
      }
      for (auto& [id, g] : groups_) {
        // An operator's global resume also lifts every operator-cancel hold.
        if (resume && owner == PauseOwner::kOperator && !g->cancel_hold.empty()) {
          g->cancel_hold.clear();
          MarkDirty(GroupKey(id));
        }
        ScheduleEvaluation(*g, now);
        Publish(*g);
      }
      PublishGlobal();
    } else {
      GroupState* g = Find(group_id);
      if (g == nullptr) {
        found = absl::NotFoundError(absl::StrCat("no failover group ", group_id));
        return;
      }
      if (resume) {
        g->pauses.erase(owner);
        if (owner == PauseOwner::kOperator && !g->cancel_hold.empty()) {
          g->cancel_hold.clear();
          MarkDirty(GroupKey(group_id));
        }
      } else {
        g->pauses[owner] = entry;
      }
      ScheduleEvaluation(*g, now);
      Publish(*g);
    }
    MarkDirty(PauseKey(owner, group_id));
  }));
  RETURN_IF_ERROR(found);
  // Durable before it is acknowledged: a restart must not silently re-enable automation.
  absl::Status durable = FlushControlState();
  absl::Status audited = deps_.journal.Audit(
      {0, absl::InfinitePast(), who, resume ? "Resume" : "Pause", group_id.empty() ? "*" : group_id,
       resume ? absl::StrCat(OwnerName(owner), " pause ended")
              : absl::StrCat(OwnerName(owner), " pause: ", reason, " until ",
                             until == absl::InfiniteFuture()
                                 ? std::string("resumed")
                                 : absl::FormatTime(deps_.clock.ToWall(until))),
       durable.ok() ? "ok" : durable.ToString()});
  if (!durable.ok()) return durable;
  return audited;
}

absl::Status Agent::Resume(const std::string& group_id, const std::string& who, PauseOwner owner) {
  return Pause(group_id, absl::InfinitePast(), "", who, owner);
}

absl::Status Agent::CancelOperation(const std::string& operation_id, const std::string& who,
                                    const std::string& why) {
  ASSIGN_OR_RETURN(journal::OperationRecord op, deps_.journal.GetOperation(operation_id));
  if (journal::IsFinished(op.state)) {
    return absl::NotFoundError(absl::StrCat("operation ", operation_id, " already ",
                                            journal::OperationStateName(op.state)));
  }
  bool finished_here = false;
  bool running_here = true;
  absl::Status gate;
  RETURN_IF_ERROR(OnLoop([&]() -> void {
    GroupState* g = Find(op.group_id);
    if (g == nullptr || g->in_flight_op != operation_id || !g->cancel_gate) {
      running_here = false;
      return;
    }
    // Decided under the gate's lock together with the start of the ARM step: OK here means no
    // POST will be sent for this operation.
    gate = g->cancel_gate->Cancel();
    if (!gate.ok()) return;
    if (IsAutomatic(op)) {
      // The ladder must not simply try again (or escalate to forced) behind the person's back.
      g->cancel_hold = absl::StrCat(who, " cancelled the automatic ", op.kind, " failover",
                                    why.empty() ? "" : ": ", why);
      MarkDirty(GroupKey(g->id));
    }
    if (g->resume_candidate && g->resume_candidate->id == operation_id) {
      // Waiting for a fresh decision after a restart: nothing runs it; it ends here (journaled
      // below, off the loop).
      g->resume_candidate.reset();
      g->in_flight.reset();
      g->in_flight_op.clear();
      g->cancel_gate.reset();
      ScheduleEvaluation(*g, deps_.clock.Now());
      finished_here = true;
    }
    Publish(*g);
  }));
  if (!running_here) {
    ASSIGN_OR_RETURN(std::vector<journal::StepRecord> steps, deps_.journal.Steps(operation_id));
    for (const auto& step : steps) {
      if (step.name.rfind("arm:", 0) == 0) {
        return absl::FailedPreconditionError(
            absl::StrCat("operation ", operation_id, " has begun its ARM failover (", step.name,
                         "); it cannot be cancelled safely"));
      }
    }
    return absl::FailedPreconditionError(
        absl::StrCat("operation ", operation_id, " is not running in this agent"));
  }
  if (!gate.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("operation ", operation_id, ": ", gate.message()));
  }
  if (finished_here) {
    deps_.journal
        .UpdateOperation(operation_id, journal::OperationState::kCancelled,
                         absl::StrCat("cancelled by ", who, " before the ARM failover: ", why))
        .IgnoreError();
  }
  // Durable before it is acknowledged: after a crash, Start() ends the operation as cancelled.
  absl::Status durable = deps_.journal.PutControlState(
      {{kCancelKeyPrefix + operation_id, Dump({{"who", who}, {"why", why}})}});
  if (durable.ok()) durable = FlushControlState();
  if (!durable.ok()) {
    deps_.logger.Error("cannot journal a cancel", {{"error", durable.ToString()}});
    deps_.journal
        .Audit({0, absl::InfinitePast(), who, "CancelOperation", operation_id, why,
                durable.ToString()})
        .IgnoreError();
    return absl::UnavailableError(
        absl::StrCat("operation ", operation_id,
                     " is cancelled in this agent but the cancel could not be journaled (",
                     durable.message(), "); it would be forgotten by a restart: retry"));
  }
  return deps_.journal.Audit({0, absl::InfinitePast(), who, "CancelOperation", operation_id, why,
                              finished_here ? "cancelled" : "requested"});
}

absl::Status Agent::Approve(const std::string& group_id, bool approve, bool allow_over_budget,
                            const std::string& who, const std::string& why) {
  // The group's running operation waits at an approval step: this answer is for that step.
  if (step_gates_.Pending(group_id)) return AnswerStepApproval(group_id, approve, who, why);
  std::optional<decision::Approval> previous_approval;
  std::string previous_by;
  absl::Status waiting;
  RETURN_IF_ERROR(OnLoop([&]() -> void {
    GroupState* g = Find(group_id);
    if (g == nullptr) {
      waiting = absl::NotFoundError(absl::StrCat("no failover group ", group_id));
      return;
    }
    const absl::Time now = deps_.clock.Now();
    std::optional<decision::Decision> waits;
    if (g->last_decision && g->last_decision->stage == decision::Stage::kWaitApproval) {
      waits = g->last_decision;
    } else if (g->last_decision && deps_.coordination != nullptr &&
               g->last_decision->HasReason(decision::ReasonCode::kNotLeader)) {
      // Another agent leads the group: the approval is for the leader (shared through etcd).
      // It is taken when the ladder, as seen from here with the lead, waits for one.
      decision::GroupView view = BuildView(*g);
      if (view.coordination) view.coordination->leader = true;
      decision::Decision d = decision::Decide(view, g->policy, now);
      if (d.stage == decision::Stage::kWaitApproval) waits = d;
    }
    if (!waits) {
      waiting =
          absl::FailedPreconditionError(absl::StrCat(group_id, " is not waiting for approval"));
      return;
    }
    previous_approval = g->approval;
    previous_by = g->approval_by;
    if (approve) {
      g->approval =
          decision::Approval{waits->intended, now, now + g->policy.approval_ttl, allow_over_budget};
      g->approval_by = who;
    } else {
      g->approval.reset();
      g->approval_by.clear();
    }
    MarkDirty(GroupKey(group_id));
    MarkShared(kApprovalKeyPrefix + group_id);
    ScheduleEvaluation(*g, now);
    Publish(*g);
  }));
  RETURN_IF_ERROR(waiting);
  // Durable before it is acknowledged: a restart must not forget an approval (or a rejection).
  // An approval that cannot be journaled does not take effect.
  absl::Status durable = FlushControlState();
  if (!durable.ok()) {
    (void)OnLoop([&] {
      if (GroupState* g = Find(group_id)) {
        g->approval = previous_approval;
        g->approval_by = previous_by;
        MarkDirty(GroupKey(group_id));
        MarkShared(kApprovalKeyPrefix + group_id);
        Publish(*g);
      }
    });
    deps_.journal
        .Audit({0, absl::InfinitePast(), who, approve ? "Approve" : "Reject", group_id, why,
                durable.ToString()})
        .IgnoreError();
    return durable;
  }
  return deps_.journal.Audit(
      {0, absl::InfinitePast(), who, approve ? "Approve" : "Reject", group_id, why, "ok"});
}

// ---------------------------------------------------------------------------------------------
// Durable control state.

void Agent::Observe(GroupState& g, absl::Time now) {
  const v1::FailoverGroupRef& ref = g.runbook.group();
  const v1::ProbeTarget primary_target = g.roles.primary_server == ref.secondary_server()
                                             ? v1::PROBE_TARGET_SECONDARY
                                             : v1::PROBE_TARGET_PRIMARY;
  std::optional<probes::TargetHealth> th = deps_.tracker.Get(g.id, primary_target);
  const v1::Verdict verdict = th ? th->verdict : v1::VERDICT_UNKNOWN;
  bool outage_began_now = false;
  if (verdict == v1::VERDICT_UNHEALTHY) {
    absl::Time start = th->failure_streak_start;
    if (start == absl::InfinitePast() || start > now) start = now;
    if (g.outage_began == absl::InfinitePast() || start < g.outage_began) {
      outage_began_now = g.outage_began == absl::InfinitePast();
      g.outage_began = start;
      g.outage_id_us = absl::ToUnixMicros(deps_.clock.ToWall(start));
      g.outage_seen_at = now;
      MarkDirty(GroupKey(g.id));
    } else if (now - g.outage_seen_at >= options_.lag_persist_interval) {
      g.outage_seen_at = now;
      MarkDirty(GroupKey(g.id));
    }
  } else if (verdict == v1::VERDICT_HEALTHY &&
             (g.outage_began != absl::InfinitePast() || !g.cancel_hold.empty())) {
    // The primary answered again: this outage is over (and a cancel's hold with it).
    g.outage_began = absl::InfinitePast();
    g.outage_id_us = 0;
    g.cancel_hold.clear();
    MarkDirty(GroupKey(g.id));
  }
  // UNKNOWN (just restarted or reloaded) and IMPAIRED (our own vantage) neither start nor end it.
  if (auto lag = deps_.tracker.ReplicationLag(g.id)) {
    if (!g.last_lag || lag->sampled_at > g.last_lag->sampled_at) {
      g.last_lag = decision::LagSample{absl::Seconds(lag->seconds), lag->sampled_at};
      if (outage_began_now || g.lag_persisted_at == absl::InfinitePast() ||
          now - g.lag_persisted_at >= options_.lag_persist_interval) {
        g.lag_persisted_at = now;
        MarkDirty(GroupKey(g.id));
      }
    }
  }
}

std::pair<absl::Time, std::string> Agent::EffectivePause(const GroupState& g) const {
  std::pair<absl::Time, std::string> out{absl::InfinitePast(), ""};
  auto consider = [&](const std::map<PauseOwner, PauseEntry>& pauses) {
    for (const auto& [owner, p] : pauses) {
      if (p.until > out.first) out = {p.until, p.reason};
    }
  };
  consider(g.pauses);
  consider(global_pauses_);
  return out;
}

std::pair<absl::Time, std::string> Agent::GlobalPause() const {
  absl::MutexLock lock(&published_mu_);
  return published_global_pause_;
}

std::pair<absl::Time, std::string> Agent::GlobalPauseOnLoop() const {
  std::pair<absl::Time, std::string> out{absl::InfinitePast(), ""};
  for (const auto& [owner, p] : global_pauses_) {
    if (p.until > out.first) out = {p.until, p.reason};
  }
  return out;
}

void Agent::MarkDirty(const std::string& key) {
  dirty_.insert(key);
  MarkShared(key);
  ScheduleFlush();
}

void Agent::ScheduleFlush() {
  if (flush_queued_ || !started_) return;
  flush_queued_ = true;
  std::weak_ptr<bool> alive = alive_;
  // On the operations pool (elastic in foghornd): in a region outage the read pool is busy with
  // slow ARM reads, and what a flush records should not wait behind them.
  bool submitted = deps_.workers.Submit([this, alive] {
    if (alive.expired()) return;
    absl::Status s = FlushControlState();
    if (!s.ok()) deps_.logger.Error("cannot journal control state", {{"error", s.ToString()}});
  });
  if (!submitted) flush_queued_ = false;
}

std::string Agent::GroupStateJson(const GroupState& g) const {
  const common::Clock& c = deps_.clock;
  nlohmann::json j = nlohmann::json::object();
  if (g.roles_known) {
    j["roles"] = {{"primary", g.roles.primary_server}, {"secondary", g.roles.secondary_server}};
  }
  if (g.outage_began != absl::InfinitePast()) {
    // Every time is converted at flush time, with one wall offset, so a wall-clock step between
    // the outage's start and this write cannot move the restored start (id_us is only a name).
    j["outage"] = {{"id_us", g.outage_id_us},
                   {"began_us", WallMicros(c, g.outage_began)},
                   {"seen_us", WallMicros(c, g.outage_seen_at)}};
  }
  if (g.last_lag) {
    j["lag"] = {{"lag_us", absl::ToInt64Microseconds(g.last_lag->lag)},
                {"sampled_us", WallMicros(c, g.last_lag->sampled_at)}};
  }
  if (g.last_failover_at != absl::InfinitePast()) {
    j["last_failover_us"] = WallMicros(c, g.last_failover_at);
  }
  if (g.last_planned_attempt) {
    j["planned_attempt"] = {
        {"finished_us", WallMicros(c, g.last_planned_attempt->finished_at)},
        {"failed", g.last_planned_attempt->outcome == decision::AttemptOutcome::kFailed},
        {"error_code", g.last_planned_attempt->error_code}};
  }
  if (g.approval) {
    j["approval"] = {{"kind", static_cast<int>(g.approval->kind)},
                     {"granted_us", WallMicros(c, g.approval->granted_at)},
                     {"expires_us", WallMicros(c, g.approval->expires_at)},
                     {"over_budget", g.approval->allow_data_loss_over_budget},
                     {"by", g.approval_by}};
  }
  if (!g.cancel_hold.empty()) j["cancel_hold"] = g.cancel_hold;
  return Dump(j);
}

absl::Status Agent::FlushControlState() {
  absl::MutexLock flush_lock(&flush_mu_);
  std::map<std::string, std::string> batch;
  SharedBatch shared;
  // What is dirty is collected on the loop; the write happens here, never on the loop.
  RETURN_IF_ERROR(OnLoop([&] {
    flush_queued_ = false;
    if (deps_.coordination != nullptr) shared = CollectShared();
    for (const std::string& key : dirty_) {
      std::string value;
      if (key.rfind(kCancelKeyPrefix, 0) == 0) continue;  // written directly
      if (key.rfind(kGroupKeyPrefix, 0) == 0) {
        GroupState* g = Find(key.substr(sizeof(kGroupKeyPrefix) - 1));
        if (g == nullptr) continue;  // a group no runbook names keeps its last record
        value = GroupStateJson(*g);
      } else {
        // "pause/<owner>/<group or *>"
        const std::string rest = key.substr(sizeof(kPauseKeyPrefix) - 1);
        const std::string owner_name = rest.substr(0, rest.find('/'));
        const std::string target = rest.substr(rest.find('/') + 1);
        const PauseOwner owner = owner_name == "drill" ? PauseOwner::kDrill : PauseOwner::kOperator;
        const std::map<PauseOwner, PauseEntry>* pauses = &global_pauses_;
        if (target != "*") {
          GroupState* g = Find(target);
          pauses = g != nullptr ? &g->pauses : nullptr;
        }
        if (pauses != nullptr) {
          auto it = pauses->find(owner);
          if (it != pauses->end()) value = PauseJson(it->second);
        }
      }
      batch[key] = std::move(value);
    }
    dirty_.clear();
  }));
  if (!batch.empty()) {
    absl::Status s = deps_.journal.PutControlState(batch);
    if (!s.ok()) {
      (void)OnLoop([&] {
        for (const auto& [key, value] : batch) dirty_.insert(key);
      });
      // Not shared either: what other agents see never runs ahead of this agent's own journal.
      return s;
    }
  }
  // Then shared with the other agents (coordinated): a pause or approval given here binds the
  // leader. A key that cannot be written stays dirty and is written once etcd answers again.
  if (shared.values.empty()) return absl::OkStatus();
  return PublishShared(shared);
}

void Agent::RestoreControlState(const std::map<std::string, std::string>& state,
                                const std::set<std::string>& drill_groups) {
  const common::Clock& c = deps_.clock;
  const absl::Time now = c.Now();
  for (const auto& [key, value] : state) {
    // The journal is ours, but a damaged row must not stop the agent: skip it, loudly.
    if (key.rfind(kCancelKeyPrefix, 0) == 0) continue;  // handled by Start()
    nlohmann::json j = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) {
      deps_.logger.Error("unreadable control state", {{"key", key}});
      if (key.rfind(kPauseKeyPrefix, 0) != 0) continue;
      // A pause we cannot read is kept, not dropped: the safe side, until someone resumes.
      j = {{"reason", "a pause whose journal record is unreadable; resume to clear it"},
           {"who", "journal"}};
    }
    auto num = [&](const nlohmann::json& o, const char* name) -> std::optional<std::int64_t> {
      auto it = o.find(name);
      if (it == o.end() || !it->is_number_integer()) return std::nullopt;
      return it->get<std::int64_t>();
    };
    auto str = [&](const nlohmann::json& o, const char* name) -> std::string {
      auto it = o.find(name);
      return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    if (key.rfind(kPauseKeyPrefix, 0) == 0) {
      const std::string rest = key.substr(sizeof(kPauseKeyPrefix) - 1);
      const std::string owner_name = rest.substr(0, rest.find('/'));
      const std::string target = rest.substr(rest.find('/') + 1);
      if (owner_name != "drill" && owner_name != "operator") continue;
      const PauseOwner owner = owner_name == "drill" ? PauseOwner::kDrill : PauseOwner::kOperator;
      if (owner == PauseOwner::kDrill && drill_groups.count(target) == 0) {
        // No unfinished drill of this group: the drill's pause ended with it.
        deps_.logger.Info("a drill's pause ended with the restart", {{"group", target}});
        dirty_.insert(key);
        continue;
      }
      PauseEntry p{absl::InfiniteFuture(), str(j, "reason"), str(j, "who")};
      if (auto until = num(j, "until_us")) p.until = FromWallMicros(c, *until);
      if (p.until <= now) continue;
      if (target == "*") {
        global_pauses_[owner] = p;
      } else if (GroupState* g = Find(target)) {
        g->pauses[owner] = p;
      }
      deps_.logger.Info("pause restored", {{"group", target}, {"reason", p.reason}});
      continue;
    }
    if (key.rfind(kGroupKeyPrefix, 0) != 0) continue;
    GroupState* g = Find(key.substr(sizeof(kGroupKeyPrefix) - 1));
    if (g == nullptr) continue;
    if (auto r = j.find("roles"); r != j.end() && r->is_object()) {
      const std::string primary = str(*r, "primary");
      const std::string secondary = str(*r, "secondary");
      const v1::FailoverGroupRef& ref = g->runbook.group();
      // Only roles that still name this runbook's two servers.
      if ((primary == ref.primary_server() && secondary == ref.secondary_server()) ||
          (primary == ref.secondary_server() && secondary == ref.primary_server())) {
        g->roles = {primary, secondary};
        g->roles_known = true;
      }
    }
    if (auto o = j.find("outage"); o != j.end() && o->is_object()) {
      auto began = num(*o, "began_us");
      auto seen = num(*o, "seen_us");
      auto id = num(*o, "id_us");
      if (began && seen && *began <= *seen &&
          c.WallNow() - absl::FromUnixMicros(*seen) <= options_.outage_restore_window) {
        g->outage_began = FromWallMicros(c, *began);
        g->outage_id_us = id ? *id : *began;
        g->outage_seen_at = FromWallMicros(c, *seen);
        g->cancel_hold = str(j, "cancel_hold");
      }
    }
    if (auto l = j.find("lag"); l != j.end() && l->is_object()) {
      auto lag = num(*l, "lag_us");
      auto at = num(*l, "sampled_us");
      if (lag && at && *lag >= 0) {
        g->last_lag = decision::LagSample{absl::Microseconds(*lag), FromWallMicros(c, *at)};
        g->lag_persisted_at = now;
      }
    }
    if (auto at = num(j, "last_failover_us")) {
      g->last_failover_at = std::max(g->last_failover_at, FromWallMicros(c, *at));
    }
    if (auto a = j.find("planned_attempt"); a != j.end() && a->is_object()) {
      if (auto at = num(*a, "finished_us")) {
        auto f = a->find("failed");
        g->last_planned_attempt =
            decision::PlannedAttempt{FromWallMicros(c, *at),
                                     f != a->end() && f->is_boolean() && f->get<bool>()
                                         ? decision::AttemptOutcome::kFailed
                                         : decision::AttemptOutcome::kSucceeded,
                                     str(*a, "error_code")};
      }
    }
    if (auto a = j.find("approval"); a != j.end() && a->is_object()) {
      auto kind = num(*a, "kind");
      auto granted = num(*a, "granted_us");
      auto expires = num(*a, "expires_us");
      auto over = a->find("over_budget");
      // An approval lives at most its policy's TTL from its grant, whatever the row says.
      if (kind && granted && expires && v1::FailoverKind_IsValid(static_cast<int>(*kind)) &&
          FromWallMicros(c, *expires) > now) {
        const absl::Time granted_at = FromWallMicros(c, *granted);
        g->approval = decision::Approval{
            static_cast<v1::FailoverKind>(*kind), granted_at,
            std::min(FromWallMicros(c, *expires), granted_at + g->policy.approval_ttl),
            over != a->end() && over->is_boolean() && over->get<bool>()};
        g->approval_by = str(*a, "by");
      }
    }
  }
}

void Agent::DecideResume(GroupState& g, absl::Time now) {
  const journal::OperationRecord op = *g.resume_candidate;
  decision::GroupView view = BuildView(g);
  view.in_flight.reset();
  const bool fresh = view.primary.verdict != v1::VERDICT_UNKNOWN &&
                     view.secondary.verdict != v1::VERDICT_UNKNOWN && g.roles_from_arm;
  if (!fresh && now < g.resume_deadline) {
    ScheduleEvaluation(g, g.resume_deadline);
    return;
  }
  auto arm_kind = executor::ParseOperationKind(op.kind);
  const v1::FailoverKind kind =
      arm_kind.ok() ? FromArmKind(*arm_kind) : v1::FAILOVER_KIND_UNSPECIFIED;
  const absl::Duration age = deps_.clock.WallNow() - op.created_at;
  std::string why;
  if (!fresh) {
    why = absl::StrCat("no fresh verdict on both sides (and roles from ARM) within ",
                       absl::FormatDuration(options_.resume_verdict_wait));
  } else if (age > options_.resume_max_age) {
    why = absl::StrCat("requested ", absl::FormatDuration(absl::Trunc(age, absl::Seconds(1))),
                       " ago, older than the resume limit of ",
                       absl::FormatDuration(options_.resume_max_age));
  } else if (op.target_server != g.roles.secondary_server) {
    why = absl::StrCat("its target ", op.target_server, " is no longer the secondary (",
                       g.roles.secondary_server, " is)");
  } else {
    decision::Decision d = decision::Decide(view, g.policy, now);
    if (IsAutomatic(op)) {
      if (d.action != kind) {
        why = absl::StrCat("the decision engine would not start a ", op.kind,
                           " failover now: ", d.summary);
      }
    } else {
      // A person's request: every hold the engine knows still applies (an override given with
      // the request is not carried across a restart; the person asks again), and a data-losing
      // kind is not sent against a primary that has recovered.
      std::vector<std::string> holds;
      for (const decision::Reason& r : decision::Holds(view, g.policy, now, kind)) {
        if (r.code != decision::ReasonCode::kOperatorCancelled) holds.push_back(r.text);
      }
      if (kind != v1::FAILOVER_KIND_PLANNED && view.primary.verdict == v1::VERDICT_HEALTHY) {
        holds.push_back(absl::StrCat("primary ", g.roles.primary_server, " is healthy again"));
      }
      if (!holds.empty()) why = absl::StrJoin(holds, "; ");
    }
  }
  g.resume_candidate.reset();
  g.in_flight.reset();
  g.in_flight_op.clear();
  if (!why.empty()) {
    g.cancel_gate.reset();
    Abandon(g, op, why);
    return;
  }
  deps_.logger.Info("resuming operation after a fresh decision",
                    {{"operation", op.id}, {"group", op.group_id}, {"kind", op.kind}});
  LaunchOperation(g, op, /*journaled=*/true);
}

void Agent::Abandon(GroupState& g, const journal::OperationRecord& op, const std::string& why) {
  const std::string outcome = absl::StrCat(kAbandonedPrefix, why);
  // Journaled on a worker, never on the loop; the group stays busy until the write has landed,
  // so no fresh decision can pick the same (still "running") journal record up meanwhile, and
  // nobody is told "abandoned" before the journal says so. A restart before the write decides
  // the operation afresh (it never reached ARM).
  g.in_flight = decision::OperationInFlight{v1::FAILOVER_KIND_UNSPECIFIED, deps_.clock.Now()};
  g.in_flight_op = absl::StrCat("(abandoning ", op.id, ")");
  deps_.metrics.IncrementCounter("foghorn_operations_abandoned_total", {{"group", g.id}});
  deps_.logger.Warn("abandoning an interrupted operation",
                    {{"operation", op.id}, {"group", g.id}, {"why", why}});
  std::weak_ptr<bool> alive = alive_;
  auto release = [this, alive, group_id = g.id] {
    if (alive.expired()) return;
    GroupState* g = Find(group_id);
    if (g == nullptr || g->in_flight_op.rfind("(abandoning ", 0) != 0) return;
    g->in_flight.reset();
    g->in_flight_op.clear();
    ScheduleEvaluation(*g, deps_.clock.Now());
    Publish(*g);
  };
  bool submitted = deps_.workers.Submit([this, alive, op, outcome, why, release] {
    if (alive.expired()) return;
    absl::Status s =
        deps_.journal.UpdateOperation(op.id, journal::OperationState::kAborted, outcome);
    if (!s.ok()) {
      deps_.logger.Error("cannot journal an abandoned operation",
                         {{"operation", op.id}, {"error", s.ToString()}});
    } else {
      deps_.journal
          .Audit({0, absl::InfinitePast(), "agent", "AbandonOperation", op.id, why, "aborted"})
          .IgnoreError();
      executor::Notification n;
      n.event = "operation_abandoned";
      n.group_id = op.group_id;
      n.operation_id = op.id;
      n.summary = absl::StrCat(op.kind, " failover of ", op.group_id, " ", outcome);
      n.dedup_key = op.id + "/abandoned";
      deps_.notifier.Notify(std::move(n));
      journal::OperationRecord ended = op;
      ended.state = journal::OperationState::kAborted;
      ended.outcome = outcome;
      Emit({op.group_id, op.id, absl::InfinitePast(),
            absl::StrCat(op.kind, " failover aborted: ", outcome),
            OperationChanged{std::move(ended)}});
    }
    (void)deps_.loop.RunAndWait(release);
  });
  if (!submitted) {
    deps_.logger.Error("cannot journal an abandoned operation: workers stopped",
                       {{"operation", op.id}});
  }
}

void Agent::NoticeExternalFailover(GroupState& g, const decision::Roles& now_roles,
                                   std::optional<absl::Time> explained_at, bool drill_recent) {
  const absl::Time now = deps_.clock.Now();
  // A drill moves the primary and back while it holds its pause: those are not external.
  if (g.pauses.count(PauseOwner::kDrill) != 0 || drill_recent) return;
  if (!explained_at && deps_.coordination != nullptr) {
    // Another agent led the group and failed it over: its intent names the new primary.
    const v1::ProbeTarget primary_target =
        g.roles.primary_server == g.runbook.group().secondary_server() ? v1::PROBE_TARGET_SECONDARY
                                                                       : v1::PROBE_TARGET_PRIMARY;
    CoordinationFacts facts = deps_.coordination->Facts(g.id, primary_target);
    if (facts.intent && facts.intent->target == now_roles.primary_server &&
        now - facts.intent->written_at <= absl::Hours(1)) {
      deps_.logger.Info("failover by another agent", {{"group", g.id},
                                                      {"agent", facts.intent->agent},
                                                      {"request_id", facts.intent->request_id},
                                                      {"primary", now_roles.primary_server}});
      explained_at = std::min(now, facts.intent->written_at);
    }
  }
  if (explained_at) {
    // A failover of ours whose ARM step ran: its end starts the cooldown.
    g.last_failover_at = std::max(g.last_failover_at, *explained_at);
    MarkDirty(GroupKey(g.id));
    return;
  }
  const std::string summary = absl::StrCat(
      "external failover of ", g.id, ": ", now_roles.primary_server, " is primary (was ",
      g.roles.primary_server, ") without a foghorn operation; noticed at ",
      absl::FormatTime(deps_.clock.WallNow(), absl::UTCTimeZone()), "; cooldown started");
  g.last_failover_at = now;
  g.outage_began = absl::InfinitePast();
  g.outage_id_us = 0;
  g.approval.reset();
  MarkShared(kApprovalKeyPrefix + g.id);
  g.cancel_hold.clear();
  MarkDirty(GroupKey(g.id));
  deps_.metrics.IncrementCounter("foghorn_external_failovers_total", {{"group", g.id}});
  deps_.logger.Warn("external failover", {{"group", g.id},
                                          {"primary", now_roles.primary_server},
                                          {"previous_primary", g.roles.primary_server}});
  deps_.journal
      .Audit({0, absl::InfinitePast(), "arm", "ExternalFailover", g.id,
              absl::StrCat(g.roles.primary_server, " -> ", now_roles.primary_server),
              "cooldown started"})
      .IgnoreError();
  executor::Notification n;
  n.event = "external_failover";
  n.group_id = g.id;
  n.summary = summary;
  n.dedup_key = absl::StrCat(g.id, "/external/", now_roles.primary_server, "/",
                             absl::ToUnixSeconds(deps_.clock.WallNow()));
  deps_.notifier.Notify(std::move(n));
  Emit({g.id, "", now, summary,
        ExternalFailoverNoticed{now_roles.primary_server, g.roles.primary_server}});
}

// ---------------------------------------------------------------------------------------------
// Runbook steps (agent_steps.cc) need the group's cancel gate.

std::function<bool()> Agent::CancelledCheck(const std::string& group_id) {
  std::shared_ptr<executor::CancelGate> gate;
  {
    absl::MutexLock lock(&published_mu_);
    if (auto it = published_gates_.find(group_id); it != published_gates_.end()) gate = it->second;
  }
  if (!gate) return [] { return false; };
  return [gate] { return gate->cancel_requested(); };
}

}  // namespace foghorn::agent
