#include "orchestrator/executor/operation_runner.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "orchestrator/common/status_macros.h"
#include "orchestrator/common/text.h"

namespace foghorn::executor {
namespace {

constexpr char kLocationPrefix[] = "location:";

bool StepDone(const std::vector<journal::StepRecord>& steps, const std::string& name) {
  for (const auto& s : steps) {
    if (s.name == name && s.state == journal::StepState::kDone) return true;
  }
  return false;
}

Notification OperationNotification(const journal::OperationRecord& op, const std::string& what,
                                   std::string summary) {
  Notification n;
  n.event = "operation_" + what;
  n.group_id = op.group_id;
  n.operation_id = op.id;
  n.summary = std::move(summary);
  n.dedup_key = op.id + "/" + what;
  return n;
}

}  // namespace

absl::Status CancelGate::Cancel() {
  absl::MutexLock lock(&mu_);
  if (arm_begun_) {
    return absl::FailedPreconditionError(
        "the ARM failover has begun; the operation cannot be cancelled safely");
  }
  cancelled_ = true;
  return absl::OkStatus();
}

bool CancelGate::cancel_requested() const {
  absl::MutexLock lock(&mu_);
  return cancelled_;
}

bool CancelGate::BeginArmStep() {
  absl::MutexLock lock(&mu_);
  if (cancelled_) return false;
  arm_begun_ = true;
  return true;
}

bool CancelGate::arm_begun() const {
  absl::MutexLock lock(&mu_);
  return arm_begun_;
}

std::string OperationKindName(arm::FailoverKind kind) {
  switch (kind) {
    case arm::FailoverKind::kPlanned:
      return "planned";
    case arm::FailoverKind::kForcedAllowDataLoss:
      return "forced";
    case arm::FailoverKind::kTryPlannedBeforeForced:
      return "try_planned_before_forced";
  }
  return "planned";
}

absl::StatusOr<arm::FailoverKind> ParseOperationKind(const std::string& name) {
  for (auto k : {arm::FailoverKind::kPlanned, arm::FailoverKind::kForcedAllowDataLoss,
                 arm::FailoverKind::kTryPlannedBeforeForced}) {
    if (OperationKindName(k) == name) return k;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown failover kind \"", name, "\""));
}

std::string EncodeOperationRef(const arm::OperationRef& ref) {
  if (!ref.async_operation_url.empty()) return ref.async_operation_url;
  if (!ref.location_url.empty()) return kLocationPrefix + ref.location_url;
  return "";
}

arm::OperationRef DecodeOperationRef(const std::string& text) {
  arm::OperationRef ref;
  if (absl::StartsWith(text, kLocationPrefix)) {
    ref.location_url = text.substr(sizeof(kLocationPrefix) - 1);
  } else {
    ref.async_operation_url = text;
  }
  return ref;
}

OperationRunner::OperationRunner(journal::Journal& journal, FailoverActuator& actuator,
                                 StepRunner& steps, Notifier& notifier, common::Logger logger,
                                 common::MetricsRegistry& metrics)
    : journal_(journal),
      actuator_(actuator),
      steps_(steps),
      notifier_(notifier),
      logger_(std::move(logger)),
      metrics_(metrics) {}

absl::Status OperationRunner::JournaledStep(const journal::OperationRecord& op,
                                            const std::vector<journal::StepRecord>& done_before,
                                            const std::string& name, const std::string& detail,
                                            const StepBody& body, bool* skipped) {
  *skipped = StepDone(done_before, name);
  if (*skipped) return absl::OkStatus();
  return RunJournaledStep(op, name, detail, body);
}

absl::Status OperationRunner::RunJournaledStep(const journal::OperationRecord& op,
                                               const std::string& name, const std::string& intent,
                                               const StepBody& body) {
  ASSIGN_OR_RETURN(journal::StepRecord step, journal_.BeginStep(op.id, name, intent));
  if (step_observer_) step_observer_(op, step);
  return EndJournaledStep(op, std::move(step), body());
}

absl::Status OperationRunner::ResumeJournaledStep(const journal::OperationRecord& op,
                                                  const journal::StepRecord& open,
                                                  const StepBody& body) {
  if (open.state != journal::StepState::kIntent) {
    return absl::FailedPreconditionError(
        absl::StrCat("step ", open.name, " of ", op.id, " is not open"));
  }
  return EndJournaledStep(op, open, body());
}

absl::Status OperationRunner::EndJournaledStep(const journal::OperationRecord& op,
                                               journal::StepRecord step,
                                               const absl::StatusOr<std::string>& result) {
  step.state = result.ok() ? journal::StepState::kDone : journal::StepState::kFailed;
  // Watch shows what GetOperation shows: the detail as the journal keeps it.
  step.detail = common::TruncateUtf8(result.ok() ? *result : result.status().ToString(),
                                     journal::kMaxStepDetailBytes);
  RETURN_IF_ERROR(journal_.EndStep(step.id, step.state, step.detail));
  if (step_observer_) step_observer_(op, step);
  return result.status();
}

