#include "tools/armsim/emulator.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <variant>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace foghorn::armsim {
namespace {

using nlohmann::json;

constexpr char kCodePrefix[] = "FailoverGroupCreateOrUpdateRequest";

ArmResponse BadRequest(const std::string& code_suffix, const std::string& message) {
  return ArmError(400, absl::StrCat(kCodePrefix, code_suffix), message);
}

struct ParsedId {
  std::string subscription;
  std::string resource_group;
  std::string server;
  std::string database;  // empty for a server id
};

// Parses ".../servers/{s}" (want_database=false) or ".../servers/{s}/databases/{d}".
std::optional<ParsedId> ParseArmId(const std::string& id, bool want_database) {
  std::vector<std::string> parts = absl::StrSplit(id, '/');
  size_t expected = want_database ? 11 : 9;
  if (parts.size() != expected || !parts[0].empty()) return std::nullopt;
  auto eq = [](const std::string& a, const char* b) { return absl::EqualsIgnoreCase(a, b); };
  if (!eq(parts[1], "subscriptions") || !eq(parts[3], "resourceGroups") ||
      !eq(parts[5], "providers") || !eq(parts[6], "Microsoft.Sql") || !eq(parts[7], "servers")) {
    return std::nullopt;
  }
  if (want_database && !eq(parts[9], "databases")) return std::nullopt;
  for (const auto& p : parts) {
    if (&p != &parts[0] && p.empty()) return std::nullopt;
  }
  ParsedId out{parts[2], parts[4], parts[8], want_database ? parts[10] : ""};
  return out;
}

std::string GuidRandom() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  uint64_t a = rng(), b = rng();
  a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xffff),
                static_cast<unsigned>(b >> 48),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

}  // namespace

std::string NewUuid() { return GuidRandom(); }

std::string FormatArmTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

std::string RouteName(ArmRoute route) {
  switch (route) {
    case ArmRoute::kList:
      return "list";
    case ArmRoute::kGet:
      return "get";
    case ArmRoute::kPut:
      return "put";
    case ArmRoute::kPatch:
      return "patch";
    case ArmRoute::kDelete:
      return "delete";
    case ArmRoute::kFailover:
      return "failover";
    case ArmRoute::kForceFailover:
      return "forceFailoverAllowDataLoss";
    case ArmRoute::kTryPlannedBeforeForcedFailover:
      return "tryPlannedBeforeForcedFailover";
    case ArmRoute::kAsyncOperation:
      return "asyncOperation";
    case ArmRoute::kOperationResult:
      return "operationResult";
  }
  return "unknown";
}

ArmResponse ArmError(int status, const std::string& code, const std::string& message) {
  ArmResponse r;
  r.status = status;
  r.body = json{{"error", {{"code", code}, {"message", message}}}};
  return r;
}

Emulator::Emulator(Topology topology, EmulatorOptions options)
    : options_(options),
      clock_(options.clock != nullptr ? options.clock : &real_clock_),
      operation_duration_(options.operation_duration),
      retry_after_(options.retry_after) {
  for (auto& s : topology.servers) {
    Server server;
    server.databases.insert(s.databases.begin(), s.databases.end());
    region_display_[s.region] = s.location;
    server.spec = std::move(s);
    servers_[server.spec.name] = std::move(server);
  }
  for (auto& f : topology.failover_groups) {
    Group g;
    g.name = f.name;
    g.primary = f.primary_server;
    g.secondary = f.partner_server;
    g.rw_policy = f.read_write_policy;
    g.grace = f.grace_period_minutes;
    g.ro_policy = f.read_only_policy;
    g.databases = f.databases;
    g.secondary_type = f.secondary_type;
    g.lag = absl::Seconds(f.replication_lag_seconds);
    for (const auto& db : g.databases) servers_[g.secondary].databases.insert(db);
    groups_[g.name] = std::move(g);
  }
}

absl::Time Emulator::Now() const { return clock_->Now(); }

void Emulator::SetOnChange(std::function<void()> on_change) { on_change_ = std::move(on_change); }

void Emulator::NotifyChange() {
  if (on_change_) on_change_();
}

std::string Emulator::ServerId(const std::string& server) const {
  auto it = servers_.find(server);
  if (it == servers_.end()) return "";
  const auto& s = it->second.spec;
  return absl::StrCat("/subscriptions/", s.subscription, "/resourceGroups/", s.resource_group,
                      "/providers/Microsoft.Sql/servers/", s.name);
}

bool Emulator::DataUpLocked(const std::string& server) const {
  auto it = servers_.find(server);
  if (it == servers_.end()) return false;
  auto d = down_.find(it->second.spec.region);
  return d == down_.end() || !d->second.data_plane;
}

bool Emulator::RegionFullyUpLocked(const std::string& server) const {
  auto it = servers_.find(server);
  if (it == servers_.end()) return false;
  return down_.find(it->second.spec.region) == down_.end();
}

