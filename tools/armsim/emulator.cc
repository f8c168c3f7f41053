// Construction, request dispatch (with the control-plane outage gate), reads (list, get), region
// outages, settings and the admin state of the emulator (emulator.h lists the other files).
#include "tools/armsim/emulator.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace foghorn::armsim {
namespace {

using nlohmann::json;

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
    case ArmRoute::kListReplicationLinks:
    case ArmRoute::kGetReplicationLink:
      return "replicationLinks";
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
      retry_after_(options.retry_after),
      signals_(options.signals),
      started_(clock_->Now()) {
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
    // Seeded from the topology: caught up long ago.
    g.primaries.emplace_back(absl::InfinitePast(), g.primary);
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
  bool seeding = false;
  for (const auto& [db, since] : g.seeding_since) {
    seeding = seeding || Now() < since + signals_.seeding_duration;
  }
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
        {"replicationState", seeding ? "SEEDING" : "CATCH_UP"},
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
        case ArmRoute::kListReplicationLinks:
        case ArmRoute::kGetReplicationLink:
          resp = ReplicationLinksLocked(r, now);
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

ArmResponse Emulator::GroupNotFound(const ArmRequest& r) {
  return ArmError(404, "ResourceNotFound",
                  absl::StrCat("The requested resource of type 'Microsoft.Sql/servers/"
                               "failoverGroups' with name '",
                               r.failover_group, "' was not found."));
}

ArmResponse Emulator::Busy(const std::string& fg) {
  return ArmError(409, "FailoverGroupBusy",
                  absl::StrCat("Failover Group '", fg, "' is busy with another operation."));
}

ArmResponse Emulator::OnSecondary() {
  return ArmError(400, "FailoverGroupUpdateOrDeleteRequestOnSecondary",
                  "Modifications to the failover group are not allowed on a secondary server. "
                  "Execute the request on the primary server.");
}

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

void Emulator::SetRegionDown(const std::string& region, RegionOutage outage) {
  {
    absl::MutexLock lock(&mu_);
    absl::Time now = Now();
    AdvanceLocked(now);
    down_[region] = outage;
    std::vector<OutageSpan>& spans = outage_history_[region];
    if (!spans.empty() && spans.back().end == absl::InfiniteFuture()) {
      // Already down: a changed outage splits the span, so the history says which planes were
      // down when.
      if (spans.back().outage.control_plane != outage.control_plane ||
          spans.back().outage.data_plane != outage.data_plane) {
        spans.back().end = now;
        spans.push_back({now, absl::InfiniteFuture(), outage});
      } else {
        spans.back().outage = outage;
      }
    } else {
      spans.push_back({now, absl::InfiniteFuture(), outage});
    }
  }
  NotifyChange();
}

void Emulator::SetRegionUp(const std::string& region) {
  {
    absl::MutexLock lock(&mu_);
    absl::Time now = Now();
    AdvanceLocked(now);
    down_.erase(region);
    if (auto h = outage_history_.find(region); h != outage_history_.end() && !h->second.empty() &&
                                               h->second.back().end == absl::InfiniteFuture()) {
      h->second.back().end = now;
    }
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

void Emulator::SetOperationDuration(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  operation_duration_ = d;
}

void Emulator::SetRetryAfter(std::optional<absl::Duration> d) {
  absl::MutexLock lock(&mu_);
  retry_after_ = d;
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
