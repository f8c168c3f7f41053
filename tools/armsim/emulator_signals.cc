// Azure's own signals, derived from the emulator's history on the injected clock: Azure Monitor
// metrics (replication lag from the replication model, availability, connections), Resource
// Health (region outages seen after a delay), replication links (SEEDING / CATCH_UP /
// SUSPENDED), the Activity Log of failover-group operations, and Microsoft-initiated failovers.
#include <algorithm>
#include <cstdio>
#include <functional>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tools/armsim/emulator.h"
#include "tools/armsim/signals.h"

namespace foghorn::armsim {

using nlohmann::json;

namespace {

constexpr size_t kMaxLagPoints = 100000;
constexpr size_t kMaxActivityEvents = 10000;
constexpr size_t kMaxConnectionMinutes = 100000;
// Azure Monitor samples the lag of a database this often within a 1-minute bucket.
constexpr absl::Duration kLagSampleEvery = absl::Seconds(10);

// A stable UUID-shaped id from a string (replication link ids, Activity Log event ids).
std::string StableUuid(const std::string& seed) {
  size_t a = std::hash<std::string>{}(seed);
  size_t b = std::hash<std::string>{}(seed + "#");
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-4%03x-a%03x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                static_cast<unsigned>((b >> 48) & 0xfff),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

std::string MetricTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

std::string OperationName(ArmRoute route) {
  switch (route) {
    case ArmRoute::kFailover:
      return "Microsoft.Sql/servers/failoverGroups/failover/action";
    case ArmRoute::kForceFailover:
      return "Microsoft.Sql/servers/failoverGroups/forceFailoverAllowDataLoss/action";
    case ArmRoute::kTryPlannedBeforeForcedFailover:
      return "Microsoft.Sql/servers/failoverGroups/tryPlannedBeforeForcedFailover/action";
    case ArmRoute::kDelete:
      return "Microsoft.Sql/servers/failoverGroups/delete";
    default:
      return "Microsoft.Sql/servers/failoverGroups/write";
  }
}

// Aggregates of samples, as Azure Monitor names them.
struct Aggregate {
  double total = 0;
  double minimum = 0;
  double maximum = 0;
  int64_t count = 0;
  void Add(double v) {
    minimum = count == 0 ? v : std::min(minimum, v);
    maximum = count == 0 ? v : std::max(maximum, v);
    total += v;
    ++count;
  }
};

json DataPoint(absl::Time bucket, const std::optional<Aggregate>& agg,
               const std::vector<std::string>& aggregations) {
  json point = {{"timeStamp", MetricTime(bucket)}};
  if (!agg) return point;
  for (const std::string& a : aggregations) {
    if (a == "average" && agg->count > 0) point["average"] = agg->total / agg->count;
    if (a == "minimum" && agg->count > 0) point["minimum"] = agg->minimum;
    if (a == "maximum" && agg->count > 0) point["maximum"] = agg->maximum;
    if (a == "total") point["total"] = agg->total;
    if (a == "count") point["count"] = agg->count;
  }
  return point;
}

}  // namespace

const std::vector<MetricDefinition>& MetricDefinitions() {
  static const auto* defs = new std::vector<MetricDefinition>{
      {"replication_lag_seconds",
       "Replication lag (preview)",
       "Geo-replication lag of the primary database, in seconds: the age of the oldest "
       "transaction not yet hardened on the partner.",
       "Seconds",
       "Maximum",
       {"partner_server", "partner_database"}},
      {"availability",
       "Availability",
       "Availability of the database, as the percentage of time it could serve connections.",
       "Percent",
       "Average",
       {}},
      {"connection_failed",
       "Failed Connections : System Errors",
       "Connections that failed because the database was unreachable.",
       "Count",
       "Total",
       {}},
      {"connection_successful",
       "Successful Connections",
       "Successful connections.",
       "Count",
       "Total",
       {}},
  };
  return *defs;
}

const MetricDefinition* FindMetric(const std::string& name) {
  for (const MetricDefinition& d : MetricDefinitions()) {
    if (absl::EqualsIgnoreCase(d.name, name)) return &d;
  }
  return nullptr;
}

std::optional<ArmErrorInfo> FailoverGroupError(const std::string& code) {
  // Status and message as the 2025-01-01 spec lists them (Microsoft.Sql FailoverGroups).
  static const auto* table = new std::map<std::string, ArmErrorInfo>{
      {"FailoverGroupDnsRecordInUse",
       {409, "A duplicate DNS record exists for the requested endpoint."}},
      {"ConflictingSystemOperationInProgress",
       {409,
        "A system maintenance operation is in progress on the database and further operations "
        "need to wait until it is completed."}},
      {"OperationInterrupted",
       {409,
        "The operation on the resource could not be completed because it was interrupted by "
        "another operation on the same resource."}},
      {"OperationCancelled", {409, "The operation has been cancelled by user."}},
      {"DatabaseBeingAddedToFailoverGroup",
       {409,
        "The database is currently being added to Failover Group, customer needs to wait for "
        "this operation to finish to issue remove."}},
      {"DatabaseBeingRemovedFromFailoverGroup",
       {409,
        "The database is currently being removed from failover group, customer needs to wait "
        "for this operation to finish to issue add."}},
      {"FailoverGroupNotSecondary",
       {400, "Failover cannot be initiated from the primary server in a Failover Group."}},
      {"FailoverGroupBusy", {409, "Failover Group is busy with another operation."}},
      {"FailoverGroupFailoverRequestOnPrimary",
       {400,
        "The failover request should be initiated on the secondary server of failover group."}},
      {"GeoReplicationCannotBecomePrimaryDuringUndo",
       {409,
        "User attempted to failover or force-terminate a geo-link while the secondary is in a "
        "state where it may not be physically consistent and so cannot enter the primary "
        "role."}},
      {"ConflictingServerOperation",
       {429, "An operation is currently in progress for the server."}},
      {"PlannedFailoverTimedOut",
       {400,
        "User invoked planned failover, and it timed out while trying to contact the partner "
        "management service."}},
      {"OperationTimedOut",
       {500, "The operation timed out and automatically rolled back. Please retry the operation."}},
  };
  auto it = table->find(code);
  if (it == table->end()) return std::nullopt;
  return it->second;
}

SignalOptions Emulator::signal_options() {
  absl::MutexLock lock(&mu_);
  return signals_;
}

void Emulator::SetSignalOptions(SignalOptions options) {
  absl::MutexLock lock(&mu_);
  signals_ = std::move(options);
}

void Emulator::RecordLagLocked(Group& g, absl::Time at) {
  absl::Time oldest = g.pending.empty() ? absl::InfiniteFuture() : g.pending.front();
  if (!g.oldest_pending.empty() && g.oldest_pending.back().second == oldest) return;
  // Keep the history ordered: a late record never goes before one already made.
  if (!g.oldest_pending.empty()) at = std::max(at, g.oldest_pending.back().first);
  g.oldest_pending.emplace_back(at, oldest);
  if (g.oldest_pending.size() > kMaxLagPoints) {
    g.oldest_pending.erase(g.oldest_pending.begin(), g.oldest_pending.begin() + kMaxLagPoints / 2);
  }
}

void Emulator::RecordPrimaryLocked(Group& g, absl::Time at) {
  if (!g.primaries.empty() && g.primaries.back().second == g.primary) return;
  g.primaries.emplace_back(at, g.primary);
}

void Emulator::RecordActivityLocked(const Operation& op, const std::string& status, absl::Time at) {
  ActivityEvent e;
  e.time = at;
  e.operation_id = op.id;
  e.operation_name = OperationName(op.route);
  e.status = status;
  e.caller = op.caller;
  e.correlation_id = op.correlation_id;
  e.subscription = op.subscription;
  e.resource_group = op.resource_group;
  e.resource_id = absl::StrCat(ServerId(op.server), "/failoverGroups/", op.group);
  if (status != "Started" && status != "Succeeded") {
    e.error_code = op.error_code;
    e.error_message = op.error_message;
  }
  activity_.push_back(std::move(e));
  if (activity_.size() > kMaxActivityEvents) activity_.pop_front();
}

absl::Time Emulator::LastDataResumeLocked(const std::string& server) const {
  auto s = servers_.find(server);
  if (s == servers_.end()) return absl::InfinitePast();
  auto h = outage_history_.find(s->second.spec.region);
  absl::Time last = absl::InfinitePast();
  if (h == outage_history_.end()) return last;
  for (const OutageSpan& span : h->second) {
    if (span.outage.data_plane && span.end != absl::InfiniteFuture()) {
      last = std::max(last, span.end);
    }
  }
  return last;
}

bool Emulator::DataUpAtLocked(const std::string& server, absl::Time t) const {
  auto s = servers_.find(server);
  if (s == servers_.end()) return false;
  auto h = outage_history_.find(s->second.spec.region);
  if (h == outage_history_.end()) return true;
  for (const OutageSpan& span : h->second) {
    if (span.outage.data_plane && span.start <= t && t < span.end) return false;
  }
  return true;
}

ArmResponse Emulator::BusyLocked(const Group& g) const {
  auto op = operations_.find(g.busy_operation);
  if (op != operations_.end() && op->second.system) {
    std::string code = "ConflictingSystemOperationInProgress";
    return ArmError(409, code, FailoverGroupError(code)->message);
  }
  return Busy(g.name);
}

void Emulator::RecordFailedConnection(const std::string& failover_group, int64_t count) {
  absl::MutexLock lock(&mu_);
  auto it = groups_.find(failover_group);
  if (it == groups_.end()) return;
  absl::Time now = Now();
  connections_failed_[{it->second.primary,
                       absl::FromUnixSeconds(absl::ToUnixSeconds(now) / 60 * 60)}] += count;
}

ArmResponse Emulator::ReplicationLinksLocked(const ArmRequest& r, absl::Time now) {
  if (auto e = CheckServer(r); e.status != 0) return e;
  if (servers_.at(r.server).databases.count(r.database) == 0) {
    return ArmError(404, "ResourceNotFound",
                    absl::StrCat("The requested resource of type 'Microsoft.Sql/servers/"
                                 "databases' with name '",
                                 r.database, "' was not found."));
  }
  const std::string db_id = absl::StrCat(ServerId(r.server), "/databases/", r.database);
  json links = json::array();
  for (const auto& [name, g] : groups_) {
    if (g.creating || (g.primary != r.server && g.secondary != r.server)) continue;
    if (std::find(g.databases.begin(), g.databases.end(), r.database) == g.databases.end()) {
      continue;
    }
    const bool primary = g.primary == r.server;
    const std::string& partner = primary ? g.secondary : g.primary;
    const std::string link_id = StableUuid(absl::StrCat(g.name, "/", r.database));
    std::string state = "CATCH_UP";
    int percent = 100;
    absl::Time start = g.created == absl::InfinitePast() ? started_ : g.created;
    bool seeding = false;
    if (auto s = g.seeding_since.find(r.database); s != g.seeding_since.end()) {
      start = s->second;
      if (now < s->second + signals_.seeding_duration) {
        seeding = true;
        state = "SEEDING";
        percent =
            static_cast<int>(100 * absl::FDivDuration(now - s->second, signals_.seeding_duration));
      }
    }
    if (!seeding && (!DataUpLocked(g.primary) || !DataUpLocked(g.secondary))) {
      state = "SUSPENDED";
    }
    if (auto o = link_state_overrides_.find(g.name); o != link_state_overrides_.end()) {
      state = o->second;
      seeding = state == "SEEDING";
    }
    links.push_back(
        {{"id", absl::StrCat(db_id, "/replicationLinks/", link_id)},
         {"name", link_id},
         {"type", "Microsoft.Sql/servers/databases/replicationLinks"},
         {"properties",
          {{"partnerServer", partner},
           {"partnerDatabase", r.database},
           {"partnerDatabaseId", absl::StrCat(ServerId(partner), "/databases/", r.database)},
           {"partnerLocation", servers_.at(partner).spec.location},
           {"role", primary ? "Primary" : "Secondary"},
           {"partnerRole", primary ? "Secondary" : "Primary"},
           {"replicationMode", "ASYNC"},
           {"startTime", FormatArmTime(start)},
           {"percentComplete", percent},
           {"replicationState", state},
           {"isTerminationAllowed", !seeding && g.busy_operation.empty()},
           {"linkType", g.secondary_type == "Standby" ? "STANDBY" : "GEO"}}}});
  }
  ArmResponse resp;
  if (r.route == ArmRoute::kListReplicationLinks) {
    resp.body = json{{"value", links}};
    return resp;
  }
  for (const json& link : links) {
    if (absl::EqualsIgnoreCase(link["name"].get<std::string>(), r.link_id)) {
      resp.body = link;
      return resp;
    }
  }
  return ArmError(404, "ResourceNotFound",
                  absl::StrCat("The requested resource of type 'Microsoft.Sql/servers/databases/"
                               "replicationLinks' with name '",
                               r.link_id, "' was not found."));
}

absl::StatusOr<std::string> Emulator::MicrosoftFailover(const std::string& fg, bool planned,
                                                        const std::string& caller) {
  std::string id;
  {
    absl::MutexLock lock(&mu_);
    absl::Time now = Now();
    AdvanceLocked(now);
    auto it = groups_.find(fg);
    if (it == groups_.end() || it->second.creating) {
      return absl::NotFoundError(absl::StrCat("failover group '", fg, "' not found"));
    }
    Group& g = it->second;
    if (!g.busy_operation.empty()) {
      Operation& running = operations_.at(g.busy_operation);
      if (running.system) {
        return absl::FailedPreconditionError(absl::StrCat(
            "a Microsoft-initiated operation already runs on failover group '", fg, "'"));
      }
      // The system operation wins: the user's operation ends as the real service ends it.
      running_.erase(running.id);
      running.status = "Failed";
      running.error_code = "OperationInterrupted";
      running.error_message = FailoverGroupError("OperationInterrupted")->message;
      running.end = now;
      RecordActivityLocked(running, running.status, now);
      g.busy_operation.clear();
    }
    const ServerSpec& target = servers_.at(g.secondary).spec;
    ArmRequest r;
    r.route = planned ? ArmRoute::kFailover : ArmRoute::kForceFailover;
    r.subscription = target.subscription;
    r.resource_group = target.resource_group;
    r.server = g.secondary;
    r.failover_group = fg;
    r.api_version = "2025-01-01";
    r.caller = caller.empty() ? signals_.microsoft_caller : caller;
    ArmResponse resp = StartOperation(r, "FailoverFailoverGroup", g, now);
    id = resp.operation_id;
    operations_.at(id).system = true;
  }
  NotifyChange();
  return id;
}

absl::Status Emulator::SetHealthOverride(const std::string& server, const std::string& database,
                                         std::optional<HealthOverride> state) {
  absl::MutexLock lock(&mu_);
  auto s = servers_.find(server);
  if (s == servers_.end() || (!database.empty() && s->second.databases.count(database) == 0)) {
    return absl::NotFoundError(absl::StrCat("resource '", server, "/", database, "' not found"));
  }
  std::string key = database.empty() ? server : absl::StrCat(server, "/", database);
  if (!state) {
    health_overrides_.erase(key);
  } else {
    health_overrides_[key] = *std::move(state);
  }
  return absl::OkStatus();
}

absl::Status Emulator::SetLinkStateOverride(const std::string& fg,
                                            std::optional<std::string> state) {
  if (state && *state != "SUSPENDED" && *state != "SEEDING" && *state != "CATCH_UP") {
    return absl::InvalidArgumentError("state: SUSPENDED, SEEDING, CATCH_UP or null");
  }
  absl::MutexLock lock(&mu_);
  if (groups_.count(fg) == 0) {
    return absl::NotFoundError(absl::StrCat("failover group '", fg, "' not found"));
  }
  if (state) {
    link_state_overrides_[fg] = *std::move(state);
  } else {
    link_state_overrides_.erase(fg);
  }
  return absl::OkStatus();
}

absl::StatusOr<json> Emulator::ResourceHealth(const std::string& subscription,
                                              const std::string& resource_group,
                                              const std::string& server,
                                              const std::string& database) {
  absl::MutexLock lock(&mu_);
  absl::Time now = Now();
  AdvanceLocked(now);
  auto s = servers_.find(server);
  if (s == servers_.end() || s->second.spec.subscription != subscription ||
      !absl::EqualsIgnoreCase(s->second.spec.resource_group, resource_group) ||
      (!database.empty() && s->second.databases.count(database) == 0)) {
    return absl::NotFoundError(absl::StrCat("resource '", server, "/", database, "' not found"));
  }
  const std::string what = database.empty() ? "SQL server" : "SQL database";
  // Walk the region's outages: each one long enough shows as Unavailable (Degraded when only
  // the control plane is down) from its start plus the down delay, until its end plus the up
  // delay. Back-to-back spans (a changed outage) count as one outage.
  std::string state = "Available";
  absl::Time since = started_;
  absl::Time root_cause = absl::InfinitePast();
  if (auto h = outage_history_.find(s->second.spec.region); h != outage_history_.end()) {
    const std::vector<OutageSpan>& spans = h->second;
    for (size_t i = 0; i < spans.size();) {
      absl::Time start = spans[i].start;
      absl::Time end = spans[i].end;
      bool data = spans[i].outage.data_plane;
      size_t j = i + 1;
      for (; j < spans.size() && spans[j].start == end; ++j) {
        end = spans[j].end;
        if (spans[j].start <= now) data = spans[j].outage.data_plane || data;
      }
      i = j;
      absl::Time shows = start + signals_.health_down_delay;
      if (shows > now || shows > end) continue;  // not seen (yet), or too short to be seen
      state = data ? "Unavailable" : "Degraded";
      since = shows;
      root_cause = start;
      if (end != absl::InfiniteFuture() && end + signals_.health_up_delay <= now) {
        state = "Available";
        since = end + signals_.health_up_delay;
      }
    }
  }
  std::string summary;
  std::string reason;
  if (state == "Available") {
    summary =
        absl::StrCat("There aren't any known Azure platform problems affecting this ", what, ".");
  } else if (state == "Unavailable") {
    reason = "Unplanned";
    summary = absl::StrCat("We're sorry, your ", what,
                           " is unavailable. We're working to automatically recover it and to "
                           "determine the source of the problem.");
  } else {
    reason = "Unplanned";
    summary = absl::StrCat("Management operations on this ", what,
                           " are failing in its region; connections may still be served.");
  }
  std::string key = database.empty() ? server : absl::StrCat(server, "/", database);
  if (auto o = health_overrides_.find(key); o != health_overrides_.end()) {
    state = o->second.state;
    reason = o->second.reason_type;
    if (!o->second.summary.empty()) summary = o->second.summary;
    if (state == "Unknown" && o->second.summary.empty()) {
      summary = absl::StrCat("We are currently unable to determine the health of this ", what, ".");
    }
  }
  const std::string id =
      absl::StrCat(ServerId(server), database.empty() ? "" : absl::StrCat("/databases/", database),
                   "/providers/Microsoft.ResourceHealth/availabilityStatuses/current");
  json props = {{"availabilityState", state},
                {"title", state},
                {"summary", summary},
                {"detailedStatus", ""},
                {"reasonChronicity", state == "Available" ? "Persistent" : "Transient"},
                {"occuredTime", FormatArmTime(since)},
                {"reportedTime", FormatArmTime(now)}};
  if (!reason.empty()) props["reasonType"] = reason;
  if (state != "Available" && root_cause != absl::InfinitePast()) {
    props["rootCauseAttributionTime"] = FormatArmTime(root_cause);
  }
  return json{{"id", id},
              {"name", "current"},
              {"type", "Microsoft.ResourceHealth/AvailabilityStatuses"},
              {"location", s->second.spec.region},
              {"properties", props}};
}

absl::StatusOr<json> Emulator::Metrics(const std::string& subscription,
                                       const std::string& resource_group, const MetricQuery& q) {
  absl::MutexLock lock(&mu_);
  absl::Time now = Now();
  AdvanceLocked(now);
  auto s = servers_.find(q.server);
  if (s == servers_.end() || s->second.spec.subscription != subscription ||
      !absl::EqualsIgnoreCase(s->second.spec.resource_group, resource_group) ||
      s->second.databases.count(q.database) == 0) {
    return absl::NotFoundError(
        absl::StrCat("resource '", q.server, "/databases/", q.database, "' not found"));
  }
  const std::string db_id = absl::StrCat(ServerId(q.server), "/databases/", q.database);
  // The group that replicates this database from or to this server, if any.
  const Group* group = nullptr;
  for (const auto& [name, g] : groups_) {
    if (!g.creating && (g.primary == q.server || g.secondary == q.server) &&
        std::find(g.databases.begin(), g.databases.end(), q.database) != g.databases.end()) {
      group = &g;
    }
  }
  // Buckets start on whole minutes; one is readable once it ended and was ingested.
  std::vector<absl::Time> buckets;
  absl::Time first = absl::FromUnixSeconds(absl::ToUnixSeconds(q.start) / 60 * 60);
  for (absl::Time b = first; b < q.end; b += q.interval) buckets.push_back(b);
  auto ingested = [&](absl::Time b) {
    return b + q.interval + signals_.metrics_ingestion_delay <= now;
  };
  auto primary_at = [&](absl::Time t) -> std::string {
    std::string p;
    for (const auto& [since, server] : group->primaries) {
      if (since > t) break;
      p = server;
    }
    return p;
  };
  auto lag_at = [&](absl::Time t) -> double {
    absl::Time oldest = absl::InfiniteFuture();
    auto it = std::upper_bound(
        group->oldest_pending.begin(), group->oldest_pending.end(), t,
        [](absl::Time v, const std::pair<absl::Time, absl::Time>& p) { return v < p.first; });
    if (it != group->oldest_pending.begin()) oldest = std::prev(it)->second;
    return oldest == absl::InfiniteFuture() ? 0.0 : absl::ToDoubleSeconds(t - oldest);
  };
  auto counts = [&](const std::map<std::pair<std::string, absl::Time>, int64_t>& m, absl::Time b) {
    Aggregate agg;
    for (absl::Time minute = b; minute < b + q.interval; minute += absl::Minutes(1)) {
      auto it = m.find({q.server, minute});
      agg.Add(it == m.end() ? 0.0 : static_cast<double>(it->second));
    }
    return agg;
  };

  json value = json::array();
  for (const MetricDefinition* def : q.metrics) {
    std::vector<std::string> aggregations = q.aggregations;
    if (aggregations.empty()) {
      std::string primary = def->primary_aggregation;
      for (char& c : primary) c = static_cast<char>(std::tolower(c));
      aggregations.push_back(primary);
    }
    json timeseries = json::array();
    const std::string name = def->name;
    if (name == "replication_lag_seconds") {
      if (group != nullptr) {
        const std::string partner = group->primary == q.server ? group->secondary : group->primary;
        std::map<std::string, std::string> dims = {{"partner_server", partner},
                                                   {"partner_database", q.database}};
        bool match = true;
        json metadata = json::array();
        for (const auto& [dim, want] : q.filters) {
          auto d = dims.find(dim);
          if (d == dims.end()) continue;
          if (want != "*" && !absl::EqualsIgnoreCase(want, d->second)) match = false;
          metadata.push_back(
              {{"name", {{"value", dim}, {"localizedValue", dim}}}, {"value", d->second}});
        }
        if (match) {
          json data = json::array();
          for (absl::Time b : buckets) {
            std::optional<Aggregate> agg;
            if (ingested(b)) {
              // Only the primary reports lag, and only while it can.
              Aggregate a;
              for (absl::Time t = b; t < b + q.interval; t += kLagSampleEvery) {
                if (t < started_ || t < group->created || primary_at(t) != q.server ||
                    !DataUpAtLocked(q.server, t)) {
                  continue;
                }
                a.Add(lag_at(t));
              }
              if (a.count > 0) agg = a;
            }
            data.push_back(DataPoint(b, agg, aggregations));
          }
          timeseries.push_back({{"metadatavalues", metadata}, {"data", data}});
        }
      }
    } else {
      json data = json::array();
      for (absl::Time b : buckets) {
        std::optional<Aggregate> agg;
        if (ingested(b)) {
          if (name == "availability") {
            Aggregate a;
            for (absl::Time t = b; t < b + q.interval; t += kLagSampleEvery) {
              if (t >= started_) a.Add(DataUpAtLocked(q.server, t) ? 100.0 : 0.0);
            }
            if (a.count > 0) agg = a;
          } else {
            agg = counts(name == "connection_failed" ? connections_failed_ : connections_ok_, b);
          }
        }
        data.push_back(DataPoint(b, agg, aggregations));
      }
      timeseries.push_back({{"metadatavalues", json::array()}, {"data", data}});
    }
    value.push_back({{"id", absl::StrCat(db_id, "/providers/Microsoft.Insights/metrics/", name)},
                     {"type", "Microsoft.Insights/metrics"},
                     {"name", {{"value", name}, {"localizedValue", def->display_name}}},
                     {"displayDescription", def->description},
                     {"unit", def->unit},
                     {"timeseries", timeseries},
                     {"errorCode", "Success"}});
  }
  // Bound the per-minute connection counters.
  for (auto* m : {&connections_ok_, &connections_failed_}) {
    while (m->size() > kMaxConnectionMinutes) m->erase(m->begin());
  }
  return json{{"cost", static_cast<int64_t>(buckets.size() * q.metrics.size())},
              {"timespan", absl::StrCat(MetricTime(q.start), "/", MetricTime(q.end))},
              {"interval", absl::StrCat("PT", absl::ToInt64Minutes(q.interval), "M")},
              {"value", value},
              {"namespace", "Microsoft.Sql/servers/databases"},
              {"resourceregion", s->second.spec.region}};
}

json Emulator::ActivityLog(const ActivityQuery& q) {
  absl::MutexLock lock(&mu_);
  AdvanceLocked(Now());
  auto under = [](const std::string& id, const std::string& prefix) {
    return absl::StartsWithIgnoreCase(id, prefix) &&
           (id.size() == prefix.size() || id[prefix.size()] == '/');
  };
  json value = json::array();
  for (auto it = activity_.rbegin(); it != activity_.rend(); ++it) {
    const ActivityEvent& e = *it;
    if (e.subscription != q.subscription || e.time < q.from || e.time > q.to) continue;
    if (!q.resource_uri.empty() && !under(e.resource_id, q.resource_uri)) continue;
    if (!q.resource_group.empty() && !absl::EqualsIgnoreCase(e.resource_group, q.resource_group)) {
      continue;
    }
    if (!q.correlation_id.empty() && !absl::EqualsIgnoreCase(e.correlation_id, q.correlation_id)) {
      continue;
    }
    if (!q.resource_provider.empty() &&
        !absl::EqualsIgnoreCase(q.resource_provider, "Microsoft.Sql")) {
      continue;
    }
    const std::string event_id = StableUuid(absl::StrCat(e.operation_id, "/", e.status));
    // .NET ticks (100 ns since 0001-01-01), as ARM puts them in event ids.
    const int64_t ticks = absl::ToUnixNanos(e.time) / 100 + 621355968000000000LL;
    const bool begin = e.status == "Started";
    json props = {{"statusCode", begin ? "Accepted" : e.status == "Succeeded" ? "OK" : "Conflict"}};
    if (!e.error_code.empty()) {
      props["statusMessage"] =
          json{{"error", {{"code", e.error_code}, {"message", e.error_message}}}}.dump();
    }
    value.push_back(
        {{"authorization", {{"action", e.operation_name}, {"scope", e.resource_id}}},
         {"caller", e.caller},
         {"channels", "Operation"},
         {"correlationId", e.correlation_id},
         {"description", ""},
         {"eventDataId", event_id},
         {"eventName",
          {{"value", begin ? "BeginRequest" : "EndRequest"},
           {"localizedValue", begin ? "Begin request" : "End request"}}},
         {"category", {{"value", "Administrative"}, {"localizedValue", "Administrative"}}},
         {"id", absl::StrCat(e.resource_id, "/events/", event_id, "/ticks/", ticks)},
         {"level", e.error_code.empty() ? "Informational" : "Error"},
         {"resourceGroupName", e.resource_group},
         {"resourceProviderName",
          {{"value", "Microsoft.Sql"}, {"localizedValue", "Microsoft SQL"}}},
         {"resourceId", e.resource_id},
         {"resourceType",
          {{"value", "Microsoft.Sql/servers/failoverGroups"},
           {"localizedValue", "Microsoft.Sql/servers/failoverGroups"}}},
         {"operationId", e.operation_id},
         {"operationName", {{"value", e.operation_name}, {"localizedValue", e.operation_name}}},
         {"properties", props},
         {"status", {{"value", e.status}, {"localizedValue", e.status}}},
         {"subStatus", {{"value", ""}, {"localizedValue", ""}}},
         {"eventTimestamp", FormatArmTime(e.time)},
         {"submissionTimestamp", FormatArmTime(e.time)},
         {"subscriptionId", e.subscription},
         {"tenantId", ""}});
  }
  return json{{"value", value}};
}

}  // namespace foghorn::armsim
