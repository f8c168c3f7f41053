#include "tools/armsim/arm_routes.h"

#include <set>
#include <thread>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tools/armsim/authorization_routes.h"
#include "tools/armsim/http_front.h"

namespace foghorn::armsim {
namespace {

// api-versions of Microsoft.Sql failoverGroups.
const std::set<std::string>& ApiVersions() {
  static const auto* v = new std::set<std::string>{
      "2015-05-01-preview", "2020-02-02-preview", "2020-08-01-preview", "2020-11-01-preview",
      "2021-02-01-preview", "2021-05-01-preview", "2021-08-01-preview", "2021-11-01-preview",
      "2021-11-01",         "2022-02-01-preview", "2022-05-01-preview", "2022-08-01-preview",
      "2022-11-01-preview", "2023-02-01-preview", "2023-05-01-preview", "2023-08-01-preview",
      "2023-08-01",         "2024-05-01-preview", "2024-11-01-preview", "2025-01-01",
      "2025-02-01-preview", "2025-08-01-preview"};
  return *v;
}

bool Eq(const std::string& a, const char* b) { return absl::EqualsIgnoreCase(a, b); }

// ARM's 400 for a missing or unknown api-version; nullopt if it is one the RP serves.
// Replication links also exist in the first stable Microsoft.Sql version.
std::optional<ArmResponse> CheckApiVersion(const httplib::Request& req, ArmRoute route) {
  if (!req.has_param("api-version")) {
    return ArmError(400, "MissingApiVersionParameter",
                    "The api-version query parameter (?api-version=) is required for all "
                    "requests.");
  }
  std::string version = req.get_param_value("api-version");
  bool links = route == ArmRoute::kListReplicationLinks || route == ArmRoute::kGetReplicationLink;
  if (ApiVersions().count(version) == 0 && !(links && version == "2014-04-01")) {
    return ArmError(
        400, "InvalidApiVersionParameter",
        absl::StrCat("The api-version '", version, "' is invalid. The supported versions are '",
                     absl::StrJoin(ApiVersions(), ","), "'."));
  }
  return std::nullopt;
}

}  // namespace

std::optional<ArmResponse> CheckBearer(const TokenStore& tokens, const httplib::Request& req) {
  std::string auth = req.get_header_value("Authorization");
  std::string code, message;
  if (!absl::StartsWithIgnoreCase(auth, "Bearer ")) {
    code = "AuthenticationFailed";
    message = "Authentication failed. The 'Authorization' header is missing.";
  } else {
    switch (tokens.Check(std::string(absl::StripAsciiWhitespace(auth.substr(7))))) {
      case TokenStore::Validity::kValid:
        return std::nullopt;
      case TokenStore::Validity::kUnknown:
        code = "InvalidAuthenticationToken";
        message = "The access token is invalid.";
        break;
      case TokenStore::Validity::kExpired:
        code = "ExpiredAuthenticationToken";
        message = "The access token expiry UTC time is earlier than current UTC time.";
        break;
    }
  }
  ArmResponse r = ArmError(401, code, message);
  r.headers.emplace_back("WWW-Authenticate",
                         absl::StrCat("Bearer authorization_uri=\"",
                                      "https://login.microsoftonline.com/"
                                      "common\", error=\"invalid_token\", error_description=\"",
                                      message, "\""));
  return r;
}

std::string CallerOf(const TokenStore& tokens, const httplib::Request& req) {
  std::string auth = req.get_header_value("Authorization");
  if (!absl::StartsWithIgnoreCase(auth, "Bearer ")) return "anonymous";
  std::string token(absl::StripAsciiWhitespace(auth.substr(7)));
  if (tokens.Check(token) != TokenStore::Validity::kValid) return "anonymous";
  std::string identity = tokens.IdentityOf(token);
  return identity.empty() ? "armsim-token" : identity;
}

std::optional<Disposition> ApplyFault(const FaultSpec& fault, httplib::Response& res,
                                      ArmRequest& ar, bool* reset_after) {
  switch (fault.kind) {
    case FaultSpec::Kind::kHttp429:
      res.set_header("Retry-After", std::to_string(fault.retry_after_seconds));
      SendArm(res, ArmError(429, "SubscriptionTooManyRequests",
                            "Requests beyond max requests that can be processed by available "
                            "resources."));
      return Disposition::kAnswer;
    case FaultSpec::Kind::kHttp500:
      SendArm(res, ArmError(500, "OperationTimedOut",
                            "The operation timed out and automatically rolled back. Please "
                            "retry the operation."));
      return Disposition::kAnswer;
    case FaultSpec::Kind::kHttp503:
      SendArm(res, ArmError(503, "ServiceUnavailable",
                            "The server is currently unable to handle the request."));
      return Disposition::kAnswer;
    case FaultSpec::Kind::kHttp504:
      SendArm(res, ArmError(504, "GatewayTimeout",
                            "The gateway did not receive a response from 'Microsoft.Sql' within "
                            "the specified time period."));
      return Disposition::kAnswer;
    case FaultSpec::Kind::kLatency:
      std::this_thread::sleep_for(absl::ToChronoMilliseconds(fault.latency));
      return std::nullopt;
    case FaultSpec::Kind::kResetBefore:
      return Disposition::kDropConnection;
    case FaultSpec::Kind::kResetAfter:
      *reset_after = true;
      return std::nullopt;
    case FaultSpec::Kind::kFailOperation:
      ar.forced_failure = std::make_pair(fault.error_code, fault.error_message);
      return std::nullopt;
    case FaultSpec::Kind::kArmError:
      SendArm(res, ArmError(fault.http_status, fault.error_code, fault.error_message));
      return Disposition::kAnswer;
  }
  return std::nullopt;
}

std::optional<ArmRequest> MatchArmRoute(const std::string& m, const std::vector<std::string>& s) {
  if (s.size() < 2 || !Eq(s[0], "subscriptions")) return std::nullopt;
  ArmRequest ar;
  ar.subscription = s[1];
  // .../servers/{srv}/databases/{db}/replicationLinks[/{linkId}]
  if ((s.size() == 11 || s.size() == 12) && m == "GET" && Eq(s[2], "resourceGroups") &&
      Eq(s[4], "providers") && Eq(s[5], "Microsoft.Sql") && Eq(s[6], "servers") &&
      Eq(s[8], "databases") && Eq(s[10], "replicationLinks")) {
    ar.resource_group = s[3];
    ar.server = s[7];
    ar.database = s[9];
    ar.route = s.size() == 11 ? ArmRoute::kListReplicationLinks : ArmRoute::kGetReplicationLink;
    if (s.size() == 12) ar.link_id = s[11];
    return ar;
  }
  // /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Sql/servers/{srv}/failoverGroups...
  if (s.size() >= 9 && Eq(s[2], "resourceGroups") && Eq(s[4], "providers") &&
      Eq(s[5], "Microsoft.Sql") && Eq(s[6], "servers") && Eq(s[8], "failoverGroups")) {
    ar.resource_group = s[3];
    ar.server = s[7];
    if (s.size() == 9 && m == "GET") {
      ar.route = ArmRoute::kList;
      return ar;
    }
    if (s.size() == 10) {
      ar.failover_group = s[9];
      if (m == "GET") {
        ar.route = ArmRoute::kGet;
      } else if (m == "PUT") {
        ar.route = ArmRoute::kPut;
      } else if (m == "PATCH") {
        ar.route = ArmRoute::kPatch;
      } else if (m == "DELETE") {
        ar.route = ArmRoute::kDelete;
      } else {
        return std::nullopt;
      }
      return ar;
    }
    if (s.size() == 11 && m == "POST") {
      ar.failover_group = s[9];
      if (Eq(s[10], "failover")) {
        ar.route = ArmRoute::kFailover;
      } else if (Eq(s[10], "forceFailoverAllowDataLoss")) {
        ar.route = ArmRoute::kForceFailover;
      } else if (Eq(s[10], "tryPlannedBeforeForcedFailover")) {
        ar.route = ArmRoute::kTryPlannedBeforeForcedFailover;
      } else {
        return std::nullopt;
      }
      return ar;
    }
    return std::nullopt;
  }
  // Status URLs, subscription-scoped (real service) or resource-group-scoped (swagger example).
  size_t off = (s.size() >= 4 && Eq(s[2], "resourceGroups")) ? 2 : 0;
  if (s.size() == 8 + off && Eq(s[2 + off], "providers") && Eq(s[3 + off], "Microsoft.Sql") &&
      Eq(s[4 + off], "locations") && m == "GET") {
    ar.region = s[5 + off];
    ar.operation_id = s[7 + off];
    if (Eq(s[6 + off], "failoverGroupAzureAsyncOperation")) {
      ar.route = ArmRoute::kAsyncOperation;
      return ar;
    }
    if (Eq(s[6 + off], "failoverGroupOperationResults")) {
      ar.route = ArmRoute::kOperationResult;
      return ar;
    }
  }
  return std::nullopt;
}

std::optional<Disposition> ServeArm(SimContext& sim, Exchange& x) {
  std::optional<ArmRequest> matched = MatchArmRoute(x.req.method, x.segments);
  if (!matched) return std::nullopt;
  ArmRequest& ar = *matched;
  const httplib::Request& req = x.req;
  RequestRecord& rec = x.record;
  rec.route = RouteName(ar.route);
  rec.server = ar.server;
  rec.failover_group = ar.failover_group;

  // Auth before anything else, as ARM does.
  if (sim.strict_auth) {
    if (auto denied = CheckBearer(sim.tokens, req)) {
      SendArm(x.res, *denied);
      return Disposition::kAnswer;
    }
  }
  if (auto bad = CheckApiVersion(req, ar.route)) {
    SendArm(x.res, *bad);
    return Disposition::kAnswer;
  }
  ar.api_version = req.get_param_value("api-version");

  ThrottleVerdict quota =
      sim.throttle.Take(ar.subscription, req.method, sim.clock->Now(), sim.throttling);
  x.res.set_header(absl::StrCat("x-ms-ratelimit-remaining-subscription-", quota.kind),
                   std::to_string(quota.remaining));
  if (quota.throttled) {
    x.res.set_header("Retry-After", std::to_string(quota.retry_after_seconds));
    SendArm(x.res, ArmError(429, "SubscriptionRequestsThrottled",
                            absl::StrCat("Number of '", quota.kind, "' requests for subscription '",
                                         ar.subscription, "' exceeded the limit.")));
    rec.fault = "throttled";
    return Disposition::kAnswer;
  }

  // RBAC after the throttle and before the resource provider, as ARM orders them.
  if (auto denied = CheckAuthorization(sim, ar, CallerOf(sim.tokens, req))) {
    SendArm(x.res, *denied);
    return Disposition::kAnswer;
  }

  bool reset_after = false;
  if (auto fault = sim.faults.Match(rec.route, req.method, ar.server, ar.failover_group)) {
    rec.fault = FaultKindName(fault->kind);
    if (auto ended = ApplyFault(*fault, x.res, ar, &reset_after)) return *ended;
  }

  ar.body = req.body;
  std::string host = req.get_header_value("Host");
  if (host.empty()) host = absl::StrCat("127.0.0.1:", sim.port);
  ar.base_url = absl::StrCat(Scheme(sim), host);
  ar.skip_token = req.get_param_value("$skiptoken");
  ar.caller = CallerOf(sim.tokens, req);
  ar.correlation_id = x.correlation_id;
  ArmResponse resp = sim.emulator.Handle(ar);
  if (resp.blackhole) {
    rec.fault = "blackhole";
    std::string region = ar.region.empty() ? sim.emulator.ServerRegion(ar.server) : ar.region;
    sim.blackholes.Hold(sim.emulator, region, sim.options.blackhole_timeout);
    return Disposition::kDropConnection;
  }
  rec.accepted_operation = resp.accepted_operation;
  rec.operation_id = resp.operation_id;
  SendArm(x.res, resp);
  return reset_after ? Disposition::kDropConnection : Disposition::kAnswer;
}

}  // namespace foghorn::armsim
