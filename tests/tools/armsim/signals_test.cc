// Azure's own signals served by foghorn-armsim (issue 16): Azure Monitor metrics, Resource
// Health, replication links, the Activity Log, Microsoft-initiated failovers and the injected
// failover-group error codes, over HTTPS on 127.0.0.1 with the emulator on a FakeClock.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orchestrator/common/fake_clock.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/tools/armsim/armsim_test_client.h"
#include "tools/armsim/armsim_server.h"

namespace foghorn::armsim {
namespace {

using ::foghorn::armsim::testing::Body;
using ::foghorn::armsim::testing::ErrorCode;
using ::foghorn::armsim::testing::FgPath;
using ::foghorn::armsim::testing::kRg;
using ::foghorn::armsim::testing::kSub;
using ::foghorn::armsim::testing::NewClient;
using ::foghorn::armsim::testing::PathOf;
using ::foghorn::testing::IsOk;
using nlohmann::json;
using ::testing::HasSubstr;

std::string ServerId(const std::string& server) {
  return absl::StrCat("/subscriptions/", kSub, "/resourceGroups/", kRg,
                      "/providers/Microsoft.Sql/servers/", server);
}

std::string DbId(const std::string& server, const std::string& db) {
  return absl::StrCat(ServerId(server), "/databases/", db);
}

class SignalsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Start([](ArmSimOptions&) {});
  }

  template <typename F>
  void Start(F customize) {
    if (sim_) sim_->Shutdown();
    sim_.reset();
    ArmSimOptions o;
    o.topology_path = foghorn::testing::SourceDir() + "/tools/armsim/examples/topology.json";
    o.cert_dir = dir_.path();
    o.operation_duration = absl::Seconds(10);
    o.clock = &clock_;
    o.threads = 4;
    o.data_plane = false;
    o.signals.metrics_ingestion_delay = absl::Seconds(90);
    o.signals.health_down_delay = absl::Minutes(3);
    o.signals.health_up_delay = absl::Minutes(2);
    o.signals.seeding_duration = absl::Seconds(60);
    customize(o);
    auto sim = ArmSimServer::Start(o);
    ASSERT_THAT(sim.status(), IsOk());
    sim_ = *std::move(sim);
    client_ = NewClient(*sim_);
    t0_ = clock_.Now();
  }

  std::string Iso(absl::Duration since_t0) {
    return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t0_ + since_t0, absl::UTCTimeZone());
  }

  httplib::Result Metrics(const std::string& server, const std::string& db,
                          const std::string& query) {
    return client_->Get(absl::StrCat(
        DbId(server, db), "/providers/Microsoft.Insights/metrics?api-version=2023-10-01&", query));
  }

  json Health(const std::string& resource_id) {
    auto r = client_->Get(absl::StrCat(
        resource_id,
        "/providers/Microsoft.ResourceHealth/availabilityStatuses/current?api-version=2022-10-01"));
    EXPECT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    return Body(r);
  }

  json Link(const std::string& server, const std::string& db) {
    auto r = client_->Get(DbId(server, db) + "/replicationLinks?api-version=2023-08-01");
    EXPECT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
    json value = Body(r)["value"];
    return value.empty() ? json() : value[0];
  }

  httplib::Result ActivityLog(const std::string& filter) {
    return client_->Get(absl::StrCat(
        "/subscriptions/", kSub,
        "/providers/Microsoft.Insights/eventtypes/management/values?api-version=2015-04-01&"
        "%24filter=",
        httplib::detail::encode_query_param(filter)));
  }

  foghorn::testing::TempDir dir_;
  common::FakeClock clock_;
  std::unique_ptr<ArmSimServer> sim_;
  std::unique_ptr<httplib::Client> client_;
  absl::Time t0_;
};

