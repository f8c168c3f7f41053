// foghorn-armsim's ARM front end: turns Microsoft.Sql failover-group URLs
// (/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Sql/servers/{server}/failoverGroups
// [/{fg}[/failover|/forceFailoverAllowDataLoss|/tryPlannedBeforeForcedFailover]] and the
// operation status URLs) into ArmRequests for the emulator, after what ARM checks before a
// request reaches the resource provider, in ARM's order: bearer token (strict auth),
// api-version, subscription throttling, then injected faults. Renders the emulator's answer and
// holds requests to a black-holed region.
#ifndef FOGHORN_TOOLS_ARMSIM_ARM_ROUTES_H_
#define FOGHORN_TOOLS_ARMSIM_ARM_ROUTES_H_

#include <optional>
#include <string>
#include <vector>

#include "tools/armsim/emulator.h"
#include "tools/armsim/sim_context.h"

namespace foghorn::armsim {

// Matches an ARM path (split on '/') and HTTP method to a route, filling in the route and the
// ids from the path (subscription, resource group, server, group, region, operation id);
// nullopt if it is no ARM route the emulator serves. Path keywords match case-insensitively, as
// in ARM.
std::optional<ArmRequest> MatchArmRoute(const std::string& method,
                                        const std::vector<std::string>& segments);

// ARM's 401 for a missing, unknown or expired bearer token (with its WWW-Authenticate header);
// nullopt if the token is valid. Strict auth applies it to every ARM-shaped route.
std::optional<ArmResponse> CheckBearer(const TokenStore& tokens, const httplib::Request& req);

// The identity a request acts as, for the Activity Log: the client id (or managed identity) its
// bearer token was issued to, "armsim-token" for an emulator token issued without one,
// "anonymous" without a valid token.
std::string CallerOf(const TokenStore& tokens, const httplib::Request& req);

// Applies an injected fault to an ARM-shaped request. Returns how the request ends if the fault
// answers or drops it instead of the emulator; nullopt if the request still goes on (latency
// after the delay, reset_after with *reset_after set, fail_operation with the failure in `ar`).
std::optional<Disposition> ApplyFault(const FaultSpec& fault, httplib::Response& res,
                                      ArmRequest& ar, bool* reset_after);

// A RouteFamily: serves the ARM routes (RouteName() in the request log); nullopt for any other
// path. Drops the connection for reset faults and black holes.
std::optional<Disposition> ServeArm(SimContext& sim, Exchange& x);

}  // namespace foghorn::armsim

#endif  // FOGHORN_TOOLS_ARMSIM_ARM_ROUTES_H_
