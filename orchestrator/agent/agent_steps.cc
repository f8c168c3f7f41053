#include "orchestrator/agent/agent_steps.h"

#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "orchestrator/agent/agent.h"
#include "orchestrator/common/durations.h"
#include "probes/probe_scheduler.h"

namespace foghorn::agent {
namespace {

// The loader fills step timeouts; these are its defaults for hand-built runbooks.
constexpr absl::Duration kApprovalStepTimeout = absl::Hours(1);
constexpr absl::Duration kStepTimeout = absl::Minutes(5);

absl::Duration TimeoutOf(const v1::Step& step) {
  if (step.has_timeout()) return common::FromProtoDuration(step.timeout());
  return step.has_approval() ? kApprovalStepTimeout : kStepTimeout;
}

v1::Verdict VerdictOf(probes::ProbeState state) {
  switch (state) {
    case probes::ProbeState::kHealthy:
      return v1::VERDICT_HEALTHY;
    case probes::ProbeState::kUnhealthy:
      return v1::VERDICT_UNHEALTHY;
    case probes::ProbeState::kUnknown:
      break;
  }
  return v1::VERDICT_UNKNOWN;
}

}  // namespace

absl::Status CheckRunbookSteps(const v1::Runbook& runbook,
                               const std::function<absl::Status(const v1::Step&)>& can_run) {
  const std::string group = GroupId(runbook.group());
  std::map<std::string, v1::ProbeTarget> probes;
  for (const v1::ProbeSpec& p : runbook.probes()) probes[p.name()] = p.target();
  for (const bool pre : {true, false}) {
    const auto& steps = pre ? runbook.pre_steps() : runbook.post_steps();
    for (int i = 0; i < steps.size(); ++i) {
      const v1::Step& step = steps[i];
      auto refuse = [&](absl::string_view why) {
        return absl::InvalidArgumentError(absl::StrCat(
            group, ": ", pre ? "pre_steps" : "post_steps", "[", i, "] (", step.name(), "): ", why));
      };
      if (absl::Status s = can_run(step); !s.ok()) {
        return refuse(absl::StrCat("this agent cannot run it: ", s.message()));
      }
      if (step.has_probe_assert()) {
        const v1::ProbeAssertStep& a = step.probe_assert();
        auto it = probes.find(a.probe());
        if (it == probes.end()) {
          return refuse(
              absl::StrCat("probe_assert names no probe of this runbook (\"", a.probe(), "\")"));
        }
        if (it->second == v1::PROBE_TARGET_UNSPECIFIED) {
          return refuse(absl::StrCat("probe ", a.probe(), " has no target"));
        }
        if (a.expect() != v1::VERDICT_HEALTHY && a.expect() != v1::VERDICT_UNHEALTHY) {
          return refuse("probe_assert.expect must be healthy or unhealthy");
        }
      }
      if (pre && step.has_approval() && step.on_failure() == v1::ON_FAILURE_CONTINUE) {
        return refuse(
            "an approval step with on_failure: continue would let the failover through when a "
            "person rejects it or nobody answers; use abort");
      }
    }
  }
  return absl::OkStatus();
}

executor::SystemStepRunner::Hooks AgentStepHooks(Agent* const* agent) {
  executor::SystemStepRunner::Hooks hooks;
  hooks.approval = [agent](const v1::Step& step,
                           const journal::OperationRecord& op) -> absl::Status {
    if (*agent == nullptr) return absl::UnavailableError("the agent is not running yet");
    return (*agent)->WaitForStepApproval(step, op);
  };
  hooks.probe_assert = [agent](const v1::Step& step,
                               const journal::OperationRecord& op) -> absl::Status {
    if (*agent == nullptr) return absl::UnavailableError("the agent is not running yet");
    return (*agent)->AssertProbe(step, op);
  };
  return hooks;
}

// ---------------------------------------------------------------------------------------------
// Agent: the steps themselves. They run on the operation's worker thread.

absl::Status Agent::WaitForStepApproval(const v1::Step& step, const journal::OperationRecord& op) {
  const absl::Duration timeout = TimeoutOf(step);
  const std::string& message = step.approval().message();
  executor::Notification n;
  n.event = "step_needs_approval";
  n.group_id = op.group_id;
  n.operation_id = op.id;
  n.summary =
      absl::StrCat(op.kind, " failover of ", op.group_id, " to ", op.target_server,
                   " waits for approval at step ", step.name(), message.empty() ? "" : ": ",
                   message, " (approve or reject within ", absl::FormatDuration(timeout), ")");
  n.dedup_key = absl::StrCat(op.id, "/", step.name(), "/approval");
  deps_.notifier.Notify(std::move(n));
  deps_.logger.Warn("waiting for approval", {{"group", op.group_id},
                                             {"operation", op.id},
                                             {"step", step.name()},
                                             {"timeout", absl::FormatDuration(timeout)}});
  absl::Status s = step_gates_.AwaitApproval(
      {op.group_id, op.id, step.name(), message, absl::InfinitePast(), absl::InfiniteFuture()},
      timeout, CancelledCheck(op.group_id));
  if (s.code() == absl::StatusCode::kDeadlineExceeded) {
    return absl::DeadlineExceededError(absl::StrCat("approval step ", step.name(), " of ", op.id,
                                                    ": nobody answered within ",
                                                    absl::FormatDuration(timeout)));
  }
  if (!s.ok()) {
    return absl::Status(
        s.code(), absl::StrCat("approval step ", step.name(), " of ", op.id, ": ", s.message()));
  }
  return s;
}

absl::Status Agent::AssertProbe(const v1::Step& step, const journal::OperationRecord& op) {
  const v1::ProbeAssertStep& a = step.probe_assert();
  const std::string probe_id = probes::ProbeScheduler::ProbeId(op.group_id, a.probe());
  const absl::Duration timeout = TimeoutOf(step);
  auto seen = [this, &probe_id] {
    std::optional<probes::ProbeState> state = deps_.tracker.ProbeStateOf(probe_id);
    return state ? VerdictOf(*state) : v1::VERDICT_UNKNOWN;
  };
  absl::Status s =
      step_gates_.AwaitCondition([&] { return seen() == a.expect(); }, deps_.clock.Now() + timeout,
                                 CancelledCheck(op.group_id));
  if (s.code() == absl::StatusCode::kDeadlineExceeded) {
    // Not met: an answer (a veto before the failover), not a failure to get one.
    return absl::FailedPreconditionError(absl::StrCat(
        "probe ", a.probe(), " of ", op.group_id, " is ", v1::Verdict_Name(seen()), ", expected ",
        v1::Verdict_Name(a.expect()), " (waited ", absl::FormatDuration(timeout), ")"));
  }
  return s;
}

absl::Status Agent::AnswerStepApproval(const std::string& group_id, bool approve,
                                       const std::string& who, const std::string& why) {
  std::optional<StepGates::PendingApproval> pending = step_gates_.Pending(group_id);
  absl::Status s = step_gates_.Answer(group_id, approve, who, why);
  absl::Status audited = deps_.journal.Audit(
      {0, absl::InfinitePast(), who, approve ? "ApproveStep" : "RejectStep", group_id,
       absl::StrCat(pending ? pending->operation_id + " " + pending->step : "", ": ", why),
       s.ok() ? "ok" : s.ToString()});
  if (!audited.ok()) {
    deps_.logger.Error("cannot write the audit trail", {{"error", audited.ToString()}});
  }
  return s;
}

}  // namespace foghorn::agent
