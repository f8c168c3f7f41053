// The DR drill runner: proves a failover group can fail over and back by doing it, from the
// runbook's `drill` section, and writes the report.
//
//   preflight (readiness checks) -> failover (planned, to the partner) -> verify_failover (ARM
//   roles swapped, rw listener answers, verify probes healthy, optional check hook) -> hold ->
//   failback (planned, to the original primary) -> verify_failback
//
// Abort rules: a failed preflight stops before anything changes (outcome "aborted"). A failed
// gate after the first failover (verify, the hold being cancelled) fails back at once when the
// partner holds the primary role ("abort_failback", planned, so no data is lost) and the drill
// ends "failed" with the group on its original primary. A failed failover POST changes nothing
// to undo unless a re-read shows the partner became primary anyway, which is then failed back.
// A dry run runs the read-only checks and returns the plan; it writes no journal record and no
// report and sends no mutation.
//
// The drill is journaled as one operation of kind "drill" whose steps are the stages above. Time
// goes through the injected Clock and Sleeper, so unit tests run without real waits.
#ifndef FOGHORN_ORCHESTRATOR_DRILL_DRILL_RUNNER_H_
#define FOGHORN_ORCHESTRATOR_DRILL_DRILL_RUNNER_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "foghorn/v1/runbook.pb.h"
#include "orchestrator/arm/sleeper.h"
#include "orchestrator/common/clock.h"
#include "orchestrator/common/log.h"
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
    arm::Sleeper& sleeper;
    executor::FailoverActuator& arm;
    ListenerDialer& dialer;
    journal::Journal& journal;
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
    // the report is written). The agent wiring uses them to keep its own automation off the
    // group while the drill runs. Optional.
    std::function<void(const std::string& group_id, const std::string& drill_id)> on_begin;
    std::function<void(const std::string& group_id, const std::string& drill_id)> on_end;
  };
  struct Options {
    // How often verification re-reads ARM, the listener and probes until verify_timeout.
    absl::Duration verify_poll_interval = absl::Seconds(2);
    // When the runbook sets no drill.verify_timeout.
    absl::Duration default_verify_timeout = absl::Minutes(5);
    absl::Duration hook_timeout = absl::Minutes(5);
    // The hold is slept in slices this long so a cancel is noticed.
    absl::Duration hold_slice = absl::Seconds(1);
    absl::Duration dial_timeout = absl::Seconds(3);
  };

  // Every reference in `deps` must outlive the runner.
  DrillRunner(Deps deps, Options options);

  // Runs one drill of `runbook`'s group to its end and returns the report (also saved in
  // deps.reports and, when the runbook sets drill.report_path, written there as JSON). A drill
  // that fails a gate is a report with outcome FAILED/ABORTED, not an error. Errors:
  // INVALID_ARGUMENT when the runbook names no servers; ALREADY_EXISTS when request_id was used
  // before; UNAVAILABLE when the journal cannot be written (nothing was changed then). Blocks for
  // the whole drill (hold included): run it on a worker thread. One drill per group at a time is
  // the caller's rule (the preflight refuses while the journal shows an unfinished operation).
  absl::StatusOr<DrillReport> Run(const v1::Runbook& runbook, const DrillRequest& request);

  // The readiness checks alone (same deps), for `foghorn drill check` / a readiness API.
  ReadinessReport CheckReadiness(const v1::Runbook& runbook);

 private:
  struct Context;

  absl::Status DoFailover(Context& c, const std::string& step, const std::string& to,
                          const std::string& from);
  absl::Status Verify(Context& c, const std::string& phase, const std::string& primary,
                      const std::string& secondary);
  absl::Status VerifyRoles(Context& c, const std::string& primary, const std::string& secondary,
                           absl::Time deadline);
  absl::Status VerifyProbe(Context& c, const std::string& name, absl::Time since,
                           absl::Time deadline);
  absl::Status RunCheckHook(Context& c, const std::string& phase, const std::string& primary);
  // Journals one step around `body`; appends it to the report.
  absl::Status Step(Context& c, const std::string& name, const std::string& intent,
                    const std::function<absl::Status(std::string* detail)>& body);
  std::string CurrentPrimary(Context& c);
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
