// foghorn-armsim's Microsoft.Authorization front (permissions.h holds the model):
//   GET {serverId}[/{anything below it}]/providers/Microsoft.Authorization/permissions
// answers the caller's effective permissions on the server in Azure's shape
// ({"value":[{"actions","notActions","dataActions","notDataActions"}]}), through ARM's front door
// (strict-auth bearer token, api-version, the subscription's reads bucket, faults on route
// "permissions", the request log). Microsoft.Authorization is global: a region's control-plane
// outage does not stop it. CheckAuthorization applies the same grants to failover-group requests
// (403 AuthorizationFailed), so removing an action both shows in the read and denies the call.
#ifndef FOGHORN_TOOLS_ARMSIM_AUTHORIZATION_ROUTES_H_
#define FOGHORN_TOOLS_ARMSIM_AUTHORIZATION_ROUTES_H_

#include <optional>
#include <string>

#include "tools/armsim/emulator.h"
#include "tools/armsim/sim_context.h"

namespace foghorn::armsim {

// A RouteFamily: serves the permissions read above; nullopt for any other request.
std::optional<Disposition> ServeAuthorization(SimContext& sim, Exchange& x);

// The RBAC action of a failover-group request ("Microsoft.Sql/servers/failoverGroups/read",
// ".../write", ".../delete", ".../failover/action", ...); empty for routes not on a group
// (status URLs, replication links).
std::string ActionOf(ArmRoute route);

// 403 AuthorizationFailed (ARM's message, naming `caller`, the action and the scope) when the
// grant on the request's server does not allow its action; nullopt when it does.
std::optional<ArmResponse> CheckAuthorization(const SimContext& sim, const ArmRequest& request,
                                              const std::string& caller);

}  // namespace foghorn::armsim

#endif  // FOGHORN_TOOLS_ARMSIM_AUTHORIZATION_ROUTES_H_
