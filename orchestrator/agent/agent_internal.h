// Helpers several of Agent's implementation files need (agent.cc, operations.cc,
// control_surface.cc): failover kinds between the API's and ARM's enums, and how an automatic
// operation and an abandoned one are recognised. Internal to orchestrator/agent.
#ifndef FOGHORN_ORCHESTRATOR_AGENT_AGENT_INTERNAL_H_
#define FOGHORN_ORCHESTRATOR_AGENT_AGENT_INTERNAL_H_

#include <string>

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
// refused by the coordination fence before their first POST (operation_runner.cc). A fresh
// decision may start another. ("not resumed here: ..." is not one: that ARM step had begun.)
inline constexpr char kNotSentPrefix[] = "not sent to ARM: ";
inline bool NeverReachedArm(const journal::OperationRecord& op) {
  return op.state == journal::OperationState::kAborted &&
         (op.outcome.rfind(kAbandonedPrefix, 0) == 0 || op.outcome.rfind(kNotSentPrefix, 0) == 0);
}

// Where a lag sample of probe `probe_id` ("<group>/<name>") comes from, for the data-loss reason:
// "azure_metric replication_lag_seconds", "http probe lag", ... ("probe <name>" when the runbook
// no longer names it).
inline std::string LagSourceName(const v1::Runbook& runbook, const std::string& probe_id) {
  const std::string name = probe_id.substr(probe_id.find_last_of('/') + 1);
  for (const v1::ProbeSpec& p : runbook.probes()) {
    if (p.name() != name) continue;
    switch (p.kind_case()) {
      case v1::ProbeSpec::kAzureMetric:
        return "azure_metric " + (p.azure_metric().metric().empty()
                                      ? std::string("replication_lag_seconds")
                                      : p.azure_metric().metric());
      case v1::ProbeSpec::kHttp:
        return "http probe " + name;
      case v1::ProbeSpec::kExec:
        return "exec probe " + name;
      default:
        break;
    }
  }
  return "probe " + name;
}

inline constexpr char kLastKnownLagSource[] = "last known (journal)";
inline constexpr char kVantageLagSource[] = "another vantage (coordination)";

// An automatic request id without what a fresh decision appended to it ("/after-<id>",
// "/at-<time>"): one outage and kind, whichever attempt. Keys the no-retry rule.
// The base is "auto/<subscription>/<resource group>/<name>/<outage>/<kind>": six parts.
inline std::string BaseRequestId(const std::string& request_id) {
  if (request_id.rfind("auto/", 0) != 0) return request_id;
  size_t at = 0;
  for (int parts = 0; parts < 6; ++parts) {
    at = request_id.find('/', at + (parts == 0 ? 0 : 1));
    if (at == std::string::npos) return request_id;
  }
  return request_id.substr(0, at);
}

inline bool IsAutomatic(const journal::OperationRecord& op) {
  return op.request_id.rfind("auto/", 0) == 0;
}

}  // namespace foghorn::agent

#endif  // FOGHORN_ORCHESTRATOR_AGENT_AGENT_INTERNAL_H_
