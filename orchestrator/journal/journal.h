// The journal: foghorn's durable record of operations, their steps, decisions and the audit trail.
// Every side effect of a failover is journaled before (intent) and after (outcome), so a restarted
// agent can resume an unfinished operation to exactly one outcome. The agent's operation executor
// writes it; the control API reads it. SqliteJournal is the production implementation.
#ifndef FOGHORN_ORCHESTRATOR_JOURNAL_JOURNAL_H_
#define FOGHORN_ORCHESTRATOR_JOURNAL_JOURNAL_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace foghorn::journal {

// Lifecycle of an operation. kPending and kRunning are unfinished: a restarted agent resumes them.
enum class OperationState { kPending, kRunning, kSucceeded, kFailed, kAborted, kCancelled };

std::string OperationStateName(OperationState s);
absl::StatusOr<OperationState> ParseOperationState(const std::string& name);
bool IsFinished(OperationState s);

// One operation: a failover or a drill of one failover group.
struct OperationRecord {
  std::string id;             // assigned by CreateOperation when empty
  std::string group_id;       // "<subscription>/<resource group>/<name>"
  std::string request_id;     // caller's idempotency key; unique across the journal when non-empty
  std::string kind;           // e.g. "planned", "forced", "try_planned_before_forced", "drill"
  std::string target_server;  // the server that is to become primary
  std::string requested_by;
  std::string reason;
  OperationState state = OperationState::kPending;
  absl::Time created_at = absl::InfinitePast();
  absl::Time updated_at = absl::InfinitePast();
  // The ARM Azure-AsyncOperation (or Location) URL once the failover POST was accepted, so a
  // resumed operation polls it instead of posting again.
  std::string arm_operation_url;
  std::string outcome;  // human text: why it ended as it did
};

// Step states: kIntent is written before the side effect, the others after it.
enum class StepState { kIntent, kDone, kFailed, kSkipped };

std::string StepStateName(StepState s);

struct StepRecord {
  std::int64_t id = 0;
  std::string operation_id;
  int seq = 0;  // 1-based order within the operation
  std::string name;
  StepState state = StepState::kIntent;
  std::string detail;
  absl::Time started_at = absl::InfinitePast();
  absl::Time finished_at = absl::InfinitePast();  // InfinitePast while kIntent
};

// A decision of the engine, journaled when it changes (not every evaluation).
struct DecisionRecord {
  std::int64_t id = 0;
  std::string group_id;
  absl::Time at = absl::InfinitePast();
  std::string state;         // the ladder state, e.g. "CONFIRMED_DOWN"
  std::string action;        // "none", "planned", "forced", "wait_approval", "hold"
  std::string reasons_json;  // machine-readable reasons
  std::string summary;       // one line for humans
};

// Who asked for what, and what came of it.
//
// Bounds: every text field a caller can fill is cut before it is stored (TruncateAuditFields), at
// a UTF-8 boundary and marked "…[truncated N bytes]", so no caller grows an audit row, a decision
// or a step without bound. A record is never refused for its size.
inline constexpr std::size_t kMaxAuditActorBytes = 256;
inline constexpr std::size_t kMaxAuditActionBytes = 64;
inline constexpr std::size_t kMaxAuditTargetBytes = 512;
inline constexpr std::size_t kMaxAuditDetailBytes = 4096;
inline constexpr std::size_t kMaxAuditOutcomeBytes = 2048;
inline constexpr std::size_t kMaxDecisionSummaryBytes = 4096;
// A step's detail, as BeginStep and EndStep store it (a hook's output, an ARM error).
inline constexpr std::size_t kMaxStepDetailBytes = 16 * 1024;

struct AuditRecord {
  std::int64_t id = 0;
  absl::Time at = absl::InfinitePast();
  std::string actor;   // caller identity, or "agent" for automatic actions
  std::string action;  // e.g. "RequestFailover", "Approve", "Pause"
  std::string target;  // group or operation id
  std::string detail;
  std::string outcome;  // "ok" or the status
  // A call the API refused (authentication, authorization or validation). Refusals are kept
  // under their own count limit (RetentionPolicy::refusals_max_rows), so a flood of them can
  // never push an authorised action out of the trail.
  bool refusal = false;
};

// Cuts each field of `a` to its bound above (see common::TruncateUtf8).
void TruncateAuditFields(AuditRecord& a);
// Cuts `d.summary` to kMaxDecisionSummaryBytes.
void TruncateDecisionFields(DecisionRecord& d);

// How long the audit trail and the decisions are kept (Journal::Prune). Operations, their steps
// and the control state are never pruned: they are what a restarted agent resumes and what the
// cooldown and the history rest on. A zero limit means unlimited in that dimension; a negative one
// is refused. Both limits apply: a row goes when it is too old or beyond the count.
struct RetentionPolicy {
  // Audit records older than this (by their `at`) are deleted.
  absl::Duration audit_max_age = absl::Hours(24 * 365);
  // Beyond this many audit records of authorised actions, the oldest are deleted.
  std::int64_t audit_max_rows = 1'000'000;
  // Decisions older than this are deleted.
  absl::Duration decisions_max_age = absl::Hours(24 * 90);
  // Beyond this many decisions of one group, that group's oldest are deleted.
  std::int64_t decisions_max_rows_per_group = 10'000;
  // Beyond this many audit records of refused calls, the oldest refusals are deleted (counted
  // apart from audit_max_rows).
  std::int64_t refusals_max_rows = 100'000;
};