absl::StatusOr<arm::FailoverResult> OperationRunner::ArmFailover(
    const journal::OperationRecord& op, const arm::FailoverGroupId& target, arm::FailoverKind kind,
    const std::string& client_request_id) {
  arm::FailoverRequest req;
  req.target = target;
  req.kind = kind;
  req.client_request_id = client_request_id;
  if (!op.arm_operation_url.empty()) {
    req.resume_operation = DecodeOperationRef(op.arm_operation_url);
  }
  absl::Status journal_error;
  req.on_accepted = [&](const arm::OperationRef& ref) {
    // Journaled before polling, so a crash from here on resumes by polling this URL.
    journal_error = journal_.SetArmOperationUrl(op.id, EncodeOperationRef(ref));
  };
  absl::StatusOr<arm::FailoverResult> result = actuator_.Failover(req);
  RETURN_IF_ERROR(journal_error);
  return result;
}

absl::StatusOr<journal::OperationRecord> OperationRunner::EndOperation(
    const journal::OperationRecord& op, journal::OperationState state, const std::string& outcome) {
  RETURN_IF_ERROR(journal_.UpdateOperation(op.id, state, outcome));
  absl::StatusOr<journal::OperationRecord> ended = journal_.GetOperation(op.id);
  if (ended.ok() && operation_observer_) operation_observer_(*ended);
  return ended;
}

absl::Status OperationRunner::RunStepWithRetries(const v1::Step& step,
                                                 const journal::OperationRecord& op) {
  absl::Status last;
  for (int attempt = 0; attempt <= std::max(0, step.retries()); ++attempt) {
    last = steps_.Run(step, op);
    // A veto is an answer, not a failure to get one: retrying would only ask again. An
    // interrupted step (CANCELLED) is not retried either.
    if (last.ok() || last.code() == absl::StatusCode::kFailedPrecondition ||
        last.code() == absl::StatusCode::kCancelled) {
      return last;
    }
  }
  return last;
}

absl::StatusOr<journal::OperationRecord> OperationRunner::Finish(const journal::OperationRecord& op,
                                                                 journal::OperationState state,
                                                                 const std::string& outcome) {
  ASSIGN_OR_RETURN(journal::OperationRecord ended, EndOperation(op, state, outcome));
  metrics_.IncrementCounter("foghorn_operations_total",
                            {{"kind", op.kind}, {"outcome", journal::OperationStateName(state)}});
  const std::string state_name = journal::OperationStateName(state);
  notifier_.Notify(OperationNotification(
      op, state_name, absl::StrCat(op.kind, " failover ", state_name, ": ", outcome)));
  logger_.Info(
      "operation finished",
      {{"operation", op.id}, {"group", op.group_id}, {"state", state_name}, {"outcome", outcome}});
  return ended;
}