TEST_F(SignalsTest, ReplicationLagMetricFollowsTheModelAfterTheIngestionDelay) {
  ASSERT_THAT(sim_->SetReplicationLag("fog-orders", absl::Seconds(30)), IsOk());
  ASSERT_THAT(sim_->RecordWrites("fog-orders", 5), IsOk());
  const std::string query = absl::StrCat(
      "metricnames=replication_lag_seconds&aggregation=Maximum,Average&interval=PT1M&timespan=",
      Iso(absl::ZeroDuration()), "/", Iso(absl::Minutes(2)),
      "&%24filter=partner_server%20eq%20%27*%27");

  // The first minute ends at t0+60 and is ingested 90 s later: before that, no value.
  clock_.Advance(absl::Seconds(149));
  json early = Body(Metrics("sql-east", "orders", query));
  EXPECT_FALSE(early["value"][0]["timeseries"][0]["data"][0].contains("maximum"));

  clock_.Advance(absl::Seconds(1));
  auto r = Metrics("sql-east", "orders", query);
  ASSERT_EQ(r->status, 200) << r->body;
  json body = Body(r);
  EXPECT_EQ(body["interval"], "PT1M");
  EXPECT_EQ(body["namespace"], "Microsoft.Sql/servers/databases");
  json metric = body["value"][0];
  EXPECT_EQ(metric["name"]["value"], "replication_lag_seconds");
  EXPECT_EQ(metric["unit"], "Seconds");
  EXPECT_EQ(metric["type"], "Microsoft.Insights/metrics");
  json series = metric["timeseries"][0];
  EXPECT_EQ(series["metadatavalues"][0]["name"]["value"], "partner_server");
  EXPECT_EQ(series["metadatavalues"][0]["value"], "sql-west");
  json first = series["data"][0];
  EXPECT_EQ(first["timeStamp"], Iso(absl::ZeroDuration()));
  // Writes at t0 reach the secondary at t0+30: samples 0, 10, 20, then 0 s.
  EXPECT_DOUBLE_EQ(first["maximum"].get<double>(), 20.0);
  EXPECT_DOUBLE_EQ(first["average"].get<double>(), 5.0);
  // The second minute is not ingested yet.
  EXPECT_FALSE(series["data"][1].contains("maximum"));

  // The secondary database reports no lag.
  json secondary = Body(Metrics("sql-west", "orders", query));
  EXPECT_FALSE(secondary["value"][0]["timeseries"][0]["data"][0].contains("maximum"));
}

TEST_F(SignalsTest, LagGrowsWhileTheSecondaryRegionIsDown) {
  ASSERT_THAT(sim_->RecordWrites("fog-orders", 1), IsOk());  // replicated after 2 s
  clock_.Advance(absl::Seconds(5));
  sim_->SetRegionDown("westus", RegionOutage{.control_plane = false, .data_plane = true});
  clock_.Advance(absl::Seconds(25));
  ASSERT_THAT(sim_->RecordWrites("fog-orders", 1), IsOk());  // at t0+30, stuck
  clock_.Advance(absl::Minutes(4));
  json body = Body(Metrics("sql-east", "orders",
                           absl::StrCat("metricnames=replication_lag_seconds&aggregation=Maximum&"
                                        "timespan=",
                                        Iso(absl::ZeroDuration()), "/", Iso(absl::Minutes(2)))));
  json data = body["value"][0]["timeseries"][0]["data"];
  EXPECT_DOUBLE_EQ(data[0]["maximum"].get<double>(), 20.0);  // t0+50 - t0+30
  EXPECT_DOUBLE_EQ(data[1]["maximum"].get<double>(), 80.0);  // t0+110 - t0+30
  // Without a $filter on a dimension the series is not split.
  EXPECT_TRUE(body["value"][0]["timeseries"][0]["metadatavalues"].empty());
}

