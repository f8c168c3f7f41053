// Typed models of the Microsoft.Sql failoverGroups API (api-version 2025-01-01) and of the ARM
// async-operation and error bodies, with their JSON mapping. Parsing tolerates unknown fields and
// missing optional ones; anything that is not the expected shape is INVALID_ARGUMENT (never an
// exception). Field names follow the swagger (reference/arm/FailoverGroups.2025-01-01.json).
#ifndef FOGHORN_ORCHESTRATOR_ARM_MODELS_H_
#define FOGHORN_ORCHESTRATOR_ARM_MODELS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace foghorn::arm {

enum class ReplicationRole { kUnknown, kPrimary, kSecondary };
std::string_view ReplicationRoleName(ReplicationRole role);

struct PartnerInfo {
  std::string id;  // ARM id of the partner server.
  std::string location;
  ReplicationRole replication_role = ReplicationRole::kUnknown;
};

struct ReadWriteEndpoint {
  std::string failover_policy;  // "Manual" | "Automatic"
  std::optional<std::int32_t> failover_with_data_loss_grace_period_minutes;
};

struct ReadOnlyEndpoint {
  std::string failover_policy;  // "Disabled" | "Enabled"
  std::string target_server;    // optional ARM id
};

// A failover group as seen from the server named in its id.
struct FailoverGroup {
  std::string id;
  std::string name;
  std::string type;
  std::string location;  // read-only display name, e.g. "East US"
  std::map<std::string, std::string> tags;
  std::optional<ReadWriteEndpoint> read_write_endpoint;
  std::optional<ReadOnlyEndpoint> read_only_endpoint;
  ReplicationRole replication_role = ReplicationRole::kUnknown;  // read-only
  std::string replication_state;                                 // read-only, free-form
  std::vector<PartnerInfo> partner_servers;
  std::vector<std::string> databases;
  std::string secondary_type;  // "Geo" | "Standby" | ""
};

// The PATCH body: every field optional; only present fields are sent.
struct FailoverGroupUpdate {
  std::optional<ReadWriteEndpoint> read_write_endpoint;
  std::optional<ReadOnlyEndpoint> read_only_endpoint;
  std::optional<std::vector<std::string>> databases;
  std::optional<std::vector<std::string>> partner_servers;  // partner server ids
  std::optional<std::string> secondary_type;
  std::optional<std::map<std::string, std::string>> tags;
};

struct FailoverGroupPage {
  std::vector<FailoverGroup> value;
  std::string next_link;
};

// ARM's error body: {"error":{"code","message","target","details":[...]}}.
struct ArmError {
  std::string code;
  std::string message;
  std::string target;
};

enum class OperationState { kInProgress, kSucceeded, kFailed, kCanceled };

// The Azure-AsyncOperation status body: {"name","status","startTime"[,"error"]}.
struct OperationStatus {
  std::string name;
  std::string status;  // as sent
  OperationState state = OperationState::kInProgress;
  std::optional<ArmError> error;
};

absl::StatusOr<FailoverGroup> ParseFailoverGroup(std::string_view json);
absl::StatusOr<FailoverGroupPage> ParseFailoverGroupPage(std::string_view json);
absl::StatusOr<OperationStatus> ParseOperationStatus(std::string_view json);
// Returns nullopt when `json` is not an ARM error body (HTML from a proxy, empty, ...).
std::optional<ArmError> ParseArmError(std::string_view json);

// The PUT body: read-only fields (id, name, type, location, roles, replicationState) are omitted.
std::string FailoverGroupToPutJson(const FailoverGroup& group);
std::string FailoverGroupUpdateToJson(const FailoverGroupUpdate& update);

}  // namespace foghorn::arm

#endif  // FOGHORN_ORCHESTRATOR_ARM_MODELS_H_
