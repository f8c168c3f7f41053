// Helpers several of Agent's implementation files need (agent.cc, operations.cc,
// control_surface.cc): failover kinds between the API's and ARM's enums, and how an automatic
// operation and an abandoned one are recognised. Internal to orchestrator/agent.
#ifndef FOGHORN_ORCHESTRATOR_AGENT_AGENT_INTERNAL_H_
#define FOGHORN_ORCHESTRATOR_AGENT_AGENT_INTERNAL_H_

#include "foghorn/v1/runbook.pb.h"
#include "orchestrator/arm/arm_client.h"
#include "orchestrator/journal/journal.h"

namespace foghorn::agent {

inline arm::FailoverKind ToArmKind(v1::FailoverKind kind) {
  switch (kind) {
    case v1::FAILOVER_KIND_FORCED:
      return arm::FailoverKind::kForcedAllowDataLoss;
    case v1::FAILOVER_KIND_TRY_PLANNED_BEFORE_FORCED:
      return arm::FailoverKind::kTryPlannedBeforeForced;
    default:
      return arm::FailoverKind::kPlanned;
  }
}

inline v1::FailoverKind FromArmKind(arm::FailoverKind kind) {
  switch (kind) {
    case arm::FailoverKind::kForcedAllowDataLoss:
      return v1::FAILOVER_KIND_FORCED;
    case arm::FailoverKind::kTryPlannedBeforeForced:
      return v1::FAILOVER_KIND_TRY_PLANNED_BEFORE_FORCED;
    case arm::FailoverKind::kPlanned:
      return v1::FAILOVER_KIND_PLANNED;
  }
  return v1::FAILOVER_KIND_PLANNED;
}

inline constexpr char kAbandonedPrefix[] = "abandoned after a restart: ";

// Outcomes of operations that never reached ARM and are no attempt: abandoned at a restart, or
// refused by the coordination fence (operation_runner.cc). A fresh decision may start another.
inline constexpr char kNotSentPrefix[] = "not sent to ARM: ";
inline constexpr char kNotResumedPrefix[] = "not resumed here: ";
inline bool NeverReachedArm(const journal::OperationRecord& op) {
  return op.state == journal::OperationState::kAborted &&
         (op.outcome.rfind(kAbandonedPrefix, 0) == 0 || op.outcome.rfind(kNotSentPrefix, 0) == 0 ||
          op.outcome.rfind(kNotResumedPrefix, 0) == 0);
}

inline bool IsAutomatic(const journal::OperationRecord& op) {
  return op.request_id.rfind("auto/", 0) == 0;
}

}  // namespace foghorn::agent

#endif  // FOGHORN_ORCHESTRATOR_AGENT_AGENT_INTERNAL_H_
