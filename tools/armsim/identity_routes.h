// foghorn-armsim's emulated Entra ID over HTTP: the client-credentials token endpoint
// (POST /{tenant}/oauth2/v2.0/token and /{tenant}/oauth2/token), its OpenID configuration
// (GET /{tenant}/v2.0/.well-known/openid-configuration) and the IMDS managed-identity endpoint
// (GET /metadata/identity/oauth2/token). Tokens come from the context's TokenStore; clients are
// checked against the topology's; faults routed "token" or "imds" answer OAuth-shaped errors.
#ifndef FOGHORN_TOOLS_ARMSIM_IDENTITY_ROUTES_H_
#define FOGHORN_TOOLS_ARMSIM_IDENTITY_ROUTES_H_

#include <optional>

#include "tools/armsim/sim_context.h"

namespace foghorn::armsim {

// A RouteFamily: serves the identity routes above (route "token" or "imds" in the request log);
// nullopt for any other path. Never drops the connection.
std::optional<Disposition> ServeIdentity(SimContext& sim, Exchange& x);

}  // namespace foghorn::armsim

#endif  // FOGHORN_TOOLS_ARMSIM_IDENTITY_ROUTES_H_
