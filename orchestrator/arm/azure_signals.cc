#include "orchestrator/arm/azure_signals.h"

#include <cmath>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "orchestrator/arm/credentials.h"
#include "orchestrator/common/status_macros.h"

namespace foghorn::arm {
namespace {

using Json = nlohmann::json;

absl::string_view V(std::string_view s) { return absl::string_view(s.data(), s.size()); }

absl::Status Bad(std::string_view what, std::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("malformed ", V(what), " json: ", V(why)));
}

std::optional<Json> ParseJson(std::string_view text) {
  Json j = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

std::string Str(const Json& obj, const char* key) {
  if (!obj.is_object()) return "";
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

const Json* Obj(const Json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_object()) return nullptr;
  return &*it;
}

const Json* Arr(const Json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_array()) return nullptr;
  return &*it;
}

// A finite JSON number; nullopt for anything else (null, strings, NaN are not values).
std::optional<double> Num(const Json& obj, const char* key) {
  if (!obj.is_object()) return std::nullopt;
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_number()) return std::nullopt;
  const double v = it->get<double>();
  if (!std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<absl::Time> TimeField(const Json& obj, const char* key) {
  std::string s = Str(obj, key);
  if (s.empty()) return std::nullopt;
  return ParseArmTime(s);
}

// {"value": "...", "localizedValue": "..."} or a plain string.
std::string LocalizableValue(const Json& obj, const char* key) {
  if (!obj.is_object()) return "";
  auto it = obj.find(key);
  if (it == obj.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  return Str(*it, "value");
}

ReplicationRole Role(const std::string& s) {
  const std::string l = absl::AsciiStrToLower(s);
  if (l == "primary") return ReplicationRole::kPrimary;
  if (l == "secondary" || l == "nonreadablesecondary") return ReplicationRole::kSecondary;
  return ReplicationRole::kUnknown;
}

std::string IsoTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

// ISO 8601 duration of whole minutes/hours/days, as the metrics API takes it.
std::string IsoInterval(absl::Duration d) {
  const int64_t minutes = std::max<int64_t>(1, absl::ToInt64Minutes(d));
  if (minutes % (24 * 60) == 0) return absl::StrCat("P", minutes / (24 * 60), "D");
  if (minutes % 60 == 0) return absl::StrCat("PT", minutes / 60, "H");
  return absl::StrCat("PT", minutes, "M");
}

absl::Status CheckResourceName(const std::string& value, const char* what) {
  if (!IsValidNameSegment(value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid database id: bad ", what, " name '", value.substr(0, 128), "'"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status DatabaseId::Validate() const {
  RETURN_IF_ERROR(CheckResourceName(subscription, "subscription"));
  RETURN_IF_ERROR(CheckResourceName(resource_group, "resource group"));
  RETURN_IF_ERROR(CheckResourceName(server, "server"));
  return CheckResourceName(database, "database");
}

std::string DatabaseId::Path() const {
  return absl::StrCat(Server().Path(), "/databases/", database);
}

std::string_view MetricAggregationName(MetricAggregation a) {
  switch (a) {
    case MetricAggregation::kAverage:
      return "Average";
    case MetricAggregation::kMinimum:
      return "Minimum";
    case MetricAggregation::kMaximum:
      return "Maximum";
    case MetricAggregation::kTotal:
      return "Total";
    case MetricAggregation::kCount:
      return "Count";
  }
  return "Maximum";
}

std::optional<MetricAggregation> ParseMetricAggregation(std::string_view name) {
  for (MetricAggregation a :
       {MetricAggregation::kAverage, MetricAggregation::kMinimum, MetricAggregation::kMaximum,
        MetricAggregation::kTotal, MetricAggregation::kCount}) {
    if (absl::EqualsIgnoreCase(V(name), V(MetricAggregationName(a)))) return a;
  }
  return std::nullopt;
}

std::optional<double> MetricPoint::Get(MetricAggregation a) const {
  switch (a) {
    case MetricAggregation::kAverage:
      return average;
    case MetricAggregation::kMinimum:
      return minimum;
    case MetricAggregation::kMaximum:
      return maximum;
    case MetricAggregation::kTotal:
      return total;
    case MetricAggregation::kCount:
      return count;
  }
  return std::nullopt;
}

const Metric* MetricsResponse::Find(std::string_view name) const {
  for (const Metric& m : value) {
    if (absl::EqualsIgnoreCase(m.name, V(name))) return &m;
  }
  return nullptr;
}

std::optional<MetricPoint> NewestPoint(const Metric& metric, MetricAggregation aggregation) {
  std::optional<MetricPoint> best;
  for (const MetricTimeSeries& series : metric.timeseries) {
    for (const MetricPoint& p : series.data) {
      if (!p.Get(aggregation)) continue;
      if (!best || p.time > best->time ||
          (p.time == best->time && *p.Get(aggregation) > *best->Get(aggregation))) {
        best = p;  // of two series at the same time, the larger value (worst partner) wins
      }
    }
  }
  return best;
}

std::string_view AvailabilityStateName(AvailabilityState s) {
  switch (s) {
    case AvailabilityState::kAvailable:
      return "Available";
    case AvailabilityState::kDegraded:
      return "Degraded";
    case AvailabilityState::kUnavailable:
      return "Unavailable";
    case AvailabilityState::kUnknown:
      return "Unknown";
    case AvailabilityState::kUnspecified:
      break;
  }
  return "";
}

std::optional<absl::Time> ParseArmTime(std::string_view text) {
  if (text.empty() || text.size() > 64) return std::nullopt;
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, std::string(text), &t, &err)) return std::nullopt;
  return t;
}

absl::StatusOr<MetricsResponse> ParseMetricsResponse(std::string_view json) {
  constexpr std::string_view kWhat = "metrics";
  auto j = ParseJson(json);
  if (!j || !j->is_object()) return Bad(kWhat, "not an object");
  const Json* value = Arr(*j, "value");
  if (value == nullptr) return Bad(kWhat, "no value array");
  MetricsResponse out;
  out.interval = Str(*j, "interval");
  for (const Json& m : *value) {
    if (!m.is_object()) return Bad(kWhat, "metric is not an object");
    Metric metric;
    metric.name = LocalizableValue(m, "name");
    if (metric.name.empty()) return Bad(kWhat, "metric without a name");
    metric.unit = Str(m, "unit");
    metric.error_code = Str(m, "errorCode");
    if (const Json* series = Arr(m, "timeseries")) {
      for (const Json& ts : *series) {
        if (!ts.is_object()) return Bad(kWhat, "timeseries entry is not an object");
        MetricTimeSeries s;
        if (const Json* md = Arr(ts, "metadatavalues")) {
          for (const Json& kv : *md) {
            std::string k = LocalizableValue(kv, "name");
            if (!k.empty()) s.dimensions[k] = Str(kv, "value");
          }
        }
        if (const Json* data = Arr(ts, "data")) {
          for (const Json& d : *data) {
            if (!d.is_object()) return Bad(kWhat, "data point is not an object");
            std::optional<absl::Time> t = TimeField(d, "timeStamp");
            if (!t) return Bad(kWhat, "data point without a valid timeStamp");
            MetricPoint p;
            p.time = *t;
            p.average = Num(d, "average");
            p.minimum = Num(d, "minimum");
            p.maximum = Num(d, "maximum");
            p.total = Num(d, "total");
            p.count = Num(d, "count");
            s.data.push_back(p);
          }
        }
        metric.timeseries.push_back(std::move(s));
      }
    }
    out.value.push_back(std::move(metric));
  }
  return out;
}

absl::StatusOr<AvailabilityStatus> ParseAvailabilityStatus(std::string_view json) {
  constexpr std::string_view kWhat = "resource health";
  auto j = ParseJson(json);
  if (!j || !j->is_object()) return Bad(kWhat, "not an object");
  const Json* props = Obj(*j, "properties");
  if (props == nullptr) return Bad(kWhat, "no properties");
  AvailabilityStatus out;
  out.id = Str(*j, "id");
  out.state_text = Str(*props, "availabilityState");
  if (out.state_text.empty()) return Bad(kWhat, "no availabilityState");
  const std::string l = absl::AsciiStrToLower(out.state_text);
  if (l == "available") {
    out.state = AvailabilityState::kAvailable;
  } else if (l == "degraded") {
    out.state = AvailabilityState::kDegraded;
  } else if (l == "unavailable") {
    out.state = AvailabilityState::kUnavailable;
  } else {
    out.state = AvailabilityState::kUnknown;  // "Unknown" and anything newer than this client
  }
  out.reason_type = Str(*props, "reasonType");
  out.summary = Str(*props, "summary");
  out.title = Str(*props, "title");
  out.occurred_time = TimeField(*props, "occuredTime");
  if (!out.occurred_time) out.occurred_time = TimeField(*props, "occurredTime");
  out.reported_time = TimeField(*props, "reportedTime");
  out.root_cause_attribution_time = TimeField(*props, "rootCauseAttributionTime");
  return out;
}

namespace {

absl::StatusOr<ReplicationLink> LinkFromJson(const Json& l) {
  constexpr std::string_view kWhat = "replication link";
  if (!l.is_object()) return Bad(kWhat, "link is not an object");
  const Json* props = Obj(l, "properties");
  if (props == nullptr) return Bad(kWhat, "no properties");
  ReplicationLink out;
  out.id = Str(l, "id");
  out.name = Str(l, "name");
  out.partner_server = Str(*props, "partnerServer");
  out.partner_database = Str(*props, "partnerDatabase");
  out.partner_location = Str(*props, "partnerLocation");
  out.role = Role(Str(*props, "role"));
  out.partner_role = Role(Str(*props, "partnerRole"));
  out.replication_state = Str(*props, "replicationState");
  if (std::optional<double> p = Num(*props, "percentComplete")) {
    if (*p < 0 || *p > 100) return Bad(kWhat, "percentComplete out of range");
    out.percent_complete = static_cast<int>(*p);
  }
  out.link_type = Str(*props, "linkType");
  out.replication_mode = Str(*props, "replicationMode");
  out.start_time = TimeField(*props, "startTime");
  auto it = props->find("isTerminationAllowed");
  if (it != props->end() && it->is_boolean()) out.is_termination_allowed = it->get<bool>();
  return out;
}

}  // namespace

absl::StatusOr<std::vector<ReplicationLink>> ParseReplicationLinks(std::string_view json) {
  auto j = ParseJson(json);
  if (!j || !j->is_object()) return Bad("replication links", "not an object");
  std::vector<ReplicationLink> out;
  const Json* value = Arr(*j, "value");
  if (value == nullptr) {
    // A single link (GET .../replicationLinks/{id}).
    ASSIGN_OR_RETURN(ReplicationLink l, LinkFromJson(*j));
    out.push_back(std::move(l));
    return out;
  }
  for (const Json& l : *value) {
    ASSIGN_OR_RETURN(ReplicationLink link, LinkFromJson(l));
    out.push_back(std::move(link));
  }
  return out;
}

absl::StatusOr<ActivityLogPage> ParseActivityLogPage(std::string_view json) {
  constexpr std::string_view kWhat = "activity log";
  auto j = ParseJson(json);
  if (!j || !j->is_object()) return Bad(kWhat, "not an object");
  const Json* value = Arr(*j, "value");
  if (value == nullptr) return Bad(kWhat, "no value array");
  ActivityLogPage out;
  out.next_link = Str(*j, "nextLink");
  for (const Json& e : *value) {
    if (!e.is_object()) return Bad(kWhat, "event is not an object");
    ActivityLogEvent ev;
    ev.id = Str(e, "id");
    ev.caller = Str(e, "caller");
    ev.operation_name = LocalizableValue(e, "operationName");
    ev.status = LocalizableValue(e, "status");
    ev.sub_status = LocalizableValue(e, "subStatus");
    ev.event_name = LocalizableValue(e, "eventName");
    ev.level = Str(e, "level");
    ev.resource_id = Str(e, "resourceId");
    ev.correlation_id = Str(e, "correlationId");
    ev.operation_id = Str(e, "operationId");
    std::optional<absl::Time> t = TimeField(e, "eventTimestamp");
    if (!t) return Bad(kWhat, "event without a valid eventTimestamp");
    ev.event_timestamp = *t;
    ev.submission_timestamp = TimeField(e, "submissionTimestamp");
    if (const Json* props = Obj(e, "properties")) {
      for (auto it = props->begin(); it != props->end(); ++it) {
        if (it->is_string()) ev.properties[it.key()] = it->get<std::string>();
      }
    }
    out.value.push_back(std::move(ev));
  }
  return out;
}

std::string ActivityLogFilter(const ActivityLogQuery& q) {
  // Single quotes inside a value are doubled (OData string literals).
  auto lit = [](const std::string& v) {
    std::string out = "'";
    for (char c : v) {
      if (c == '\'') out += "'";
      out += c;
    }
    return out + "'";
  };
  std::vector<std::string> parts;
  parts.push_back(absl::StrCat("eventTimestamp ge ", lit(IsoTime(q.from))));
  if (q.to) parts.push_back(absl::StrCat("eventTimestamp le ", lit(IsoTime(*q.to))));
  if (!q.resource_uri.empty())
    parts.push_back(absl::StrCat("resourceUri eq ", lit(q.resource_uri)));
  if (!q.correlation_id.empty()) {
    parts.push_back(absl::StrCat("correlationId eq ", lit(q.correlation_id)));
  }
  return absl::StrJoin(parts, " and ");
}

std::string AzureSignals::MetricsUrl(const DatabaseId& database, const MetricsQuery& q) const {
  std::vector<std::string> aggs;
  for (MetricAggregation a : q.aggregations) aggs.emplace_back(MetricAggregationName(a));
  std::string url =
      absl::StrCat(client_.endpoint(), database.Path(),
                   "/providers/Microsoft.Insights/metrics?api-version=", V(kMetricsApiVersion),
                   "&metricnames=", FormEncode(absl::StrJoin(q.metric_names, ",")),
                   "&aggregation=", FormEncode(absl::StrJoin(aggs, ",")),
                   "&timespan=", FormEncode(absl::StrCat(IsoTime(q.start), "/", IsoTime(q.end))),
                   "&interval=", IsoInterval(q.interval));
  if (!q.filter.empty()) absl::StrAppend(&url, "&$filter=", FormEncode(q.filter));
  return url;
}

std::string AzureSignals::HealthUrl(const std::string& resource_path) const {
  return absl::StrCat(client_.endpoint(), resource_path,
                      "/providers/Microsoft.ResourceHealth/availabilityStatuses/current"
                      "?api-version=",
                      V(kResourceHealthApiVersion));
}

std::string AzureSignals::ReplicationLinksUrl(const DatabaseId& database) const {
  return absl::StrCat(client_.endpoint(), database.Path(),
                      "/replicationLinks?api-version=", V(kReplicationLinksApiVersion));
}

std::string AzureSignals::ActivityLogUrl(const ActivityLogQuery& q) const {
  return absl::StrCat(client_.endpoint(), "/subscriptions/", q.subscription,
                      "/providers/Microsoft.Insights/eventtypes/management/values?api-version=",
                      V(kActivityLogApiVersion), "&$filter=", FormEncode(ActivityLogFilter(q)));
}

absl::StatusOr<MetricsResponse> AzureSignals::GetMetrics(const DatabaseId& database,
                                                         const MetricsQuery& q) {
  RETURN_IF_ERROR(database.Validate());
  if (q.metric_names.empty() || q.aggregations.empty() || q.end <= q.start) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics of ", database.ShortName(),
                     ": need metric names, aggregations and a timespan with end after start"));
  }
  const std::string what = absl::StrCat("get metrics ", absl::StrJoin(q.metric_names, ","), " of ",
                                        database.ShortName());
  ASSIGN_OR_RETURN(std::string body,
                   client_.ReadBody(what, database.subscription, MetricsUrl(database, q)));
  absl::StatusOr<MetricsResponse> r = ParseMetricsResponse(body);
  if (!r.ok())
    return absl::InvalidArgumentError(absl::StrCat("arm ", what, ": ", r.status().message()));
  return r;
}

