// The HTTP view of foghorn-armsim's SQL data plane: GET /sql/servers/{server}/replicationLinks,
// the sys.dm_geo_replication_link_status-like rows (with replication lag) a lag probe reads, and
// the same route as seen from a vantage, GET /vantages/{vantage}/sql/servers/{server}/
// replicationLinks (vantages.h). It obeys the server's data-plane outage and the vantage's
// partition from the server's region: 503 DatabaseUnavailable when it refuses, no answer (a
// held, then dropped connection) when it is a black hole.
#ifndef FOGHORN_TOOLS_ARMSIM_SQL_ROUTES_H_
#define FOGHORN_TOOLS_ARMSIM_SQL_ROUTES_H_

#include <optional>

#include "tools/armsim/sim_context.h"

namespace foghorn::armsim {

// A RouteFamily: serves the routes above (route "sql" in the request log, with the vantage);
// 404 VantageNotFound for an unknown vantage; nullopt for any other request.
std::optional<Disposition> ServeSql(SimContext& sim, Exchange& x);

}  // namespace foghorn::armsim

#endif  // FOGHORN_TOOLS_ARMSIM_SQL_ROUTES_H_
