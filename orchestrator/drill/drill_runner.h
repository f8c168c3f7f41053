// The DR drill runner: proves a failover group can fail over and back by doing it, from the
// runbook's `drill` section, and writes the report.
//
// A drill is an operation of kind "drill" on the same journaled executor as a failover
// (executor::OperationRunner): each stage below is one journaled step (intent before, outcome
// after, the executor's step observer told both times), and the ARM failovers go through the
// executor's idempotent ArmFailover. The stages, in order, with their abort rule (what happens
// when the stage fails, or the drill is interrupted while at it) are data (DrillStages()):
//
//   preflight        readiness checks                               end: aborted, nothing changed
//   failover         planned failover to the partner                fail back first, then end
//   verify_failover  roles swapped, rw listener, probes, check hook fail back first, then end
//   hold             the runbook's hold (a cancel ends it)          fail back first, then end
//   failback         planned failover to the original primary      fail back first, then end
//   verify_failback  the original roles are back                    end: failed
//   (then the report is written and the operation ends)
//
// "Fail back first" runs the journaled step abort_failback (planned, so no data is lost) and a
// role check, but only while ARM shows the partner primary: a failover that changed nothing has
// nothing to undo. failback and verify_failback run only when the runbook's drill fails back.
//
// A drill interrupted by an agent restart is resumed by Resume() (DrillLauncher::ResumeUnfinished
// at start-up): the journaled steps say where it stood (PlanResume); a step left open is finished
// by re-reading ARM (a journaled operation URL is polled, never re-posted; without one, an ARM
// step goes through the idempotent client, which reads the target first and posts nothing when it
// is primary, and is refused as busy while an earlier accepted POST runs), and the abort rule of
// the stage it stood at applies: before the failover it ends as aborted with no ARM call; after
// it, the group is failed back through the idempotent client and the drill ends failed, its report
// saying it was interrupted and recovered.
//
// A dry run runs the read-only checks and returns the plan; it writes no journal record and no
// report and sends no mutation. Time goes through the injected Clock and Sleeper, so unit tests run
// without real waits.
#ifndef FOGHORN_ORCHESTRATOR_DRILL_DRILL_RUNNER_H_
#define FOGHORN_ORCHESTRATOR_DRILL_DRILL_RUNNER_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "foghorn/v1/runbook.pb.h"
#include "orchestrator/common/clock.h"
#include "orchestrator/common/log.h"
#include "orchestrator/common/sleeper.h"
#include "orchestrator/drill/listener.h"
#include "orchestrator/drill/readiness.h"
#include "orchestrator/drill/report.h"
#include "orchestrator/drill/report_store.h"
#include "orchestrator/executor/operation_runner.h"
#include "orchestrator/executor/system_step_runner.h"
#include "orchestrator/journal/journal.h"