json Emulator::GroupJson(const Group& g, const std::string& server) const {
  const std::string& other = server == g.primary ? g.secondary : g.primary;
  const Server& self = servers_.at(server);
  const Server& partner = servers_.at(other);
  json rw = {{"failoverPolicy", g.rw_policy}};
  if (g.grace) rw["failoverWithDataLossGracePeriodMinutes"] = *g.grace;
  json dbs = json::array();
  for (const auto& db : g.databases)
    dbs.push_back(absl::StrCat(ServerId(server), "/databases/", db));
  json body = {
      {"id", absl::StrCat(ServerId(server), "/failoverGroups/", g.name)},
      {"name", g.name},
      {"type", "Microsoft.Sql/servers/failoverGroups"},
      {"location", self.spec.location},
      {"properties",
       {{"readWriteEndpoint", rw},
        {"readOnlyEndpoint", {{"failoverPolicy", g.ro_policy}, {"targetServer", ServerId(other)}}},
        {"replicationRole", server == g.primary ? "Primary" : "Secondary"},
        {"replicationState", "CATCH_UP"},
        {"partnerServers",
         json::array({{{"id", ServerId(other)},
                       {"location", partner.spec.location},
                       {"replicationRole", other == g.primary ? "Primary" : "Secondary"}}})},
        {"databases", dbs}}}};
  if (g.tags.is_object() && !g.tags.empty()) body["tags"] = g.tags;
  return body;
}

ArmResponse Emulator::Handle(const ArmRequest& r) {
  bool changed = false;
  ArmResponse resp;
  {
    absl::MutexLock lock(&mu_);
    absl::Time now = Now();
    changed = AdvanceLocked(now);
    // A region whose control plane is down answers nothing for its servers and status URLs.
    std::string region = r.region;
    if (region.empty()) {
      auto it = servers_.find(r.server);
      if (it != servers_.end()) region = it->second.spec.region;
    }
    auto down = down_.find(region);
    if (down != down_.end() && down->second.control_plane) {
      if (down->second.mode == OutageMode::kBlackhole) {
        resp.blackhole = true;
      } else {
        resp = ArmError(503, "ServiceUnavailable",
                        absl::StrCat("The service is unavailable in region '", region,
                                     "'. Please retry the request later."));
      }
    } else {
      switch (r.route) {
        case ArmRoute::kList:
          resp = List(r);
          break;
        case ArmRoute::kGet:
          resp = Get(r);
          break;
        case ArmRoute::kPut:
          resp = Put(r, now);
          break;
        case ArmRoute::kPatch:
          resp = Patch(r, now);
          break;
        case ArmRoute::kDelete:
          resp = Delete(r, now);
          break;
        case ArmRoute::kFailover:
        case ArmRoute::kForceFailover:
        case ArmRoute::kTryPlannedBeforeForcedFailover:
          resp = Failover(r, now);
          break;
        case ArmRoute::kAsyncOperation:
          resp = AsyncStatus(r);
          break;
        case ArmRoute::kOperationResult:
          resp = OperationResult(r);
          break;
      }
    }
  }
  if (changed) NotifyChange();
  return resp;
}

ArmResponse Emulator::CheckServer(const ArmRequest& r) const {
  auto it = servers_.find(r.server);
  if (it == servers_.end() || it->second.spec.subscription != r.subscription ||
      !absl::EqualsIgnoreCase(it->second.spec.resource_group, r.resource_group)) {
    return ArmError(404, "ResourceNotFound",
                    absl::StrCat("The Resource 'Microsoft.Sql/servers/", r.server,
                                 "' under resource group '", r.resource_group,
                                 "' was not found. For more details please go to "
                                 "https://aka.ms/ARMResourceNotFoundFix"));
  }
  ArmResponse ok;
  ok.status = 0;
  return ok;
}

namespace {
ArmResponse GroupNotFound(const ArmRequest& r) {
  return ArmError(404, "ResourceNotFound",
                  absl::StrCat("The requested resource of type 'Microsoft.Sql/servers/"
                               "failoverGroups' with name '",
                               r.failover_group, "' was not found."));
}
}  // namespace

ArmResponse Emulator::List(const ArmRequest& r) {
  if (auto e = CheckServer(r); e.status != 0) return e;
  std::vector<const Group*> mine;
  for (const auto& [name, g] : groups_) {
    if (!g.creating && (g.primary == r.server || g.secondary == r.server)) mine.push_back(&g);
  }
  size_t start = 0;
  if (!r.skip_token.empty()) {
    start = static_cast<size_t>(std::strtoull(r.skip_token.c_str(), nullptr, 10));
  }
  size_t page = static_cast<size_t>(std::max(1, options_.page_size));
  json value = json::array();
  for (size_t i = start; i < mine.size() && i < start + page; ++i) {
    value.push_back(GroupJson(*mine[i], r.server));
  }
  ArmResponse resp;
  resp.body = json{{"value", value}};
  if (start + page < mine.size()) {
    (*resp.body)["nextLink"] =
        absl::StrCat(r.base_url, ServerId(r.server), "/failoverGroups?api-version=", r.api_version,
                     "&$skiptoken=", start + page);
  }
  return resp;
}

ArmResponse Emulator::Get(const ArmRequest& r) {
  if (auto e = CheckServer(r); e.status != 0) return e;
  auto it = groups_.find(r.failover_group);
  if (it == groups_.end() || it->second.creating ||
      (it->second.primary != r.server && it->second.secondary != r.server)) {
    return GroupNotFound(r);
  }
  ArmResponse resp;
  resp.body = GroupJson(it->second, r.server);
  return resp;
}

