// AzureSignals over the scripted FakeHttpTransport: the URLs and api-versions of the metrics,
// Resource Health, replicationLinks and Activity Log reads, that they go through ArmClient's
// token, retries and reads budget, and that malformed answers are errors, never crashes.
#include "orchestrator/arm/azure_signals.h"

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orchestrator/common/fake_clock.h"
#include "tests/orchestrator/arm/fake_http_transport.h"
#include "tests/testing/capturing_log_sink.h"
#include "tests/testing/fake_sleeper.h"
#include "tests/testing/status_matchers.h"

namespace foghorn::arm {
namespace {

using ::foghorn::testing::FakeSleeper;
using ::foghorn::testing::IsOk;
using ::foghorn::testing::StatusIs;
using testing::ArmErrorBody;
using testing::FakeHttpTransport;
using ::testing::HasSubstr;
using testing::Response;

constexpr char kToken[] = "tok-SIGNALS-0123456789";
constexpr char kDbPath[] =
    "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Sql/servers/a/databases/orders";

class StaticCredential final : public TokenCredential {
 public:
  absl::StatusOr<AccessToken> GetToken() override {
    return AccessToken{kToken, absl::InfiniteFuture(), std::nullopt};
  }
  void Invalidate() override {}
  std::string_view name() const override { return "test"; }
};

constexpr char kMetricsBody[] = R"({"cost":0,"timespan":"2026-01-01T00:00:00Z/2026-01-01T00:05:00Z",
  "interval":"PT1M","namespace":"Microsoft.Sql/servers/databases","resourceregion":"eastus",
  "value":[{"id":"x","type":"Microsoft.Insights/metrics",
    "name":{"value":"replication_lag_seconds","localizedValue":"Replication lag"},
    "unit":"Seconds","errorCode":"Success","timeseries":[
      {"metadatavalues":[{"name":{"value":"partner_server"},"value":"b"}],
       "data":[{"timeStamp":"2026-01-01T00:00:00Z","maximum":3.0},
               {"timeStamp":"2026-01-01T00:01:00Z","maximum":7.5},
               {"timeStamp":"2026-01-01T00:02:00Z"}]}]}]})";

constexpr char kHealthBody[] =
    R"({"id":"x/providers/Microsoft.ResourceHealth/availabilityStatuses/current",
  "name":"current","type":"Microsoft.ResourceHealth/AvailabilityStatuses","location":"eastus",
  "properties":{"availabilityState":"Unavailable","title":"t","summary":"region outage",
  "reasonType":"Unplanned","occuredTime":"2026-01-01T00:03:00Z","reportedTime":"2026-01-01T00:04:00Z",
  "rootCauseAttributionTime":"2026-01-01T00:00:00Z"}})";

constexpr char kLinksBody[] = R"({"value":[{"id":"l1","name":"l1",
  "type":"Microsoft.Sql/servers/databases/replicationLinks","properties":{"partnerServer":"b",
  "partnerDatabase":"orders","partnerLocation":"West US","role":"Primary","partnerRole":"Secondary",
  "replicationMode":"ASYNC","startTime":"2026-01-01T00:00:00Z","percentComplete":40,
  "replicationState":"SEEDING","isTerminationAllowed":false,"linkType":"GEO"}}]})";

constexpr char kActivityBody[] = R"({"value":[{"caller":"Microsoft.Sql","correlationId":"c-1",
  "eventName":{"value":"EndRequest"},"operationName":{"value":
  "Microsoft.Sql/servers/failoverGroups/forceFailoverAllowDataLoss/action"},
  "status":{"value":"Succeeded"},"eventTimestamp":"2026-01-01T00:04:00.1234567Z",
  "resourceId":"/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Sql/servers/b/failoverGroups/fg",
  "properties":{"statusCode":"OK","n":3}}]})";

class AzureSignalsTest : public ::testing::Test {
 protected:
  AzureSignalsTest() : sleeper_(clock_) {
    options_.endpoint = "https://arm.test";
    options_.throttle.reads.capacity = 2;
    options_.throttle.reads.refill_per_second = 1;
  }
  AzureSignals& signals() {
    if (!client_) {
      common::Logger logger(sink_, std::make_shared<common::Redactor>(), clock_,
                            {common::LogLevel::kInfo, common::LogFormat::kJson});
      client_ = std::make_unique<ArmClient>(http_, credential_, clock_, sleeper_, logger, options_);
      signals_ = std::make_unique<AzureSignals>(*client_);
    }
    return *signals_;
  }
  static DatabaseId Db() { return {"sub", "rg", "a", "orders"}; }
  MetricsQuery LagQuery() {
    MetricsQuery q;
    q.metric_names = {"replication_lag_seconds"};
    q.start = clock_.Now() - absl::Minutes(5);
    q.end = clock_.Now();
    q.filter = "partner_server eq '*'";
    return q;
  }

  common::FakeClock clock_;
  FakeSleeper sleeper_;
  FakeHttpTransport http_;
  StaticCredential credential_;
  std::shared_ptr<::foghorn::testing::CapturingLogSink> sink_ =
      std::make_shared<::foghorn::testing::CapturingLogSink>();
  ArmClientOptions options_;
  std::unique_ptr<ArmClient> client_;
  std::unique_ptr<AzureSignals> signals_;
};

