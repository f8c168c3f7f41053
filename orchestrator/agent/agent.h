// The agent's control loop: probe verdicts -> decision engine -> operation runner, one loop per
// agent. It owns the runtime state of every failover group (roles as last read from ARM, the
// operation in flight, pause and approval state, the last decision), re-evaluates a group when
// its verdicts change or when the last decision asked to be looked at again, journals every
// decision that changes, and starts at most one operation per group on the worker pool. On start
// it resumes operations a previous run left unfinished. The gRPC control API (orchestrator/api)
// drives it through the thread-safe methods below.
//
// Threading contract: one control loop owns all group state (Envoy's dispatcher model).
// - Group state (GroupState, the global pauses, the dirty set) is touched only by tasks on
//   Deps::loop (a ThreadExecutor thread in foghornd, a ManualExecutor in tests). There is no lock
//   around it: verdict changes, evaluation and role-refresh timers run there, and every other
//   thread posts to the loop (Executor::Post) or asks it and waits (Executor::RunAndWait).
// - Nothing on the loop blocks: ARM calls, SQLite reads and writes that wait for a commit, hooks
//   and webhooks run on Deps::workers / Deps::read_workers or on the caller's thread. The loop
//   only enqueues decision and audit rows to the journal's batch writer, and queues
//   notifications. Workers hand their results back with Post (OnOperationDone, role reads).
// - Viewers never wait for the loop: after every change the loop publishes an immutable
//   snapshot of the group (and the global pause, and the running operation's cancel gate) under
//   published_mu_; Groups(), Group(), GlobalPause() and the runbook steps read those.
// - Control-surface calls (RequestFailover, Pause, Resume, Approve, CancelOperation, SetRunbooks,
//   Start, Stop) run on the caller's thread (an API pool thread, main): their journal reads and
//   durable writes happen there; their state changes are one RunAndWait each. Never call them
//   from a loop task: their journal writes would block the loop.
// - Events (Deps::events) are emitted from the loop and the workers: the sink must only queue
//   (ApiServer::Publish does).
// - UNAVAILABLE ("agent stopped") from a control-surface call means the loop has shut down.
// Status codes of the control surface are listed on each method.
//
// The implementation is split by responsibility (agent.cc's opening comment lists the files);
// the private declarations below name the file of each part.
#ifndef FOGHORN_ORCHESTRATOR_AGENT_AGENT_H_
#define FOGHORN_ORCHESTRATOR_AGENT_AGENT_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "foghorn/v1/runbook.pb.h"
#include "orchestrator/agent/failover_caller.h"
#include "orchestrator/agent/readiness_scheduler.h"
#include "orchestrator/agent/step_gates.h"
#include "orchestrator/common/executor.h"
#include "orchestrator/common/log.h"
#include "orchestrator/common/metrics.h"
#include "orchestrator/common/sleeper.h"
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
  // The last scheduled readiness run (Deps::readiness); unset before the first or without one.
  std::optional<GroupReadiness> readiness;
};

// Who set a pause. Each owner's pause is kept apart, so a drill's automatic pause and its resume
// never clear an operator's pause (and an operator's resume does not end a running drill's).
enum class PauseOwner { kOperator, kDrill };

// A failover requested through the control API.
struct FailoverRequest {
  std::string group_id;
  // PLANNED, FORCED, TRY_PLANNED_BEFORE_FORCED, or AUTO (the engine's choice now).
  v1::FailoverKind kind = v1::FAILOVER_KIND_AUTO;
  std::string requested_by;
  std::string reason;
  std::string request_id;
  bool dry_run = false;
  // The caller holds the approver role (a kind that may lose data needs it, or another identity's
  // approval; manual_request.h).
  bool approver = false;
  // Approver only: start it although pause, a maintenance window, the cooldown, the blast-radius
  // cap or an impaired vantage holds it; needs `override_reason`. Audited (OverrideHolds).
  bool override_holds = false;
  std::string override_reason{};
};

struct FailoverResponse {
  // Empty for a dry run.
  journal::OperationRecord operation;
  bool created = false;
  v1::FailoverKind kind = v1::FAILOVER_KIND_UNSPECIFIED;
  // The decision the engine makes now, whose reasons gate the request.
  decision::Decision decision;
};