std::optional<ArmResponse> Emulator::ValidateBody(const ArmRequest& r, const json& props,
                                                  bool is_patch, Group& out) {
  // readWriteEndpoint.
  auto rw = props.find("readWriteEndpoint");
  if (rw == props.end() || rw->is_null()) {
    if (!is_patch) {
      return BadRequest("InvalidReadWriteEndpoint",
                        "The readWriteEndpoint field is required for create or update requests.");
    }
  } else {
    if (!rw->is_object()) {
      return BadRequest("InvalidReadWriteEndpoint",
                        "The readWriteEndpoint field is required for create or update requests.");
    }
    auto pol = rw->find("failoverPolicy");
    if (pol == rw->end() || !pol->is_string() ||
        (pol->get<std::string>() != "Manual" && pol->get<std::string>() != "Automatic")) {
      return BadRequest("InvalidReadWriteFailoverPolicy",
                        "The failoverPolicy field for the read-write endpoint is required for "
                        "create or update requests.");
    }
    out.rw_policy = pol->get<std::string>();
    auto grace = rw->find("failoverWithDataLossGracePeriodMinutes");
    if (grace != rw->end() && !grace->is_null()) {
      if (!grace->is_number_integer()) {
        return BadRequest("Invalid",
                          "The create or update failover group request body is empty "
                          "or invalid.");
      }
      int64_t g = grace->get<int64_t>();
      if (g < 0) {
        return BadRequest("NegativeGracePeriodValues",
                          "Grace period value for the read-write endpoint must be non-negative.");
      }
      if (g > 2147483647) {
        return BadRequest("Invalid",
                          "The create or update failover group request body is empty "
                          "or invalid.");
      }
      out.grace = static_cast<int>(g);
    } else {
      out.grace.reset();
    }
    if (out.rw_policy == "Manual" && out.grace) {
      return BadRequest("InvalidReadWriteEndpointFieldsForManualPolicy",
                        "Grace period value should not be provided when failover policy Manual is "
                        "selected for the read-write endpoint.");
    }
    if (out.rw_policy == "Automatic" && !out.grace) {
      return BadRequest("InvalidReadWriteEndpointFields",
                        "The property failoverWithDataLossGracePeriodMinutes must be provided when "
                        "failover policy Automatic is selected for the read-write endpoint.");
    }
    if (out.rw_policy == "Automatic" && *out.grace < 60) {
      return BadRequest("LessThanMinimumGracePeriodValues",
                        "Grace period value for the read-write endpoint must be greater than or "
                        "equal to the '60' minutes minimum grace period.");
    }
  }
  // readOnlyEndpoint.
  if (auto ro = props.find("readOnlyEndpoint"); ro != props.end() && !ro->is_null()) {
    if (!ro->is_object()) {
      return BadRequest("Invalid",
                        "The create or update failover group request body is empty or invalid.");
    }
    if (auto pol = ro->find("failoverPolicy"); pol != ro->end() && !pol->is_null()) {
      if (!pol->is_string() ||
          (pol->get<std::string>() != "Disabled" && pol->get<std::string>() != "Enabled")) {
        return BadRequest("Invalid",
                          "The create or update failover group request body is empty or invalid.");
      }
      out.ro_policy = pol->get<std::string>();
    }
  }
  // partnerServers.
  auto partners = props.find("partnerServers");
  if (partners == props.end() || partners->is_null()) {
    if (!is_patch) {
      return BadRequest("InvalidPartner",
                        "The given partners field in create or update failover group request body "
                        "is empty or invalid.");
    }
  } else {
    if (!partners->is_array() || partners->empty()) {
      return BadRequest("InvalidPartner",
                        "The given partners field in create or update failover group request body "
                        "is empty or invalid.");
    }
    std::vector<ParsedId> ids;
    for (const auto& p : *partners) {
      auto id = p.is_object() ? p.find("id") : p.end();
      if (!p.is_object() || id == p.end() || !id->is_string()) {
        return BadRequest("InvalidPartner",
                          "The given partners field in create or update failover group request "
                          "body is empty or invalid.");
      }
      auto parsed = ParseArmId(id->get<std::string>(), false);
      if (!parsed) {
        return BadRequest("InvalidPartner",
                          "The given partners field in create or update failover group request "
                          "body is empty or invalid.");
      }
      for (const auto& seen : ids) {
        if (absl::EqualsIgnoreCase(seen.server, parsed->server)) {
          return BadRequest("DuplicatePartner",
                            "One or more of the provided partner servers are already part of the "
                            "failover group. Please make sure the primary server and all of the "
                            "given partner servers are unique.");
        }
      }
      if (parsed->server == r.server) {
        return BadRequest("DuplicatePartner",
                          "One or more of the provided partner servers are already part of the "
                          "failover group. Please make sure the primary server and all of the "
                          "given partner servers are unique.");
      }
      ids.push_back(*parsed);
    }
    if (ids.size() > 1) {
      return BadRequest("UnsupportedPartnerCount", "Only one partner server is supported.");
    }
    const ParsedId& partner = ids[0];
    if (partner.subscription != r.subscription) {
      return ArmError(400, "FailoverGroupPartnerServerFromDifferentSubscription",
                      "Primary server and the partner servers of failover group are from "
                      "different subscriptions. Cross subscription for servers of failover group "
                      "is not allowed.");
    }
    auto ps = servers_.find(partner.server);
    if (ps == servers_.end() || ps->second.spec.subscription != partner.subscription ||
        !absl::EqualsIgnoreCase(ps->second.spec.resource_group, partner.resource_group)) {
      return ArmError(400, "ServerNotFound",
                      absl::StrCat("The requested server '", partner.server, "' was not found."));
    }
    if (ps->second.spec.region == servers_.at(r.server).spec.region) {
      return ArmError(400, "InvalidFailoverGroupRegion",
                      "Servers specified in a Failover Group need to reside in different regions "
                      "to provide isolation.");
    }
    if (!out.secondary.empty() && out.secondary != partner.server) {
      return BadRequest("InvalidPartner",
                        "The partner server of an existing failover group cannot be changed.");
    }
    out.secondary = partner.server;
  }
  // databases.
  if (auto dbs = props.find("databases"); dbs != props.end() && !dbs->is_null()) {
    if (!dbs->is_array()) {
      return BadRequest("InvalidDatabases",
                        "The provided databases in the request are not valid database resource "
                        "IDs.");
    }
    std::vector<std::string> names;
    for (const auto& d : *dbs) {
      auto parsed = d.is_string() ? ParseArmId(d.get<std::string>(), true) : std::nullopt;
      if (!parsed) {
        return BadRequest("InvalidDatabases",
                          "The provided databases in the request are not valid database resource "
                          "IDs.");
      }
      const Server& self = servers_.at(r.server);
      if (parsed->server != r.server || parsed->subscription != r.subscription ||
          self.databases.count(parsed->database) == 0) {
        return BadRequest("InvalidDatabaseServer",
                          "One or more of the provided databases do not exist on the primary "
                          "server of the failover group. Please make sure that all the databases "
                          "exist on the primary server.");
      }
      for (const auto& [name, g] : groups_) {
        if (name == out.name) continue;
        if ((g.primary == r.server || g.secondary == r.server) &&
            std::find(g.databases.begin(), g.databases.end(), parsed->database) !=
                g.databases.end()) {
          return ArmError(
              409, "DatabaseBelongsToOtherFailoverGroup",
              absl::StrCat("Database '", parsed->database, "' belongs to other Failover Group '",
                           name, "' and cannot be consider a part of this one."));
        }
      }
      if (std::find(names.begin(), names.end(), parsed->database) == names.end()) {
        names.push_back(parsed->database);
      }
    }
    out.databases = names;
  }
  if (auto st = props.find("secondaryType"); st != props.end() && !st->is_null()) {
    if (!st->is_string() ||
        (st->get<std::string>() != "Geo" && st->get<std::string>() != "Standby")) {
      return BadRequest("Invalid",
                        "The create or update failover group request body is empty or invalid.");
    }
    out.secondary_type = st->get<std::string>();
  }
  return std::nullopt;
}

