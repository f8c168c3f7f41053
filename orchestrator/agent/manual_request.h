// The gates a failover requested by a person passes before the agent starts it (docs/api.md, "Who
// may request what"): the holds automation obeys, found with the decision engine's own
// decision::Holds() rather than a second copy of them; a second person for kinds that may lose
// data; and an approver's explicit override of the holds that are a matter of judgement. Pure:
// no I/O, no clock, no lock; the agent calls it under its lock with the group's current view.
#ifndef FOGHORN_ORCHESTRATOR_AGENT_MANUAL_REQUEST_H_
#define FOGHORN_ORCHESTRATOR_AGENT_MANUAL_REQUEST_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "foghorn/v1/common.pb.h"
#include "foghorn/v1/runbook.pb.h"
#include "orchestrator/decision/decide.h"
#include "orchestrator/decision/group_view.h"
#include "orchestrator/decision/policy.h"

namespace foghorn::agent {

// Who asks for a failover, and with what authority.
struct Requester {
  // The caller identity (the API token's name).
  std::string name{};
  // The caller holds the approver role.
  bool approver = false;
  // Approver only: start the failover although a hold a person may judge (pause, maintenance
  // window, cooldown, blast-radius cap, impaired vantage) stops it. Needs `override_reason`.
  bool override_holds = false;
  std::string override_reason{};
};

// What let a request through, for the audit trail.
struct ManualClearance {
  // The holds the approver's override lifted; empty when none applied.
  std::vector<decision::Reason> overridden;
  // For a kind that needs a second person, requested by someone who is not an approver: who
  // approved it (through ApproveDecision).
  std::string approved_by;
};

// True when a person asking for `kind` under `mode` needs the approver role, or an approval by
// another identity: kinds that may lose data (FORCED, TRY_PLANNED_BEFORE_FORCED) always, and
// PLANNED too under APPROVAL_MODE_APPROVE_ALL.
bool NeedsSecondPerson(v1::FailoverKind kind, v1::ApprovalMode mode);

// True for the hold codes no override lifts: observe-only, roles unknown, and a secondary that
// is not healthy (foghorn never fails over to a server it cannot see healthy).
bool IsSafetyHold(decision::ReasonCode code);

// Checks a failover of `kind` (PLANNED, FORCED or TRY_PLANNED_BEFORE_FORCED) of group `group_id`
// requested by `who`, against the group as `view` shows it at `now`. `approval_by` is who granted
// view.approval (empty when unknown: such an approval authorises nobody's request). The
// operation-in-flight check (ABORTED) is the caller's, and an operator's cancel hold
// (OPERATOR_CANCELLED) does not apply: a person's request is the human decision that hold waits
// for. Returns
// - FAILED_PRECONDITION when the group is observe-only, the secondary is not healthy or the roles
//   are unknown (nothing lifts these), or when a hold applies and no valid override lifts it (the
//   message lists every hold and says an approver may override it with a reason);
// - PERMISSION_DENIED when the kind needs a second person (NeedsSecondPerson), `who` is not an
//   approver and no unexpired approval by another identity covers the kind (and, for a kind that
//   may lose data over the budget or with an unknown loss, allows that); or when someone who is
//   not an approver sets override_holds;
// - INVALID_ARGUMENT when override_holds comes without a reason;
// otherwise what cleared it.
absl::StatusOr<ManualClearance> CheckManualRequest(const std::string& group_id,
                                                   v1::FailoverKind kind, const Requester& who,
                                                   const decision::GroupView& view,
                                                   const decision::Policy& policy, absl::Time now,
                                                   const std::string& approval_by);

// One line for the audit trail: what the override lifted and why, or who approved.
std::string ClearanceSummary(const ManualClearance& clearance, const Requester& who);

}  // namespace foghorn::agent

#endif  // FOGHORN_ORCHESTRATOR_AGENT_MANUAL_REQUEST_H_