// What an agent event says, one struct per kind (AgentEvent::detail).
// A probe target's verdict changed (the health tracker's VerdictEvent).
struct VerdictChanged {
  v1::ProbeTarget target = v1::PROBE_TARGET_UNSPECIFIED;
  v1::Verdict verdict = v1::VERDICT_UNSPECIFIED;
  v1::Verdict previous = v1::VERDICT_UNSPECIFIED;
  std::string reason;
};
// The engine's decision for a group changed (and was journaled).
struct DecisionMade {
  decision::Decision decision;
};
// A journaled step of an operation began (state kIntent) or ended.
struct OperationStepChanged {
  journal::StepRecord step;
  // Of the step's operation: its journal kind ("planned", ..., "drill") and idempotency key.
  std::string kind;
  std::string request_id;
};
// An operation finished: the record as journaled at its end (state and outcome set).
struct OperationChanged {
  journal::OperationRecord operation;
};
// ARM reports a primary that no foghorn operation made; the cooldown started.
struct ExternalFailoverNoticed {
  std::string primary_server;
  std::string previous_primary;
  // Who failed it over, from the Activity Log ("Microsoft.Sql" for a Microsoft-initiated
  // failover); empty when it could not be read (caller_note says why).
  std::string caller{};
  std::string caller_note{};
};

// Something that happened in the agent, for the control API's Watch stream.
struct AgentEvent {
  enum class Kind { kVerdict, kDecision, kOperationStep, kOperation };
  using Detail = std::variant<VerdictChanged, DecisionMade, OperationStepChanged, OperationChanged,
                              ExternalFailoverNoticed>;

  std::string group_id;
  std::string operation_id;  // for step and operation events; empty for an external failover
  absl::Time at = absl::InfinitePast();
  // One line for humans.
  std::string summary;
  Detail detail;

  // Derived from `detail` (an external failover is a kOperation event).
  Kind kind() const;
};

// Receives agent events. Called from the agent's threads (loop and workers); must not block.
using AgentEventSink = std::function<void(const AgentEvent&)>;

// A leader's operation intent, as FenceBeforeArm recorded it right before the ARM step
// (docs/coordination.md, "Fencing"), and FinishIntent once the operation ended.
struct SharedIntent {
  std::string operation_id;  // in the journal of the agent that wrote it
  std::string request_id;
  std::string kind;  // journal kind name ("planned", "forced", ...)
  std::string target;
  std::string requested_by;
  std::string reason;
  std::string agent;                             // who wrote it
  bool mine = false;                             // written by this agent
  absl::Time written_at = absl::InfinitePast();  // on the agent's clock
  bool finished = false;
  std::string state;    // when finished: the journal state name ("succeeded", "failed", ...)
  std::string outcome;  // when finished
};

// What coordination says about one group now (Coordination::Facts).
struct CoordinationFacts {
  decision::CoordinationView view;
  // With view.primary_quorum == kConfirmedDown: when the quorum began to see the primary down
  // (the outage's start), on the agent's clock.
  absl::Time quorum_down_since = absl::InfinitePast();
  // The group's last operation intent, if any.
  std::optional<SharedIntent> intent;
  // The most recent replication lag sample any live agent published (sampled_at: when it was
  // published, on the agent's clock).
  std::optional<decision::LagSample> lag;
};

