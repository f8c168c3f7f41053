#include "orchestrator/agent/manual_request.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace foghorn::agent {
namespace {

bool LosesData(v1::FailoverKind kind) {
  return kind == v1::FAILOVER_KIND_FORCED || kind == v1::FAILOVER_KIND_TRY_PLANNED_BEFORE_FORCED;
}

// The engine's coverage rule (docs/decision-policy.md, "Approval modes and approvals").
bool Covers(v1::FailoverKind approved, v1::FailoverKind kind) {
  if (approved == v1::FAILOVER_KIND_AUTO || approved == kind) return true;
  return LosesData(approved) && LosesData(kind);
}

// Holds that do not gate a person's request: the in-flight check is the caller's (ABORTED), and
// an operator's cancel hold waits for exactly this, a person deciding.
bool IgnoredForPeople(decision::ReasonCode code) {
  return code == decision::ReasonCode::kOperationInFlight ||
         code == decision::ReasonCode::kOperatorCancelled;
}

std::string KindName(v1::FailoverKind kind) {
  switch (kind) {
    case v1::FAILOVER_KIND_FORCED:
      return "forced";
    case v1::FAILOVER_KIND_TRY_PLANNED_BEFORE_FORCED:
      return "try-planned-before-forced";
    default:
      return "planned";
  }
}

std::string ModeName(v1::ApprovalMode mode) {
  switch (mode) {
    case v1::APPROVAL_MODE_AUTOMATIC:
      return "automatic";
    case v1::APPROVAL_MODE_APPROVE_ALL:
      return "approve_all";
    case v1::APPROVAL_MODE_OBSERVE_ONLY:
      return "observe_only";
    default:
      return "approve_forced";
  }
}

// Why view.approval does not authorise `who`'s request for `kind`; empty when it does.
std::string ApprovalGap(v1::FailoverKind kind, const Requester& who,
                        const decision::GroupView& view, const decision::Policy& policy,
                        absl::Time now, const std::string& approval_by) {
  if (!view.approval || now >= view.approval->expires_at) return "no unexpired approval";
  if (!Covers(view.approval->kind, kind)) {
    return absl::StrCat("the approval is for a ", KindName(view.approval->kind), " failover");
  }
  if (approval_by.empty()) return "the approval's author is unknown";
  if (approval_by == who.name) return absl::StrCat("the approval is ", who.name, "'s own");
  if (LosesData(kind) && !view.approval->allow_data_loss_over_budget) {
    const bool over =
        !view.last_lag ||
        view.last_lag->lag + std::max(absl::ZeroDuration(), now - view.last_lag->sampled_at) >
            policy.data_loss_budget;
    if (over) {
      return "the estimated data loss is over the budget (or unknown) and the approval does not "
             "allow that";
    }
  }
  return "";
}

}  // namespace

bool NeedsSecondPerson(v1::FailoverKind kind, v1::ApprovalMode mode) {
  return LosesData(kind) || mode == v1::APPROVAL_MODE_APPROVE_ALL;
}

bool IsSafetyHold(decision::ReasonCode code) {
  switch (code) {
    case decision::ReasonCode::kObserveOnly:
    case decision::ReasonCode::kRolesUnknown:
    case decision::ReasonCode::kSecondaryUnhealthy:
    case decision::ReasonCode::kSecondaryUnknown:
    // Coordinated agents: only the group's leader, with a live etcd session, starts anything
    // (ask the leader; docs/coordination.md). A vantage quorum an approver may judge.
    case decision::ReasonCode::kCoordinationLost:
    case decision::ReasonCode::kNotLeader:
      return true;
    default:
      return false;
  }
}

absl::StatusOr<ManualClearance> CheckManualRequest(const std::string& group_id,
                                                   v1::FailoverKind kind, const Requester& who,
                                                   const decision::GroupView& view,
                                                   const decision::Policy& policy, absl::Time now,
                                                   const std::string& approval_by) {
  if (policy.approval_mode == v1::APPROVAL_MODE_OBSERVE_ONLY) {
    return absl::FailedPreconditionError(
        absl::StrCat(group_id, " is observe-only: foghorn takes no action on it"));
  }
  // IMPAIRED counts as not healthy here, although the engine files it under the vantage hold.
  if (view.secondary.verdict != v1::VERDICT_HEALTHY) {
    return absl::FailedPreconditionError(absl::StrCat(
        "secondary ", view.roles.secondary_server, " of ", group_id, " is not healthy (",
        v1::Verdict_Name(view.secondary.verdict), "): refusing to fail over to it"));
  }
  if (who.override_holds && !who.approver) {
    return absl::PermissionDeniedError(
        absl::StrCat(who.name, " may not override holds: that needs the approver role"));
  }
  if (who.override_holds && who.override_reason.empty()) {
    return absl::InvalidArgumentError("override_holds needs an override_reason");
  }

  ManualClearance clearance;
  if (NeedsSecondPerson(kind, policy.approval_mode) && !who.approver) {
    const std::string gap = ApprovalGap(kind, who, view, policy, now, approval_by);
    if (!gap.empty()) {
      return absl::PermissionDeniedError(absl::StrCat(
          "a ", KindName(kind), " failover of ", group_id, " requested by ", who.name,
          " needs the approver role or an approval by another identity (approval mode ",
          ModeName(policy.approval_mode), "): ", gap));
    }
    clearance.approved_by = approval_by;
  }

  std::vector<decision::Reason> safety;
  std::vector<decision::Reason> judged;
  for (decision::Reason& r : decision::Holds(view, policy, now, kind)) {
    if (IgnoredForPeople(r.code)) continue;
    (IsSafetyHold(r.code) ? safety : judged).push_back(std::move(r));
  }
  auto texts = [](const std::vector<decision::Reason>& rs) {
    std::vector<std::string> out;
    for (const decision::Reason& r : rs) out.push_back(r.text);
    return absl::StrJoin(out, "; ");
  };
  if (!safety.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("HOLD: refusing to fail over ", group_id, ": ", texts(safety)));
  }
  if (!judged.empty()) {
    if (!who.override_holds) {
      return absl::FailedPreconditionError(
          absl::StrCat("HOLD: ", texts(judged),
                       " (an approver may override with override_holds "
                       "and an override_reason)"));
    }
    clearance.overridden = std::move(judged);
  }
  return clearance;
}

std::string ClearanceSummary(const ManualClearance& clearance, const Requester& who) {
  std::vector<std::string> parts;
  if (!clearance.overridden.empty()) {
    std::vector<std::string> codes;
    for (const decision::Reason& r : clearance.overridden) {
      codes.emplace_back(decision::ReasonCodeName(r.code));
    }
    parts.push_back(absl::StrCat("holds overridden by ", who.name, " (", absl::StrJoin(codes, ", "),
                                 "): ", who.override_reason));
  }
  if (!clearance.approved_by.empty()) {
    parts.push_back(absl::StrCat("approved by ", clearance.approved_by));
  }
  return absl::StrJoin(parts, "; ");
}

}  // namespace foghorn::agent