TEST_F(SignalsTest, AvailabilityAndConnectionMetricsFollowOutagesAndWrites) {
  ASSERT_THAT(sim_->RecordWrites("fog-orders", 7), IsOk());
  clock_.Advance(absl::Seconds(60));
  sim_->SetRegionDown("eastus", RegionOutage{});
  clock_.Advance(absl::Minutes(4));
  json body = Body(Metrics("sql-east", "orders",
                           absl::StrCat("metricnames=availability,connection_successful&timespan=",
                                        Iso(absl::ZeroDuration()), "/", Iso(absl::Minutes(2)))));
  json availability = body["value"][0]["timeseries"][0]["data"];
  EXPECT_DOUBLE_EQ(availability[0]["average"].get<double>(), 100.0);
  EXPECT_DOUBLE_EQ(availability[1]["average"].get<double>(), 0.0);
  json connections = body["value"][1]["timeseries"][0]["data"];
  EXPECT_DOUBLE_EQ(connections[0]["total"].get<double>(), 7.0);
  EXPECT_DOUBLE_EQ(connections[1]["total"].get<double>(), 0.0);
}

TEST_F(SignalsTest, UnknownMetricGetsAzureMonitorsBadRequest) {
  auto r = Metrics("sql-east", "orders", "metricnames=cpu_percentage");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  json body = Body(r);
  EXPECT_EQ(body["code"], "BadRequest");
  EXPECT_THAT(body["message"].get<std::string>(),
              HasSubstr("Failed to find metric configuration for provider: Microsoft.Sql"));
  EXPECT_EQ(Metrics("sql-east", "nope", "metricnames=availability")->status, 404);
  auto bad_dim =
      Metrics("sql-east", "orders", "metricnames=availability&%24filter=region%20eq%20%27x%27");
  EXPECT_EQ(bad_dim->status, 400);
}

TEST_F(SignalsTest, ResourceHealthTurnsUnavailableAfterTheDelayAndAvailableAfterRecovery) {
  sim_->SetRegionDown("eastus", RegionOutage{});
  clock_.Advance(absl::Minutes(3) - absl::Seconds(1));
  json before = Health(ServerId("sql-east"));
  EXPECT_EQ(before["properties"]["availabilityState"], "Available");
  EXPECT_EQ(before["name"], "current");
  EXPECT_EQ(before["type"], "Microsoft.ResourceHealth/AvailabilityStatuses");

  clock_.Advance(absl::Seconds(1));
  json down = Health(DbId("sql-east", "orders"));
  EXPECT_EQ(down["properties"]["availabilityState"], "Unavailable");
  EXPECT_EQ(down["properties"]["reasonType"], "Unplanned");
  EXPECT_EQ(down["properties"]["occuredTime"], Iso(absl::Minutes(3)).substr(0, 19) + ".000Z");
  EXPECT_THAT(down["properties"]["summary"].get<std::string>(), HasSubstr("unavailable"));
  EXPECT_EQ(Health(ServerId("sql-west"))["properties"]["availabilityState"], "Available");

  sim_->SetRegionUp("eastus");
  clock_.Advance(absl::Minutes(2) - absl::Seconds(1));
  EXPECT_EQ(Health(ServerId("sql-east"))["properties"]["availabilityState"], "Unavailable");
  clock_.Advance(absl::Seconds(1));
  json up = Health(ServerId("sql-east"));
  EXPECT_EQ(up["properties"]["availabilityState"], "Available");
  EXPECT_FALSE(up["properties"].contains("reasonType"));
}