namespace {
// Parses a create/update body: kOk and the properties object, or an error response.
std::variant<json, ArmResponse> ParseBody(const std::string& body) {
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) {
    return BadRequest("Invalid",
                      "The create or update failover group request body is empty or invalid.");
  }
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return ArmError(400, "InvalidRequestContent",
                    "The request content was invalid and could not be deserialized.");
  }
  if (!parsed.is_object()) {
    return BadRequest("Invalid",
                      "The create or update failover group request body is empty or invalid.");
  }
  return parsed;
}
}  // namespace

ArmResponse Emulator::StartOperation(const ArmRequest& r, const std::string& name, Group config,
                                     absl::Time now) {
  Operation op;
  op.id = NewUuid();
  op.name = name;
  op.route = r.route;
  op.subscription = r.subscription;
  op.region = servers_.at(r.server).spec.region;
  op.server = r.server;
  op.group = r.failover_group;
  op.start = now;
  op.due = now + operation_duration_;
  op.forced_failure = r.forced_failure;
  op.pending_config = std::move(config);
  std::string prefix = absl::StrCat(r.base_url, "/subscriptions/", r.subscription,
                                    "/providers/Microsoft.Sql/locations/", op.region);
  ArmResponse resp;
  resp.status = 202;
  resp.body = json{{"operation", name}, {"startTime", FormatArmTime(now)}};
  resp.headers.emplace_back("Azure-AsyncOperation",
                            absl::StrCat(prefix, "/failoverGroupAzureAsyncOperation/", op.id,
                                         "?api-version=", r.api_version));
  resp.headers.emplace_back("Location", absl::StrCat(prefix, "/failoverGroupOperationResults/",
                                                     op.id, "?api-version=", r.api_version));
  if (retry_after_) {
    resp.headers.emplace_back("Retry-After", absl::StrCat(absl::ToInt64Seconds(*retry_after_)));
  }
  resp.accepted_operation = true;
  resp.operation_id = op.id;
  groups_[r.failover_group].busy_operation = op.id;
  running_.insert(op.id);
  operations_[op.id] = std::move(op);
  return resp;
}

