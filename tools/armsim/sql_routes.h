// The HTTP view of foghorn-armsim's SQL data plane: GET /sql/servers/{server}/replicationLinks,
// the sys.dm_geo_replication_link_status-like rows (with replication lag) a lag probe reads. It
// obeys the server's data-plane outage: 503 DatabaseUnavailable when the region refuses, no
// answer (a held, then dropped connection) when it is a black hole.
#ifndef FOGHORN_TOOLS_ARMSIM_SQL_ROUTES_H_
#define FOGHORN_TOOLS_ARMSIM_SQL_ROUTES_H_

#include <optional>

#include "tools/armsim/sim_context.h"

namespace foghorn::armsim {

// A RouteFamily: serves the route above (route "sql" in the request log); nullopt for any other
// request.
std::optional<Disposition> ServeSql(SimContext& sim, Exchange& x);

}  // namespace foghorn::armsim

#endif  // FOGHORN_TOOLS_ARMSIM_SQL_ROUTES_H_
