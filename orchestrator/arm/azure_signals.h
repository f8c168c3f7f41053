// Reads of Azure's own signals about a failover group's servers and databases: Azure Monitor
// metrics (replication_lag_seconds, availability, ...), Resource Health availability statuses,
// the Microsoft.Sql replicationLinks of a database, and the Activity Log of the subscription.
// Typed results and their JSON parsers (malformed bodies are INVALID_ARGUMENT, never a crash),
// and AzureSignals, which sends the reads through an ArmClient: the same credential, the
// subscription's reads budget, retries, read deadline and logging as every other ARM read.
//
// Calls block the calling thread, as ArmClient's do: run them on a read worker, never on the
// control loop. The probes layer reaches these through probes::AzureSignalReader, adapted in
// orchestrator/daemon.
#ifndef FOGHORN_ORCHESTRATOR_ARM_AZURE_SIGNALS_H_
#define FOGHORN_ORCHESTRATOR_ARM_AZURE_SIGNALS_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "orchestrator/arm/arm_client.h"
#include "orchestrator/arm/models.h"
#include "orchestrator/arm/resource_id.h"

namespace foghorn::arm {

// api-versions of the signal APIs (docs/armsim.md lists what the emulator accepts).
inline constexpr std::string_view kMetricsApiVersion = "2023-10-01";
inline constexpr std::string_view kResourceHealthApiVersion = "2022-10-01";
inline constexpr std::string_view kReplicationLinksApiVersion = "2023-08-01";
inline constexpr std::string_view kActivityLogApiVersion = "2015-04-01";

// /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Sql/servers/{server}/databases/{db}
struct DatabaseId {
  std::string subscription;
  std::string resource_group;
  std::string server;
  std::string database;

  // INVALID_ARGUMENT naming the bad part (the rules of FailoverGroupId::Validate).
  absl::Status Validate() const;
  std::string Path() const;
  ServerId Server() const { return {subscription, resource_group, server}; }
  // "server/database", for log lines.
  std::string ShortName() const { return server + "/" + database; }
};

// ---- Azure Monitor metrics ----

enum class MetricAggregation { kAverage, kMinimum, kMaximum, kTotal, kCount };
std::string_view MetricAggregationName(MetricAggregation a);  // "Maximum", as the API spells it
// Case-insensitive; nullopt for anything else.
std::optional<MetricAggregation> ParseMetricAggregation(std::string_view name);

struct MetricsQuery {
  std::vector<std::string> metric_names;  // e.g. {"replication_lag_seconds"}; at least one
  std::vector<MetricAggregation> aggregations = {MetricAggregation::kMaximum};
  absl::Time start;                            // timespan start; the end is `end`
  absl::Time end;                              //
  absl::Duration interval = absl::Minutes(1);  // PT1M; whole minutes
  // Optional $filter, e.g. "partner_server eq '*'" (sent URL-encoded, as given).
  std::string filter;
};

struct MetricPoint {
  absl::Time time;  // the bucket's start (timeStamp)
  // Only the aggregations the bucket carries; a bucket not yet ingested carries none.
  std::optional<double> average, minimum, maximum, total, count;
  std::optional<double> Get(MetricAggregation a) const;
};

struct MetricTimeSeries {
  std::map<std::string, std::string> dimensions;  // metadatavalues: name.value -> value
  std::vector<MetricPoint> data;                  // in the order the API sent them (oldest first)
};

struct Metric {
  std::string name;  // name.value
  std::string unit;
  std::string error_code;  // "Success" normally
  std::vector<MetricTimeSeries> timeseries;
};

struct MetricsResponse {
  std::string interval;
  std::vector<Metric> value;