TEST_F(SignalsTest, ResourceHealthShowsDegradedForControlPlaneAndOverrides) {
  sim_->SetRegionDown("westus", RegionOutage{.control_plane = true, .data_plane = false});
  clock_.Advance(absl::Minutes(4));
  EXPECT_EQ(Health(ServerId("sql-west"))["properties"]["availabilityState"], "Degraded");
  // An outage shorter than the delay never shows.
  sim_->SetRegionDown("eastus", RegionOutage{});
  clock_.Advance(absl::Minutes(1));
  sim_->SetRegionUp("eastus");
  clock_.Advance(absl::Minutes(5));
  EXPECT_EQ(Health(ServerId("sql-east"))["properties"]["availabilityState"], "Available");

  auto set = client_->Post("/admin/resourceHealth",
                           R"({"server":"sql-east","database":"orders","state":"Unknown"})",
                           "application/json");
  ASSERT_EQ(set->status, 200) << set->body;
  EXPECT_EQ(Health(DbId("sql-east", "orders"))["properties"]["availabilityState"], "Unknown");
  client_->Post("/admin/resourceHealth", R"({"server":"sql-east","database":"orders"})",
                "application/json");
  EXPECT_EQ(Health(DbId("sql-east", "orders"))["properties"]["availabilityState"], "Available");
}

TEST_F(SignalsTest, ReplicationLinksShowSeedingAfterCreateAndSuspendedWhenARegionIsLost) {
  json link = Link("sql-east", "orders");
  EXPECT_EQ(link["type"], "Microsoft.Sql/servers/databases/replicationLinks");
  EXPECT_EQ(link["properties"]["replicationState"], "CATCH_UP");
  EXPECT_EQ(link["properties"]["role"], "Primary");
  EXPECT_EQ(link["properties"]["partnerRole"], "Secondary");
  EXPECT_EQ(link["properties"]["partnerServer"], "sql-west");
  EXPECT_EQ(link["properties"]["partnerLocation"], "West US");
  EXPECT_EQ(link["properties"]["linkType"], "GEO");
  EXPECT_EQ(link["properties"]["percentComplete"], 100);
  EXPECT_EQ(Link("sql-west", "orders")["properties"]["role"], "Secondary");
  auto one = client_->Get(DbId("sql-east", "orders") + "/replicationLinks/" +
                          link["name"].get<std::string>() + "?api-version=2023-08-01");
  EXPECT_EQ(one->status, 200);

  // Create a group with "audit": its link seeds for 60 s after the create completes.
  json create = {{"properties",
                  {{"readWriteEndpoint", {{"failoverPolicy", "Manual"}}},
                   {"partnerServers", json::array({{{"id", ServerId("sql-west")}}})},
                   {"databases", json::array({DbId("sql-east", "audit")})}}}};
  auto put = client_->Put(FgPath("sql-east", "fog-audit"), create.dump(), "application/json");
  ASSERT_EQ(put->status, 202) << put->body;
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(Link("sql-east", "audit")["properties"]["replicationState"], "SEEDING");
  clock_.Advance(absl::Seconds(30));
  json seeding = Link("sql-west", "audit");
  EXPECT_EQ(seeding["properties"]["replicationState"], "SEEDING");
  EXPECT_EQ(seeding["properties"]["percentComplete"], 50);
  EXPECT_EQ(seeding["properties"]["isTerminationAllowed"], false);
  // Removing a database still being added is refused.
  json drop = {{"properties", {{"databases", json::array()}}}};
  auto patch = client_->Patch(FgPath("sql-east", "fog-audit"), drop.dump(), "application/json");
  EXPECT_EQ(patch->status, 409);
  EXPECT_EQ(ErrorCode(patch), "DatabaseBeingAddedToFailoverGroup");
  clock_.Advance(absl::Seconds(31));
  EXPECT_EQ(Link("sql-east", "audit")["properties"]["replicationState"], "CATCH_UP");

  sim_->SetRegionDown("westus", RegionOutage{.control_plane = false, .data_plane = true});
  EXPECT_EQ(Link("sql-east", "orders")["properties"]["replicationState"], "SUSPENDED");
  sim_->SetRegionUp("westus");
  EXPECT_EQ(Link("sql-east", "orders")["properties"]["replicationState"], "CATCH_UP");
  // The Microsoft.Sql RP of a region whose control plane is down does not answer.
  sim_->SetRegionDown("westus", RegionOutage{});
  auto gated =
      client_->Get(DbId("sql-west", "orders") + "/replicationLinks?api-version=2023-08-01");
  EXPECT_EQ(gated->status, 503);
}

