#include "orchestrator/agent/agent.h"

#include <algorithm>
#include <atomic>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "orchestrator/common/status_macros.h"
#include "probes/probe_config.h"
#include "runbooks/duration.h"

namespace foghorn::agent {

struct Agent::GroupState {
  std::string id;
  v1::Runbook runbook;
  decision::Policy policy;
  decision::Roles roles;
  bool roles_from_arm = false;
  // The operation in flight (journal id) and what it is.
  std::string in_flight_op;
  std::optional<decision::OperationInFlight> in_flight;
  absl::Time last_failover_at = absl::InfinitePast();
  absl::Time paused_until = absl::InfinitePast();
  std::string pause_reason;
  std::optional<decision::PlannedAttempt> last_planned_attempt;
  std::optional<decision::Approval> approval;
  std::optional<decision::Decision> last_decision;
  // When the primary's verdict last turned bad, for detection-to-action latency.
  absl::Time primary_down_observed_at = absl::InfinitePast();
  common::TimerId eval_timer = 0;
  absl::Time eval_at = absl::InfiniteFuture();
  common::TimerId refresh_timer = 0;
  bool refresh_running = false;
  // Set by CancelOperation; read by the runner (through the plan) at its safe points.
  std::shared_ptr<std::atomic<bool>> cancel_requested;
  // Request ids of automatic operations that finished without success, and those already
  // escalated to a human.
  std::set<std::string> finished_auto_requests;
  std::set<std::string> escalated;
};

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

}  // namespace

std::string GroupId(const v1::FailoverGroupRef& ref) {
  return absl::StrCat(ref.subscription_id(), "/", ref.resource_group(), "/", ref.name());
}

Agent::Agent(Deps deps, Options options) : deps_(std::move(deps)), options_(options) {}

void Agent::Emit(AgentEvent e) const {
  if (!deps_.events) return;
  if (e.at == absl::InfinitePast()) e.at = deps_.clock.Now();
  deps_.events(e);
}

Agent::~Agent() {
  Stop();
  *alive_ = false;
  absl::MutexLock lock(&mu_);
  for (auto& [id, g] : groups_) {
    if (g->eval_timer) deps_.loop.Cancel(g->eval_timer);
    if (g->refresh_timer) deps_.loop.Cancel(g->refresh_timer);
  }
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
    wanted[id] = &rb;
    policies[id] = *policy;
  }
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, g] : groups_) {
      if (wanted.count(id) == 0 && !g->in_flight_op.empty()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "cannot stop watching ", id, " while operation ", g->in_flight_op, " runs"));
      }
    }
    // Remove groups that are gone, and re-register every probe of the groups that stay, so a
    // changed probe or rule takes effect.
    for (auto it = groups_.begin(); it != groups_.end();) {
      const std::string& id = it->first;
      for (const auto& p : it->second->runbook.probes()) {
        (void)deps_.scheduler.RemoveProbe(probes::ProbeScheduler::ProbeId(id, p.name()));
      }
      deps_.tracker.RemoveGroup(id);
      if (wanted.count(id) == 0) {
        if (it->second->eval_timer) deps_.loop.Cancel(it->second->eval_timer);
        if (it->second->refresh_timer) deps_.loop.Cancel(it->second->refresh_timer);
        deps_.logger.Info("stopped watching group", {{"group", id}});
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
      for (const auto& rule : rb->health_rules()) {
        absl::Status s = deps_.tracker.AddRule(id, rule);
        if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat(id, ": ", s.message()));
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
        if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat(id, ": ", s.message()));
      }
      // A reloaded runbook (new policy, probes) is looked at again at once; before Start() the
      // evaluation is a no-op.
      ScheduleEvaluation(*g, deps_.clock.Now());
    }
    deps_.metrics.SetGauge("foghorn_groups", {}, static_cast<double>(groups_.size()));
  }
  return absl::OkStatus();
}

