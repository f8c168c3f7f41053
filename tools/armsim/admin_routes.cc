#include "tools/armsim/admin_routes.h"

#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "tools/armsim/http_front.h"

namespace foghorn::armsim {
namespace {

using nlohmann::json;

// One admin request, routed.
struct AdminCall {
  SimContext& sim;
  const httplib::Request& req;
  const json& body;                 // an empty object when the request has no body
  std::vector<std::string> params;  // the path segments that matched "{}", in order
};

// Returns the JSON to answer with 200, or the status to answer as an error.
using AdminHandler = absl::StatusOr<json> (*)(AdminCall& call);

absl::StatusOr<json> GetState(AdminCall& c) { return c.sim.emulator.StateJson(); }

absl::StatusOr<json> TakeRegionDown(AdminCall& c) {
  auto outage = ParseOutage(c.body.empty() ? json() : c.body);
  if (!outage.ok()) return outage.status();
  SetRegionDown(c.sim, c.params[0], *outage);
  return json::object();
}

absl::StatusOr<json> BringRegionUp(AdminCall& c) {
  SetRegionUp(c.sim, c.params[0]);
  return json::object();
}

absl::StatusOr<json> ListFaults(AdminCall& c) { return c.sim.faults.ToJson(); }

absl::StatusOr<json> AddFault(AdminCall& c) {
  auto fault = ParseFault(c.body);
  if (!fault.ok()) return fault.status();
  return json{{"id", c.sim.faults.Add(*std::move(fault))}};
}

absl::StatusOr<json> ClearFaults(AdminCall& c) {
  c.sim.faults.Clear();
  return json::object();
}

absl::StatusOr<json> RemoveFault(AdminCall& c) {
  int id = 0;
  if (!absl::SimpleAtoi(c.params[0], &id)) return absl::InvalidArgumentError("bad fault id");
  c.sim.faults.Remove(id);
  return json::object();
}

absl::StatusOr<json> FailOperation(AdminCall& c) {
  std::string code = c.body.value("code", "OperationTimedOut");
  std::string message = c.body.value("message", "The operation was failed by the emulator.");
  bool canceled = c.body.value("canceled", false);
  auto st = c.sim.emulator.FailOperation(c.params[0], code, message, canceled);
  if (!st.ok()) return st;
  return json::object();
}

absl::StatusOr<json> RecordWrites(AdminCall& c) {
  int64_t count = c.body.contains("count") && c.body["count"].is_number_integer()
                      ? c.body["count"].get<int64_t>()
                      : 1;
  if (count < 0 || count > 10000000) return absl::InvalidArgumentError("bad count");
  auto st = c.sim.emulator.RecordWrites(c.params[0], count);
  if (!st.ok()) return st;
  return json::object();
}

absl::StatusOr<json> GetReplication(AdminCall& c) {
  auto info = c.sim.emulator.Replication(c.params[0]);
  if (!info.ok()) return info.status();
  return json{{"failoverGroup", info->failover_group},
              {"primary", info->primary},
              {"secondary", info->secondary},
              {"writesTotal", info->writes_total},
              {"writesReplicated", info->writes_replicated},
              {"writesPending", info->writes_pending},
              {"writesLost", info->writes_lost},
              {"replicationLagSeconds", info->lag_seconds},
              {"configuredLagSeconds", info->configured_lag_seconds}};
}

absl::StatusOr<json> SetLag(AdminCall& c) {
  if (!c.body.contains("seconds") || !c.body["seconds"].is_number()) {
    return absl::InvalidArgumentError("seconds: number");
  }
  auto st =
      c.sim.emulator.SetReplicationLag(c.params[0], absl::Seconds(c.body["seconds"].get<double>()));
  if (!st.ok()) return st;
  return json::object();
}

absl::StatusOr<json> MicrosoftFailover(AdminCall& c) {
  std::string kind = c.body.value("kind", "forced");
  if (kind != "forced" && kind != "planned") {
    return absl::InvalidArgumentError("kind: forced or planned");
  }
  auto id =
      c.sim.emulator.MicrosoftFailover(c.params[0], kind == "planned", c.body.value("caller", ""));
  if (!id.ok()) return id.status();
  if (c.sim.data_plane) c.sim.data_plane->ReconcileNow();
  return json{{"operationId", *id}};
}

// {"server","database"?,"state":"Available|Degraded|Unavailable|Unknown"|null,"reasonType"?,
// "summary"?}: forces (null: clears) the Resource Health state of a server or database.
absl::StatusOr<json> SetResourceHealth(AdminCall& c) {
  if (!c.body.contains("server") || !c.body["server"].is_string()) {
    return absl::InvalidArgumentError("server: string");
  }
  std::optional<HealthOverride> state;
  if (auto v = c.body.find("state"); v != c.body.end() && !v->is_null()) {
    static const std::set<std::string> kStates = {"Available", "Degraded", "Unavailable",
                                                  "Unknown"};
    if (!v->is_string() || kStates.count(v->get<std::string>()) == 0) {
      return absl::InvalidArgumentError("state: Available, Degraded, Unavailable or Unknown");
    }
    state = HealthOverride{v->get<std::string>(), c.body.value("reasonType", ""),
                           c.body.value("summary", "")};
    if (state->reason_type.empty() && state->state != "Available") {
      state->reason_type = "Unplanned";
    }
  }
  auto st = c.sim.emulator.SetHealthOverride(c.body["server"].get<std::string>(),
                                             c.body.value("database", ""), state);
  if (!st.ok()) return st;
  return json::object();
}

// {"state":"SUSPENDED|SEEDING|CATCH_UP"|null}: forces (null: clears) the replicationState of
// every replication link of the group.
absl::StatusOr<json> SetLinkState(AdminCall& c) {
  std::optional<std::string> state;
  if (auto v = c.body.find("state"); v != c.body.end() && !v->is_null()) {
    if (!v->is_string()) return absl::InvalidArgumentError("state: string or null");
    state = v->get<std::string>();
  }
  auto st = c.sim.emulator.SetLinkStateOverride(c.params[0], state);
  if (!st.ok()) return st;
  return json::object();
}

// {"server","actions"?,"notActions"?}: replaces the caller's permissions on a server (actions
// default to ["*"]); with neither list, restores the default (everything allowed).
absl::StatusOr<json> SetPermissions(AdminCall& c) {
  if (!c.body.contains("server") || !c.body["server"].is_string()) {
    return absl::InvalidArgumentError("server: string");
  }
  const std::string server = c.body["server"].get<std::string>();
  if (c.sim.emulator.ServerRegion(server).empty()) {
    return absl::NotFoundError(absl::StrCat("server '", server, "' not found"));
  }
  auto strings = [&](const char* key, std::vector<std::string>* out) -> absl::Status {
    auto v = c.body.find(key);
    if (v == c.body.end() || v->is_null()) return absl::OkStatus();
    if (!v->is_array()) return absl::InvalidArgumentError(absl::StrCat(key, ": array of strings"));
    out->clear();
    for (const json& e : *v) {
      if (!e.is_string()) {
        return absl::InvalidArgumentError(absl::StrCat(key, ": array of strings"));
      }
      out->push_back(e.get<std::string>());
    }
    return absl::OkStatus();
  };
  const bool has_actions = c.body.contains("actions") && !c.body["actions"].is_null();
  const bool has_not = c.body.contains("notActions") && !c.body["notActions"].is_null();
  if (!has_actions && !has_not) {
    c.sim.permissions.Set(server, std::nullopt);
    return json::object();
  }
  PermissionGrant grant;
  if (auto st = strings("actions", &grant.actions); !st.ok()) return st;
  if (auto st = strings("notActions", &grant.not_actions); !st.ok()) return st;
  c.sim.permissions.Set(server, std::move(grant));
  return json::object();
}

absl::StatusOr<json> GetPermissions(AdminCall& c) { return c.sim.permissions.ToJson(); }

absl::StatusOr<json> GetActivityLog(AdminCall& c) {
  ActivityQuery q;
  q.subscription = c.req.get_param_value("subscription");
  json out = json::array();
  // Every subscription of the topology when none is named.
  std::set<std::string> subs;
  if (!q.subscription.empty()) {
    subs.insert(q.subscription);
  } else {
    for (const auto& [name, s] : c.sim.emulator.StateJson()["servers"].items()) {
      std::vector<std::string> parts = absl::StrSplit(s["id"].get<std::string>(), '/');
      if (parts.size() > 2) subs.insert(parts[2]);
    }
  }
  for (const std::string& sub : subs) {
    q.subscription = sub;
    for (const json& e : c.sim.emulator.ActivityLog(q)["value"]) out.push_back(e);
  }
  return json{{"value", out}};
}

absl::StatusOr<json> SetConfig(AdminCall& c) {
  const json& body = c.body;
  SignalOptions signals = c.sim.emulator.signal_options();
  bool signals_changed = false;
  for (auto [key, field] : std::vector<std::pair<const char*, absl::Duration*>>{
           {"metricsIngestionDelayMs", &signals.metrics_ingestion_delay},
           {"healthDownDelayMs", &signals.health_down_delay},
           {"healthUpDelayMs", &signals.health_up_delay},
           {"seedingDurationMs", &signals.seeding_duration}}) {
    if (auto v = body.find(key); v != body.end()) {
      if (!v->is_number() || v->get<double>() < 0) {
        return absl::InvalidArgumentError(absl::StrCat(key, ": non-negative number"));
      }
      *field = absl::Milliseconds(v->get<double>());
      signals_changed = true;
    }
  }
  if (auto v = body.find("microsoftCaller"); v != body.end() && v->is_string()) {
    signals.microsoft_caller = v->get<std::string>();
    signals_changed = true;
  }
  if (signals_changed) c.sim.emulator.SetSignalOptions(signals);
  if (auto v = body.find("operationDurationMs"); v != body.end() && v->is_number()) {
    c.sim.emulator.SetOperationDuration(absl::Milliseconds(v->get<double>()));
  }
  if (auto v = body.find("retryAfterSeconds"); v != body.end()) {
    c.sim.emulator.SetRetryAfter(v->is_number() ? std::optional(absl::Seconds(v->get<double>()))
                                                : std::nullopt);
  }
  if (auto v = body.find("throttling"); v != body.end() && v->is_boolean()) {
    c.sim.throttling = v->get<bool>();
  }
  if (auto v = body.find("strictAuth"); v != body.end() && v->is_boolean()) {
    c.sim.strict_auth = v->get<bool>();
  }
  return json::object();
}

absl::StatusOr<json> ListRequests(AdminCall& c) {
  return c.sim.requests.RecordsJson(c.req.get_param_value("route"));
}

absl::StatusOr<json> GetCounters(AdminCall& c) { return c.sim.requests.CountersJson(); }

absl::StatusOr<json> ListEndpoints(AdminCall& c) {
  json out = json::object();
  if (c.sim.data_plane) {
    for (const auto& [name, port] : c.sim.data_plane->Ports()) {
      out[name] = absl::StrCat("127.0.0.1:", port);
    }
  }
  return out;
}

absl::StatusOr<json> ListVantages(AdminCall& c) {
  json vantages = json::array();
  for (const std::string& name : c.sim.vantages.names()) {
    vantages.push_back({{"name", name},
                        {"sqlBaseUrl", absl::StrCat(Scheme(c.sim), c.sim.options.host, ":",
                                                    c.sim.port, "/vantages/", name)}});
  }
  return json{{"vantages", vantages}, {"partitions", c.sim.vantages.PartitionsJson()}};
}

absl::StatusOr<json> ListVantageEndpoints(AdminCall& c) {
  const std::string& vantage = c.params[0];
  if (!c.sim.vantages.Has(vantage)) {
    return absl::NotFoundError(absl::StrCat("vantage '", vantage, "' not found"));
  }
  json out = json::object();
  if (c.sim.data_plane) {
    for (const auto& [name, port] : c.sim.data_plane->Ports(vantage)) {
      out[name] = absl::StrCat("127.0.0.1:", port);
    }
  }
  return out;
}

absl::StatusOr<json> ListPartitions(AdminCall& c) { return c.sim.vantages.PartitionsJson(); }

absl::StatusOr<json> AddPartition(AdminCall& c) {
  auto partition = ParsePartition(c.body);
  if (!partition.ok()) return partition.status();
  if (absl::Status s = CutPartition(c.sim, *partition); !s.ok()) return s;
  return json::object();
}

// No body heals every partition; {"vantage"} all of one vantage's, {"region"} all to one region.
absl::StatusOr<json> RemovePartitions(AdminCall& c) {
  std::string fields[2];
  const char* keys[2] = {"vantage", "region"};
  for (int i = 0; i < 2; ++i) {
    auto v = c.body.find(keys[i]);
    if (v == c.body.end()) continue;
    if (!v->is_string()) return absl::InvalidArgumentError(absl::StrCat(keys[i], ": string"));
    fields[i] = v->get<std::string>();
  }
  if (absl::Status s = HealPartition(c.sim, fields[0], fields[1]); !s.ok()) return s;
  return json::object();
}

absl::StatusOr<json> IssueToken(AdminCall& c) {
  return json{{"access_token", c.sim.tokens.Issue()}};
}

struct AdminRoute {
  const char* method;
  const char* path;  // below /admin; "{}" matches any one segment
  AdminHandler handler;
};

constexpr AdminRoute kRoutes[] = {
    {"GET", "state", GetState},
    {"POST", "regions/{}/down", TakeRegionDown},
    {"POST", "regions/{}/up", BringRegionUp},
    {"GET", "faults", ListFaults},
    {"POST", "faults", AddFault},
    {"DELETE", "faults", ClearFaults},
    {"DELETE", "faults/{}", RemoveFault},
    {"POST", "operations/{}/fail", FailOperation},
    {"POST", "failoverGroups/{}/writes", RecordWrites},
    {"GET", "failoverGroups/{}/replication", GetReplication},
    {"PUT", "failoverGroups/{}/lag", SetLag},
    {"POST", "failoverGroups/{}/lag", SetLag},
    {"PUT", "config", SetConfig},
    {"POST", "config", SetConfig},
    {"GET", "requests", ListRequests},
    {"GET", "counters", GetCounters},
    {"GET", "endpoints", ListEndpoints},
    {"GET", "vantages", ListVantages},
    {"GET", "vantages/{}/endpoints", ListVantageEndpoints},
    {"GET", "partitions", ListPartitions},
    {"POST", "partitions", AddPartition},
    {"DELETE", "partitions", RemovePartitions},
    {"POST", "token", IssueToken},
    {"POST", "failoverGroups/{}/microsoftFailover", MicrosoftFailover},
    {"PUT", "resourceHealth", SetResourceHealth},
    {"POST", "resourceHealth", SetResourceHealth},
    {"GET", "activityLog", GetActivityLog},
    {"PUT", "failoverGroups/{}/linkState", SetLinkState},
    {"POST", "failoverGroups/{}/linkState", SetLinkState},
    {"GET", "permissions", GetPermissions},
    {"PUT", "permissions", SetPermissions},
    {"POST", "permissions", SetPermissions},
};

// Whether the path segments below /admin match `pattern`; collects the "{}" segments.
bool MatchPath(absl::string_view pattern, const std::vector<std::string>& segments,
               std::vector<std::string>* params) {
  std::vector<absl::string_view> parts = absl::StrSplit(pattern, '/');
  if (parts.size() + 1 != segments.size()) return false;
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string& segment = segments[i + 1];
    if (parts[i] == "{}") {
      params->push_back(segment);
    } else if (parts[i] != segment) {
      return false;
    }
  }
  return true;
}

int HttpStatusOf(const absl::Status& st) {
  switch (st.code()) {
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kFailedPrecondition:
      return 409;
    case absl::StatusCode::kUnavailable:
      return 503;
    default:
      return 400;
  }
}

}  // namespace