TEST_F(SignalsTest, ActivityLogRecordsFoghornAndMicrosoftInitiatedFailovers) {
  auto token = client_->Post("/11111111-2222-3333-4444-555555555555/oauth2/v2.0/token",
                             "grant_type=client_credentials&client_id=foghorn&client_secret=armsim-"
                             "secret&scope=https%3A%2F%2Fmanagement.azure.com%2F.default",
                             "application/x-www-form-urlencoded");
  ASSERT_EQ(token->status, 200);
  httplib::Headers headers = {
      {"Authorization", "Bearer " + Body(token)["access_token"].get<std::string>()},
      {"x-ms-correlation-request-id", "corr-foghorn-1"}};
  auto post =
      client_->Post(FgPath("sql-west", "fog-orders", "failover"), headers, "", "application/json");
  ASSERT_EQ(post->status, 202);
  clock_.Advance(absl::Seconds(10));
  auto ms = client_->Post("/admin/failoverGroups/fog-orders/microsoftFailover",
                          R"({"kind":"forced"})", "application/json");
  ASSERT_EQ(ms->status, 200) << ms->body;
  clock_.Advance(absl::Seconds(10));

  const std::string west_fg = ServerId("sql-west") + "/failoverGroups/fog-orders";
  auto ours = ActivityLog(absl::StrCat("eventTimestamp ge '", Iso(absl::ZeroDuration()),
                                       "' and resourceUri eq '", west_fg, "'"));
  ASSERT_EQ(ours->status, 200) << ours->body;
  json events = Body(ours)["value"];
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0]["status"]["value"], "Succeeded");  // newest first
  EXPECT_EQ(events[1]["status"]["value"], "Started");
  for (const json& e : events) {
    EXPECT_EQ(e["caller"], "foghorn");
    EXPECT_EQ(e["correlationId"], "corr-foghorn-1");
    EXPECT_EQ(e["operationName"]["value"], "Microsoft.Sql/servers/failoverGroups/failover/action");
    EXPECT_EQ(e["resourceId"], west_fg);
  }
  EXPECT_EQ(events[1]["eventTimestamp"], Iso(absl::ZeroDuration()).substr(0, 19) + ".000Z");
  EXPECT_EQ(events[0]["eventTimestamp"], Iso(absl::Seconds(10)).substr(0, 19) + ".000Z");

  auto all = ActivityLog(absl::StrCat("eventTimestamp ge '", Iso(absl::ZeroDuration()),
                                      "' and resourceGroupName eq 'rg-foghorn'"));
  json every = Body(all)["value"];
  ASSERT_EQ(every.size(), 4u);
  EXPECT_EQ(every[0]["caller"], "Microsoft.Sql");
  EXPECT_EQ(every[0]["status"]["value"], "Succeeded");
  EXPECT_EQ(every[0]["operationName"]["value"],
            "Microsoft.Sql/servers/failoverGroups/forceFailoverAllowDataLoss/action");
  EXPECT_EQ(every[0]["resourceId"], ServerId("sql-east") + "/failoverGroups/fog-orders");
  EXPECT_NE(every[0]["correlationId"], "corr-foghorn-1");
  EXPECT_EQ(Body(client_->Get(FgPath("sql-east", "fog-orders")))["properties"]["replicationRole"],
            "Primary");

  // Later events only; a filter without eventTimestamp ge is refused.
  EXPECT_EQ(
      Body(ActivityLog(absl::StrCat("eventTimestamp ge '", Iso(absl::Seconds(11)), "'")))["value"]
          .size(),
      1u);
  auto bad = ActivityLog("resourceGroupName eq 'rg-foghorn'");
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(Body(bad)["code"], "BadRequest");
}