namespace foghorn::drill {

// Journal operation kind and step names.
inline constexpr char kDrillOperationKind[] = "drill";
inline constexpr char kStepPreflight[] = "preflight";
inline constexpr char kStepFailover[] = "failover";
inline constexpr char kStepVerifyFailover[] = "verify_failover";
inline constexpr char kStepHold[] = "hold";
inline constexpr char kStepFailback[] = "failback";
inline constexpr char kStepVerifyFailback[] = "verify_failback";
inline constexpr char kStepAbortFailback[] = "abort_failback";

// What a stage's failure, or an interruption while the drill stands at it, leads to.
enum class AbortRule {
  // Nothing was changed yet: the drill ends as aborted.
  kEndAborted,
  // The partner may hold the primary role: fail back (when ARM shows it does), then end failed.
  kFailBack,
  // The group is back where it started: the drill ends failed.
  kEndFailed,
};

// One stage of a drill: a journaled step of its operation.
struct DrillStage {
  std::string_view name;
  AbortRule on_abort;
  // Run only when the runbook's drill fails back (drill.fail_back, default true).
  bool fail_back_only = false;
};

// Every stage, in the order a drill runs them.
const std::vector<DrillStage>& DrillStages();
// The stage called `name`; nullptr for a step that is not a stage (abort_failback).
const DrillStage* FindDrillStage(std::string_view name);

// What a resumed drill does, decided from its journaled steps alone (no ARM call).
struct ResumePlan {
  enum class Action {
    // The failover never began: end as aborted, without any ARM call.
    kEndAborted,
    // The failover began (or may have) and the group was not failed back: fail back, end failed.
    kFailBack,
    // Nothing is left to change: the stages ran (or the fail back was done); end with `outcome`.
    kEnd,
  };
  Action action = Action::kEndAborted;
  // The stage the drill stood at when it stopped ("" when it stopped before its first step).
  std::string interrupted_at;
  // A step whose intent was journaled and its outcome not, to be finished first.
  std::optional<journal::StepRecord> open_step;
  // For kEnd: passed when every stage was done and none failed, failed otherwise.
  v1::DrillOutcome outcome = v1::DRILL_OUTCOME_ABORTED;
};
// `steps` in journal order; `fail_back` is the runbook's drill.fail_back.
ResumePlan PlanResume(const std::vector<journal::StepRecord>& steps, bool fail_back);

// Runs a command for the check hook; executor::RunCommand in production.
// Runs a command (executor::RunCommand): argv, variables set, timeout, variables inherited.
using CommandRunner = std::function<absl::StatusOr<executor::CommandResult>(
    const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
    absl::Duration timeout, const std::vector<std::string>& inherit_env)>;

// One drill request (the API's StartDrill / `foghorn drill`).
struct DrillRequest {
  bool dry_run = false;
  std::string requested_by;
  std::string reason;
  // Idempotency key: a second request with the same key is refused with ALREADY_EXISTS naming
  // the first drill. Empty: none.
  std::string request_id;
  // Overrides the runbook's drill.hold when set.
  std::optional<absl::Duration> hold;
  // The drill id (report file name) to use; empty: "drill-<group>-<start time>". Callers that
  // must name the drill before it runs (the API's StartDrill) set it. No path separators.
  std::string drill_id;
  // Set to true (from any thread) to stop the drill early: the hold ends and the group fails
  // back. Optional; must outlive Run.
  const std::atomic<bool>* cancel = nullptr;
};

class DrillRunner {
 public:
  struct Deps {
    const common::Clock& clock;
    common::Sleeper& sleeper;
    // Reads (readiness, verification); failovers go through `executor`.
    executor::FailoverActuator& arm;
    ListenerDialer& dialer;
    // The executor's journal (the drill creates its operation and reads its steps there).
    journal::Journal& journal;
    // Runs the drill's journaled steps and ARM failovers; its observers publish the progress.
    executor::OperationRunner& executor;
    common::Logger logger;
    // Optional: the agent's state (pause, operation in flight, probes). Without it verify probes
    // that are TCP probes are dialled directly and the agent-state checks are skipped.
    GroupKnowledge* knowledge = nullptr;
    // Creates the read-write listener sampler for one drill; empty = RTO not measured.
    std::function<std::unique_ptr<ListenerSampler>()> sampler_factory;
    // Runs the check hook; empty = executor::RunCommand.
    CommandRunner run_command;
    // Where reports are saved (ReportStore::DirFor(state_dir)); nullptr = not saved.
    ReportStore* reports = nullptr;
    // Called around the part of the drill that changes roles (after a passed preflight; before
    // the report is written); for a resumed drill, at the start of Resume and whenever it ends,
    // an error included. The agent wiring uses them to keep its own automation off the group
    // while the drill runs. Optional.
    std::function<void(const std::string& group_id, const std::string& drill_id)> on_begin;
    std::function<void(const std::string& group_id, const std::string& drill_id)> on_end;
  };
  struct Options {
    // How often verification re-reads ARM, the listener and probes until verify_timeout, when
    // the runbook sets no drill.verify_poll_interval.
    absl::Duration verify_poll_interval = absl::Seconds(2);
    // When the runbook sets no drill.verify_timeout.
    absl::Duration default_verify_timeout = absl::Minutes(5);
    absl::Duration hook_timeout = absl::Minutes(5);
    // The hold is slept in slices this long so a cancel is noticed.
    absl::Duration hold_slice = absl::Seconds(1);
    absl::Duration dial_timeout = absl::Seconds(3);
    // The agent's ARM endpoint, for readiness hints (ReadinessChecker::Options).
    std::string arm_endpoint;
  };

  // Every reference in `deps` must outlive the runner.
  DrillRunner(Deps deps, Options options);

