// Agent (agent.h): construction, Start/Stop, the loop helpers (OnLoop, Publish, Find), the
// verdict and coordination entry points, and evaluation (BuildView, Evaluate, EvaluateAndAct and
// the decision timers). The other parts of Agent live beside it:
//   group_registry.cc   SetRunbooks (adding, removing, reloading groups), snapshots for viewers
//   operations.cc       launching and finishing operations, resuming or abandoning them
//   role_refresher.cc   role reads from ARM and external failovers
//   control_surface.cc  RequestFailover, Pause/Resume, CancelOperation, Approve
//   control_state.cc    observed outage and lag, pauses in force, durable control state
//   events.cc           AgentEvent::kind and Emit
//   shared_state.cc     shared control state between coordinated agents, intent takeover
//   agent_steps.cc      the runbook steps only the agent can carry out
#include "orchestrator/agent/agent.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "orchestrator/agent/agent_internal.h"
#include "orchestrator/agent/control_keys.h"
#include "orchestrator/agent/group_state.h"
#include "orchestrator/common/status_macros.h"

namespace foghorn::agent {

namespace {

bool IsBad(v1::Verdict v) { return v == v1::VERDICT_UNHEALTHY || v == v1::VERDICT_IMPAIRED; }

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
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

Agent::Agent(Deps deps, Options options) : deps_(std::move(deps)), options_(options) {}

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
    // A group with an unfinished drill is held from the start, whatever the journal's pause
    // records say (a failed resume released the drill's pause before this restart): the drill
    // launcher resumes the drill and takes its pause again; until then nothing acts on it.
    for (const std::string& id : drill_groups) {
      GroupState* g = Find(id);
      if (g == nullptr || g->pauses.count(PauseOwner::kDrill) != 0) continue;
      g->pauses[PauseOwner::kDrill] = PauseEntry{
          absl::InfiniteFuture(), "an unfinished drill resumes after the restart", "agent"};
      dirty_.insert(PauseKey(PauseOwner::kDrill, id));
    }
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
    std::optional<double> lag;
    if (event.target == v1::PROBE_TARGET_PRIMARY) {
      // Published aged to now: the others take the publication time as the sample's time, so
      // an old sample re-published on a verdict change never looks fresh.
      if (auto sample = deps_.tracker.ReplicationLag(event.group)) {
        lag = sample->seconds +
              std::max(0.0, absl::ToDoubleSeconds(deps_.clock.Now() - sample->sampled_at));
      }
    }
    deps_.coordination->PublishVerdict(
        event.group, event.target, event.verdict,
        th && IsBad(th->verdict) ? th->failure_streak_start : absl::InfinitePast(), lag);
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
    // Control state, sessions and agents come with "": what other agents said applies first,
    // and shared keys not yet written are tried again now (etcd may be back).
    shared_retry_at_ = absl::InfinitePast();
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
  std::optional<decision::LagSample> shared_lag;
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
    shared_lag = facts.lag;
    v.coordination = std::move(facts.view);
  }
  v.vantage_impaired = deps_.tracker.impaired();
  v.last_lag = g.last_lag;
  if (auto lag = deps_.tracker.ReplicationLag(g.id)) {
    if (!v.last_lag || lag->sampled_at >= v.last_lag->sampled_at) {
      v.last_lag = decision::LagSample{absl::Seconds(lag->seconds), lag->sampled_at,
                                       LagSourceName(g.runbook, lag->probe_id)};
    }
  }
  // Another vantage's lag sample, when it is newer than this agent's own (the leader may be the
  // one agent whose lag probe cannot reach the metrics source).
  if (shared_lag && (!v.last_lag || shared_lag->sampled_at > v.last_lag->sampled_at)) {
    v.last_lag = shared_lag;
    if (v.last_lag->source.empty()) v.last_lag->source = kVantageLagSource;
  }
  if (v.last_lag && v.last_lag->source.empty()) v.last_lag->source = kLastKnownLagSource;
  v.secondary_not_ready =
      SecondaryNotReady(g, v.primary.verdict == v1::VERDICT_UNHEALTHY ? v.primary.unhealthy_since
                                                                      : absl::InfiniteFuture());
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

std::string Agent::SecondaryNotReady(const GroupState& g, absl::Time primary_down_since) const {
  if (g.roles.secondary_server.empty()) return "";
  const v1::FailoverGroupRef& ref = g.runbook.group();
  const v1::ProbeTarget target = g.roles.secondary_server == ref.secondary_server()
                                     ? v1::PROBE_TARGET_SECONDARY
                                     : v1::PROBE_TARGET_PRIMARY;
  for (const v1::ProbeSpec& p : g.runbook.probes()) {
    if (p.kind_case() != v1::ProbeSpec::kReplicationLink || p.target() != target) continue;
    const std::string id = probes::ProbeScheduler::ProbeId(g.id, p.name());
    if (deps_.tracker.ProbeStateOf(id) != probes::ProbeState::kUnhealthy) continue;
    // The probe's last failure names the link state ("not ready: SUSPENDED (link to ...)").
    std::string detail = "failing";
    absl::Time failing_since = absl::InfinitePast();
    if (std::optional<probes::ProbeStatus> st = deps_.scheduler.Status(id)) {
      failing_since = st->failure_streak_start;
      for (auto it = st->history.rbegin(); it != st->history.rend(); ++it) {
        if (it->outcome == probes::ProbeOutcome::kFailure) {
          detail = it->detail;
          break;
        }
      }
    }
    // A link that went SUSPENDED once the primary was down broke with the primary: expected in
    // a regional outage, and no reason to hold a forced failover (the data-loss estimate is the
    // guard). One suspended before the outage means a secondary left behind: it holds.
    // Known limit: the primary's down time is its slowest voter's first failure (or the
    // vantages' quorum), so a link probe faster than every primary voter can see the break first
    // and hold (docs/decision-policy.md).
    if (detail.find("SUSPENDED") != std::string::npos &&
        primary_down_since != absl::InfiniteFuture() && failing_since != absl::InfinitePast() &&
        failing_since >= primary_down_since) {
      continue;
    }
    return absl::StrCat("replication link (probe ", p.name(), ", database ",
                        p.replication_link().database(), ") ", detail);
  }
  return "";
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
    if (g.finished_auto_requests.count(BaseRequestId(settled)) != 0) {
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
    if (now < g.fence_retry_at) {
      ScheduleEvaluation(g, g.fence_retry_at);
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