absl::StatusOr<journal::OperationRecord> OperationRunner::Run(const journal::OperationRecord& op_in,
                                                              const FailoverPlan& plan) {
  ASSIGN_OR_RETURN(journal::OperationRecord op, journal_.GetOperation(op_in.id));
  if (journal::IsFinished(op.state)) return op;
  // A caller may journal the operation as running already (one durable write fewer on the path
  // to the failover POST); a pending one is marked running here.
  if (op.state == journal::OperationState::kPending) {
    RETURN_IF_ERROR(journal_.UpdateOperation(op.id, journal::OperationState::kRunning, ""));
  }
  ASSIGN_OR_RETURN(std::vector<journal::StepRecord> done_before, journal_.Steps(op.id));
  if (done_before.empty()) {
    notifier_.Notify(
        OperationNotification(op, "started",
                              absl::StrCat(op.kind, " failover of ", op.group_id, " to ",
                                           plan.target.server, ": ", op.reason)));
  }
  const std::string arm_step = "arm:" + std::string(arm::FailoverKindName(plan.kind));
  // Once the ARM step has begun, pre-steps are history: a resumed operation never re-runs a
  // veto hook after the failover may already have been sent.
  bool arm_begun = false;
  for (const auto& s : done_before) arm_begun |= s.name == arm_step;
  if (arm_begun && plan.cancel_gate) plan.cancel_gate->BeginArmStep();

  bool skipped = false;
  auto cancelled = [&] {
    return !arm_begun && plan.cancel_gate && plan.cancel_gate->cancel_requested();
  };
  if (!arm_begun) {
    for (const v1::Step& step : plan.pre_steps) {
      if (cancelled()) {
        return Finish(op, journal::OperationState::kCancelled,
                      absl::StrCat("cancelled before pre step ", step.name()));
      }
      absl::Status s = JournaledStep(
          op, done_before, "pre:" + step.name(), "",
          [&]() -> absl::StatusOr<std::string> {
            RETURN_IF_ERROR(RunStepWithRetries(step, op));
            return std::string("ok");
          },
          &skipped);
      if (!s.ok() && !absl::StartsWith(s.message(), "journal:")) {
        // A cancel that arrived while the step ran (an approval gate or a probe assertion ends
        // its wait for it) ends the operation as cancelled, not as a veto.
        if (cancelled()) {
          return Finish(op, journal::OperationState::kCancelled,
                        absl::StrCat("cancelled during pre step ", step.name()));
        }
        // Interrupted because the agent is stopping: left unfinished, resumed at the next start.
        if (s.code() == absl::StatusCode::kCancelled) return s;
      }
      if (!s.ok() && step.on_failure() != v1::ON_FAILURE_CONTINUE) {
        if (absl::StartsWith(s.message(), "journal:")) return s;
        return Finish(
            op, journal::OperationState::kAborted,
            absl::StrCat("pre step ", step.name(), " stopped the failover: ", s.ToString()));
      }
    }
  }

  // Coordinated agents: only the group's leader, proven by one etcd transaction, reaches ARM.
  if (plan.fence) {
    absl::Status fenced = plan.fence(op, arm_begun);
    if (!fenced.ok()) {
      logger_.Warn("fence refused the ARM step",
                   {{"operation", op.id}, {"group", op.group_id}, {"error", fenced.ToString()}});
      if (arm_begun) {
        if (fenced.code() == absl::StatusCode::kAborted) {
          return Finish(op, journal::OperationState::kAborted,
                        absl::StrCat("not resumed here: ", fenced.message()));
        }
        return fenced;  // unfinished: resumed once etcd answers
      }
      return Finish(op, journal::OperationState::kAborted,
                    absl::StrCat("not sent to ARM: ", fenced.message()));
    }
  }
  // The cancel check and the start of the ARM step are one atomic decision (CancelGate): a
  // cancel acknowledged to a person can never be followed by a POST.
  if (!arm_begun && plan.cancel_gate && !plan.cancel_gate->BeginArmStep()) {
    return Finish(op, journal::OperationState::kCancelled, "cancelled before the ARM failover");
  }
  absl::StatusOr<arm::FailoverResult> result = absl::UnknownError("arm step not run");
  absl::Status arm_status = JournaledStep(
      op, done_before, arm_step, plan.target.server,
      [&]() -> absl::StatusOr<std::string> {
        result = ArmFailover(op, plan.target, plan.kind, op.id);
        if (!result.ok()) return result.status();
        return absl::StrCat(std::string(arm::FailoverOutcomeName(result->outcome)),
                            " posts_accepted=", result->posts_accepted);
      },
      &skipped);
  if (!arm_status.ok()) {
    if (absl::StartsWith(arm_status.message(), "journal:")) return arm_status;
    return Finish(op, journal::OperationState::kFailed,
                  absl::StrCat("ARM failover failed: ", arm_status.ToString()));
  }

  absl::Status verify = JournaledStep(
      op, done_before, "verify:roles", plan.target.server,
      [&]() -> absl::StatusOr<std::string> {
        arm::ReplicationRole role;
        if (result.ok()) {
          role = result->group.replication_role;
        } else {
          // The ARM step finished before a restart: read the group again, never re-post.
          ASSIGN_OR_RETURN(arm::FailoverGroup group, actuator_.Get(plan.target));
          role = group.replication_role;
        }
        if (role != arm::ReplicationRole::kPrimary) {
          return absl::FailedPreconditionError(
              absl::StrCat(plan.target.server, " is ", std::string(arm::ReplicationRoleName(role)),
                           " after the failover"));
        }
        return absl::StrCat(plan.target.server, " is Primary");
      },
      &skipped);
  if (verify.ok() && plan.verify_listeners) {
    verify = JournaledStep(
        op, done_before, "verify:listeners", "",
        [&]() -> absl::StatusOr<std::string> {
          RETURN_IF_ERROR(plan.verify_listeners());
          return std::string("read-write listener healthy");
        },
        &skipped);
  }
  if (!verify.ok()) {
    return Finish(op, journal::OperationState::kFailed, verify.ToString());
  }

  for (const v1::Step& step : plan.post_steps) {
    absl::Status s = JournaledStep(
        op, done_before, "post:" + step.name(), "",
        [&]() -> absl::StatusOr<std::string> {
          RETURN_IF_ERROR(RunStepWithRetries(step, op));
          return std::string("ok");
        },
        &skipped);
    if (!s.ok() && absl::StartsWith(s.message(), "journal:")) return s;
    // Interrupted because the agent is stopping: left unfinished, resumed at the next start.
    if (s.code() == absl::StatusCode::kCancelled) return s;
    // The failover happened: a failing post step is reported, it cannot undo anything.
    if (!s.ok()) {
      logger_.Warn("post step failed",
                   {{"operation", op.id}, {"step", step.name()}, {"error", s.ToString()}});
    }
  }
  return Finish(op, journal::OperationState::kSucceeded,
                absl::StrCat(plan.target.server, " is primary"));
}

}  // namespace foghorn::executor