  // Runs one drill of `runbook`'s group to its end and returns the report (also saved in
  // deps.reports and, when the runbook sets drill.report_path, written there as JSON). A drill
  // that fails a gate is a report with outcome FAILED/ABORTED, not an error. Errors:
  // INVALID_ARGUMENT when the runbook names no servers; ALREADY_EXISTS when request_id was used
  // before; UNAVAILABLE when the journal cannot be written before the preflight's step is
  // journaled (nothing was changed then). Blocks for the whole drill (hold included): run it on a
  // worker thread. One drill per group at a time is the caller's rule (the preflight refuses while
  // the journal shows an unfinished operation).
  absl::StatusOr<DrillReport> Run(const v1::Runbook& runbook, const DrillRequest& request);

  // Finishes `op`, an unfinished drill of `runbook`'s group left by a stopped agent (see the file
  // comment and PlanResume), and returns its report (saved like Run's, under ResumedDrillId).
  // Never posts a second failover for a step already begun: an open ARM step is re-read (a
  // journaled operation URL is polled), and the fail back goes through the idempotent client.
  // INVALID_ARGUMENT when `op` is not an unfinished drill of that group or the runbook names no
  // servers; UNAVAILABLE when the journal cannot be read or written (the operation then stays
  // unfinished, for the next start). The drill's pause is taken at the start (on_begin) and given
  // back (on_end) whenever the resume ends, an error included (for an operation of the runbook's
  // group). Blocks like Run.
  absl::StatusOr<DrillReport> Resume(const v1::Runbook& runbook,
                                     const journal::OperationRecord& op);

  // The drill id `op` ran under (journaled with its preflight step; else its request id).
  absl::StatusOr<std::string> ResumedDrillId(const journal::OperationRecord& op);

  // The readiness checks alone (same deps), for `foghorn drill check` / a readiness API.
  ReadinessReport CheckReadiness(const v1::Runbook& runbook);

 private:
  struct Context;

  // Runs `stage` as a journaled step; a failure says what failed in `*failure`.
  absl::Status RunStage(Context& c, const DrillStage& stage, std::string* failure);
  // Applies `rule` after a failure or an interruption.
  void Abort(Context& c, AbortRule rule);
  // The fail back of an abort (abort_failback + a role check), when ARM shows the partner
  // primary (or cannot tell).
  void AbortFailback(Context& c);
  absl::Status DoFailover(Context& c, const std::string& step, const std::string& to,
                          const std::string& from);
  absl::Status Verify(Context& c, const std::string& phase, const std::string& primary,
                      const std::string& secondary);
  absl::Status VerifyRoles(Context& c, const std::string& primary, const std::string& secondary,
                           absl::Time deadline);
  absl::Status VerifyProbe(Context& c, const std::string& name, absl::Time since,
                           absl::Time deadline);
  absl::Status RunCheckHook(Context& c, const std::string& phase, const std::string& primary);
  // One journaled step of the drill's operation through the executor; appends it to the report.
  // `journal_suffix` is added to the journaled outcome of a passed step (not to the report's).
  absl::Status Step(Context& c, const std::string& name, const std::string& intent,
                    const std::function<absl::Status(std::string* detail)>& body,
                    const std::string& journal_suffix = "");
  // Resume, but for giving the pause back after an error.
  absl::StatusOr<DrillReport> ResumeDrill(const v1::Runbook& runbook,
                                          const journal::OperationRecord& op);
  // Finishes a step a stopped run left open, by re-reading what became of it.
  absl::Status FinishOpenStep(Context& c, const journal::StepRecord& open);
  std::string CurrentPrimary(Context& c);
  // Samples, RTO figures, final primary; the journal's end, the report saved, on_end.
  void Conclude(Context& c, const std::string& failure);
  void Finish(Context& c);

  Deps deps_;
  const Options options_;
};

// The default drill id: "drill-<group name>-<start, UTC, ms>".
std::string DrillIdFor(const std::string& group_name, absl::Time start);

// RTO figures (rw_restored_at, rto, listener_outage, failed_samples) for every completed
// direction from the listener samples, sorted by time (exposed for tests).
void ComputeDirectionMetrics(const std::vector<ListenerSample>& samples,
                             google::protobuf::RepeatedPtrField<v1::DrillDirection>* directions);

}  // namespace foghorn::drill

#endif  // FOGHORN_ORCHESTRATOR_DRILL_DRILL_RUNNER_H_
