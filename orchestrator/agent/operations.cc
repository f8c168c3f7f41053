// Agent's operations: the plan of a group's failover (PlanFor), launching it on the worker pool
// (LaunchOperation) and taking its outcome in on the loop (OnOperationDone), and, after a
// restart, deciding whether an operation whose ARM step had not begun is still wanted
// (DecideResume) or is abandoned (Abandon).
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "orchestrator/agent/agent.h"
#include "orchestrator/agent/agent_internal.h"
#include "orchestrator/agent/control_keys.h"
#include "orchestrator/agent/group_state.h"
#include "orchestrator/common/durations.h"

namespace foghorn::agent {

namespace {

// The ARM error code an operation's outcome carries, e.g. PlannedFailoverTimedOut.
std::string ErrorCodeOf(const std::string& outcome) {
  for (const char* code : {"PlannedFailoverTimedOut", "FailoverGroupBusy", "OperationTimedOut",
                           "FailoverGroupFailoverRequestOnPrimary"}) {
    if (outcome.find(code) != std::string::npos) return code;
  }
  return "OperationFailed";
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
                            const SharedIntent* takeover) {
  auto kind = executor::ParseOperationKind(op.kind);
  g.in_flight = decision::OperationInFlight{
      kind.ok() ? FromArmKind(*kind) : v1::FAILOVER_KIND_PLANNED, deps_.clock.Now()};
  g.in_flight_op = journaled ? op.id : "(starting)";
  executor::FailoverPlan plan = PlanFor(g, op);
  if (takeover != nullptr) plan.pre_steps.clear();  // they ran on the agent that wrote the intent
  std::optional<SharedIntent> carried;
  if (takeover != nullptr) carried = *takeover;
  if (!g.cancel_gate) g.cancel_gate = std::make_shared<executor::CancelGate>();
  plan.cancel_gate = g.cancel_gate;
  // Whether this run's fence wrote the operation's intent (then its end is recorded there too,
  // whatever became of the operation: a cancel that raced the fence included).
  auto fenced = std::make_shared<std::atomic<bool>>(false);
  if (deps_.coordination != nullptr) {
    deps_.coordination->SetBusy(g.id, true);
    Coordination* coordination = deps_.coordination;
    plan.fence = [coordination, fenced](const journal::OperationRecord& record, bool resumed) {
      absl::Status s = coordination->FenceBeforeArm(record, resumed);
      if (s.ok()) *fenced = true;
      return s;
    };
  }
  std::weak_ptr<bool> alive = alive_;
  std::string group_id = g.id;
  const bool automatic_new = !journaled && takeover == nullptr && IsAutomatic(op);
  // The gate is visible to the runbook steps before the worker can reach one.
  Publish(g);
  bool submitted = deps_.workers.Submit([this, alive, group_id, op = std::move(op), journaled,
                                         fenced, carried, automatic_new,
                                         plan = std::move(plan)]() mutable {
    if (alive.expired()) return;
    absl::StatusOr<journal::OperationRecord> result = op;
    bool created_here = false;
    if (automatic_new) {
      // An operation of this outage abandoned at a restart (never sent), or cancelled, does
      // not stand for this fresh decision: the new one gets its own request id.
      // "<base>/after-<id of the last such operation>": the id stays short, and every earlier
      // one is distinct (operation ids are unique), so this ends; past 64 the time decides.
      const std::string base = op.request_id;
      bool settled = false;
      for (int i = 0; i < 64 && !settled; ++i) {
        auto prior = deps_.journal.FindByRequestId(op.request_id);
        if (!prior.ok() || !prior->has_value() ||
            (!NeverReachedArm(**prior) && (*prior)->state != journal::OperationState::kCancelled)) {
          settled = true;
        } else {
          op.request_id = absl::StrCat(base, "/after-", (*prior)->id);
        }
      }
      if (!settled) {
        op.request_id = absl::StrCat(base, "/at-", absl::ToUnixMicros(deps_.clock.WallNow()));
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
    if (carried && !created_here && result.ok() && journal::IsFinished(result->state) &&
        !fenced->load()) {
      // The carried-on request already ran on this agent (its journal knew the request id): not
      // run twice; the other agent's intent is marked finished so nothing waits behind it.
      journal::OperationRecord ended = *result;
      ended.id = carried->operation_id;
      ended.outcome = absl::StrCat("not carried on: request ", result->request_id,
                                   " already ran on this agent as operation ", result->id, " (",
                                   journal::OperationStateName(result->state), ")");
      absl::Status s = deps_.coordination->FinishIntent(ended, carried->agent);
      if (!s.ok()) {
        deps_.logger.Warn("cannot mark a carried-on intent finished",
                          {{"operation", carried->operation_id}, {"error", s.ToString()}});
      }
    }
    if (deps_.coordination != nullptr && result.ok() && journal::IsFinished(result->state) &&
        fenced->load()) {
      // The intent written by the fence says the operation ended, so a later leader does not
      // carry it on. Fenced: refused when another agent leads the group now (it takes over).
      // A few tries: an intent left unfinished would be carried on by the next leader.
      absl::Status s;
      for (int attempt = 0; attempt < 3; ++attempt) {
        s = deps_.coordination->FinishIntent(*result);
        if (s.ok() || s.code() == absl::StatusCode::kFailedPrecondition) break;
      }
      if (!s.ok()) {
        deps_.logger.Error("cannot mark the operation's intent finished",
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
      g->primary_down_observed_at = absl::InfinitePast();
      g->outage_began = absl::InfinitePast();
      g->outage_id_us = 0;
      g->cancel_hold.clear();
      MarkDirty(GroupKey(group_id));
    }
    if ((completed || arm_failed || op->state == journal::OperationState::kSucceeded) &&
        g->approval && (g->approval->kind == kind || completed)) {
      // An approval covers one attempt of its kind: used once ARM was asked, whatever it
      // answered.
      g->approval.reset();
      MarkShared(kApprovalKeyPrefix + group_id);
      MarkDirty(GroupKey(group_id));
    }
    if (op->state != journal::OperationState::kSucceeded) {
      // Not retried automatically within the same outage (see Evaluate).
      // A cancelled one is the person's to decide: after their resume the engine may decide it
      // afresh (new request id, see Evaluate); the cancel hold stops it until then.
      if (IsAutomatic(*op) && op->state != journal::OperationState::kCancelled &&
          !NeverReachedArm(*op)) {
        g->finished_auto_requests.insert(BaseRequestId(op->request_id));
      }
      if (NeverReachedArm(*op) && deps_.coordination != nullptr) {
        // Refused by the fence (leadership moved, or etcd did not answer): no attempt; decided
        // afresh, not at once (the coordinator's view catches up meanwhile).
        g->fence_retry_at = now + absl::Seconds(2);
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

}  // namespace foghorn::agent
