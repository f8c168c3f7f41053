#include "tools/armsim/monitor_routes.h"

#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "tools/armsim/arm_routes.h"
#include "tools/armsim/http_front.h"
#include "tools/armsim/signals.h"

namespace foghorn::armsim {
namespace {

using nlohmann::json;

enum class MonitorRoute { kMetrics, kResourceHealth, kActivityLog };

struct MonitorRequest {
  MonitorRoute route;
  std::string subscription;
  std::string resource_group;
  std::string server;
  std::string database;
};

bool Eq(const std::string& a, const char* b) { return absl::EqualsIgnoreCase(a, b); }

const char* RouteName(MonitorRoute r) {
  switch (r) {
    case MonitorRoute::kMetrics:
      return "metrics";
    case MonitorRoute::kResourceHealth:
      return "resourceHealth";
    case MonitorRoute::kActivityLog:
      return "activityLog";
  }
  return "unknown";
}

// The api-versions each provider serves for these routes.
const std::set<std::string>& ApiVersions(MonitorRoute r) {
  static const auto* metrics =
      new std::set<std::string>{"2016-06-01", "2017-05-01-preview", "2018-01-01", "2019-07-01",
                                "2021-05-01", "2023-10-01",         "2024-02-01"};
  static const auto* health = new std::set<std::string>{"2015-01-01", "2017-07-01", "2018-07-01",
                                                        "2020-05-01", "2022-10-01"};
  static const auto* activity = new std::set<std::string>{"2015-04-01"};
  switch (r) {
    case MonitorRoute::kMetrics:
      return *metrics;
    case MonitorRoute::kResourceHealth:
      return *health;
    case MonitorRoute::kActivityLog:
      return *activity;
  }
  return *activity;
}

std::optional<MonitorRequest> Match(const std::string& method, const std::vector<std::string>& s) {
  if (method != "GET" || s.size() < 7 || !Eq(s[0], "subscriptions")) return std::nullopt;
  MonitorRequest m;
  m.subscription = s[1];
  // /subscriptions/{s}/providers/Microsoft.Insights/eventtypes/management/values
  if (s.size() == 7 && Eq(s[2], "providers") && Eq(s[3], "Microsoft.Insights") &&
      Eq(s[4], "eventtypes") && Eq(s[5], "management") && Eq(s[6], "values")) {
    m.route = MonitorRoute::kActivityLog;
    return m;
  }
  if (s.size() < 12 || !Eq(s[2], "resourceGroups") || !Eq(s[4], "providers") ||
      !Eq(s[5], "Microsoft.Sql") || !Eq(s[6], "servers")) {
    return std::nullopt;
  }
  m.resource_group = s[3];
  m.server = s[7];
  size_t rest = 8;
  if (s.size() >= 13 && Eq(s[8], "databases")) {
    m.database = s[9];
    rest = 10;
  }
  const size_t left = s.size() - rest;
  if (left == 3 && !m.database.empty() && Eq(s[rest], "providers") &&
      Eq(s[rest + 1], "Microsoft.Insights") && Eq(s[rest + 2], "metrics")) {
    m.route = MonitorRoute::kMetrics;
    return m;
  }
  if (left == 4 && Eq(s[rest], "providers") && Eq(s[rest + 1], "Microsoft.ResourceHealth") &&
      Eq(s[rest + 2], "availabilityStatuses") && Eq(s[rest + 3], "current")) {
    m.route = MonitorRoute::kResourceHealth;
    return m;
  }
  return std::nullopt;
}

// Azure Monitor's error body: {"code","message"} at the top level (not ARM's "error" envelope).
void SendInsightsError(httplib::Response& res, int status, const std::string& code,
                       const std::string& message) {
  SendJson(res, status, {{"code", code}, {"message", message}});
}

// ISO 8601 durations Azure Monitor accepts as an interval.
std::optional<absl::Duration> ParseInterval(const std::string& text) {
  static const auto* known = new std::map<std::string, absl::Duration>{
      {"PT1M", absl::Minutes(1)},   {"PT5M", absl::Minutes(5)}, {"PT15M", absl::Minutes(15)},
      {"PT30M", absl::Minutes(30)}, {"PT1H", absl::Hours(1)},   {"PT6H", absl::Hours(6)},
      {"PT12H", absl::Hours(12)},   {"P1D", absl::Hours(24)}};
  auto it = known->find(absl::AsciiStrToUpper(text));
  if (it == known->end()) return std::nullopt;
  return it->second;
}

// One clause of an OData-like $filter: name op 'value'.
struct Clause {
  std::string name;
  std::string op;
  std::string value;
};

// Splits "a eq 'x' and b ge 'y'" into clauses; nullopt if a clause is malformed. "or" is not
// supported (Azure Monitor allows it only between values of one dimension).
std::optional<std::vector<Clause>> ParseFilter(const std::string& filter) {
  std::vector<Clause> out;
  std::string lower = absl::AsciiStrToLower(filter);
  size_t pos = 0;
  while (pos <= filter.size()) {
    size_t next = lower.find(" and ", pos);
    std::string part(absl::StripAsciiWhitespace(absl::string_view(filter).substr(
        pos, next == std::string::npos ? std::string::npos : next - pos)));
    std::vector<std::string> words = absl::StrSplit(part, absl::MaxSplits(' ', 2));
    if (words.size() != 3) return std::nullopt;
    std::string value(absl::StripAsciiWhitespace(words[2]));
    if (value.size() >= 2 && value.front() == '\'' && value.back() == '\'') {
      value = value.substr(1, value.size() - 2);
    }
    out.push_back({words[0], absl::AsciiStrToLower(words[1]), value});
    if (next == std::string::npos) break;
    pos = next + 5;
  }
  return out;
}

void ServeMetrics(SimContext& sim, Exchange& x, const MonitorRequest& m) {
  const httplib::Request& req = x.req;
  MetricQuery q;
  q.server = m.server;
  q.database = m.database;
  std::string names = req.get_param_value("metricnames");
  if (names.empty()) {
    return SendInsightsError(x.res, 400, "BadRequest", "The metricnames parameter is required.");
  }
  for (absl::string_view n : absl::StrSplit(names, ',', absl::SkipWhitespace())) {
    std::string name(absl::StripAsciiWhitespace(n));
    const MetricDefinition* def = FindMetric(name);
    if (def == nullptr) {
      std::vector<std::string> valid;
      for (const MetricDefinition& d : MetricDefinitions()) valid.push_back(d.name);
      return SendInsightsError(
          x.res, 400, "BadRequest",
          absl::StrCat("Failed to find metric configuration for provider: Microsoft.Sql, "
                       "resource Type: servers/databases, metric: ",
                       name, ", Valid metrics: ", absl::StrJoin(valid, ",")));
    }
    q.metrics.push_back(def);
  }
  if (std::string ns = req.get_param_value("metricnamespace");
      !ns.empty() && !Eq(ns, "Microsoft.Sql/servers/databases")) {
    return SendInsightsError(x.res, 400, "BadRequest",
                             absl::StrCat("Metric namespace '", ns,
                                          "' is not valid for this "
                                          "resource; use Microsoft.Sql/servers/databases."));
  }
  for (absl::string_view a :
       absl::StrSplit(req.get_param_value("aggregation"), ',', absl::SkipWhitespace())) {
    std::string agg = absl::AsciiStrToLower(absl::StripAsciiWhitespace(a));
    static const std::set<std::string> kKnown = {"average", "minimum", "maximum", "total", "count"};
    if (kKnown.count(agg) == 0) {
      return SendInsightsError(x.res, 400, "BadRequest",
                               absl::StrCat("Invalid aggregation type '", std::string(a),
                                            "'. Valid: Average,Minimum,Maximum,Total,Count."));
    }
    q.aggregations.push_back(agg);
  }
  absl::Time now = sim.clock->Now();
  q.end = now;
  q.start = now - absl::Hours(1);
  if (std::string span = req.get_param_value("timespan"); !span.empty()) {
    std::vector<std::string> ends = absl::StrSplit(span, '/');
    std::optional<absl::Time> from = ends.size() == 2 ? ParseIsoTime(ends[0]) : std::nullopt;
    std::optional<absl::Time> to = ends.size() == 2 ? ParseIsoTime(ends[1]) : std::nullopt;
    if (!from || !to || *from >= *to) {
      return SendInsightsError(
          x.res, 400, "BadRequest",
          absl::StrCat("Invalid timespan '", span, "': expected {start}/{end} in ISO 8601."));
    }
    q.start = *from;
    q.end = *to;
  }
  if (std::string interval = req.get_param_value("interval"); !interval.empty()) {
    std::optional<absl::Duration> d = ParseInterval(interval);
    if (!d) {
      return SendInsightsError(
          x.res, 400, "BadRequest",
          absl::StrCat("Invalid interval '", interval,
                       "'. Supported: PT1M,PT5M,PT15M,PT30M,PT1H,PT6H,PT12H,P1D."));
    }
    q.interval = *d;
  }
  if ((q.end - q.start) / q.interval > 10000) {
    return SendInsightsError(x.res, 400, "BadRequest",
                             "The timespan holds more than 10000 intervals; use a larger "
                             "interval.");
  }
  if (std::string filter = req.get_param_value("$filter"); !filter.empty()) {
    auto clauses = ParseFilter(filter);
    if (!clauses) {
      return SendInsightsError(x.res, 400, "BadRequest",
                               absl::StrCat("Invalid $filter '", filter, "'."));
    }
    for (const Clause& c : *clauses) {
      bool known = false;
      for (const MetricDefinition* def : q.metrics) {
        for (const std::string& dim : def->dimensions) known = known || Eq(c.name, dim.c_str());
      }
      if (!known || c.op != "eq") {
        return SendInsightsError(
            x.res, 400, "BadRequest",
            absl::StrCat("Metric: ", q.metrics.front()->name,
                         " does not support requested dimension combination: ", c.name,
                         ", supported ones are: partner_server,partner_database"));
      }
      q.filters[absl::AsciiStrToLower(c.name)] = c.value;
    }
  }
  auto body = sim.emulator.Metrics(m.subscription, m.resource_group, q);
  if (!body.ok()) {
    return SendArm(x.res,
                   ArmError(404, "ResourceNotFound",
                            absl::StrCat("The Resource 'Microsoft.Sql/servers/", m.server,
                                         "/databases/", m.database, "' under resource group '",
                                         m.resource_group, "' was not found.")));
  }
  SendJson(x.res, 200, *body);
}

void ServeResourceHealth(SimContext& sim, Exchange& x, const MonitorRequest& m) {
  auto body = sim.emulator.ResourceHealth(m.subscription, m.resource_group, m.server, m.database);
  if (!body.ok()) {
    return SendArm(x.res, ArmError(404, "ResourceNotFound",
                                   absl::StrCat("The Resource 'Microsoft.Sql/servers/", m.server,
                                                m.database.empty() ? "" : "/databases/", m.database,
                                                "' under resource group '", m.resource_group,
                                                "' was not found.")));
  }
  SendJson(x.res, 200, *body);
}

void ServeActivityLog(SimContext& sim, Exchange& x, const MonitorRequest& m) {
  ActivityQuery q;
  q.subscription = m.subscription;
  std::string filter = x.req.get_param_value("$filter");
  auto clauses = ParseFilter(filter);
  bool has_from = false;
  for (const Clause& c : clauses ? *clauses : std::vector<Clause>{}) {
    if (Eq(c.name, "eventTimestamp") && (c.op == "ge" || c.op == "le")) {
      std::optional<absl::Time> t = ParseIsoTime(c.value);
      if (!t) {
        return SendInsightsError(x.res, 400, "BadRequest",
                                 absl::StrCat("Invalid eventTimestamp '", c.value, "'."));
      }
      (c.op == "ge" ? q.from : q.to) = *t;
      has_from = has_from || c.op == "ge";
    } else if (c.op != "eq") {
      clauses.reset();
      break;
    } else if (Eq(c.name, "resourceUri") || Eq(c.name, "resourceId")) {
      q.resource_uri = c.value;
    } else if (Eq(c.name, "resourceGroupName")) {
      q.resource_group = c.value;
    } else if (Eq(c.name, "correlationId")) {
      q.correlation_id = c.value;
    } else if (Eq(c.name, "resourceProvider")) {
      q.resource_provider = c.value;
    } else if (!Eq(c.name, "eventChannels") && !Eq(c.name, "levels")) {
      clauses.reset();
      break;
    }
  }
  if (!clauses || !has_from) {
    return SendInsightsError(
        x.res, 400, "BadRequest",
        absl::StrCat("The $filter '", filter,
                     "' is not supported: it must contain eventTimestamp ge '<time>' and may "
                     "add eventTimestamp le, resourceUri, resourceGroupName, correlationId or "
                     "resourceProvider (eq), joined by 'and'."));
  }
  SendJson(x.res, 200, sim.emulator.ActivityLog(q));
}

}  // namespace

std::optional<absl::Time> ParseIsoTime(const std::string& text) {
  absl::Time t;
  std::string err;
  for (const char* format :
       {"%Y-%m-%d%ET%H:%M:%E*S%Ez", "%Y-%m-%d%ET%H:%M:%E*SZ", "%Y-%m-%d%ET%H:%MZ", "%Y-%m-%d"}) {
    if (absl::ParseTime(format, text, absl::UTCTimeZone(), &t, &err)) return t;
  }
  return std::nullopt;
}

std::optional<Disposition> ServeMonitor(SimContext& sim, Exchange& x) {
  std::optional<MonitorRequest> matched = Match(x.req.method, x.segments);
  if (!matched) return std::nullopt;
  const MonitorRequest& m = *matched;
  const httplib::Request& req = x.req;
  RequestRecord& rec = x.record;
  rec.route = RouteName(m.route);
  rec.server = m.server;

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
  if (std::string v = req.get_param_value("api-version"); ApiVersions(m.route).count(v) == 0) {
    SendArm(x.res, ArmError(400, "InvalidApiVersionParameter",
                            absl::StrCat("The api-version '", v,
                                         "' is invalid. The supported versions are '",
                                         absl::StrJoin(ApiVersions(m.route), ","), "'.")));
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
    rec.fault = "throttled";
    return Disposition::kAnswer;
  }
  bool reset_after = false;
  if (auto fault = sim.faults.Match(rec.route, req.method, m.server, "")) {
    rec.fault = FaultKindName(fault->kind);
    ArmRequest unused;
    if (auto ended = ApplyFault(*fault, x.res, unused, &reset_after)) return *ended;
  }
  switch (m.route) {
    case MonitorRoute::kMetrics:
      ServeMetrics(sim, x, m);
      break;
    case MonitorRoute::kResourceHealth:
      ServeResourceHealth(sim, x, m);
      break;
    case MonitorRoute::kActivityLog:
      ServeActivityLog(sim, x, m);
      break;
  }
  return reset_after ? Disposition::kDropConnection : Disposition::kAnswer;
}

}  // namespace foghorn::armsim