// What one Prune deleted.
struct PruneResult {
  std::int64_t audit_rows = 0;
  std::int64_t decision_rows = 0;
};

// The journal's interface. Every method is thread-safe. Write methods return UNAVAILABLE when the
// write did not reach durable storage (the caller must not perform the side effect it was about to
// journal), INVALID_ARGUMENT for malformed records, NOT_FOUND for unknown ids.
class Journal {
 public:
  virtual ~Journal() = default;

  // Result of CreateOperation: the operation as stored, and whether this call created it (false
  // when an operation with the same non-empty request_id already existed, which is returned
  // unchanged: a repeated request maps to the same operation).
  struct Created {
    OperationRecord operation;
    bool created = false;
  };
  virtual absl::StatusOr<Created> CreateOperation(OperationRecord op) = 0;

  // Sets state and outcome (and updated_at). FAILED_PRECONDITION when the operation already
  // finished: a finished operation never changes.
  virtual absl::Status UpdateOperation(const std::string& id, OperationState state,
                                       const std::string& outcome) = 0;

  // Records the ARM operation URL of an accepted failover POST.
  virtual absl::Status SetArmOperationUrl(const std::string& id, const std::string& url) = 0;

  virtual absl::StatusOr<OperationRecord> GetOperation(const std::string& id) = 0;
  virtual absl::StatusOr<std::optional<OperationRecord>> FindByRequestId(
      const std::string& request_id) = 0;
  // Newest first; empty group_id lists all groups; limit <= 0 means no limit.
  virtual absl::StatusOr<std::vector<OperationRecord>> ListOperations(const std::string& group_id,
                                                                      int limit) = 0;
  // Operations in kPending or kRunning, oldest first.
  virtual absl::StatusOr<std::vector<OperationRecord>> UnfinishedOperations() = 0;

  // Writes a step's intent before its side effect; returns the new step (with id and seq).
  // `detail` is stored cut to kMaxStepDetailBytes (as is EndStep's).
  virtual absl::StatusOr<StepRecord> BeginStep(const std::string& operation_id,
                                               const std::string& name,
                                               const std::string& detail) = 0;
  // Writes a step's outcome after its side effect. `state` must not be kIntent.
  virtual absl::Status EndStep(std::int64_t step_id, StepState state,
                               const std::string& detail) = 0;
  virtual absl::StatusOr<std::vector<StepRecord>> Steps(const std::string& operation_id) = 0;

  // Stores `d` with its summary cut to kMaxDecisionSummaryBytes.
  virtual absl::Status RecordDecision(DecisionRecord d) = 0;
  // Newest first.
  virtual absl::StatusOr<std::vector<DecisionRecord>> Decisions(const std::string& group_id,
                                                                int limit) = 0;

  // Stores `a` with its fields cut to their bounds (TruncateAuditFields).
  virtual absl::Status Audit(AuditRecord a) = 0;
  // Newest first.
  virtual absl::StatusOr<std::vector<AuditRecord>> AuditTrail(int limit) = 0;

  // The time the last failover of `group_id` succeeded, if any (for the cooldown).
  virtual absl::StatusOr<std::optional<absl::Time>> LastSucceededFailover(
      const std::string& group_id) = 0;

  // Durable control state: what people told the agent and what the agent must not forget across a
  // restart or a reload (pauses with their owners, approvals, failed planned attempts, the start
  // of the current outage, the last lag sample, the cooldown anchor, known roles). Keys are the
  // caller's ("group/<id>", "pause/<owner>/<group>"); values are opaque text (JSON). The write is
  // durable when it returns OK, so a caller acknowledges a pause or an approval only after it.
  // Writes every entry in one transaction; an empty value deletes its key.
  virtual absl::Status PutControlState(const std::map<std::string, std::string>& entries) = 0;
  // Every key with its value.
  virtual absl::StatusOr<std::map<std::string, std::string>> ControlState() = 0;

  // Deletes the audit records and decisions `policy` no longer keeps, as of `now`, and returns
  // how many of each went. Deletes in small transactions, so durable writes (steps) never wait
  // long behind it; an error part-way leaves what was deleted deleted (running it again
  // finishes). Never touches operations, steps or control state. INVALID_ARGUMENT for a negative
  // limit; UNAVAILABLE when a delete does not reach durable storage.
  virtual absl::StatusOr<PruneResult> Prune(const RetentionPolicy& policy, absl::Time now) = 0;
};

}  // namespace foghorn::journal

#endif  // FOGHORN_ORCHESTRATOR_JOURNAL_JOURNAL_H_