std::optional<Disposition> ServeAdmin(SimContext& sim, Exchange& x) {
  if (x.segments.empty() || x.segments[0] != "admin") return std::nullopt;
  x.record.route = "admin";
  json body = json::object();
  if (!x.req.body.empty()) {
    body = json::parse(x.req.body, nullptr, false);
    if (body.is_discarded()) {
      SendJson(x.res, 400, {{"error", {{"code", "InvalidJson"}, {"message", "bad JSON"}}}});
      return Disposition::kAnswer;
    }
  }
  for (const AdminRoute& route : kRoutes) {
    AdminCall call{sim, x.req, body, {}};
    if (x.req.method != route.method || !MatchPath(route.path, x.segments, &call.params)) {
      continue;
    }
    absl::StatusOr<json> reply = route.handler(call);
    if (reply.ok()) {
      SendJson(x.res, 200, *reply);
    } else {
      const absl::Status& st = reply.status();
      SendJson(x.res, HttpStatusOf(st),
               {{"error",
                 {{"code", absl::StatusCodeToString(st.code())},
                  {"message", std::string(st.message())}}}});
    }
    return Disposition::kAnswer;
  }
  SendJson(x.res, 404, {{"error", {{"code", "NotFound"}, {"message", "unknown admin route"}}}});
  return Disposition::kAnswer;
}

}  // namespace foghorn::armsim