namespace {
ArmResponse Busy(const std::string& fg) {
  return ArmError(409, "FailoverGroupBusy",
                  absl::StrCat("Failover Group '", fg, "' is busy with another operation."));
}
ArmResponse OnSecondary() {
  return ArmError(400, "FailoverGroupUpdateOrDeleteRequestOnSecondary",
                  "Modifications to the failover group are not allowed on a secondary server. "
                  "Execute the request on the primary server.");
}
}  // namespace

ArmResponse Emulator::Put(const ArmRequest& r, absl::Time now) {
  if (auto e = CheckServer(r); e.status != 0) return e;
  auto parsed = ParseBody(r.body);
  if (auto* err = std::get_if<ArmResponse>(&parsed)) return *err;
  json& body = std::get<json>(parsed);
  auto props = body.find("properties");
  if (props == body.end() || !props->is_object()) {
    return BadRequest("Invalid",
                      "The create or update failover group request body is empty or invalid.");
  }
  Group config;
  config.name = r.failover_group;
  config.primary = r.server;
  bool exists = false;
  if (auto it = groups_.find(r.failover_group); it != groups_.end()) {
    const Group& g = it->second;
    if (g.primary != r.server && g.secondary != r.server) {
      return ArmError(409, "FailoverGroupAlreadyExists",
                      absl::StrCat("Failover group '", r.failover_group,
                                   "' already exists on a given server."));
    }
    if (!g.busy_operation.empty()) return Busy(r.failover_group);
    if (g.secondary == r.server) return OnSecondary();
    exists = true;
    config.secondary = g.secondary;
    config.lag = g.lag;
  }
  if (auto err = ValidateBody(r, *props, /*is_patch=*/false, config)) return *err;
  if (auto tags = body.find("tags"); tags != body.end() && tags->is_object()) config.tags = *tags;
  if (!exists) {
    Group placeholder = config;
    placeholder.creating = true;
    groups_[r.failover_group] = placeholder;
  }
  return StartOperation(r, exists ? "UpdateFailoverGroup" : "CreateFailoverGroup",
                        std::move(config), now);
}

ArmResponse Emulator::Patch(const ArmRequest& r, absl::Time now) {
  if (auto e = CheckServer(r); e.status != 0) return e;
  auto it = groups_.find(r.failover_group);
  if (it == groups_.end() || it->second.creating ||
      (it->second.primary != r.server && it->second.secondary != r.server)) {
    return GroupNotFound(r);
  }
  if (!it->second.busy_operation.empty()) return Busy(r.failover_group);
  if (it->second.secondary == r.server) return OnSecondary();
  auto parsed = ParseBody(r.body);
  if (auto* err = std::get_if<ArmResponse>(&parsed)) return *err;
  json& body = std::get<json>(parsed);
  Group config = it->second;
  config.busy_operation.clear();
  json props = json::object();
  if (auto p = body.find("properties"); p != body.end()) {
    if (!p->is_object()) {
      return BadRequest("Invalid",
                        "The create or update failover group request body is empty or invalid.");
    }
    props = *p;
  }
  if (auto err = ValidateBody(r, props, /*is_patch=*/true, config)) return *err;
  if (config.rw_policy == "Manual" && config.grace) config.grace.reset();
  if (auto tags = body.find("tags"); tags != body.end() && tags->is_object()) config.tags = *tags;
  return StartOperation(r, "UpdateFailoverGroup", std::move(config), now);
}

ArmResponse Emulator::Delete(const ArmRequest& r, absl::Time now) {
  if (auto e = CheckServer(r); e.status != 0) return e;
  auto it = groups_.find(r.failover_group);
  if (it == groups_.end() || it->second.creating ||
      (it->second.primary != r.server && it->second.secondary != r.server)) {
    ArmResponse gone;
    gone.status = 204;
    return gone;
  }
  if (!it->second.busy_operation.empty()) return Busy(r.failover_group);
  if (it->second.secondary == r.server) return OnSecondary();
  return StartOperation(r, "DropFailoverGroup", it->second, now);
}

ArmResponse Emulator::Failover(const ArmRequest& r, absl::Time now) {
  if (auto e = CheckServer(r); e.status != 0) return e;
  auto it = groups_.find(r.failover_group);
  if (it == groups_.end() || it->second.creating ||
      (it->second.primary != r.server && it->second.secondary != r.server)) {
    return GroupNotFound(r);
  }
  if (!it->second.busy_operation.empty()) return Busy(r.failover_group);
  if (it->second.primary == r.server) {
    return ArmError(400, "FailoverGroupFailoverRequestOnPrimary",
                    "The failover request should be initiated on the secondary server of failover "
                    "group.");
  }
  return StartOperation(r, "FailoverFailoverGroup", it->second, now);
}

ArmResponse Emulator::AsyncStatus(const ArmRequest& r) {
  auto it = operations_.find(r.operation_id);
  if (it == operations_.end() || it->second.subscription != r.subscription ||
      it->second.region != r.region) {
    return ArmError(404, "OperationIdNotFound",
                    absl::StrCat("The operation with Id '", r.operation_id, "' does not exist."));
  }
  const Operation& op = it->second;
  json body = {{"name", op.id}, {"status", op.status}, {"startTime", FormatArmTime(op.start)}};
  if (op.status == "Failed" || op.status == "Canceled") {
    body["error"] = {{"code", op.error_code}, {"message", op.error_message}};
  }
  ArmResponse resp;
  resp.body = body;
  if (op.status == "InProgress" && retry_after_) {
    resp.headers.emplace_back("Retry-After", absl::StrCat(absl::ToInt64Seconds(*retry_after_)));
  }
  return resp;
}