TEST_F(SignalsTest, MicrosoftFailoverInterruptsAUserFailoverAndRefusesUserOperations) {
  auto post = client_->Post(FgPath("sql-west", "fog-orders", "failover"), "", "application/json");
  ASSERT_EQ(post->status, 202);
  const std::string async = PathOf(post->get_header_value("Azure-AsyncOperation"));
  const std::string location = PathOf(post->get_header_value("Location"));
  auto id = sim_->MicrosoftFailover("fog-orders", /*planned=*/false);
  ASSERT_THAT(id.status(), IsOk());

  json status = Body(client_->Get(async));
  EXPECT_EQ(status["status"], "Failed");
  EXPECT_EQ(status["error"]["code"], "OperationInterrupted");
  auto result = client_->Get(location);
  EXPECT_EQ(result->status, 409);
  EXPECT_EQ(ErrorCode(result), "OperationInterrupted");

  auto again = client_->Post(FgPath("sql-west", "fog-orders", "failover"), "", "application/json");
  EXPECT_EQ(again->status, 409);
  EXPECT_EQ(ErrorCode(again), "ConflictingSystemOperationInProgress");
  EXPECT_FALSE(sim_->MicrosoftFailover("fog-orders").ok());

  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(Body(client_->Get(FgPath("sql-west", "fog-orders")))["properties"]["replicationRole"],
            "Primary");
}