TEST_F(AzureSignalsTest, MetricsReadSendsTheQueryWithTheArmTokenAndFindsTheNewestValue) {
  http_.Expect("GET", std::string(kDbPath) + "/providers/Microsoft.Insights/metrics?",
               Response(200, kMetricsBody));
  auto m = signals().GetMetrics(Db(), LagQuery());
  ASSERT_THAT(m, IsOk());
  const http::HttpRequest r = http_.requests().at(0);
  EXPECT_THAT(r.url, HasSubstr("api-version=2023-10-01"));
  EXPECT_THAT(r.url, HasSubstr("metricnames=replication_lag_seconds"));
  EXPECT_THAT(r.url, HasSubstr("aggregation=Maximum"));
  EXPECT_THAT(r.url, HasSubstr("interval=PT1M"));
  EXPECT_THAT(r.url, HasSubstr("timespan=2025-12-31T23%3A55%3A00Z%2F2026-01-01T00%3A00%3A00Z"));
  EXPECT_THAT(r.url, HasSubstr("$filter=partner_server%20eq%20%27%2A%27"));
  EXPECT_EQ(r.headers.Find("Authorization"), std::string("Bearer ") + kToken);
  const Metric* lag = m->Find("Replication_Lag_Seconds");
  ASSERT_NE(lag, nullptr);
  EXPECT_EQ(lag->unit, "Seconds");
  ASSERT_EQ(lag->timeseries.size(), 1u);
  EXPECT_EQ(lag->timeseries[0].dimensions.at("partner_server"), "b");
  ASSERT_EQ(lag->timeseries[0].data.size(), 3u);
  // The last bucket is not ingested yet: the newest value is the 00:01 one.
  auto newest = NewestPoint(*lag, MetricAggregation::kMaximum);
  ASSERT_TRUE(newest.has_value());
  EXPECT_EQ(newest->time, absl::FromUnixSeconds(1767225600 + 60));
  EXPECT_DOUBLE_EQ(*newest->maximum, 7.5);
  EXPECT_FALSE(NewestPoint(*lag, MetricAggregation::kAverage).has_value());
}

TEST_F(AzureSignalsTest, MetricsReadRetriesThrottlingAndHonoursRetryAfter) {
  const std::string part = std::string(kDbPath) + "/providers/Microsoft.Insights/metrics?";
  http_.Expect(
      "GET", part,
      Response(429, ArmErrorBody("SubscriptionTooManyRequests", "slow"), {{"Retry-After", "4"}}));
  http_.Expect("GET", part, Response(200, kMetricsBody));
  ASSERT_THAT(signals().GetMetrics(Db(), LagQuery()), IsOk());
  EXPECT_THAT(sleeper_.sleeps(), ::testing::ElementsAre(absl::Seconds(4)));
}

TEST_F(AzureSignalsTest, SignalReadsShareTheSubscriptionsReadBudget) {
  // A bucket of 2 reads refilling 1/s: the third read waits for the client-side throttle.
  http_.Otherwise([](const http::HttpRequest&) { return Response(200, kHealthBody); });
  ASSERT_THAT(signals().GetServerHealth({"sub", "rg", "a"}), IsOk());
  ASSERT_THAT(signals().GetServerHealth({"sub", "rg", "b"}), IsOk());
  EXPECT_TRUE(sleeper_.sleeps().empty());
  ASSERT_THAT(signals().GetDatabaseHealth(Db()), IsOk());
  ASSERT_EQ(sleeper_.sleeps().size(), 1u);
  EXPECT_GT(sleeper_.sleeps()[0], absl::ZeroDuration());
}