ArmResponse Emulator::OperationResult(const ArmRequest& r) {
  auto it = operations_.find(r.operation_id);
  if (it == operations_.end() || it->second.subscription != r.subscription ||
      it->second.region != r.region) {
    return ArmError(404, "OperationIdNotFound",
                    absl::StrCat("The operation with Id '", r.operation_id, "' does not exist."));
  }
  const Operation& op = it->second;
  ArmResponse resp;
  if (op.status == "InProgress") {
    resp.status = 202;
    resp.headers.emplace_back(
        "Location",
        absl::StrCat(r.base_url, "/subscriptions/", r.subscription,
                     "/providers/Microsoft.Sql/locations/", op.region,
                     "/failoverGroupOperationResults/", op.id, "?api-version=", r.api_version));
    if (retry_after_) {
      resp.headers.emplace_back("Retry-After", absl::StrCat(absl::ToInt64Seconds(*retry_after_)));
    }
    return resp;
  }
  if (op.status != "Succeeded") {
    return ArmError(op.status == "Canceled" ? 409 : 400, op.error_code, op.error_message);
  }
  if (!op.result) {
    resp.status = 204;
    return resp;
  }
  resp.body = *op.result;
  return resp;
}

bool Emulator::AdvanceLocked(absl::Time now) {
  for (auto& [name, g] : groups_) PumpLocked(g, now);
  if (running_.empty()) return false;
  std::vector<Operation*> due;
  for (const auto& id : running_) {
    Operation& op = operations_.at(id);
    if (op.due <= now) due.push_back(&op);
  }
  std::sort(due.begin(), due.end(),
            [](const Operation* a, const Operation* b) { return a->due < b->due; });
  for (Operation* op : due) CompleteLocked(*op, op->due);
  return !due.empty();
}

void Emulator::PumpLocked(Group& g, absl::Time now) {
  if (!DataUpLocked(g.primary) || !DataUpLocked(g.secondary)) return;
  while (!g.pending.empty() && g.pending.front() + g.lag <= now) {
    g.pending.pop_front();
    ++g.writes_replicated;
  }
}

void Emulator::CompleteLocked(Operation& op, absl::Time now) {
  running_.erase(op.id);
  op.end = now;
  auto git = groups_.find(op.group);
  auto fail = [&](const std::string& code, const std::string& message) {
    op.status = "Failed";
    op.error_code = code;
    op.error_message = message;
    if (git != groups_.end()) {
      git->second.busy_operation.clear();
      if (git->second.creating) groups_.erase(git);
    }
  };
  if (git == groups_.end()) {
    fail("ResourceNotFound", "The failover group no longer exists.");
    return;
  }
  Group& g = git->second;
  if (op.forced_failure) {
    fail(op.forced_failure->first, op.forced_failure->second);
    return;
  }
  switch (op.route) {
    case ArmRoute::kPut:
    case ArmRoute::kPatch: {
      Group config = op.pending_config;
      config.creating = false;
      config.busy_operation.clear();
      config.pending = g.pending;
      config.writes_total = g.writes_total;
      config.writes_replicated = g.writes_replicated;
      config.writes_lost = g.writes_lost;
      for (const auto& db : config.databases) servers_[config.secondary].databases.insert(db);
      g = std::move(config);
      op.result = GroupJson(g, op.server);
      break;
    }
    case ArmRoute::kDelete:
      groups_.erase(git);
      break;
    default: {
      bool primary_up = RegionFullyUpLocked(g.primary);
      bool planned = op.route == ArmRoute::kFailover ||
                     (op.route == ArmRoute::kTryPlannedBeforeForcedFailover && primary_up);
      if (planned && !primary_up) {
        fail("PlannedFailoverTimedOut",
             "User invoked planned failover, and it timed out while trying to contact the partner "
             "management service.");
        return;
      }
      if (!DataUpLocked(op.server)) {
        fail("OperationTimedOut",
             "The operation timed out and automatically rolled back. Please retry the operation.");
        return;
      }
      PumpLocked(g, now);
      if (planned) {
        g.writes_replicated += static_cast<int64_t>(g.pending.size());
      } else {
        op.lost_writes = static_cast<int64_t>(g.pending.size());
        g.writes_lost += op.lost_writes;
      }
      g.pending.clear();
      op.outcome = planned ? "planned" : "forced";
      std::swap(g.primary, g.secondary);
      g.busy_operation.clear();
      op.result = GroupJson(g, op.server);
      break;
    }
  }
  if (groups_.count(op.group)) groups_[op.group].busy_operation.clear();
  op.status = "Succeeded";
}

void Emulator::SetRegionDown(const std::string& region, RegionOutage outage) {
  {
    absl::MutexLock lock(&mu_);
    AdvanceLocked(Now());
    down_[region] = outage;
  }
  NotifyChange();
}

void Emulator::SetRegionUp(const std::string& region) {
  {
    absl::MutexLock lock(&mu_);
    absl::Time now = Now();
    AdvanceLocked(now);
    down_.erase(region);
    AdvanceLocked(now);
  }
  NotifyChange();
}