// Coordination with other agents through etcd (docs/coordination.md): orchestrator/coord's
// Coordinator, adapted in orchestrator/daemon. Without one (Deps::coordination == nullptr) the
// agent runs alone, exactly as before.
class Coordination {
 public:
  virtual ~Coordination() = default;
  // Non-blocking (from a cache; called on the loop). `primary_target`: the runbook probe target
  // (PRIMARY or SECONDARY) of the server that is primary now.
  virtual CoordinationFacts Facts(const std::string& group_id, v1::ProbeTarget primary_target) = 0;
  // Non-blocking: this agent's verdict on a target, published for the other vantages.
  // `failure_streak_start` on the agent's clock (InfinitePast unless unhealthy). The group's
  // last replication lag sample (seconds) rides on the PRIMARY target's record.
  virtual void PublishVerdict(const std::string& group_id, v1::ProbeTarget target,
                              v1::Verdict verdict, absl::Time failure_streak_start,
                              std::optional<double> lag_seconds) = 0;
  // Non-blocking: the groups this agent watches, and whether one has an operation running (a
  // busy group is never handed to another agent voluntarily).
  virtual void SetGroups(const std::vector<std::string>& group_ids) = 0;
  virtual void SetBusy(const std::string& group_id, bool busy) = 0;
  // Blocking (the operation's worker calls it right before the ARM step): OK only while this
  // agent still leads the group with a valid session; the operation's intent is then recorded in
  // etcd in the same transaction. FAILED_PRECONDITION naming the leader otherwise; UNAVAILABLE
  // when etcd cannot be reached. Nothing is sent to ARM unless it returns OK.
  // `resumed`: the operation's ARM step had begun before a restart; it is fenced only while the
  // group's intent still names it, unfinished (otherwise another agent carried it on).
  // A new operation is refused over another operation's unfinished intent, unless it carries
  // that intent on (same request id and target).
  virtual absl::Status FenceBeforeArm(const journal::OperationRecord& op, bool resumed) = 0;
  // Blocking (a worker): marks the intent of `op` (this agent's, or `intent_agent`'s when given:
  // an intent declined by a new leader) finished with its outcome, fenced like FenceBeforeArm;
  // FAILED_PRECONDITION when another agent leads the group now or the intent names another
  // operation.
  virtual absl::Status FinishIntent(const journal::OperationRecord& op,
                                    const std::string& intent_agent = "") = 0;
  // Non-blocking: the shared control state (key -> JSON) as last read from etcd; nullopt until
  // the first read since the agent connected (nothing is known yet, not "nothing is set").
  virtual std::optional<std::map<std::string, std::string>> SharedControls() = 0;
  // Blocking (a worker): writes shared control keys in order; an empty value deletes the key.
  // UNAVAILABLE when etcd cannot be reached (the caller keeps the keys and tries again).
  virtual absl::Status PublishControls(const std::map<std::string, std::string>& batch) = 0;
};

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
    common::Sleeper* sleeper = nullptr;
    // Optional: a separate pool for background ARM reads (role refresh), so a failover never
    // queues behind reads the client-side ARM throttle is holding back. Default: `workers`.
    common::WorkerPool* read_workers = nullptr;
    // Optional: coordination with other agents (leader-only action, vantage quorum, fencing).
    Coordination* coordination = nullptr;
    // Optional: who failed a group over (the Activity Log), asked on a read worker when ARM
    // reports a primary no foghorn operation made. Without it the caller is "unknown".
    FailoverCallerReader* failover_callers = nullptr;
    // Optional: continuous readiness. SetRunbooks hands it the runbooks; snapshots carry its
    // last results per group.
    ReadinessScheduler* readiness = nullptr;
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
    // Resuming after a restart: an operation whose ARM step had not begun is carried out only if,
    // once both sides have a fresh verdict (waiting at most `resume_verdict_wait`), the decision
    // engine would still choose it, and it is younger than `resume_max_age`; otherwise it is
    // journaled as abandoned with the reason.
    absl::Duration resume_verdict_wait = absl::Seconds(30);
    absl::Duration resume_max_age = absl::Minutes(15);
    // A journaled outage start is restored at start-up only when the primary was last seen down
    // this recently (an agent down for longer cannot know whether the primary came back between).
    absl::Duration outage_restore_window = absl::Minutes(10);
    // How often the last replication lag sample is made durable (it is written at least when an
    // outage begins).
    absl::Duration lag_persist_interval = absl::Seconds(30);
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
  // Coordination changed for a group (leadership, other vantages' verdicts), or for every group
  // when `group_id` is empty: re-evaluates on the loop. Thread-safe; only posts.
  void OnCoordinationChange(const std::string& group_id);

  // --- control surface (thread-safe; never blocks on the network). Groups and Group:
  // group_registry.cc; GlobalPause: control_state.cc; the rest: control_surface.cc ---
  std::vector<GroupSnapshot> Groups();
  absl::StatusOr<GroupSnapshot> Group(const std::string& group_id);
  // NOT_FOUND for an unknown group; FAILED_PRECONDITION (with the hold reasons) when the engine
  // would not allow the failover now and the caller did not force a kind the policy permits;
  // ABORTED when another operation is in flight.
  absl::StatusOr<FailoverResponse> RequestFailover(const FailoverRequest& request);
  // Pauses one group, or every group when group_id is empty, until `until`, on behalf of `owner`.
  // Durable (journaled) before it returns OK; restored at start-up. UNAVAILABLE when the journal
  // cannot record it (the pause still holds in memory).
  absl::Status Pause(const std::string& group_id, absl::Time until, const std::string& reason,
                     const std::string& who, PauseOwner owner = PauseOwner::kOperator);
  // The global pause in force: the latest `until` of every owner's global pause with its reason;
  // until = InfinitePast() when none. The API reads it here (it keeps no copy).
  std::pair<absl::Time, std::string> GlobalPause() const;
  // Ends `owner`'s pause of one group (or its global pause); other owners' pauses stay. A resume
  // by an operator also lifts the hold an operator's cancel put on the group's current outage.
  absl::Status Resume(const std::string& group_id, const std::string& who,
                      PauseOwner owner = PauseOwner::kOperator);
  // Cancels an operation while that is still safe: before its ARM step begins (during pre steps,
  // e.g. an approval gate or a wait, or while a resumed operation waits for a fresh decision).
  // Race-free with the ARM step: once this returns OK no failover POST is sent for it (the cancel
  // and the start of the ARM step are decided under one lock, executor::CancelGate). The runner
  // ends the operation as cancelled at its next safe point. A cancelled automatic failover holds
  // the group for the rest of the current outage (reason OPERATOR_CANCELLED) until a person
  // resumes automation or requests a failover. NOT_FOUND for an unknown or finished operation;
  // FAILED_PRECONDITION once the ARM step has begun.
  absl::Status CancelOperation(const std::string& operation_id, const std::string& who,
                               const std::string& why);

  // Grants (or with approve=false, rejects) the failover the group is waiting for. When an
  // approval step of the group's running operation is waiting, answers that step instead
  // (audited as ApproveStep / RejectStep).
  absl::Status Approve(const std::string& group_id, bool approve, bool allow_over_budget,
                       const std::string& who, const std::string& why);

  // --- runbook steps only the agent can carry out (agent_steps.cc). The step runner calls them
  // on the operation's worker thread, never on the control loop. ---
  // An approval step: notifies people, then waits until someone answers through Approve() for
  // the operation's group (OK when approved, FAILED_PRECONDITION when rejected), the step's
  // timeout passes (DEADLINE_EXCEEDED), or the operation is cancelled or the agent stops
  // (CANCELLED).
  absl::Status WaitForStepApproval(const v1::Step& step, const journal::OperationRecord& op);
  // A probe assertion: waits until the named probe's state, as the health tracker last heard it,
  // is the expected verdict (OK); FAILED_PRECONDITION naming the state seen when the step's
  // timeout passes first; CANCELLED as above.
  absl::Status AssertProbe(const v1::Step& step, const journal::OperationRecord& op);
  // The approval steps waiting now (Pending, AwaitPending).
  const StepGates& step_gates() const { return step_gates_; }

 private:
  struct GroupState;
  // What a role read on a read worker found, handed to the loop (ApplyRoles).
  struct RoleRead;
  struct PauseEntry {
    absl::Time until = absl::InfinitePast();
    std::string reason;
    std::string who;
  };

  // Everything below marked [loop] runs only on Deps::loop. Each group of declarations names the
  // file that implements it.

  // --- loop helpers and evaluation (agent.cc) ---
  // [loop] Evaluates one group, acts on the decision and publishes the group's snapshot.
  void Evaluate(GroupState& g);
  void EvaluateAndAct(GroupState& g);
  void EvaluateById(const std::string& group_id);
  decision::GroupView BuildView(const GroupState& g) const;
  // [loop] Why the server that is secondary now cannot take over, from its failing
  // replication_link probes ("" when none fails).
  // A link SUSPENDED only since the primary went down (`primary_down_since`; InfiniteFuture when
  // it is not down) broke with it and does not count.
  std::string SecondaryNotReady(const GroupState& g, absl::Time primary_down_since) const;
  int GroupsFailing() const;
  void ScheduleEvaluation(GroupState& g, absl::Time when);
  GroupState* Find(const std::string& group_id);
  // [loop] Publishes the group's snapshot and cancel gate for other threads; PublishGlobal the
  // global pause; Unpublish removes a group no runbook names any more.
  void Publish(const GroupState& g);
  void PublishGlobal();
  void Unpublish(const std::string& group_id);
  // Runs `fn` on the loop and waits; UNAVAILABLE when the loop has shut down.
  absl::Status OnLoop(absl::AnyInvocable<void() &&> fn);

  // --- group registry (group_registry.cc; SetRunbooks, Groups and Group above) ---
  // [loop] The group's state for viewers (probe states are added when it is read).
  GroupSnapshot SnapshotOf(const GroupState& g) const;

  // --- operations (operations.cc) ---
  // [loop] Marks the group busy and hands the operation to the worker pool, which journals it
  // (unless `journaled`) and runs it. For a new automatic operation the worker settles its
  // request id first (FindByRequestId), off the loop.
  // `takeover`: another agent's intent carried on (see TakeOverIntent): the request id is kept
  // exactly, and its pre steps (which ran on that agent) are not run again.
  void LaunchOperation(GroupState& g, journal::OperationRecord op, bool journaled,
                       const SharedIntent* takeover = nullptr);
  // Called on a worker: posts the outcome to the loop (OnOperationDoneOnLoop).
  // `arm_failed`: the ARM step ran and failed; `completed`: ARM carried the failover out.
  void OnOperationDone(const std::string& group_id, absl::StatusOr<journal::OperationRecord> op,
                       bool arm_failed, bool completed);
  void OnOperationDoneOnLoop(const std::string& group_id,
                             absl::StatusOr<journal::OperationRecord> op, bool arm_failed,
                             bool completed);
  executor::FailoverPlan PlanFor(const GroupState& g, const journal::OperationRecord& op) const;
  // [loop] Decides whether a journaled operation whose ARM step had not begun is still wanted.
  void DecideResume(GroupState& g, absl::Time now);
  void Abandon(GroupState& g, const journal::OperationRecord& op, const std::string& why);

  // --- role refresher (role_refresher.cc) ---
  // [loop] Starts a role read on a read worker; its result comes back through ApplyRoles.
  void RefreshRoles(const std::string& group_id);
  void ApplyRoles(const std::string& group_id, RoleRead read);
  void ScheduleRoleRefresh(GroupState& g, absl::Duration after);
  // [loop] `explained_at`: when a recent operation of ours (found by the role read, off the
  // loop) explains the new primary; `drill_recent`: a drill ran or runs.
  // `caller` / `caller_note`: who failed it over (Activity Log), or why that is unknown.
  void NoticeExternalFailover(GroupState& g, const decision::Roles& now_roles,
                              std::optional<absl::Time> explained_at, bool drill_recent,
                              const std::string& caller = "", const std::string& caller_note = "");

  // --- events (events.cc) ---
  void Emit(AgentEvent e) const;

  // --- durable control state (control_state.cc; GlobalPause above) ---
  // [loop] Outage start, lag sample and roles as observed from the tracker and ARM, kept on the
  // group so they survive a runbook reload and (journaled) a restart.
  void Observe(GroupState& g, absl::Time now);
  // [loop] Effective pause of a group (the latest of its own and the global pauses of every
  // owner).
  std::pair<absl::Time, std::string> EffectivePause(const GroupState& g) const;
  std::pair<absl::Time, std::string> GlobalPauseOnLoop() const;
  // Durable control state: MarkDirty records what changed [loop]; FlushControlState collects
  // everything dirty on the loop and writes it in one journal transaction on the caller's thread
  // (never on the loop); ScheduleFlush does it on a worker [loop].
  void MarkDirty(const std::string& key);
  absl::Status FlushControlState();
  void ScheduleFlush();
  std::string GroupStateJson(const GroupState& g) const;
  // [loop] `drill_groups`: groups with an unfinished drill operation (their drill pause stays).
  void RestoreControlState(const std::map<std::string, std::string>& state,
                           const std::set<std::string>& drill_groups);

  // --- Shared control state between coordinated agents (shared_state.cc; docs/coordination.md,
  // "Shared control state"). Shared keys: "pause/operator/<group or *>", "approval/<group>" (any
  // agent writes them: a person spoke to it) and "group/<group>" (the leader's record: outage,
  // cooldown anchor, failed planned attempt, cancel hold).
  // [loop] Notes that a local journal key changed; the shared keys it maps to are published.
  void MarkShared(const std::string& journal_key);
  // [loop] Applies what other agents changed; on the first read after Start, local operator
  // pauses that etcd lacks are published (the safe side) and local approvals it lacks dropped.
  void ApplySharedControls();
  void ApplySharedKey(const std::string& key, const std::optional<std::string>& value);
  // [loop] The shared keys to publish now (values as they are on the loop), with their change
  // sequence numbers; the leader's record only while this agent leads the group.
  struct SharedBatch {
    std::map<std::string, std::string> values;
    std::map<std::string, std::uint64_t> seq;
  };
  SharedBatch CollectShared();
  // Publishes `batch` (caller's thread, never the loop) and records what landed on the loop.
  absl::Status PublishShared(const SharedBatch& batch);
  std::string SharedGroupJson(const GroupState& g) const;
  std::string PauseJson(const PauseEntry& p) const;
  std::string ApprovalJson(const GroupState& g) const;
  // [loop] A leader that finds another agent's unfinished intent carries that operation on
  // (same request id and target, through the idempotent client) instead of deciding afresh.
  // True when the intent was taken over (or is being finished): the group is busy.
  bool TakeOverIntent(GroupState& g, const SharedIntent& intent);

  Deps deps_;
  const Options options_;
  // --- loop-confined state (no lock: only loop tasks touch it) ---
  std::map<std::string, std::unique_ptr<GroupState>> groups_;
  std::map<PauseOwner, PauseEntry> global_pauses_;
  // Control-state keys changed since the last flush, and whether a flush is queued.
  std::set<std::string> dirty_;
  // Shared keys changed here and not yet published (with a change sequence number, so a publish
  // that raced a newer change leaves the key dirty), and the last value seen in or written to
  // etcd per shared key. shared_synced_: the first read of etcd's state has been applied.
  std::map<std::string, std::uint64_t> shared_dirty_;
  std::uint64_t shared_seq_ = 0;
  std::map<std::string, std::string> shared_seen_;
  bool shared_synced_ = false;
  // After a failed etcd write: no retry before shared_retry_at_ (backoff doubling to 30 s).
  absl::Time shared_retry_at_ = absl::InfinitePast();
  absl::Duration shared_backoff_ = absl::ZeroDuration();
  common::TimerId shared_retry_timer_ = 0;
  // Intents this agent took over or is finishing (by operation id of their writer).
  // (A retry may come after the time kept here: a carry-on that did not finish the intent.)
  std::map<std::string, absl::Time> intents_handled_;
  // This agent's own intents its journal does not know: handled as another agent's.
  std::set<std::string> orphan_intents_;
  bool flush_queued_ = false;
  bool stopped_ = false;
  // No group is evaluated before Start() has resumed the journal's unfinished operations, so an
  // early probe event can never start a second operation beside one a crash left behind.
  bool started_ = false;

  // --- published for other threads by the loop ---
  mutable absl::Mutex published_mu_;
  std::map<std::string, std::shared_ptr<const GroupSnapshot>> published_
      ABSL_GUARDED_BY(published_mu_);
  // The running operation's cancel gate per group (runbook steps poll it from workers).
  std::map<std::string, std::shared_ptr<executor::CancelGate>> published_gates_
      ABSL_GUARDED_BY(published_mu_);
  std::pair<absl::Time, std::string> published_global_pause_ ABSL_GUARDED_BY(published_mu_){
      absl::InfinitePast(), ""};

  // Serialises flushes, so a later snapshot is never overwritten by an earlier one; publish_mu_
  // serialises their etcd writes (taken before flush_mu_ is released).
  absl::Mutex flush_mu_;
  absl::Mutex publish_mu_;
  // Keeps callbacks posted to the loop or the workers from touching a destroyed agent.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

  // Runbook steps: answers the waiting approval step of the group and audits it (agent_steps.cc);
  // and a check whether the group's running operation was cancelled (agent.cc: reads its
  // published CancelGate; safe to call under StepGates' locks: it never waits for the loop).
  absl::Status AnswerStepApproval(const std::string& group_id, bool approve, const std::string& who,
                                  const std::string& why);
  std::function<bool()> CancelledCheck(const std::string& group_id);
  // Approval steps waiting for a person; ended by Stop().
  StepGates step_gates_{deps_.loop};
};

}  // namespace foghorn::agent

#endif  // FOGHORN_ORCHESTRATOR_AGENT_AGENT_H_
