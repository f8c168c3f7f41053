// Azure's own signals as foghorn-armsim emulates them, the types shared by the emulator's model
// (emulator_signals.cc) and the routes that serve them (monitor_routes.cc, arm_routes.cc):
// the knobs (SignalOptions), the Azure Monitor metric definitions (replication_lag_seconds,
// availability, connection_failed, connection_successful), a metrics query, an Activity Log
// query, and the failover-group error codes with the HTTP status ARM answers them with.
//
// Everything here is derived from the emulator's state history on the injected clock: region
// outages (begin/end), failover-group roles, the replication model's oldest unreplicated write,
// writes per minute, and the operations it ran. docs/armsim.md lists the shapes and api-versions.
#ifndef FOGHORN_TOOLS_ARMSIM_SIGNALS_H_
#define FOGHORN_TOOLS_ARMSIM_SIGNALS_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace foghorn::armsim {

// The knobs of the signal model. Changed live through PUT /admin/config.
struct SignalOptions {
  // Azure Monitor: a 1-minute bucket becomes readable this long after it ends (platform metrics
  // are typically queryable within a few minutes).
  absl::Duration metrics_ingestion_delay = absl::Seconds(90);
  // Resource Health turns Unavailable (data plane) or Degraded (control plane only) this long
  // after a region outage begins, and Available again this long after it ends. An outage shorter
  // than the down delay never shows.
  absl::Duration health_down_delay = absl::Minutes(3);
  absl::Duration health_up_delay = absl::Minutes(2);
  // A database added to a failover group (created or updated through ARM) is SEEDING for this
  // long; groups from the topology are caught up from the start. Zero: no seeding.
  absl::Duration seeding_duration = absl::ZeroDuration();
  // Activity Log caller of Microsoft-initiated failovers (admin API).
  std::string microsoft_caller = "Microsoft.Sql";
};

// One Azure Monitor metric of Microsoft.Sql/servers/databases the emulator serves.
struct MetricDefinition {
  const char* name;                 // name.value in the REST API
  const char* display_name;         // name.localizedValue
  const char* description;          // displayDescription
  const char* unit;                 // Seconds | Percent | Count
  const char* primary_aggregation;  // Average | Maximum | Total
  std::vector<std::string> dimensions;
};

// The metrics served, in a fixed order.
const std::vector<MetricDefinition>& MetricDefinitions();
// The definition of `name` (case-insensitive), or nullptr.
const MetricDefinition* FindMetric(const std::string& name);

// A parsed metrics query on one database.
struct MetricQuery {
  std::string server;
  std::string database;
  std::vector<const MetricDefinition*> metrics;
  std::vector<std::string> aggregations;  // average, minimum, maximum, total, count (lowercase)
  absl::Time start;
  absl::Time end;
  absl::Duration interval = absl::Minutes(1);  // a whole number of minutes
  // $filter: dimension -> value ("*" = split by every value). Names as in the definitions.
  std::map<std::string, std::string> filters;
};

// A parsed Activity Log query ($filter of eventtypes/management/values).
struct ActivityQuery {
  std::string subscription;
  absl::Time from = absl::InfinitePast();
  absl::Time to = absl::InfiniteFuture();
  std::string resource_uri;       // events on this resource or below it (case-insensitive)
  std::string resource_group;     // resourceGroupName eq
  std::string correlation_id;     // correlationId eq
  std::string resource_provider;  // resourceProvider eq
};

// Resource Health state forced by the admin API for a server or database (wins over the model).
struct HealthOverride {
  std::string state;        // Available | Degraded | Unavailable | Unknown
  std::string reason_type;  // e.g. Unplanned, Planned, UserInitiated
  std::string summary;
};

// The failover-group / geo-replication error codes the emulator can answer (fault kind
// "arm_error", or its model) with ARM's HTTP status and message (the 2025-01-01 spec's list);
// nullopt for a code not in the table.
struct ArmErrorInfo {
  int status;
  const char* message;
};
std::optional<ArmErrorInfo> FailoverGroupError(const std::string& code);

}  // namespace foghorn::armsim

#endif  // FOGHORN_TOOLS_ARMSIM_SIGNALS_H_