std::optional<RegionOutage> Emulator::RegionDown(const std::string& region) {
  absl::MutexLock lock(&mu_);
  auto it = down_.find(region);
  if (it == down_.end()) return std::nullopt;
  return it->second;
}

std::string Emulator::ServerRegion(const std::string& server) {
  absl::MutexLock lock(&mu_);
  auto it = servers_.find(server);
  return it == servers_.end() ? "" : it->second.spec.region;
}

absl::Status Emulator::RecordWrites(const std::string& fg, int64_t count) {
  absl::MutexLock lock(&mu_);
  absl::Time now = Now();
  AdvanceLocked(now);
  auto it = groups_.find(fg);
  if (it == groups_.end() || it->second.creating) {
    return absl::NotFoundError(absl::StrCat("failover group '", fg, "' not found"));
  }
  Group& g = it->second;
  if (!DataUpLocked(g.primary)) {
    return absl::UnavailableError(absl::StrCat("primary '", g.primary, "' is unreachable"));
  }
  for (int64_t i = 0; i < count; ++i) g.pending.push_back(now);
  g.writes_total += count;
  PumpLocked(g, now);
  return absl::OkStatus();
}

absl::Status Emulator::RecordServerWrites(const std::string& server, int64_t count) {
  std::vector<std::string> fgs;
  {
    absl::MutexLock lock(&mu_);
    AdvanceLocked(Now());
    if (!servers_.count(server)) {
      return absl::NotFoundError(absl::StrCat("server '", server, "' not found"));
    }
    for (const auto& [name, g] : groups_) {
      if (g.primary == server && !g.creating) fgs.push_back(name);
    }
  }
  if (fgs.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("server '", server, "' is primary of no failover group"));
  }
  for (const auto& fg : fgs) {
    if (auto s = RecordWrites(fg, count); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<ReplicationInfo> Emulator::Replication(const std::string& fg) {
  absl::MutexLock lock(&mu_);
  absl::Time now = Now();
  AdvanceLocked(now);
  auto it = groups_.find(fg);
  if (it == groups_.end() || it->second.creating) {
    return absl::NotFoundError(absl::StrCat("failover group '", fg, "' not found"));
  }
  const Group& g = it->second;
  ReplicationInfo info;
  info.failover_group = g.name;
  info.primary = g.primary;
  info.secondary = g.secondary;
  info.writes_total = g.writes_total;
  info.writes_replicated = g.writes_replicated;
  info.writes_pending = static_cast<int64_t>(g.pending.size());
  info.writes_lost = g.writes_lost;
  info.lag_seconds = g.pending.empty() ? 0 : absl::ToDoubleSeconds(now - g.pending.front());
  info.configured_lag_seconds = absl::ToDoubleSeconds(g.lag);
  return info;
}

absl::StatusOr<json> Emulator::ReplicationLinks(const std::string& server) {
  std::vector<std::string> fgs;
  {
    absl::MutexLock lock(&mu_);
    if (!servers_.count(server)) {
      return absl::NotFoundError(absl::StrCat("server '", server, "' not found"));
    }
    for (const auto& [name, g] : groups_) {
      if (!g.creating && (g.primary == server || g.secondary == server)) fgs.push_back(name);
    }
  }
  json links = json::array();
  for (const auto& fg : fgs) {
    auto info = Replication(fg);
    if (!info.ok()) continue;
    bool primary = info->primary == server;
    links.push_back({{"failover_group", fg},
                     {"partner_server", primary ? info->secondary : info->primary},
                     {"role_desc", primary ? "PRIMARY" : "SECONDARY"},
                     {"replication_state_desc", "CATCH_UP"},
                     {"replication_lag_sec", info->lag_seconds},
                     {"writes_total", info->writes_total},
                     {"writes_replicated", info->writes_replicated},
                     {"writes_pending", info->writes_pending},
                     {"writes_lost", info->writes_lost}});
  }
  return links;
}

absl::Status Emulator::SetReplicationLag(const std::string& fg, absl::Duration lag) {
  absl::MutexLock lock(&mu_);
  auto it = groups_.find(fg);
  if (it == groups_.end()) {
    return absl::NotFoundError(absl::StrCat("failover group '", fg, "' not found"));
  }
  if (lag < absl::ZeroDuration()) return absl::InvalidArgumentError("lag must be non-negative");
  it->second.lag = lag;
  PumpLocked(it->second, Now());
  return absl::OkStatus();
}

absl::Status Emulator::FailOperation(const std::string& id, const std::string& code,
                                     const std::string& message, bool canceled) {
  bool changed;
  {
    absl::MutexLock lock(&mu_);
    changed = AdvanceLocked(Now());
    auto it = operations_.find(id);
    if (it == operations_.end()) {
      return absl::NotFoundError(absl::StrCat("operation '", id, "' not found"));
    }
    Operation& op = it->second;
    if (op.status != "InProgress") {
      return absl::FailedPreconditionError(
          absl::StrCat("operation '", id, "' already ended ", op.status));
    }
    running_.erase(id);
    op.status = canceled ? "Canceled" : "Failed";
    op.error_code = code;
    op.error_message = message;
    op.end = Now();
    auto g = groups_.find(op.group);
    if (g != groups_.end()) {
      g->second.busy_operation.clear();
      if (g->second.creating) groups_.erase(g);
    }
  }
  if (changed) NotifyChange();
  return absl::OkStatus();
}

void Emulator::SetOperationDuration(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  operation_duration_ = d;
}

void Emulator::SetRetryAfter(std::optional<absl::Duration> d) {
  absl::MutexLock lock(&mu_);
  retry_after_ = d;
}

std::map<std::string, EndpointTarget> Emulator::EndpointTargets() {
  std::map<std::string, EndpointTarget> out;
  std::vector<std::string> names;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [name, s] : servers_) names.push_back("server:" + name);
    for (const auto& [name, g] : groups_) {
      names.push_back("fg:" + name + ":rw");
      names.push_back("fg:" + name + ":ro");
    }
  }
  for (const auto& n : names) out[n] = ResolveEndpoint(n);
  return out;
}

