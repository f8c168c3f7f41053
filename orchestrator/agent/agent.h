// The agent's control loop: probe verdicts -> decision engine -> operation runner, one loop per
// agent. It owns the runtime state of every failover group (roles as last read from ARM, the
// operation in flight, pause and approval state, the last decision), re-evaluates a group when
// its verdicts change or when the last decision asked to be looked at again, journals every
// decision that changes, and starts at most one operation per group on the worker pool. On start
// it resumes operations a previous run left unfinished. The gRPC control API (orchestrator/api)
// drives it through the thread-safe methods below.
#ifndef FOGHORN_ORCHESTRATOR_AGENT_AGENT_H_
#define FOGHORN_ORCHESTRATOR_AGENT_AGENT_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "foghorn/v1/runbook.pb.h"
#include "orchestrator/arm/sleeper.h"
#include "orchestrator/common/executor.h"
#include "orchestrator/common/log.h"
#include "orchestrator/common/metrics.h"
#include "orchestrator/common/worker_pool.h"
#include "orchestrator/decision/decide.h"
#include "orchestrator/decision/policy.h"
#include "orchestrator/executor/notifier.h"
#include "orchestrator/executor/operation_runner.h"
#include "orchestrator/journal/journal.h"
#include "probes/health_tracker.h"
#include "probes/probe_scheduler.h"

namespace foghorn::agent {

// "<subscription>/<resource group>/<name>" of a runbook's group.
std::string GroupId(const v1::FailoverGroupRef& ref);

// A consistent copy of one group's state, for status views and the control API.
struct GroupSnapshot {
  std::string id;
  v1::Runbook runbook;
  decision::Roles roles;
  bool roles_from_arm = false;
  decision::GroupView view;
  std::optional<decision::Decision> last_decision;
  std::string in_flight_operation;
  absl::Time paused_until = absl::InfinitePast();
  std::string pause_reason;
  // Every probe of the runbook with its state and recent results.
  std::vector<probes::ProbeStatus> probes;
};

// A failover requested through the control API.
struct FailoverRequest {
  std::string group_id;
  // PLANNED, FORCED, TRY_PLANNED_BEFORE_FORCED, or AUTO (the engine's choice now).
  v1::FailoverKind kind = v1::FAILOVER_KIND_AUTO;
  std::string requested_by;
  std::string reason;
  std::string request_id;
  bool dry_run = false;
};

struct FailoverResponse {
  // Empty for a dry run.
  journal::OperationRecord operation;
  bool created = false;
  v1::FailoverKind kind = v1::FAILOVER_KIND_UNSPECIFIED;
  // The decision the engine makes now, whose reasons gate the request.
  decision::Decision decision;
};

// Something that happened in the agent, for the control API's Watch stream.
struct AgentEvent {
  enum class Kind { kVerdict, kDecision, kOperationStep, kOperation };
  Kind kind = Kind::kDecision;
  std::string group_id;
  std::string operation_id;  // for kOperationStep and kOperation
  absl::Time at = absl::InfinitePast();
  // One line for humans.
  std::string summary;
  // Machine-readable details (a JSON object): for kVerdict {target, verdict, previous, reason},
  // kDecision {stage, action, intended, reasons}, kOperationStep {step, state, detail},
  // kOperation {kind, state, outcome, target_server}.
  std::string detail_json;
};

// Receives agent events. Called from the agent's threads (loop and workers); must not block.
using AgentEventSink = std::function<void(const AgentEvent&)>;

class Agent final : public probes::VerdictSink {
 public:
  struct Deps {
    const common::Clock& clock;
    common::Executor& loop;  // the control loop: all group state lives on it
    common::WorkerPool& workers;
    journal::Journal& journal;
    executor::FailoverActuator& arm;
    executor::OperationRunner& runner;
    probes::ProbeScheduler& scheduler;
    probes::HealthTracker& tracker;
    executor::Notifier& notifier;
    common::Logger logger;
    common::MetricsRegistry& metrics;
    // Optional: receives every event (the control API's Watch fan-out).
    AgentEventSink events = nullptr;
    // Optional: paces the wait for listener probes after a failover (verify:listeners). Without
    // it the listeners are checked once.
    arm::Sleeper* sleeper = nullptr;
    // Optional: a separate pool for background ARM reads (role refresh), so a failover never
    // queues behind reads the client-side ARM throttle is holding back. Default: `workers`.
    common::WorkerPool* read_workers = nullptr;
  };
  struct Options {
    // How often roles are re-read from ARM; with many groups the interval stretches so the
    // refresh stays within `role_refresh_reads_per_second` (ARM allows 25 reads/s per
    // subscription after a burst of 250).
    absl::Duration role_refresh_interval = absl::Seconds(30);
    double role_refresh_reads_per_second = 5;
    // How long verify:listeners waits for the read-write listener probes to turn healthy after a
    // failover (the runbook's drill.verify_timeout overrides it), and how often it looks.
    absl::Duration listener_verify_timeout = absl::Minutes(2);
    absl::Duration listener_verify_interval = absl::Milliseconds(500);
  };