namespace {

absl::StatusOr<AvailabilityStatus> ReadHealth(ArmClient& client, const std::string& what,
                                              const std::string& subscription,
                                              const std::string& url) {
  ASSIGN_OR_RETURN(std::string body, client.ReadBody(what, subscription, url));
  absl::StatusOr<AvailabilityStatus> r = ParseAvailabilityStatus(body);
  if (!r.ok())
    return absl::InvalidArgumentError(absl::StrCat("arm ", what, ": ", r.status().message()));
  return r;
}

}  // namespace

absl::StatusOr<AvailabilityStatus> AzureSignals::GetServerHealth(const ServerId& server) {
  const FailoverGroupId check{server.subscription, server.resource_group, server.server, "x"};
  RETURN_IF_ERROR(check.Validate());
  return ReadHealth(client_, absl::StrCat("get resource health of server ", server.server),
                    server.subscription, HealthUrl(server.Path()));
}

absl::StatusOr<AvailabilityStatus> AzureSignals::GetDatabaseHealth(const DatabaseId& database) {
  RETURN_IF_ERROR(database.Validate());
  return ReadHealth(client_, absl::StrCat("get resource health of database ", database.ShortName()),
                    database.subscription, HealthUrl(database.Path()));
}

absl::StatusOr<std::vector<ReplicationLink>> AzureSignals::ListReplicationLinks(
    const DatabaseId& database) {
  RETURN_IF_ERROR(database.Validate());
  const std::string what = absl::StrCat("list replication links of ", database.ShortName());
  std::vector<ReplicationLink> all;
  std::string url = ReplicationLinksUrl(database);
  for (int page = 0; !url.empty(); ++page) {
    if (page >= 100)
      return absl::InternalError(absl::StrCat("arm ", what, ": more than 100 pages"));
    ASSIGN_OR_RETURN(std::string body, client_.ReadBody(what, database.subscription, url));
    absl::StatusOr<std::vector<ReplicationLink>> links = ParseReplicationLinks(body);
    if (!links.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("arm ", what, ": ", links.status().message()));
    }
    for (ReplicationLink& l : *links) all.push_back(std::move(l));
    // nextLink, when present, is on the ARM endpoint (ReadBody refuses anything else).
    auto j = ParseJson(body);
    std::string next = j ? Str(*j, "nextLink") : "";
    if (next == url) return absl::InternalError(absl::StrCat("arm ", what, ": nextLink loops"));
    url = next;
  }
  return all;
}

absl::StatusOr<std::vector<ActivityLogEvent>> AzureSignals::ListActivityLog(
    const ActivityLogQuery& q) {
  const FailoverGroupId check{q.subscription, "rg", "srv", "x"};
  RETURN_IF_ERROR(check.Validate());
  const std::string what = "list activity log events";
  std::vector<ActivityLogEvent> all;
  std::string url = ActivityLogUrl(q);
  for (int page = 0; !url.empty() && page < std::max(1, q.max_pages); ++page) {
    ASSIGN_OR_RETURN(std::string body, client_.ReadBody(what, q.subscription, url));
    absl::StatusOr<ActivityLogPage> p = ParseActivityLogPage(body);
    if (!p.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("arm ", what, ": ", p.status().message()));
    }
    for (ActivityLogEvent& e : p->value) all.push_back(std::move(e));
    if (p->next_link == url)
      return absl::InternalError(absl::StrCat("arm ", what, ": nextLink loops"));
    url = p->next_link;
  }
  return all;
}

}  // namespace foghorn::arm