TEST_F(AzureSignalsTest, MonitorErrorBodiesKeepTheirCode) {
  http_.Expect("GET", "/providers/Microsoft.Insights/metrics?",
               Response(400, R"({"code":"BadRequest","message":"Failed to find metric"})"));
  auto m = signals().GetMetrics(Db(), LagQuery());
  EXPECT_THAT(m, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(ArmErrorCode(m.status()), "BadRequest");
  EXPECT_THAT(std::string(m.status().message()), HasSubstr("replication_lag_seconds of a/orders"));
}

TEST_F(AzureSignalsTest, ResourceHealthOfAServerAndADatabase) {
  http_.Expect("GET",
               "/servers/a/providers/Microsoft.ResourceHealth/availabilityStatuses/current?"
               "api-version=2022-10-01",
               Response(200, kHealthBody));
  http_.Expect("GET",
               "/servers/a/databases/orders/providers/Microsoft.ResourceHealth/"
               "availabilityStatuses/current?",
               Response(404, ArmErrorBody("ResourceNotFound", "no such database")));
  auto h = signals().GetServerHealth({"sub", "rg", "a"});
  ASSERT_THAT(h, IsOk());
  EXPECT_EQ(h->state, AvailabilityState::kUnavailable);
  EXPECT_EQ(h->reason_type, "Unplanned");
  EXPECT_EQ(h->summary, "region outage");
  EXPECT_EQ(h->occurred_time, absl::FromUnixSeconds(1767225600 + 180));
  EXPECT_EQ(h->root_cause_attribution_time, absl::FromUnixSeconds(1767225600));
  EXPECT_THAT(signals().GetDatabaseHealth(Db()), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(AzureSignalsTest, ReplicationLinksCarryRoleStateAndProgress) {
  http_.Expect("GET", std::string(kDbPath) + "/replicationLinks?api-version=2023-08-01",
               Response(200, kLinksBody));
  auto links = signals().ListReplicationLinks(Db());
  ASSERT_THAT(links, IsOk());
  ASSERT_EQ(links->size(), 1u);
  const ReplicationLink& l = (*links)[0];
  EXPECT_EQ(l.role, ReplicationRole::kPrimary);
  EXPECT_EQ(l.partner_role, ReplicationRole::kSecondary);
  EXPECT_EQ(l.replication_state, "SEEDING");
  EXPECT_EQ(l.percent_complete, 40);
  EXPECT_EQ(l.link_type, "GEO");
  EXPECT_EQ(l.partner_server, "b");
  EXPECT_EQ(l.is_termination_allowed, false);
}

TEST_F(AzureSignalsTest, ActivityLogFilterIsEncodedAndEventsParsed) {
  ActivityLogQuery q;
  q.subscription = "sub";
  q.from = absl::FromUnixSeconds(1767225600);
  q.resource_uri = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Sql/servers/b";
  EXPECT_EQ(ActivityLogFilter(q),
            "eventTimestamp ge '2026-01-01T00:00:00Z' and resourceUri eq "
            "'/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Sql/servers/b'");
  http_.Expect(
      "GET",
      "/subscriptions/sub/providers/Microsoft.Insights/eventtypes/management/values?"
      "api-version=2015-04-01&$filter=eventTimestamp%20ge%20%272026-01-01T00%3A00%3A00Z%27",
      Response(200, kActivityBody));
  auto events = signals().ListActivityLog(q);
  ASSERT_THAT(events, IsOk());
  ASSERT_EQ(events->size(), 1u);
  const ActivityLogEvent& e = (*events)[0];
  EXPECT_EQ(e.caller, "Microsoft.Sql");
  EXPECT_EQ(e.operation_name,
            "Microsoft.Sql/servers/failoverGroups/forceFailoverAllowDataLoss/action");
  EXPECT_EQ(e.status, "Succeeded");
  EXPECT_EQ(e.correlation_id, "c-1");
  EXPECT_EQ(e.event_timestamp,
            absl::FromUnixSeconds(1767225600 + 240) + absl::Nanoseconds(123456700));
  EXPECT_EQ(e.properties.at("statusCode"), "OK");
  EXPECT_EQ(e.properties.count("n"), 0u);
}

TEST_F(AzureSignalsTest, MalformedAnswersAreInvalidArgumentNeverACrash) {
  const char* bodies[] = {
      "",
      "<html>proxy</html>",
      "[]",
      R"({"value":{}})",
      R"({"value":[1]})",
      R"({"value":[{"name":{"value":"m"},"timeseries":[{"data":[{}]}]}]})",
      R"({"value":[{"name":{"value":"m"},"timeseries":[{"data":[{"timeStamp":"soon"}]}]}]})",
      R"({"properties":{}})",
      R"({"value":[{"properties":{"percentComplete":1e300}}]})",
      R"({"value":[{"eventTimestamp":7}]})"};
  for (const char* b : bodies) {
    EXPECT_THAT(ParseMetricsResponse(b).status().code(),
                ::testing::AnyOf(absl::StatusCode::kOk, absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(ParseAvailabilityStatus(b).status().code(),
                ::testing::AnyOf(absl::StatusCode::kOk, absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(ParseReplicationLinks(b).status().code(),
                ::testing::AnyOf(absl::StatusCode::kOk, absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(ParseActivityLogPage(b).status().code(),
                ::testing::AnyOf(absl::StatusCode::kOk, absl::StatusCode::kInvalidArgument));
  }
  EXPECT_THAT(ParseMetricsResponse(bodies[6]), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseReplicationLinks(bodies[8]), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseActivityLogPage(bodies[9]), StatusIs(absl::StatusCode::kInvalidArgument));
  // Through the client: a 200 with a broken body is an error naming the read.
  http_.Expect("GET", "/replicationLinks?", Response(200, "{not json"));
  auto links = signals().ListReplicationLinks(Db());
  EXPECT_THAT(links, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(links.status().message()), HasSubstr("replication links of a/orders"));
}

TEST_F(AzureSignalsTest, BadIdsNeverReachTheNetwork) {
  EXPECT_THAT(signals().ListReplicationLinks({"sub", "rg", "a", "bad/name"}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(signals().GetServerHealth({"sub", "", "a"}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  MetricsQuery empty;
  EXPECT_THAT(signals().GetMetrics(Db(), empty), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_TRUE(http_.requests().empty());
}

}  // namespace
}  // namespace foghorn::arm