  Agent(Deps deps, Options options);
  ~Agent() override;

  // Replaces the set of runbooks (start-up and SIGHUP). Groups that disappear stop being watched
  // unless an operation is in flight for them (then they are kept and the error says so).
  // INVALID_ARGUMENT when a runbook's probes or rules are rejected (nothing changes then).
  absl::Status SetRunbooks(const std::vector<v1::Runbook>& runbooks);

  // Resumes unfinished operations from the journal, reads roles from ARM and evaluates every
  // group. Call once, after SetRunbooks.
  absl::Status Start();

  // Stops starting operations; operations already running finish on the worker pool (the owner
  // shuts the pool down after this). Idempotent.
  void Stop();

  void OnVerdictChange(const probes::VerdictEvent& event) override;

  // --- control surface (thread-safe; never blocks on the network) ---
  std::vector<GroupSnapshot> Groups();
  absl::StatusOr<GroupSnapshot> Group(const std::string& group_id);
  // NOT_FOUND for an unknown group; FAILED_PRECONDITION (with the hold reasons) when the engine
  // would not allow the failover now and the caller did not force a kind the policy permits;
  // ABORTED when another operation is in flight.
  absl::StatusOr<FailoverResponse> RequestFailover(const FailoverRequest& request);
  // Pauses one group, or every group when group_id is empty, until `until`.
  absl::Status Pause(const std::string& group_id, absl::Time until, const std::string& reason,
                     const std::string& who);
  absl::Status Resume(const std::string& group_id, const std::string& who);
  // Cancels an operation while that is still safe: before its ARM step begins (during pre steps,
  // e.g. an approval gate or a wait). The runner notices at its next safe point and ends the
  // operation as cancelled. NOT_FOUND for an unknown or finished operation; FAILED_PRECONDITION
  // once the ARM step has begun.
  absl::Status CancelOperation(const std::string& operation_id, const std::string& who,
                               const std::string& why);

  // Grants (or with approve=false, rejects) the failover the group is waiting for.
  absl::Status Approve(const std::string& group_id, bool approve, bool allow_over_budget,
                       const std::string& who, const std::string& why);

 private:
  struct GroupState;

  // Evaluates one group and acts on the decision.
  void Evaluate(GroupState& g) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EvaluateById(const std::string& group_id);
  decision::GroupView BuildView(const GroupState& g) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int GroupsFailing() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ScheduleEvaluation(GroupState& g, absl::Time when) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Marks the group busy and hands the operation to the worker pool, which journals it (unless
  // `existing` was already journaled) and runs it.
  void LaunchOperation(GroupState& g, journal::OperationRecord op, bool journaled)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnOperationDone(const std::string& group_id, absl::StatusOr<journal::OperationRecord> op);
  void RefreshRoles(const std::string& group_id);
  void ScheduleRoleRefresh(GroupState& g, absl::Duration after) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  executor::FailoverPlan PlanFor(const GroupState& g, const journal::OperationRecord& op) const;
  GroupState* Find(const std::string& group_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  GroupSnapshot SnapshotOf(const GroupState& g) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Emit(AgentEvent e) const;

  Deps deps_;
  const Options options_;
  mutable absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<GroupState>> groups_ ABSL_GUARDED_BY(mu_);
  absl::Time global_paused_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::string global_pause_reason_ ABSL_GUARDED_BY(mu_);
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  // No group is evaluated before Start() has resumed the journal's unfinished operations, so an
  // early probe event can never start a second operation beside one a crash left behind.
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  // Keeps callbacks posted to the loop or the workers from touching a destroyed agent.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace foghorn::agent

#endif  // FOGHORN_ORCHESTRATOR_AGENT_AGENT_H_
