#include "tools/armsim/authorization_routes.h"

#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tools/armsim/arm_routes.h"
#include "tools/armsim/http_front.h"
#include "tools/armsim/permissions.h"

namespace foghorn::armsim {
namespace {

using nlohmann::json;

bool Eq(const std::string& a, const char* b) { return absl::EqualsIgnoreCase(a, b); }

// Permissions - List For Resource / For Resource Group api-versions.
const std::set<std::string>& ApiVersions() {
  static const auto* versions = new std::set<std::string>{
      "2015-07-01", "2018-01-01-preview", "2018-07-01", "2022-04-01", "2022-05-01-preview"};
  return *versions;
}

struct PermissionsRequest {
  std::string subscription;
  std::string resource_group;
  std::string server;
};

// /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Sql/servers/{server}[/...]
//   /providers/Microsoft.Authorization/permissions
std::optional<PermissionsRequest> Match(const std::string& method,
                                        const std::vector<std::string>& s) {
  if (method != "GET" || s.size() < 11 || !Eq(s[0], "subscriptions") ||
      !Eq(s[2], "resourceGroups") || !Eq(s[4], "providers") || !Eq(s[5], "Microsoft.Sql") ||
      !Eq(s[6], "servers")) {
    return std::nullopt;
  }
  const size_t n = s.size();
  if (!Eq(s[n - 3], "providers") || !Eq(s[n - 2], "Microsoft.Authorization") ||
      !Eq(s[n - 1], "permissions")) {
    return std::nullopt;
  }
  return PermissionsRequest{s[1], s[3], s[7]};
}

}  // namespace

std::string ActionOf(ArmRoute route) {
  const std::string fg = "Microsoft.Sql/servers/failoverGroups";
  switch (route) {
    case ArmRoute::kList:
    case ArmRoute::kGet:
      return fg + "/read";
    case ArmRoute::kPut:
    case ArmRoute::kPatch:
      return fg + "/write";
    case ArmRoute::kDelete:
      return fg + "/delete";
    case ArmRoute::kFailover:
      return fg + "/failover/action";
    case ArmRoute::kForceFailover:
      return fg + "/forceFailoverAllowDataLoss/action";
    case ArmRoute::kTryPlannedBeforeForcedFailover:
      return fg + "/tryPlannedBeforeForcedFailover/action";
    case ArmRoute::kAsyncOperation:
    case ArmRoute::kOperationResult:
    case ArmRoute::kListReplicationLinks:
    case ArmRoute::kGetReplicationLink:
      return "";
  }
  return "";
}

std::optional<ArmResponse> CheckAuthorization(const SimContext& sim, const ArmRequest& r,
                                              const std::string& caller) {
  const std::string action = ActionOf(r.route);
  if (action.empty() || r.server.empty() || sim.permissions.Allows(r.server, action)) {
    return std::nullopt;
  }
  std::string scope = absl::StrCat("/subscriptions/", r.subscription, "/resourceGroups/",
                                   r.resource_group, "/providers/Microsoft.Sql/servers/", r.server);
  if (!r.failover_group.empty()) absl::StrAppend(&scope, "/failoverGroups/", r.failover_group);
  return ArmError(403, "AuthorizationFailed",
                  absl::StrCat("The client '", caller, "' with object id '", caller,
                               "' does not have authorization to perform action '", action,
                               "' over scope '", scope,
                               "' or the scope is invalid. If access was recently granted, "
                               "please refresh your credentials."));
}

std::optional<Disposition> ServeAuthorization(SimContext& sim, Exchange& x) {
  std::optional<PermissionsRequest> matched = Match(x.req.method, x.segments);
  if (!matched) return std::nullopt;
  const PermissionsRequest& m = *matched;
  const httplib::Request& req = x.req;
  x.record.route = "permissions";
  x.record.server = m.server;

  if (sim.strict_auth) {
    if (auto denied = CheckBearer(sim.tokens, req)) {
      SendArm(x.res, *denied);
      return Disposition::kAnswer;
    }
  }
  if (!req.has_param("api-version")) {
    SendArm(x.res, ArmError(400, "MissingApiVersionParameter",
                            "The api-version query parameter (?api-version=) is required for all "
                            "requests."));
    return Disposition::kAnswer;
  }
  if (std::string v = req.get_param_value("api-version"); ApiVersions().count(v) == 0) {
    SendArm(x.res, ArmError(400, "InvalidApiVersionParameter",
                            absl::StrCat("The api-version '", v,
                                         "' is invalid. The supported versions are '",
                                         absl::StrJoin(ApiVersions(), ","), "'.")));
    return Disposition::kAnswer;
  }
  ThrottleVerdict quota =
      sim.throttle.Take(m.subscription, req.method, sim.clock->Now(), sim.throttling);
  x.res.set_header(absl::StrCat("x-ms-ratelimit-remaining-subscription-", quota.kind),
                   std::to_string(quota.remaining));
  if (quota.throttled) {
    x.res.set_header("Retry-After", std::to_string(quota.retry_after_seconds));
    SendArm(x.res, ArmError(429, "SubscriptionRequestsThrottled",
                            absl::StrCat("Number of '", quota.kind, "' requests for subscription '",
                                         m.subscription, "' exceeded the limit.")));
    x.record.fault = "throttled";
    return Disposition::kAnswer;
  }
  bool reset_after = false;
  if (auto fault = sim.faults.Match(x.record.route, req.method, m.server, "")) {
    x.record.fault = FaultKindName(fault->kind);
    ArmRequest unused;
    if (auto ended = ApplyFault(*fault, x.res, unused, &reset_after)) return *ended;
  }
  if (sim.emulator.ServerRegion(m.server).empty()) {
    SendArm(x.res, ArmError(404, "ResourceNotFound",
                            absl::StrCat("The Resource 'Microsoft.Sql/servers/", m.server,
                                         "' under resource group '", m.resource_group,
                                         "' was not found.")));
  } else {
    SendJson(x.res, 200,
             json{{"value", json::array({PermissionJson(sim.permissions.Get(m.server))})}});
  }
  return reset_after ? Disposition::kDropConnection : Disposition::kAnswer;
}

}  // namespace foghorn::armsim
