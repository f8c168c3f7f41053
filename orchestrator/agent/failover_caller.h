// Who failed a failover group over: the agent asks when ARM reports a primary that no foghorn
// operation made (role_refresher.cc, NoticeExternalFailover), so the external_failover event,
// audit record and notification can name the caller ("Microsoft.Sql" for a Microsoft-initiated
// failover, a user or service principal otherwise). FailoverCallerReader is the seam;
// ArmFailoverCallerReader reads the Activity Log through arm::AzureSignals (foghornd wires it in
// main.cc); tests use a fake.
#ifndef FOGHORN_ORCHESTRATOR_AGENT_FAILOVER_CALLER_H_
#define FOGHORN_ORCHESTRATOR_AGENT_FAILOVER_CALLER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "orchestrator/arm/azure_signals.h"
#include "orchestrator/arm/resource_id.h"

namespace foghorn::agent {

class FailoverCallerReader {
 public:
  virtual ~FailoverCallerReader() = default;
  // The caller of the newest failover action (planned, forced or try-planned) on the group as
  // seen from `group.server` (the new primary: failovers are sent to it) whose events are not
  // older than `since` (wall clock). Blocks on ARM: call it on a read worker, never on the loop.
  // NOT_FOUND when the log holds no such failover (yet: the Activity Log is ingested minutes
  // late); the ARM client's errors when the log cannot be read (PERMISSION_DENIED, UNAVAILABLE,
  // NOT_FOUND when an emulator does not serve it, ...). Thread-safe.
  virtual absl::StatusOr<std::string> LastFailoverCaller(const arm::FailoverGroupId& group,
                                                         absl::Time since) = 0;
};

// True for the Activity Log operation names of a failover-group failover action
// ("Microsoft.Sql/servers/failoverGroups/failover/action", ".../forceFailoverAllowDataLoss/action",
// ".../tryPlannedBeforeForcedFailover/action"), case-insensitively.
bool IsFailoverOperation(const std::string& operation_name);

// The caller of the newest failover in `events` (newest first, as the API sends them): a
// Succeeded event wins over Started/Accepted ones; events without a caller are skipped.
// NOT_FOUND when there is none.
absl::StatusOr<std::string> FailoverCallerOf(const std::vector<arm::ActivityLogEvent>& events);

// The Activity Log through the ARM client (its credential, reads budget, retries and deadline).
// `signals` must outlive it. Thread-safe as AzureSignals is.
class ArmFailoverCallerReader final : public FailoverCallerReader {
 public:
  explicit ArmFailoverCallerReader(arm::AzureSignals& signals) : signals_(signals) {}
  absl::StatusOr<std::string> LastFailoverCaller(const arm::FailoverGroupId& group,
                                                 absl::Time since) override;

 private:
  arm::AzureSignals& signals_;
};

}  // namespace foghorn::agent

#endif  // FOGHORN_ORCHESTRATOR_AGENT_FAILOVER_CALLER_H_
