// The operation runner: carries out one failover as the runbook's ordered steps, journaling each
// step's intent before and its outcome after: pre steps (hooks may veto), the ARM action through
// the idempotent ARM client, verification (the target holds the primary role), post steps.
// It also resumes an operation a crashed agent left unfinished, skipping steps already done and
// re-reading ARM before anything else, so a failover already carried out is recorded as done and
// never sent again. The agent calls it on a worker thread (calls block).
#ifndef FOGHORN_ORCHESTRATOR_EXECUTOR_OPERATION_RUNNER_H_
#define FOGHORN_ORCHESTRATOR_EXECUTOR_OPERATION_RUNNER_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "foghorn/v1/runbook.pb.h"
#include "orchestrator/arm/arm_client.h"
#include "orchestrator/common/clock.h"
#include "orchestrator/common/log.h"
#include "orchestrator/common/metrics.h"
#include "orchestrator/executor/notifier.h"
#include "orchestrator/journal/journal.h"

namespace foghorn::executor {

// The ARM side of a failover; ArmClient in production (ArmClientActuator), a fake in tests.
class FailoverActuator {
 public:
  virtual ~FailoverActuator() = default;
  virtual absl::StatusOr<arm::FailoverResult> Failover(const arm::FailoverRequest& request) = 0;
  // Reads the group (for verification after a restart).
  virtual absl::StatusOr<arm::FailoverGroup> Get(const arm::FailoverGroupId& id) = 0;
};

class ArmClientActuator final : public FailoverActuator {
 public:
  explicit ArmClientActuator(arm::ArmClient& client) : client_(client) {}
  absl::StatusOr<arm::FailoverResult> Failover(const arm::FailoverRequest& request) override {
    return client_.Failover(request);
  }
  absl::StatusOr<arm::FailoverGroup> Get(const arm::FailoverGroupId& id) override {
    return client_.Get(id);
  }

 private:
  arm::ArmClient& client_;
};

// Runs the non-ARM steps of a runbook (notify, exec, wait, approval gate, probe assertion).
// Implementations return OK when the step passed, FAILED_PRECONDITION when it vetoed (exec hook
// exited non-zero, probe assertion not met), DEADLINE_EXCEEDED on timeout, other codes when it
// could not run.
class StepRunner {
 public:
  virtual ~StepRunner() = default;
  virtual absl::Status Run(const v1::Step& step, const journal::OperationRecord& op) = 0;
  // OK when this runner can carry out `step`'s kind; UNIMPLEMENTED (saying what is missing)
  // otherwise. Runbooks are checked with it when they are loaded, so a step kind the agent cannot
  // run is refused then, not when a failover needs it. Default: every kind.
  virtual absl::Status CanRun(const v1::Step& step) const {
    (void)step;
    return absl::OkStatus();
  }
};

// Cancellation and the start of the ARM step, decided under one lock, so a cancel is never
// acknowledged for an operation whose failover POST goes out afterwards: once Cancel() has
// returned OK, BeginArmStep() returns false forever; once BeginArmStep() has returned true,
// Cancel() returns FAILED_PRECONDITION. Thread-safe; shared by the agent and the runner.
class CancelGate {
 public:
  // OK when the ARM step has not begun (it never will now); FAILED_PRECONDITION once it has.
  absl::Status Cancel() ABSL_LOCKS_EXCLUDED(mu_);
  bool cancel_requested() const ABSL_LOCKS_EXCLUDED(mu_);
  // Called by the runner right before the ARM step (and on resume when the journal shows it
  // began). Returns false, and the ARM step must not begin, when a cancel came first.
  bool BeginArmStep() ABSL_LOCKS_EXCLUDED(mu_);
  bool arm_begun() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  mutable absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool arm_begun_ ABSL_GUARDED_BY(mu_) = false;
};

// What to carry out: built by the agent from the runbook and the group's roles.
struct FailoverPlan {
  std::string group_id;
  // The group as seen from the server that must become primary.
  arm::FailoverGroupId target;
  arm::FailoverKind kind = arm::FailoverKind::kPlanned;
  std::vector<v1::Step> pre_steps;
  std::vector<v1::Step> post_steps;
  // Optional: after ARM shows the target primary, waits until the listener probes see the new
  // primary healthy (OK) or gives up (an error fails the operation's verification). Journaled as
  // step "verify:listeners".
  std::function<absl::Status()> verify_listeners;
  // Optional: consulted before each pre step and, through BeginArmStep(), right before the ARM
  // step; a cancel requested by then ends the operation as cancelled. Never consulted once the
  // ARM step has begun (from then on the failover may be in ARM's hands, and stopping would leave
  // the group in an unknown state).
  std::shared_ptr<CancelGate> cancel_gate;
  // Optional (coordinated agents): called right before the ARM step, blocking, with whether the
  // ARM step had begun before (a resumed operation); the step runs only when it returns OK. Before
  // a first POST a refusal ends the operation as aborted ("not sent to ARM: ..."); a resumed
  // operation refused with ABORTED (another agent carries it on, or carried it on) ends as
  // aborted too ("not resumed here: ..."); one refused otherwise (this agent does not lead yet,
  // another term, etcd unreachable) is left unfinished and resumed once this agent leads.
  std::function<absl::Status(const journal::OperationRecord&, bool resumed)> fence;
};

// Journal kind names: "planned", "forced", "try_planned_before_forced".
std::string OperationKindName(arm::FailoverKind kind);
absl::StatusOr<arm::FailoverKind> ParseOperationKind(const std::string& name);

// Encodes/decodes the operation URLs stored in OperationRecord::arm_operation_url.
std::string EncodeOperationRef(const arm::OperationRef& ref);
arm::OperationRef DecodeOperationRef(const std::string& text);

class OperationRunner {
 public:
  // All references must outlive the runner. Thread-safe if its collaborators are; one operation
  // per group at a time is the caller's rule.
  OperationRunner(journal::Journal& journal, FailoverActuator& actuator, StepRunner& steps,
                  Notifier& notifier, common::Logger logger, common::MetricsRegistry& metrics);