absl::Status Agent::Start() {
  std::weak_ptr<bool> alive_for_steps = alive_;
  deps_.runner.SetStepObserver([this, alive_for_steps](const journal::OperationRecord& op,
                                                       const journal::StepRecord& step) {
    if (alive_for_steps.expired()) return;
    Emit({AgentEvent::Kind::kOperationStep, op.group_id, step.operation_id, absl::InfinitePast(),
          absl::StrCat(step.name, " ", journal::StepStateName(step.state),
                       step.detail.empty() ? "" : ": ", step.detail),
          nlohmann::json{{"step", step.name},
                         {"seq", step.seq},
                         {"state", journal::StepStateName(step.state)},
                         {"detail", step.detail}}
              .dump()});
  });
  ASSIGN_OR_RETURN(std::vector<journal::OperationRecord> unfinished,
                   deps_.journal.UnfinishedOperations());
  absl::MutexLock lock(&mu_);
  for (auto& [id, g] : groups_) {
    auto last = deps_.journal.LastSucceededFailover(id);
    if (last.ok() && last->has_value()) g->last_failover_at = **last;
  }
  for (const journal::OperationRecord& op : unfinished) {
    if (executor::ParseOperationKind(op.kind).ok() == false) {
      // A drill (or anything that is not a failover) interrupted by a restart is not resumed:
      // resuming it as a failover could move the primary. The drill's own fail-back rules apply
      // only while it runs; an operator re-runs it.
      deps_.journal
          .UpdateOperation(op.id, journal::OperationState::kAborted,
                           absl::StrCat("agent restarted during the ", op.kind))
          .IgnoreError();
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
    if (!g->in_flight_op.empty()) continue;
    deps_.logger.Info("resuming operation", {{"operation", op.id},
                                             {"group", op.group_id},
                                             {"kind", op.kind},
                                             {"target", op.target_server}});
    LaunchOperation(*g, op, /*journaled=*/true);
  }
  started_ = true;
  for (auto& [id, g] : groups_) {
    ScheduleRoleRefresh(*g, absl::ZeroDuration());
    ScheduleEvaluation(*g, deps_.clock.Now());
  }
  return absl::OkStatus();
}

void Agent::Stop() {
  absl::MutexLock lock(&mu_);
  stopped_ = true;
}

void Agent::OnVerdictChange(const probes::VerdictEvent& event) {
  deps_.metrics.IncrementCounter("foghorn_verdict_changes_total",
                                 {{"group", event.group},
                                  {"target", v1::ProbeTarget_Name(event.target)},
                                  {"verdict", v1::Verdict_Name(event.verdict)}});
  Emit({AgentEvent::Kind::kVerdict, event.group, "", event.at,
        absl::StrCat(v1::ProbeTarget_Name(event.target), " ", v1::Verdict_Name(event.previous),
                     " -> ", v1::Verdict_Name(event.verdict), ": ", event.reason),
        nlohmann::json{{"target", v1::ProbeTarget_Name(event.target)},
                       {"verdict", v1::Verdict_Name(event.verdict)},
                       {"previous", v1::Verdict_Name(event.previous)},
                       {"reason", event.reason}}
            .dump()});
  std::weak_ptr<bool> alive = alive_;
  std::string group = event.group;
  const bool bad = IsBad(event.verdict);
  const absl::Time at = event.at;
  const v1::ProbeTarget target = event.target;
  // The tracker calls from the prober's thread: hand over to the control loop.
  deps_.loop.Post([this, alive, group, bad, at, target] {
    if (alive.expired()) return;
    {
      absl::MutexLock lock(&mu_);
      GroupState* g = Find(group);
      if (g == nullptr) return;
      const std::string& server = target == v1::PROBE_TARGET_SECONDARY
                                      ? g->runbook.group().secondary_server()
                                      : g->runbook.group().primary_server();
      if (bad && server == g->roles.primary_server) g->primary_down_observed_at = at;
    }
    EvaluateById(group);
  });
}

void Agent::EvaluateById(const std::string& group_id) {
  absl::MutexLock lock(&mu_);
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
  v.vantage_impaired = deps_.tracker.impaired();
  if (auto lag = deps_.tracker.ReplicationLag(g.id)) {
    v.last_lag = decision::LagSample{absl::Seconds(lag->seconds), lag->sampled_at};
  }
  v.roles = g.roles;
  v.in_flight = g.in_flight;
  v.last_failover_at = g.last_failover_at;
  v.paused_until = std::max(g.paused_until, global_paused_until_);
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
  if (!started_) return;
  const absl::Time now = deps_.clock.Now();
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
    rec.at = now;
    rec.state = std::string(decision::StageName(d.stage));
    rec.action =
        d.action == v1::FAILOVER_KIND_UNSPECIFIED ? "none" : v1::FailoverKind_Name(d.action);
    rec.reasons_json = ReasonsJson(d);
    rec.summary = d.summary;
    absl::Status s = deps_.journal.RecordDecision(rec);
    if (!s.ok()) deps_.logger.Error("cannot journal decision", {{"error", s.ToString()}});
    Emit({AgentEvent::Kind::kDecision, g.id, "", now, d.summary,
          nlohmann::json{{"stage", rec.state},
                         {"action", rec.action},
                         {"intended", v1::FailoverKind_Name(d.intended)},
                         {"reasons", nlohmann::json::parse(rec.reasons_json)}}
              .dump()});
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
    op.request_id = absl::StrCat(
        "auto/", g.id, "/", d.outage_began ? absl::ToUnixMicros(*d.outage_began) : 0, "/", op.kind);
    if (g.finished_auto_requests.count(op.request_id) != 0) {
      // This outage's automatic failover of this kind already ran and did not succeed: it is
      // not retried automatically (that would be a second attempt nobody decided on); a human
      // looks, and may request a failover through the control API.
      if (g.escalated.insert(op.request_id).second) {
        executor::Notification n;
        n.event = "decision_needs_human";
        n.group_id = g.id;
        n.summary = absl::StrCat("automatic ", op.kind, " failover of ", g.id,
                                 " did not succeed; not retried automatically: ", d.summary);
        n.dedup_key = op.request_id + "/escalated";
        deps_.notifier.Notify(std::move(n));
        deps_.logger.Warn("automatic failover not retried",
                          {{"group", g.id}, {"request_id", op.request_id}});
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
    absl::MutexLock lock(&mu_);
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
    const absl::Duration timeout = g.runbook.drill().has_verify_timeout()
                                       ? runbooks::FromProto(g.runbook.drill().verify_timeout())
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

void Agent::LaunchOperation(GroupState& g, journal::OperationRecord op, bool journaled) {
  auto kind = executor::ParseOperationKind(op.kind);
  g.in_flight = decision::OperationInFlight{
      kind.ok() ? FromArmKind(*kind) : v1::FAILOVER_KIND_PLANNED, deps_.clock.Now()};
  g.in_flight_op = journaled ? op.id : "(starting)";
  executor::FailoverPlan plan = PlanFor(g, op);
  g.cancel_requested = std::make_shared<std::atomic<bool>>(false);
  plan.cancelled = [flag = g.cancel_requested] { return flag->load(); };
  std::weak_ptr<bool> alive = alive_;
  std::string group_id = g.id;
  bool submitted = deps_.workers.Submit(
      [this, alive, group_id, op = std::move(op), journaled, plan = std::move(plan)]() mutable {
        if (alive.expired()) return;
        absl::StatusOr<journal::OperationRecord> result = op;
        bool created_here = false;
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
            absl::MutexLock lock(&mu_);
            if (GroupState* g = Find(group_id)) g->in_flight_op = op.id;
          }
        }
        if (result.ok()) result = deps_.runner.Run(op, plan);
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
        OnOperationDone(group_id, std::move(result));
      });
  if (!submitted) {
    g.in_flight.reset();
    g.in_flight_op.clear();
  }
}

void Agent::OnOperationDone(const std::string& group_id,
                            absl::StatusOr<journal::OperationRecord> op) {
  absl::MutexLock lock(&mu_);
  GroupState* g = Find(group_id);
  if (g == nullptr) return;
  const v1::FailoverKind kind = g->in_flight ? g->in_flight->kind : v1::FAILOVER_KIND_PLANNED;
  g->in_flight.reset();
  g->in_flight_op.clear();
  const absl::Time now = deps_.clock.Now();
  if (op.ok()) {
    Emit({AgentEvent::Kind::kOperation, group_id, op->id, now,
          absl::StrCat(op->kind, " failover ", journal::OperationStateName(op->state), ": ",
                       op->outcome),
          nlohmann::json{{"kind", op->kind},
                         {"state", journal::OperationStateName(op->state)},
                         {"outcome", op->outcome},
                         {"target_server", op->target_server}}
              .dump()});
  }
  if (!op.ok()) {
    deps_.logger.Error("operation could not run",
                       {{"group", group_id}, {"error", op.status().ToString()}});
  } else if (op->state == journal::OperationState::kSucceeded) {
    g->last_failover_at = now;
    if (op->target_server == g->roles.secondary_server) {
      std::swap(g->roles.primary_server, g->roles.secondary_server);
    }
    g->approval.reset();
    g->primary_down_observed_at = absl::InfinitePast();
  } else {
    // Not retried automatically within the same outage (see Evaluate).
    if (op->request_id.rfind("auto/", 0) == 0) g->finished_auto_requests.insert(op->request_id);
    if (kind == v1::FAILOVER_KIND_PLANNED) {
      g->last_planned_attempt = decision::PlannedAttempt{now, decision::AttemptOutcome::kFailed,
                                                         ErrorCodeOf(op->outcome)};
    }
  }
  ScheduleRoleRefresh(*g, absl::ZeroDuration());
  ScheduleEvaluation(*g, now);
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
  std::vector<arm::FailoverGroupId> ids;
  {
    absl::MutexLock lock(&mu_);
    GroupState* g = Find(group_id);
    if (g == nullptr) return;
    g->refresh_timer = 0;
    if (g->refresh_running || stopped_) return;
    g->refresh_running = true;
    const v1::FailoverGroupRef& ref = g->runbook.group();
    // Ask the current secondary first: in a regional outage it is the side still answering.
    for (const std::string& server : {g->roles.secondary_server, g->roles.primary_server}) {
      const bool secondary_side = server == ref.secondary_server();
      ids.push_back({ref.subscription_id(),
                     secondary_side && !ref.secondary_resource_group().empty()
                         ? ref.secondary_resource_group()
                         : ref.resource_group(),
                     server, ref.name()});
    }
  }
  std::weak_ptr<bool> alive = alive_;
  common::WorkerPool& pool = deps_.read_workers != nullptr ? *deps_.read_workers : deps_.workers;
  bool submitted = pool.Submit([this, alive, group_id, ids] {
    if (alive.expired()) return;
    std::optional<decision::Roles> roles;
    absl::Status last_error;
    for (const arm::FailoverGroupId& id : ids) {
      absl::StatusOr<arm::FailoverGroup> fg = deps_.arm.Get(id);
      if (!fg.ok()) {
        last_error = fg.status();
        continue;
      }
      std::string partner;
      if (!fg->partner_servers.empty()) {
        const std::string& pid = fg->partner_servers.front().id;
        partner = pid.substr(pid.find_last_of('/') + 1);
      }
      if (fg->replication_role == arm::ReplicationRole::kPrimary) {
        roles = decision::Roles{id.server, partner};
      } else if (fg->replication_role == arm::ReplicationRole::kSecondary) {
        roles = decision::Roles{partner, id.server};
      }
      if (roles) break;
    }
    absl::MutexLock lock(&mu_);
    GroupState* g = Find(group_id);
    if (g == nullptr) return;
    g->refresh_running = false;
    if (roles && !roles->primary_server.empty() && !roles->secondary_server.empty()) {
      if (roles->primary_server != g->roles.primary_server) {
        deps_.logger.Info("roles changed", {{"group", group_id},
                                            {"primary", roles->primary_server},
                                            {"secondary", roles->secondary_server}});
      }
      g->roles = *roles;
      g->roles_from_arm = true;
    } else if (!last_error.ok()) {
      deps_.logger.Warn("cannot read roles from ARM",
                        {{"group", group_id}, {"error", last_error.ToString()}});
    }
    // Up to two reads per group per refresh, spread to stay within the read budget.
    const absl::Duration budgeted = absl::Seconds(2.0 * static_cast<double>(groups_.size()) /
                                                  options_.role_refresh_reads_per_second);
    ScheduleRoleRefresh(*g, std::max(options_.role_refresh_interval, budgeted));
    Evaluate(*g);
  });
  if (!submitted) {
    absl::MutexLock lock(&mu_);
    if (GroupState* g = Find(group_id)) g->refresh_running = false;
  }
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
  s.paused_until = std::max(g.paused_until, global_paused_until_);
  for (const auto& p : g.runbook.probes()) {
    if (auto st = deps_.scheduler.Status(probes::ProbeScheduler::ProbeId(g.id, p.name()))) {
      s.probes.push_back(std::move(*st));
    }
  }
  s.pause_reason = g.paused_until >= global_paused_until_ ? g.pause_reason : global_pause_reason_;
  return s;
}

std::vector<GroupSnapshot> Agent::Groups() {
  absl::MutexLock lock(&mu_);
  std::vector<GroupSnapshot> out;
  for (const auto& [id, g] : groups_) out.push_back(SnapshotOf(*g));
  return out;
}

absl::StatusOr<GroupSnapshot> Agent::Group(const std::string& group_id) {
  absl::MutexLock lock(&mu_);
  GroupState* g = Find(group_id);
  if (g == nullptr) return absl::NotFoundError(absl::StrCat("no failover group ", group_id));
  return SnapshotOf(*g);
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
  {
    absl::MutexLock lock(&mu_);
    GroupState* g = Find(request.group_id);
    if (g == nullptr) {
      return absl::NotFoundError(absl::StrCat("no failover group ", request.group_id));
    }
    const absl::Time now = deps_.clock.Now();
    decision::GroupView view = BuildView(*g);
    resp.decision = decision::Decide(view, g->policy, now);
    if (g->in_flight) {
      return absl::AbortedError(
          absl::StrCat("operation ", g->in_flight_op, " is in flight for ", g->id));
    }
    v1::FailoverKind kind = request.kind;
    if (kind == v1::FAILOVER_KIND_AUTO || kind == v1::FAILOVER_KIND_UNSPECIFIED) {
      if (resp.decision.action == v1::FAILOVER_KIND_UNSPECIFIED) {
        return absl::FailedPreconditionError(absl::StrCat("the engine would not fail over ", g->id,
                                                          " now: ", resp.decision.summary));
      }
      kind = resp.decision.action;
    } else {
      // A human asked for a specific kind: the safety holds still apply.
      if (view.secondary.verdict != v1::VERDICT_HEALTHY) {
        return absl::FailedPreconditionError(absl::StrCat(
            "secondary ", g->roles.secondary_server, " of ", g->id, " is not healthy (",
            v1::Verdict_Name(view.secondary.verdict), "): refusing to fail over to it"));
      }
      if (g->policy.approval_mode == v1::APPROVAL_MODE_OBSERVE_ONLY) {
        return absl::FailedPreconditionError(
            absl::StrCat(g->id, " is observe-only: foghorn takes no action on it"));
      }
    }
    resp.kind = kind;
    if (request.dry_run) return resp;
    op.group_id = g->id;
    op.kind = executor::OperationKindName(ToArmKind(kind));
    op.target_server = g->roles.secondary_server;
    op.requested_by = request.requested_by;
    op.reason = request.reason;
    op.request_id = request.request_id;
    // Reserve the group before journaling so a concurrent request sees it busy.
    g->in_flight = decision::OperationInFlight{kind, now};
    g->in_flight_op = "(starting)";
  }
  absl::StatusOr<journal::Journal::Created> created = deps_.journal.CreateOperation(op);
  absl::MutexLock lock(&mu_);
  GroupState* g = Find(request.group_id);
  if (!created.ok() || g == nullptr) {
    if (g != nullptr) {
      g->in_flight.reset();
      g->in_flight_op.clear();
    }
    return created.ok() ? absl::NotFoundError("group removed") : created.status();
  }
  resp.operation = created->operation;
  resp.created = created->created;
  deps_.journal
      .Audit({0, absl::InfinitePast(), request.requested_by, "RequestFailover", g->id,
              absl::StrCat(op.kind, ": ", request.reason), "operation " + resp.operation.id})
      .IgnoreError();
  LaunchOperation(*g, resp.operation, /*journaled=*/true);
  return resp;
}

absl::Status Agent::Pause(const std::string& group_id, absl::Time until, const std::string& reason,
                          const std::string& who) {
  {
    absl::MutexLock lock(&mu_);
    if (group_id.empty()) {
      global_paused_until_ = until;
      global_pause_reason_ = reason;
      for (auto& [id, g] : groups_) ScheduleEvaluation(*g, deps_.clock.Now());
    } else {
      GroupState* g = Find(group_id);
      if (g == nullptr) return absl::NotFoundError(absl::StrCat("no failover group ", group_id));
      g->paused_until = until;
      g->pause_reason = reason;
      ScheduleEvaluation(*g, deps_.clock.Now());
    }
  }
  return deps_.journal.Audit({0, absl::InfinitePast(), who, "Pause",
                              group_id.empty() ? "*" : group_id,
                              absl::StrCat(reason, " until ", absl::FormatTime(until)), "ok"});
}

absl::Status Agent::Resume(const std::string& group_id, const std::string& who) {
  return Pause(group_id, absl::InfinitePast(), "resumed by " + who, who);
}

absl::Status Agent::CancelOperation(const std::string& operation_id, const std::string& who,
                                    const std::string& why) {
  ASSIGN_OR_RETURN(journal::OperationRecord op, deps_.journal.GetOperation(operation_id));
  if (journal::IsFinished(op.state)) {
    return absl::NotFoundError(absl::StrCat("operation ", operation_id, " already ",
                                            journal::OperationStateName(op.state)));
  }
  ASSIGN_OR_RETURN(std::vector<journal::StepRecord> steps, deps_.journal.Steps(operation_id));
  for (const auto& step : steps) {
    if (step.name.rfind("arm:", 0) == 0) {
      return absl::FailedPreconditionError(absl::StrCat("operation ", operation_id,
                                                        " has begun its ARM failover (", step.name,
                                                        "); it cannot be cancelled safely"));
    }
  }
  {
    absl::MutexLock lock(&mu_);
    GroupState* g = Find(op.group_id);
    if (g == nullptr || g->in_flight_op != operation_id || !g->cancel_requested) {
      return absl::FailedPreconditionError(
          absl::StrCat("operation ", operation_id, " is not running in this agent"));
    }
    g->cancel_requested->store(true);
  }
  return deps_.journal.Audit(
      {0, absl::InfinitePast(), who, "CancelOperation", operation_id, why, "requested"});
}

absl::Status Agent::Approve(const std::string& group_id, bool approve, bool allow_over_budget,
                            const std::string& who, const std::string& why) {
  {
    absl::MutexLock lock(&mu_);
    GroupState* g = Find(group_id);
    if (g == nullptr) return absl::NotFoundError(absl::StrCat("no failover group ", group_id));
    if (!g->last_decision || g->last_decision->stage != decision::Stage::kWaitApproval) {
      return absl::FailedPreconditionError(absl::StrCat(group_id, " is not waiting for approval"));
    }
    const absl::Time now = deps_.clock.Now();
    if (approve) {
      g->approval = decision::Approval{g->last_decision->intended, now,
                                       now + g->policy.approval_ttl, allow_over_budget};
    } else {
      g->approval.reset();
    }
    ScheduleEvaluation(*g, now);
  }
  return deps_.journal.Audit(
      {0, absl::InfinitePast(), who, approve ? "Approve" : "Reject", group_id, why, "ok"});
}

}  // namespace foghorn::agent