  const Metric* Find(std::string_view name) const;  // case-insensitive
};

// The newest bucket of `metric` (over all its series) that carries `aggregation`; nullopt when no
// bucket has one (no data yet, or the metric has no values for the span).
std::optional<MetricPoint> NewestPoint(const Metric& metric, MetricAggregation aggregation);

// ---- Resource Health ----

enum class AvailabilityState { kUnspecified, kAvailable, kDegraded, kUnavailable, kUnknown };
std::string_view AvailabilityStateName(AvailabilityState s);  // "Available", ...

struct AvailabilityStatus {
  std::string id;
  AvailabilityState state = AvailabilityState::kUnspecified;
  std::string state_text;  // properties.availabilityState as sent
  std::string reason_type;
  std::string summary;
  std::string title;
  std::optional<absl::Time> occurred_time;  // properties.occuredTime (the API's spelling)
  std::optional<absl::Time> reported_time;
  std::optional<absl::Time> root_cause_attribution_time;
};

// ---- replication links ----

struct ReplicationLink {
  std::string id;
  std::string name;
  std::string partner_server;
  std::string partner_database;
  std::string partner_location;
  ReplicationRole role = ReplicationRole::kUnknown;
  ReplicationRole partner_role = ReplicationRole::kUnknown;
  std::string replication_state;  // SEEDING, CATCH_UP, SUSPENDED, PENDING (as sent)
  std::optional<int> percent_complete;
  std::string link_type;  // GEO, NAMED, STANDBY (as sent)
  std::string replication_mode;
  std::optional<absl::Time> start_time;
  std::optional<bool> is_termination_allowed;
};

// ---- Activity Log ----

struct ActivityLogEvent {
  std::string id;
  std::string caller;
  std::string operation_name;  // operationName.value
  std::string status;          // status.value: Started, Succeeded, Failed, Canceled, ...
  std::string sub_status;
  std::string event_name;  // eventName.value: BeginRequest, EndRequest
  std::string level;
  std::string resource_id;
  std::string correlation_id;
  std::string operation_id;
  absl::Time event_timestamp = absl::InfinitePast();
  std::optional<absl::Time> submission_timestamp;
  std::map<std::string, std::string> properties;  // string-valued properties only
};

struct ActivityLogPage {
  std::vector<ActivityLogEvent> value;
  std::string next_link;
};

struct ActivityLogQuery {
  std::string subscription;
  absl::Time from;               // eventTimestamp ge (required by the API)
  std::optional<absl::Time> to;  // eventTimestamp le
  std::string resource_uri;      // resourceUri eq (the resource or anything below it)
  std::string correlation_id;    // correlationId eq
  int max_pages = 20;
};

// Parsers: INVALID_ARGUMENT ("malformed ... json: ...") for a body that is not the expected
// shape; unknown fields are ignored; never throw.
absl::StatusOr<MetricsResponse> ParseMetricsResponse(std::string_view json);
absl::StatusOr<AvailabilityStatus> ParseAvailabilityStatus(std::string_view json);
absl::StatusOr<std::vector<ReplicationLink>> ParseReplicationLinks(std::string_view json);
absl::StatusOr<ActivityLogPage> ParseActivityLogPage(std::string_view json);
// RFC 3339 with optional fraction ("2026-01-01T00:00:00Z", "...00.1234567+00:00").
std::optional<absl::Time> ParseArmTime(std::string_view text);
// The Activity Log $filter of `q` ("eventTimestamp ge '...' and resourceUri eq '...'").
std::string ActivityLogFilter(const ActivityLogQuery& q);

// The signal reads through an ArmClient. Thread-safe as ArmClient is; `client` must outlive it.
// Errors are ArmClient's (NOT_FOUND for an unknown resource, UNAVAILABLE after retries,
// INVALID_ARGUMENT for a malformed id or a malformed answer, ...), named by what was read.
class AzureSignals {
 public:
  explicit AzureSignals(ArmClient& client) : client_(client) {}

  absl::StatusOr<MetricsResponse> GetMetrics(const DatabaseId& database, const MetricsQuery& q);
  // availabilityStatuses/current of a server (database empty) or a database.
  absl::StatusOr<AvailabilityStatus> GetServerHealth(const ServerId& server);
  absl::StatusOr<AvailabilityStatus> GetDatabaseHealth(const DatabaseId& database);
  // Every link of the database (one per geo-secondary / failover group), following nextLink.
  absl::StatusOr<std::vector<ReplicationLink>> ListReplicationLinks(const DatabaseId& database);
  // Events newest first, following nextLink up to q.max_pages pages.
  absl::StatusOr<std::vector<ActivityLogEvent>> ListActivityLog(const ActivityLogQuery& q);

  // URL builders.
  std::string MetricsUrl(const DatabaseId& database, const MetricsQuery& q) const;
  std::string HealthUrl(const std::string& resource_path) const;
  std::string ReplicationLinksUrl(const DatabaseId& database) const;
  std::string ActivityLogUrl(const ActivityLogQuery& q) const;

 private:
  ArmClient& client_;
};

}  // namespace foghorn::arm

#endif  // FOGHORN_ORCHESTRATOR_ARM_AZURE_SIGNALS_H_