  // Runs (or resumes) `op` to a finished state and returns that state's record. Steps whose
  // journaled outcome is "done" are skipped, so calling Run again after a crash continues where
  // the journal says the operation stopped. Returns an error only when the journal itself fails
  // (then nothing further was attempted), or CANCELLED when a step was interrupted because the
  // agent is stopping (an approval gate or a probe assertion still waiting): the operation then
  // stays unfinished in the journal, and the next start resumes it and runs that step again. A
  // cancel (CancelGate) that arrives while a pre step runs ends the operation as cancelled.
  absl::StatusOr<journal::OperationRecord> Run(const journal::OperationRecord& op,
                                               const FailoverPlan& plan);

  // Whether the step runner can carry out `step` (StepRunner::CanRun).
  absl::Status CanRun(const v1::Step& step) const { return steps_.CanRun(step); }

  // Called after each step's intent and outcome are journaled, with the step's operation (for
  // live progress). Set before the first Run; called on the running thread; must not block.
  using StepObserver =
      std::function<void(const journal::OperationRecord&, const journal::StepRecord&)>;
  void SetStepObserver(StepObserver observer) { step_observer_ = std::move(observer); }
  // Called after an operation's end is journaled (Run's, and EndOperation's), with the record
  // as it ended. Set before the first Run; called on the running thread; must not block.
  using OperationObserver = std::function<void(const journal::OperationRecord&)>;
  void SetOperationObserver(OperationObserver observer) {
    operation_observer_ = std::move(observer);
  }

  // --- The step machinery, shared by every operation kind (failovers above, drills in
  // orchestrator/drill). One operation's steps are written by one thread at a time.

  // A body's answer: the outcome's detail (OK), or why the step failed.
  using StepBody = std::function<absl::StatusOr<std::string>()>;

  // Runs one journaled step of `op`: the intent (`name`, `intent`) is journaled before `body`
  // runs and its outcome (done with the body's detail, or failed with its status) after, and the
  // step observer is told both times. Returns the body's status; a journal error instead when a
  // write failed (its message starts with "journal:"; when the intent could not be written the
  // body did not run).
  absl::Status RunJournaledStep(const journal::OperationRecord& op, const std::string& name,
                                const std::string& intent, const StepBody& body);

  // Finishes a step a stopped run left open (its intent journaled, its outcome not): `body` finds
  // out what became of it (re-reading, never redoing blindly), and its answer is journaled as that
  // step's outcome and told to the step observer. FAILED_PRECONDITION when `open` is not in
  // state kIntent; otherwise as RunJournaledStep.
  absl::Status ResumeJournaledStep(const journal::OperationRecord& op,
                                   const journal::StepRecord& open, const StepBody& body);

  // The ARM failover of one step of `op`, through the idempotent client (arm_client.h): when
  // op.arm_operation_url is set (a POST accepted before a restart) that operation is polled to its
  // end and nothing is posted; otherwise the target is read first and a POST goes out only while
  // it is not primary. The URL of an accepted POST is journaled (SetArmOperationUrl) before it is
  // polled, so a restart from then on follows it. `client_request_id` is sent with every request.
  // Returns the client's answer, or the journal's error when the URL could not be journaled.
  absl::StatusOr<arm::FailoverResult> ArmFailover(const journal::OperationRecord& op,
                                                  const arm::FailoverGroupId& target,
                                                  arm::FailoverKind kind,
                                                  const std::string& client_request_id);

  // Journals the end of `op` (state, outcome), tells the operation observer and returns the
  // record as journaled. No notification and no metric: Run's own end adds those for failovers.
  // Errors as Journal::UpdateOperation.
  absl::StatusOr<journal::OperationRecord> EndOperation(const journal::OperationRecord& op,
                                                        journal::OperationState state,
                                                        const std::string& outcome);

 private:
  // Runs one journaled step unless already done; `body` performs the side effect.
  absl::Status JournaledStep(const journal::OperationRecord& op,
                             const std::vector<journal::StepRecord>& done_before,
                             const std::string& name, const std::string& detail,
                             const StepBody& body, bool* skipped);
  // Journals `step`'s outcome from `result` and tells the observer.
  absl::Status EndJournaledStep(const journal::OperationRecord& op, journal::StepRecord step,
                                const absl::StatusOr<std::string>& result);
  absl::Status RunStepWithRetries(const v1::Step& step, const journal::OperationRecord& op);
  absl::StatusOr<journal::OperationRecord> Finish(const journal::OperationRecord& op,
                                                  journal::OperationState state,
                                                  const std::string& outcome);

  journal::Journal& journal_;
  FailoverActuator& actuator_;
  StepRunner& steps_;
  Notifier& notifier_;
  common::Logger logger_;
  common::MetricsRegistry& metrics_;
  StepObserver step_observer_;
  OperationObserver operation_observer_;
};

}  // namespace foghorn::executor

#endif  // FOGHORN_ORCHESTRATOR_EXECUTOR_OPERATION_RUNNER_H_