TEST_F(SignalsTest, InjectedFailoverGroupErrorsHaveArmShapeAndStatus) {
  const std::vector<std::pair<std::string, int>> cases = {
      {"FailoverGroupDnsRecordInUse", 409},
      {"ConflictingSystemOperationInProgress", 409},
      {"OperationInterrupted", 409},
      {"OperationCancelled", 409},
      {"DatabaseBeingAddedToFailoverGroup", 409},
      {"FailoverGroupNotSecondary", 400}};
  for (const auto& [code, status] : cases) {
    auto fault = ParseFault(
        {{"kind", "arm_error"}, {"route", "failover"}, {"errorCode", code}, {"count", 1}});
    ASSERT_THAT(fault.status(), IsOk());
    sim_->AddFault(*fault);
    auto r = client_->Post(FgPath("sql-west", "fog-orders", "failover"), "", "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, status) << code;
    EXPECT_EQ(ErrorCode(r), code);
    EXPECT_FALSE(Body(r)["error"]["message"].get<std::string>().empty());
  }
  EXPECT_EQ(sim_->AcceptedFailovers("fog-orders"), 0);
  EXPECT_FALSE(ParseFault({{"kind", "arm_error"}}).ok());

  // As a failed long-running operation: OperationCancelled ends Canceled, its result a 409.
  auto failing = ParseFault({{"kind", "fail_operation"},
                             {"route", "failover"},
                             {"errorCode", "OperationCancelled"},
                             {"errorMessage", "The operation has been cancelled by user."},
                             {"count", 1}});
  sim_->AddFault(*failing);
  auto post = client_->Post(FgPath("sql-west", "fog-orders", "failover"), "", "application/json");
  ASSERT_EQ(post->status, 202);
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(Body(client_->Get(PathOf(post->get_header_value("Azure-AsyncOperation"))))["status"],
            "Canceled");
  auto result = client_->Get(PathOf(post->get_header_value("Location")));
  EXPECT_EQ(result->status, 409);
  EXPECT_EQ(ErrorCode(result), "OperationCancelled");
}

TEST_F(SignalsTest, SignalRoutesUseStrictAuthFaultsAndTheRequestLog) {
  client_->Put("/admin/config", R"({"strictAuth":true})", "application/json");
  auto denied = Metrics("sql-east", "orders", "metricnames=availability");
  EXPECT_EQ(denied->status, 401);
  EXPECT_EQ(ErrorCode(denied), "AuthenticationFailed");
  httplib::Headers auth = {{"Authorization", "Bearer " + sim_->IssueToken()}};
  auto ok = client_->Get(ServerId("sql-east") +
                             "/providers/Microsoft.ResourceHealth/availabilityStatuses/current"
                             "?api-version=2022-10-01",
                         auth);
  EXPECT_EQ(ok->status, 200);
  EXPECT_FALSE(ok->get_header_value("x-ms-ratelimit-remaining-subscription-reads").empty());
  auto bad_version = client_->Get(ServerId("sql-east") +
                                      "/providers/Microsoft.ResourceHealth/availabilityStatuses/"
                                      "current?api-version=1999-01-01",
                                  auth);
  EXPECT_EQ(ErrorCode(bad_version), "InvalidApiVersionParameter");

  auto fault = ParseFault({{"kind", "503"}, {"route", "resourceHealth"}, {"count", 1}});
  sim_->AddFault(*fault);
  auto faulted = client_->Get(ServerId("sql-east") +
                                  "/providers/Microsoft.ResourceHealth/availabilityStatuses/"
                                  "current?api-version=2022-10-01",
                              auth);
  EXPECT_EQ(faulted->status, 503);
  int health_requests = 0;
  for (const RequestRecord& rec : sim_->RequestLog()) {
    if (rec.route == "resourceHealth") ++health_requests;
  }
  EXPECT_EQ(health_requests, 3);
}

TEST_F(SignalsTest, AGroupNameTakenByAnotherServerPairIsADnsRecordInUse) {
  Start([](ArmSimOptions& o) {
    o.topology_path.clear();
    o.topology_json = absl::StrCat(R"({"subscriptions":[{"id":")", kSub, R"(",
      "resourceGroups":[{"name":"rg-foghorn","servers":[
        {"name":"sql-a","location":"East US","databases":["db"]},{"name":"sql-b","location":"West US"},
        {"name":"sql-c","location":"East US"},{"name":"sql-d","location":"West US"}]}]}],
      "failoverGroups":[{"name":"fog-x","primaryServer":"sql-c","partnerServer":"sql-d"}]})");
  });
  json body = {{"properties",
                {{"readWriteEndpoint", {{"failoverPolicy", "Manual"}}},
                 {"partnerServers", json::array({{{"id", ServerId("sql-b")}}})}}}};
  auto r = client_->Put(FgPath("sql-a", "fog-x"), body.dump(), "application/json");
  EXPECT_EQ(r->status, 409);
  EXPECT_EQ(ErrorCode(r), "FailoverGroupDnsRecordInUse");

  // A new group shows SEEDING in its own replicationState while a database seeds.
  body["properties"]["databases"] = json::array({DbId("sql-a", "db")});
  auto put = client_->Put(FgPath("sql-a", "fog-y"), body.dump(), "application/json");
  ASSERT_EQ(put->status, 202) << put->body;
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(Body(client_->Get(FgPath("sql-b", "fog-y")))["properties"]["replicationState"],
            "SEEDING");
  clock_.Advance(absl::Seconds(60));
  EXPECT_EQ(Body(client_->Get(FgPath("sql-b", "fog-y")))["properties"]["replicationState"],
            "CATCH_UP");
}

TEST_F(SignalsTest, SignalReadsSpendTheSubscriptionReadBudget) {
  Start([](ArmSimOptions& o) {
    o.throttling = true;
    o.read_bucket = 2;
    o.read_refill_per_second = 0.01;
  });
  EXPECT_EQ(Metrics("sql-east", "orders", "metricnames=availability")->status, 200);
  EXPECT_EQ(Link("sql-east", "orders")["properties"]["replicationState"], "CATCH_UP");
  auto throttled = client_->Get(ServerId("sql-east") +
                                "/providers/Microsoft.ResourceHealth/availabilityStatuses/"
                                "current?api-version=2022-10-01");
  EXPECT_EQ(throttled->status, 429);
  EXPECT_EQ(ErrorCode(throttled), "SubscriptionRequestsThrottled");
  EXPECT_FALSE(throttled->get_header_value("Retry-After").empty());
}

}  // namespace
}  // namespace foghorn::armsim
