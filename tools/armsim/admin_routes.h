// foghorn-armsim's admin API over HTTP (/admin/..., no auth; the table is in docs/armsim.md):
// region outages, vantages and partitions, faults, failing operations, writes and replication
// lag, live settings, the request log, counters, data-plane endpoints and tokens. A small route
// table maps method and path to one handler each; handlers return the JSON to answer, or a status
// that becomes 400, 404, 409 or 503 with {"error":{"code","message"}}.
#ifndef FOGHORN_TOOLS_ARMSIM_ADMIN_ROUTES_H_
#define FOGHORN_TOOLS_ARMSIM_ADMIN_ROUTES_H_

#include <optional>

#include "tools/armsim/sim_context.h"

namespace foghorn::armsim {

// A RouteFamily: serves every path under /admin (route "admin" in the request log), answering
// 400 InvalidJson for a body that is not JSON and 404 for an unknown route or method; nullopt
// for any other path. Never drops the connection.
std::optional<Disposition> ServeAdmin(SimContext& sim, Exchange& x);

}  // namespace foghorn::armsim

#endif  // FOGHORN_TOOLS_ARMSIM_ADMIN_ROUTES_H_