EndpointTarget Emulator::ResolveEndpoint(const std::string& endpoint) {
  absl::MutexLock lock(&mu_);
  AdvanceLocked(Now());
  EndpointTarget t;
  std::string server;
  std::string role;
  if (absl::StartsWith(endpoint, "server:")) {
    server = endpoint.substr(7);
    role = "Secondary";
    for (const auto& [name, g] : groups_) {
      if (g.primary == server && !g.creating) role = "Primary";
    }
  } else if (absl::StartsWith(endpoint, "fg:")) {
    std::vector<std::string> parts = absl::StrSplit(endpoint, ':');
    if (parts.size() != 3) return t;
    auto it = groups_.find(parts[1]);
    if (it == groups_.end() || it->second.creating) return t;
    const Group& g = it->second;
    if (parts[2] == "rw") {
      server = g.primary;
      role = "Primary";
    } else {
      server = g.secondary;
      role = "Secondary";
      // Read-only traffic moves to the primary only when allowed and the secondary is gone.
      if (g.ro_policy == "Enabled" && !DataUpLocked(g.secondary)) {
        server = g.primary;
        role = "Primary";
      }
    }
  }
  auto sit = servers_.find(server);
  if (sit == servers_.end()) return t;
  t.server = server;
  t.role = role;
  auto d = down_.find(sit->second.spec.region);
  if (d != down_.end() && d->second.data_plane) {
    t.down = true;
    t.mode = d->second.mode;
  }
  return t;
}

json Emulator::StateJson() {
  absl::MutexLock lock(&mu_);
  absl::Time now = Now();
  AdvanceLocked(now);
  json regions = json::object();
  for (const auto& [key, display] : region_display_) {
    json r = {{"location", display}, {"controlPlaneDown", false}, {"dataPlaneDown", false}};
    if (auto d = down_.find(key); d != down_.end()) {
      r["controlPlaneDown"] = d->second.control_plane;
      r["dataPlaneDown"] = d->second.data_plane;
      r["mode"] = d->second.mode == OutageMode::kBlackhole ? "blackhole" : "refuse";
    }
    regions[key] = r;
  }
  json servers = json::object();
  for (const auto& [name, s] : servers_) {
    servers[name] = {
        {"id", ServerId(name)},
        {"location", s.spec.location},
        {"region", s.spec.region},
        {"databases", json(std::vector<std::string>(s.databases.begin(), s.databases.end()))}};
  }
  json groups = json::object();
  for (const auto& [name, g] : groups_) {
    groups[name] = {{"primary", g.primary},
                    {"secondary", g.secondary},
                    {"creating", g.creating},
                    {"busyOperation", g.busy_operation},
                    {"readWritePolicy", g.rw_policy},
                    {"readOnlyPolicy", g.ro_policy},
                    {"databases", g.databases},
                    {"secondaryType", g.secondary_type},
                    {"writesTotal", g.writes_total},
                    {"writesReplicated", g.writes_replicated},
                    {"writesPending", g.pending.size()},
                    {"writesLost", g.writes_lost},
                    {"replicationLagSeconds",
                     g.pending.empty() ? 0.0 : absl::ToDoubleSeconds(now - g.pending.front())},
                    {"configuredLagSeconds", absl::ToDoubleSeconds(g.lag)}};
    if (g.grace) groups[name]["gracePeriodMinutes"] = *g.grace;
  }
  json ops = json::array();
  for (const auto& [id, op] : operations_) {
    json o = {{"id", id},
              {"operation", op.name},
              {"route", RouteName(op.route)},
              {"failoverGroup", op.group},
              {"server", op.server},
              {"region", op.region},
              {"status", op.status},
              {"startTime", FormatArmTime(op.start)},
              {"lostWrites", op.lost_writes}};
    if (op.status != "InProgress") o["endTime"] = FormatArmTime(op.end);
    if (!op.error_code.empty())
      o["error"] = {{"code", op.error_code}, {"message", op.error_message}};
    if (!op.outcome.empty()) o["outcome"] = op.outcome;
    ops.push_back(o);
  }
  return json{{"regions", regions},
              {"servers", servers},
              {"failoverGroups", groups},
              {"operations", ops},
              {"operationDurationMs", absl::ToInt64Milliseconds(operation_duration_)}};
}

}  // namespace foghorn::armsim
