// Readiness checks a real DR plan needs beyond the drill preflight's (issue 16), read from ARM:
//  - failover_permission: the identity may fail the group over on the secondary server
//    (Microsoft.Authorization/permissions of that server: .../failoverGroups/failover/action and
//    .../forceFailoverAllowDataLoss/action allowed by actions and not removed by notActions).
//    An endpoint that does not serve the read (404, e.g. the emulator) is "unknown", never
//    failing, and says so.
//  - secondary_link: each runbook database's replication link, read on the secondary server:
//    CATCH_UP passes (the link type, GEO or STANDBY, is reported); SEEDING, SUSPENDED or any other
//    state fails; a database missing on the secondary fails.
//  - sku_parity: each runbook database's service objective (SKU name and capacity) on the primary
//    and the secondary: a different one fails (the secondary could not carry the load); a
//    database read the endpoint does not serve is "unknown" (not done).
// The group's failover policy, the databases in the group and the group's replication state are
// the drill preflight's checks (drill/readiness.h), run beside these by the scheduler.
#ifndef FOGHORN_ORCHESTRATOR_AGENT_ARM_READINESS_CHECKS_H_
#define FOGHORN_ORCHESTRATOR_AGENT_ARM_READINESS_CHECKS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "orchestrator/agent/readiness_scheduler.h"
#include "orchestrator/arm/arm_client.h"
#include "orchestrator/arm/azure_signals.h"
#include "orchestrator/executor/operation_runner.h"

namespace foghorn::agent {

inline constexpr char kCheckFailoverPermission[] = "failover_permission";
inline constexpr char kCheckSecondaryLink[] = "secondary_link";
inline constexpr char kCheckSkuParity[] = "sku_parity";
inline constexpr char kAuthorizationApiVersion[] = "2022-04-01";
inline constexpr char kDatabasesApiVersion[] = "2023-08-01";

// The ARM reads the checks make. Blocking; thread-safe.
class ReadinessReads {
 public:
  virtual ~ReadinessReads() = default;
  virtual absl::StatusOr<arm::FailoverGroup> Group(const arm::FailoverGroupId& id) = 0;
  virtual absl::StatusOr<std::vector<arm::ReplicationLink>> Links(const arm::DatabaseId& db) = 0;
  // GET of an ARM resource path with its query ("/subscriptions/...?api-version=..."): the body.
  virtual absl::StatusOr<std::string> Read(const std::string& what, const std::string& subscription,
                                           const std::string& path_and_query) = 0;
};

// Over the ARM client (its credential, reads budget, retries, deadline). All must outlive it.
class ArmReadinessReads final : public ReadinessReads {
 public:
  ArmReadinessReads(executor::FailoverActuator& arm, arm::ArmClient& client,
                    arm::AzureSignals& signals)
      : arm_(arm), client_(client), signals_(signals) {}
  absl::StatusOr<arm::FailoverGroup> Group(const arm::FailoverGroupId& id) override {
    return arm_.Get(id);
  }
  absl::StatusOr<std::vector<arm::ReplicationLink>> Links(const arm::DatabaseId& db) override {
    return signals_.ListReplicationLinks(db);
  }
  absl::StatusOr<std::string> Read(const std::string& what, const std::string& subscription,
                                   const std::string& path_and_query) override {
    return client_.ReadBody(what, subscription, client_.endpoint() + path_and_query);
  }

 private:
  executor::FailoverActuator& arm_;
  arm::ArmClient& client_;
  arm::AzureSignals& signals_;
};

// One permission entry of Microsoft.Authorization/permissions.
struct PermissionEntry {
  std::vector<std::string> actions;
  std::vector<std::string> not_actions;
};
// INVALID_ARGUMENT for a body that is not {"value":[{"actions":[...],"notActions":[...]}...]}.
absl::StatusOr<std::vector<PermissionEntry>> ParsePermissions(const std::string& json);
// Whether `action` is allowed: some entry's actions match it (ARM wildcards: "*" anywhere,
// case-insensitive) and that entry's notActions do not.
bool PermissionAllows(const std::vector<PermissionEntry>& entries, const std::string& action);

// A database's size as ARM reports it.
struct DatabaseSku {
  std::string name;               // sku.name, e.g. "GP_Gen5"
  std::string tier;               // sku.tier
  int capacity = 0;               // sku.capacity
  std::string service_objective;  // properties.currentServiceObjectiveName, e.g. "GP_Gen5_2"
  // "GP_Gen5_2" (the objective), or "name/capacity" without one.
  std::string Describe() const;
};
absl::StatusOr<DatabaseSku> ParseDatabaseSku(const std::string& json);

class ArmReadinessChecks final : public ReadinessSource {
 public:
  explicit ArmReadinessChecks(ReadinessReads& reads) : reads_(reads) {}
  // failover_permission, secondary_link, sku_parity, in that order.
  std::vector<ReadinessCheck> Check(const v1::Runbook& runbook) override;

 private:
  ReadinessReads& reads_;
};

}  // namespace foghorn::agent

#endif  // FOGHORN_ORCHESTRATOR_AGENT_ARM_READINESS_CHECKS_H_
