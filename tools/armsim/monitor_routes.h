// foghorn-armsim's monitoring front end: the global Azure services a DR agent reads besides the
// Microsoft.Sql RP, served from the emulator's signal model (emulator_signals.cc):
//   GET {databaseId}/providers/Microsoft.Insights/metrics          Azure Monitor metrics
//   GET {serverId}[/databases/{db}]/providers/Microsoft.ResourceHealth/availabilityStatuses/current
//   GET /subscriptions/{s}/providers/Microsoft.Insights/eventtypes/management/values  Activity Log
// They pass ARM's front door like the failover-group routes (strict-auth bearer token,
// api-version, the subscription's read bucket, injected faults, the request log) but are not
// gated by a region's control-plane outage: these services answer from outside the region.
// Replication links are a Microsoft.Sql route (arm_routes.cc).
#ifndef FOGHORN_TOOLS_ARMSIM_MONITOR_ROUTES_H_
#define FOGHORN_TOOLS_ARMSIM_MONITOR_ROUTES_H_

#include <optional>
#include <string>

#include "absl/time/time.h"
#include "tools/armsim/sim_context.h"

namespace foghorn::armsim {

// A RouteFamily: serves the routes above (request-log routes "metrics", "resourceHealth",
// "activityLog", also the fault route names); nullopt for any other request.
std::optional<Disposition> ServeMonitor(SimContext& sim, Exchange& x);

// Parses an ISO 8601 / RFC 3339 time ("2026-12-03T01:00:00Z", with fractions or an offset, or
// a bare date); nullopt if it is none.
std::optional<absl::Time> ParseIsoTime(const std::string& text);

}  // namespace foghorn::armsim

#endif  // FOGHORN_TOOLS_ARMSIM_MONITOR_ROUTES_H_
