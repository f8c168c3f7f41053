// Agent's control surface: the calls the control API makes (RequestFailover, Pause, Resume,
// CancelOperation, Approve). They run on the caller's thread: journal reads and durable writes
// happen there, state changes are one OnLoop (RunAndWait) each (agent.h, threading contract).
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "orchestrator/agent/agent.h"
#include "orchestrator/agent/agent_internal.h"
#include "orchestrator/agent/control_keys.h"
#include "orchestrator/agent/group_state.h"
#include "orchestrator/agent/manual_request.h"
#include "orchestrator/common/status_macros.h"

namespace foghorn::agent {

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
  if (!durable.ok() && deps_.coordination != nullptr &&
      durable.code() == absl::StatusCode::kUnavailable) {
    // Journaled here, but etcd was not (fully) written. If the approval (or rejection) itself
    // reached etcd, the leader may act on it already: it stands, and the person is told so.
    bool landed = false;
    (void)OnLoop([&] {
      GroupState* g = Find(group_id);
      const std::string key = kApprovalKeyPrefix + group_id;
      auto seen = shared_seen_.find(key);
      const std::string mine = g != nullptr ? ApprovalJson(*g) : std::string();
      landed = g != nullptr && shared_dirty_.count(key) == 0 &&
               (mine.empty() ? seen == shared_seen_.end()
                             : seen != shared_seen_.end() && seen->second == mine);
    });
    if (landed) durable = absl::OkStatus();
  }
  if (!durable.ok()) {
    if (deps_.coordination != nullptr && durable.code() == absl::StatusCode::kUnavailable) {
      durable = absl::UnavailableError(
          absl::StrCat(approve ? "approval" : "rejection",
                       " not given: it could not be shared with the other agents through etcd (",
                       durable.message(), ")"));
    }
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

}  // namespace foghorn::agent
