#include "tools/armsim/armsim_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orchestrator/common/fake_clock.h"
#include "orchestrator/common/host_port.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/tools/armsim/armsim_test_client.h"

namespace foghorn::armsim {
namespace {

using ::foghorn::armsim::testing::Body;
using ::foghorn::armsim::testing::ErrorCode;
using ::foghorn::armsim::testing::FgPath;
using ::foghorn::armsim::testing::NewClient;
using ::foghorn::armsim::testing::PathOf;
using ::foghorn::testing::IsOk;
using ::foghorn::testing::StatusIs;
using nlohmann::json;
using ::testing::HasSubstr;

constexpr char kOrdersDb[] =
    "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/rg-foghorn/providers/"
    "Microsoft.Sql/servers/sql-east/databases/";
constexpr char kWestId[] =
    "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/rg-foghorn/providers/"
    "Microsoft.Sql/servers/sql-west";

class ArmSimServerTest : public ::testing::Test {
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
    customize(o);
    auto sim = ArmSimServer::Start(o);
    ASSERT_THAT(sim.status(), IsOk());
    sim_ = *std::move(sim);
    client_ = NewClient(*sim_);
  }

  // POSTs a failover and returns the response.
  httplib::Result Post(const std::string& path) {
    return client_->Post(path, "", "application/json");
  }

  std::string Role(const std::string& server) {
    auto r = client_->Get(FgPath(server, "fog-orders"));
    return Body(r)["properties"].value("replicationRole", "");
  }

  foghorn::testing::TempDir dir_;
  common::FakeClock clock_;
  std::unique_ptr<ArmSimServer> sim_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(ArmSimServerTest, ServesSeededGroupFromBothServersWithOppositeRoles) {
  auto east = client_->Get(FgPath("sql-east", "fog-orders"));
  ASSERT_TRUE(east);
  EXPECT_EQ(east->status, 200);
  json body = Body(east);
  EXPECT_EQ(body["location"], "East US");
  EXPECT_EQ(body["properties"]["replicationRole"], "Primary");
  EXPECT_EQ(body["properties"]["partnerServers"][0]["id"], kWestId);
  EXPECT_EQ(body["properties"]["databases"].size(), 2u);
  EXPECT_EQ(Role("sql-west"), "Secondary");
}

TEST_F(ArmSimServerTest, PlannedFailoverRunsAsLongRunningOperation) {
  auto r = Post(FgPath("sql-west", "fog-orders", "failover"));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 202);
  EXPECT_EQ(Body(r)["operation"], "FailoverFailoverGroup");
  std::string async = r->get_header_value("Azure-AsyncOperation");
  std::string location = r->get_header_value("Location");
  EXPECT_THAT(async, HasSubstr(sim_->base_url() + "/subscriptions/"));
  EXPECT_THAT(async, HasSubstr("/locations/westus/failoverGroupAzureAsyncOperation/"));
  EXPECT_THAT(location, HasSubstr("/failoverGroupOperationResults/"));
  EXPECT_THAT(location, HasSubstr("api-version=2025-01-01"));

  EXPECT_EQ(Body(client_->Get(PathOf(async)))["status"], "InProgress");
  EXPECT_EQ(client_->Get(PathOf(location))->status, 202);
  EXPECT_EQ(Role("sql-west"), "Secondary");
  EXPECT_EQ(sim_->AcceptedFailovers("fog-orders"), 1);

  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(Body(client_->Get(PathOf(async)))["status"], "Succeeded");
  auto final_result = client_->Get(PathOf(location));
  ASSERT_EQ(final_result->status, 200);
  EXPECT_EQ(Body(final_result)["properties"]["replicationRole"], "Primary");
  EXPECT_EQ(Role("sql-west"), "Primary");
  EXPECT_EQ(Role("sql-east"), "Secondary");
}

TEST_F(ArmSimServerTest, FailoverOnPrimaryIsRejected) {
  auto r = Post(FgPath("sql-east", "fog-orders", "failover"));
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(ErrorCode(r), "FailoverGroupFailoverRequestOnPrimary");
  EXPECT_EQ(sim_->AcceptedFailovers(), 0);
}

TEST_F(ArmSimServerTest, SecondOperationWhileOneRunsIsBusy) {
  ASSERT_EQ(Post(FgPath("sql-west", "fog-orders", "failover"))->status, 202);
  auto again = Post(FgPath("sql-west", "fog-orders", "forceFailoverAllowDataLoss"));
  EXPECT_EQ(again->status, 409);
  EXPECT_EQ(ErrorCode(again), "FailoverGroupBusy");
}

TEST_F(ArmSimServerTest, UpdateAndDeleteOnSecondaryAreRejected) {
  auto patch =
      client_->Patch(FgPath("sql-west", "fog-orders"), R"({"properties":{}})", "application/json");
  EXPECT_EQ(ErrorCode(patch), "FailoverGroupUpdateOrDeleteRequestOnSecondary");
  auto del = client_->Delete(FgPath("sql-west", "fog-orders"));
  EXPECT_EQ(del->status, 400);
  EXPECT_EQ(ErrorCode(del), "FailoverGroupUpdateOrDeleteRequestOnSecondary");
}

TEST_F(ArmSimServerTest, PlannedFailoverFailsWhenPrimaryRegionIsDown) {
  ASSERT_EQ(Post(FgPath("sql-west", "fog-orders", "failover"))->status, 202);
  std::string op = sim_->State()["operations"][0]["id"];
  sim_->SetRegionDown("eastus", {});
  clock_.Advance(absl::Seconds(10));
  auto status = client_->Get(absl::StrCat("/subscriptions/", testing::kSub,
                                          "/providers/Microsoft.Sql/locations/westus/"
                                          "failoverGroupAzureAsyncOperation/",
                                          op, "?api-version=2025-01-01"));
  EXPECT_EQ(Body(status)["status"], "Failed");
  EXPECT_EQ(Body(status)["error"]["code"], "PlannedFailoverTimedOut");
  EXPECT_EQ(Role("sql-west"), "Secondary");
}

TEST_F(ArmSimServerTest, ForcedFailoverLosesUnreplicatedWritesAndOldPrimaryRejoins) {
  ASSERT_THAT(sim_->SetReplicationLag("fog-orders", absl::Seconds(5)), IsOk());
  ASSERT_THAT(sim_->RecordWrites("fog-orders", 10), IsOk());
  clock_.Advance(absl::Seconds(6));
  ASSERT_THAT(sim_->RecordWrites("fog-orders", 7), IsOk());
  sim_->SetRegionDown("eastus", {});
  EXPECT_EQ(client_->Get(FgPath("sql-east", "fog-orders"))->status, 503);

  ASSERT_EQ(Post(FgPath("sql-west", "fog-orders", "forceFailoverAllowDataLoss"))->status, 202);
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(Role("sql-west"), "Primary");
  auto info = sim_->Replication("fog-orders");
  ASSERT_THAT(info.status(), IsOk());
  EXPECT_EQ(info->writes_replicated, 10);
  EXPECT_EQ(info->writes_lost, 7);
  EXPECT_EQ(info->primary, "sql-west");

  sim_->SetRegionUp("eastus");
  EXPECT_EQ(Role("sql-east"), "Secondary");
}

TEST_F(ArmSimServerTest, PlannedFailoverLosesNoWrites) {
  ASSERT_THAT(sim_->SetReplicationLag("fog-orders", absl::Seconds(60)), IsOk());
  ASSERT_THAT(sim_->RecordWrites("fog-orders", 5), IsOk());
  ASSERT_EQ(Post(FgPath("sql-west", "fog-orders", "failover"))->status, 202);
  clock_.Advance(absl::Seconds(10));
  auto info = sim_->Replication("fog-orders");
  ASSERT_THAT(info.status(), IsOk());
  EXPECT_EQ(info->writes_lost, 0);
  EXPECT_EQ(info->writes_replicated, 5);
}

TEST_F(ArmSimServerTest, TryPlannedBeforeForcedFallsBackToForcedWhenPrimaryIsDown) {
  ASSERT_THAT(sim_->SetReplicationLag("fog-orders", absl::Seconds(60)), IsOk());
  ASSERT_THAT(sim_->RecordWrites("fog-orders", 3), IsOk());
  sim_->SetRegionDown("eastus", {});
  ASSERT_EQ(Post(FgPath("sql-west", "fog-orders", "tryPlannedBeforeForcedFailover"))->status, 202);
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(Role("sql-west"), "Primary");
  EXPECT_EQ(sim_->Replication("fog-orders")->writes_lost, 3);
  EXPECT_EQ(sim_->State()["operations"][0]["outcome"], "forced");
}

TEST_F(ArmSimServerTest, LagIsReadableOverHttp) {
  ASSERT_THAT(sim_->SetReplicationLag("fog-orders", absl::Seconds(30)), IsOk());
  ASSERT_THAT(sim_->RecordWrites("fog-orders", 2), IsOk());
  clock_.Advance(absl::Seconds(4));
  auto r = client_->Get("/sql/servers/sql-east/replicationLinks");
  ASSERT_EQ(r->status, 200);
  json link = Body(r)["value"][0];
  EXPECT_EQ(link["role_desc"], "PRIMARY");
  EXPECT_DOUBLE_EQ(link["replication_lag_sec"].get<double>(), 4.0);
  EXPECT_EQ(link["writes_pending"], 2);
}

TEST_F(ArmSimServerTest, CreateGetListUpdateDeleteLifecycle) {
  json body = {
      {"properties",
       {{"readWriteEndpoint",
         {{"failoverPolicy", "Automatic"}, {"failoverWithDataLossGracePeriodMinutes", 60}}},
        {"partnerServers", json::array({{{"id", kWestId}}})},
        {"databases", json::array({std::string(kOrdersDb) + "audit"})}}}};
  auto put = client_->Put(FgPath("sql-east", "fog-new"), body.dump(), "application/json");
  ASSERT_EQ(put->status, 202);
  EXPECT_EQ(Body(put)["operation"], "CreateFailoverGroup");
  EXPECT_EQ(client_->Get(FgPath("sql-east", "fog-new"))->status, 404);
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(client_->Get(FgPath("sql-east", "fog-new"))->status, 200);
  EXPECT_EQ(Body(client_->Get(FgPath("sql-west")))["value"].size(), 2u);

  auto patch = client_->Patch(FgPath("sql-east", "fog-new"),
                              R"({"properties":{"readWriteEndpoint":{"failoverPolicy":"Manual"}}})",
                              "application/json");
  ASSERT_EQ(patch->status, 202);
  clock_.Advance(absl::Seconds(10));
  json got = Body(client_->Get(FgPath("sql-east", "fog-new")));
  EXPECT_EQ(got["properties"]["readWriteEndpoint"], json({{"failoverPolicy", "Manual"}}));

  auto del = client_->Delete(FgPath("sql-east", "fog-new"));
  ASSERT_EQ(del->status, 202);
  EXPECT_EQ(Body(del)["operation"], "DropFailoverGroup");
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(client_->Get(FgPath("sql-east", "fog-new"))->status, 404);
  EXPECT_EQ(client_->Get(PathOf(del->get_header_value("Location")))->status, 204);
}

TEST_F(ArmSimServerTest, ListPagesWithNextLink) {
  Start([](ArmSimOptions& o) { o.page_size = 1; });
  json body = {{"properties",
                {{"readWriteEndpoint", {{"failoverPolicy", "Manual"}}},
                 {"partnerServers", json::array({{{"id", kWestId}}})}}}};
  for (const char* name : {"fog-a", "fog-b"}) {
    ASSERT_EQ(client_->Put(FgPath("sql-east", name), body.dump(), "application/json")->status, 202);
  }
  clock_.Advance(absl::Seconds(10));
  std::vector<std::string> names;
  std::string next = FgPath("sql-east");
  for (int page = 0; page < 10 && !next.empty(); ++page) {
    json j = Body(client_->Get(next));
    for (const auto& v : j["value"]) names.push_back(v["name"]);
    next = j.contains("nextLink") ? PathOf(j["nextLink"]) : "";
  }
  EXPECT_THAT(names, ::testing::ElementsAre("fog-a", "fog-b", "fog-orders"));
}

struct ValidationCase {
  std::string name;
  std::string server;
  std::string fg;
  std::string body;
  int status;
  std::string code;
};

class ArmSimValidationTest : public ArmSimServerTest,
                             public ::testing::WithParamInterface<ValidationCase> {};

TEST_P(ArmSimValidationTest, RejectsBadCreateOrUpdateWithArmCode) {
  const ValidationCase& c = GetParam();
  auto r = client_->Put(FgPath(c.server, c.fg), c.body, "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, c.status);
  EXPECT_EQ(ErrorCode(r), c.code);
}

std::string Props(const std::string& inner) { return R"({"properties":{)" + inner + "}}"; }
const char kRw[] = R"("readWriteEndpoint":{"failoverPolicy":"Manual"})";
std::string Partner(const std::string& id) {
  return std::string(R"("partnerServers":[{"id":")") + id + R"("}])";
}
const std::string kSubPrefix =
    "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/rg-foghorn/providers/"
    "Microsoft.Sql/servers/";

INSTANTIATE_TEST_SUITE_P(
    Codes, ArmSimValidationTest,
    ::testing::Values(
        ValidationCase{"EmptyBody", "sql-east", "x", "", 400,
                       "FailoverGroupCreateOrUpdateRequestInvalid"},
        ValidationCase{"NoProperties", "sql-east", "x", "{}", 400,
                       "FailoverGroupCreateOrUpdateRequestInvalid"},
        ValidationCase{"MalformedJson", "sql-east", "x", "{\"properties\":", 400,
                       "InvalidRequestContent"},
        ValidationCase{"NoReadWrite", "sql-east", "x", Props(Partner(kWestId)), 400,
                       "FailoverGroupCreateOrUpdateRequestInvalidReadWriteEndpoint"},
        ValidationCase{"NoPolicy", "sql-east", "x",
                       Props(R"("readWriteEndpoint":{},)" + Partner(kWestId)), 400,
                       "FailoverGroupCreateOrUpdateRequestInvalidReadWriteFailoverPolicy"},
        ValidationCase{
            "NegativeGrace", "sql-east", "x",
            Props(
                R"("readWriteEndpoint":{"failoverPolicy":"Automatic","failoverWithDataLossGracePeriodMinutes":-1},)" +
                Partner(kWestId)),
            400, "FailoverGroupCreateOrUpdateRequestNegativeGracePeriodValues"},
        ValidationCase{
            "AutomaticWithoutGrace", "sql-east", "x",
            Props(R"("readWriteEndpoint":{"failoverPolicy":"Automatic"},)" + Partner(kWestId)), 400,
            "FailoverGroupCreateOrUpdateRequestInvalidReadWriteEndpointFields"},
        ValidationCase{
            "ManualWithGrace", "sql-east", "x",
            Props(
                R"("readWriteEndpoint":{"failoverPolicy":"Manual","failoverWithDataLossGracePeriodMinutes":60},)" +
                Partner(kWestId)),
            400, "FailoverGroupCreateOrUpdateRequestInvalidReadWriteEndpointFieldsForManualPolicy"},
        ValidationCase{
            "GraceBelowMinimum", "sql-east", "x",
            Props(
                R"("readWriteEndpoint":{"failoverPolicy":"Automatic","failoverWithDataLossGracePeriodMinutes":30},)" +
                Partner(kWestId)),
            400, "FailoverGroupCreateOrUpdateRequestLessThanMinimumGracePeriodValues"},
        ValidationCase{"NoPartner", "sql-east", "x", Props(kRw), 400,
                       "FailoverGroupCreateOrUpdateRequestInvalidPartner"},
        ValidationCase{"BadPartnerId", "sql-east", "x",
                       Props(std::string(kRw) + "," + Partner("not-an-id")), 400,
                       "FailoverGroupCreateOrUpdateRequestInvalidPartner"},
        ValidationCase{"PartnerIsSelf", "sql-east", "x",
                       Props(std::string(kRw) + "," + Partner(kSubPrefix + "sql-east")), 400,
                       "FailoverGroupCreateOrUpdateRequestDuplicatePartner"},
        ValidationCase{"TwoPartners", "sql-east", "x",
                       Props(std::string(kRw) + R"(,"partnerServers":[{"id":")" + kWestId +
                             R"("},{"id":")" + kSubPrefix + R"(sql-north"}])"),
                       400, "FailoverGroupCreateOrUpdateRequestUnsupportedPartnerCount"},
        ValidationCase{"OtherSubscription", "sql-east", "x",
                       Props(std::string(kRw) + "," +
                             Partner("/subscriptions/99999999-1111-2222-3333-444444444444/"
                                     "resourceGroups/rg/providers/Microsoft.Sql/servers/sql-west")),
                       400, "FailoverGroupPartnerServerFromDifferentSubscription"},
        ValidationCase{"UnknownPartner", "sql-east", "x",
                       Props(std::string(kRw) + "," + Partner(kSubPrefix + "sql-nowhere")), 400,
                       "ServerNotFound"},
        ValidationCase{
            "BadDatabaseId", "sql-east", "x",
            Props(std::string(kRw) + "," + Partner(kWestId) + R"(,"databases":["orders"])"), 400,
            "FailoverGroupCreateOrUpdateRequestInvalidDatabases"},
        ValidationCase{"DatabaseNotOnPrimary", "sql-east", "x",
                       Props(std::string(kRw) + "," + Partner(kWestId) + R"(,"databases":[")" +
                             kSubPrefix + R"(sql-east/databases/missing"])"),
                       400, "FailoverGroupCreateOrUpdateRequestInvalidDatabaseServer"},
        ValidationCase{"DatabaseInOtherGroup", "sql-east", "x",
                       Props(std::string(kRw) + "," + Partner(kWestId) + R"(,"databases":[")" +
                             kSubPrefix + R"(sql-east/databases/orders"])"),
                       409, "DatabaseBelongsToOtherFailoverGroup"},
        ValidationCase{"UpdateOnSecondary", "sql-west", "fog-orders",
                       Props(std::string(kRw) + "," + Partner(kSubPrefix + "sql-east")), 400,
                       "FailoverGroupUpdateOrDeleteRequestOnSecondary"},
        ValidationCase{"UnknownServer", "sql-nowhere", "x", Props(kRw), 404, "ResourceNotFound"}),
    [](const ::testing::TestParamInfo<ValidationCase>& info) { return info.param.name; });

TEST_F(ArmSimServerTest, SameRegionPartnerIsRejected) {
  Start([](ArmSimOptions& o) {
    o.topology_json = R"({"subscriptions":[{"id":"00000000-1111-2222-3333-444444444444",
      "resourceGroups":[{"name":"rg-foghorn","servers":[
        {"name":"sql-east","location":"East US"},{"name":"sql-east-b","location":"eastus"},
        {"name":"sql-far","location":"West US"}]}]}],
      "failoverGroups":[{"name":"fog-taken","primaryServer":"sql-east-b","partnerServer":"sql-far"}]})";
  });
  auto r = client_->Put(FgPath("sql-east", "x"),
                        Props(std::string(kRw) + "," + Partner(kSubPrefix + "sql-east-b")),
                        "application/json");
  EXPECT_EQ(ErrorCode(r), "InvalidFailoverGroupRegion");
  auto taken = client_->Put(FgPath("sql-east", "fog-taken"),
                            Props(std::string(kRw) + "," + Partner(kSubPrefix + "sql-far")),
                            "application/json");
  EXPECT_EQ(taken->status, 409);
  EXPECT_EQ(ErrorCode(taken), "FailoverGroupAlreadyExists");
}

TEST_F(ArmSimServerTest, UnknownGroupIsNotFound) {
  auto r = client_->Get(FgPath("sql-east", "nope"));
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(ErrorCode(r), "ResourceNotFound");
  EXPECT_EQ(ErrorCode(Post(FgPath("sql-west", "nope", "failover"))), "ResourceNotFound");
}

TEST_F(ArmSimServerTest, ApiVersionIsRequiredAndChecked) {
  EXPECT_EQ(ErrorCode(client_->Get(FgPath("sql-east", "fog-orders", "", ""))),
            "MissingApiVersionParameter");
  EXPECT_EQ(ErrorCode(client_->Get(FgPath("sql-east", "fog-orders", "", "1999-01-01"))),
            "InvalidApiVersionParameter");
  for (const char* v :
       {"2025-01-01", "2023-08-01", "2021-11-01", "2020-11-01-preview", "2015-05-01-preview"}) {
    EXPECT_EQ(client_->Get(FgPath("sql-east", "fog-orders", "", v))->status, 200) << v;
  }
}

TEST_F(ArmSimServerTest, NeverCrashesOnHostileInput) {
  Start([](ArmSimOptions& o) { o.max_body_bytes = 1024; });
  auto big = client_->Put(FgPath("sql-east", "x"), std::string(4096, '{'), "application/json");
  if (big) {  // httplib may also close the connection before reading the body
    EXPECT_EQ(big->status, 400);
    EXPECT_EQ(ErrorCode(big), "InvalidRequestContent");
  }
  client_ = NewClient(*sim_);
  EXPECT_EQ(client_->Get("/unknown/route")->status, 404);
  EXPECT_EQ(ErrorCode(client_->Get("/subscriptions/x/what")), "NotFound");
  EXPECT_EQ(client_->Put(FgPath("sql-east", "x"), "\xff\xfe\x00", "application/json")->status, 400);
  EXPECT_EQ(client_->Put(FgPath("sql-east", "x"), "[1,2]", "application/json")->status, 400);
  EXPECT_EQ(client_->Get(FgPath("sql-east", "fog-orders"))->status, 200);
}

TEST_F(ArmSimServerTest, EchoesCorrelationHeaders) {
  httplib::Headers h = {{"x-ms-client-request-id", "client-1"},
                        {"x-ms-correlation-request-id", "corr-1"}};
  auto r = client_->Get(FgPath("sql-east", "fog-orders"), h);
  EXPECT_EQ(r->get_header_value("x-ms-client-request-id"), "client-1");
  EXPECT_EQ(r->get_header_value("x-ms-correlation-request-id"), "corr-1");
  EXPECT_FALSE(r->get_header_value("x-ms-request-id").empty());
  EXPECT_FALSE(r->get_header_value("x-ms-ratelimit-remaining-subscription-reads").empty());
}

TEST_F(ArmSimServerTest, ThrottlesReadsPerSubscriptionWithRetryAfter) {
  Start([](ArmSimOptions& o) {
    o.throttling = true;
    o.read_bucket = 2;
    o.read_refill_per_second = 1;
  });
  EXPECT_EQ(client_->Get(FgPath("sql-east", "fog-orders"))->status, 200);
  auto second = client_->Get(FgPath("sql-east", "fog-orders"));
  EXPECT_EQ(second->get_header_value("x-ms-ratelimit-remaining-subscription-reads"), "0");
  auto third = client_->Get(FgPath("sql-east", "fog-orders"));
  EXPECT_EQ(third->status, 429);
  EXPECT_EQ(third->get_header_value("Retry-After"), "1");
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(client_->Get(FgPath("sql-east", "fog-orders"))->status, 200);
  // Writes have their own bucket.
  EXPECT_EQ(Post(FgPath("sql-west", "fog-orders", "failover"))->status, 202);
}

TEST_F(ArmSimServerTest, StrictAuthNeedsATokenFromTheTokenEndpoint) {
  Start([](ArmSimOptions& o) { o.strict_auth = true; });
  auto anon = client_->Get(FgPath("sql-east", "fog-orders"));
  EXPECT_EQ(anon->status, 401);
  EXPECT_EQ(ErrorCode(anon), "AuthenticationFailed");
  httplib::Headers bogus = {{"Authorization", "Bearer made-up"}};
  EXPECT_EQ(ErrorCode(client_->Get(FgPath("sql-east", "fog-orders"), bogus)),
            "InvalidAuthenticationToken");

  auto wrong = client_->Post("/11111111-2222-3333-4444-555555555555/oauth2/v2.0/token",
                             "grant_type=client_credentials&client_id=foghorn&client_secret=no",
                             "application/x-www-form-urlencoded");
  EXPECT_EQ(wrong->status, 401);
  EXPECT_EQ(Body(wrong)["error"], "invalid_client");
  auto tok = client_->Post("/11111111-2222-3333-4444-555555555555/oauth2/v2.0/token",
                           "grant_type=client_credentials&client_id=foghorn&client_secret="
                           "armsim-secret&scope=https%3A%2F%2Fmanagement.azure.com%2F.default",
                           "application/x-www-form-urlencoded");
  ASSERT_EQ(tok->status, 200);
  EXPECT_EQ(Body(tok)["token_type"], "Bearer");
  httplib::Headers auth = {
      {"Authorization", "Bearer " + Body(tok)["access_token"].get<std::string>()}};
  EXPECT_EQ(client_->Get(FgPath("sql-east", "fog-orders"), auth)->status, 200);
  clock_.Advance(absl::Hours(2));
  EXPECT_EQ(ErrorCode(client_->Get(FgPath("sql-east", "fog-orders"), auth)),
            "ExpiredAuthenticationToken");
}

TEST_F(ArmSimServerTest, ManagedIdentityEndpointNeedsMetadataHeader) {
  Start([](ArmSimOptions& o) { o.strict_auth = true; });
  std::string path =
      "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://"
      "management.azure.com/";
  EXPECT_EQ(client_->Get(path)->status, 400);
  auto r = client_->Get(path, {{"Metadata", "true"}});
  ASSERT_EQ(r->status, 200);
  json j = Body(r);
  EXPECT_EQ(j["resource"], "https://management.azure.com/");
  EXPECT_TRUE(j["expires_on"].is_string());
  httplib::Headers auth = {{"Authorization", "Bearer " + j["access_token"].get<std::string>()}};
  EXPECT_EQ(client_->Get(FgPath("sql-east", "fog-orders"), auth)->status, 200);
}

TEST_F(ArmSimServerTest, ControlPlaneOutageRefusesWithServiceUnavailable) {
  sim_->SetRegionDown("westus", {.control_plane = true, .data_plane = false});
  auto r = Post(FgPath("sql-west", "fog-orders", "failover"));
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(sim_->AcceptedFailovers(), 0);
  sim_->SetRegionUp("westus");
  EXPECT_EQ(Post(FgPath("sql-west", "fog-orders", "failover"))->status, 202);
}

TEST_F(ArmSimServerTest, ControlPlaneBlackholeNeverAnswers) {
  Start([](ArmSimOptions& o) { o.blackhole_timeout = absl::Milliseconds(300); });
  sim_->SetRegionDown("westus", {.mode = OutageMode::kBlackhole});
  client_->set_read_timeout(0, 100000);
  auto r = client_->Get(FgPath("sql-west", "fog-orders"));
  EXPECT_FALSE(r);
  EXPECT_EQ(client_->Get(FgPath("sql-east", "fog-orders"))->status, 200);
}

TEST_F(ArmSimServerTest, InjectedHttpFaultsAnswerWithArmErrorsAndDoNotApply) {
  struct Case {
    FaultSpec::Kind kind;
    int status;
    std::string code;
  };
  for (const Case& c : {Case{FaultSpec::Kind::kHttp429, 429, "SubscriptionTooManyRequests"},
                        Case{FaultSpec::Kind::kHttp500, 500, "OperationTimedOut"},
                        Case{FaultSpec::Kind::kHttp503, 503, "ServiceUnavailable"},
                        Case{FaultSpec::Kind::kHttp504, 504, "GatewayTimeout"}}) {
    FaultSpec f;
    f.kind = c.kind;
    f.route = "failover";
    f.count = 1;
    sim_->AddFault(f);
    auto r = Post(FgPath("sql-west", "fog-orders", "failover"));
    EXPECT_EQ(r->status, c.status);
    EXPECT_EQ(ErrorCode(r), c.code);
    if (c.status == 429) {
      EXPECT_EQ(r->get_header_value("Retry-After"), "1");
    }
  }
  EXPECT_EQ(sim_->AcceptedFailovers(), 0);
  EXPECT_EQ(Post(FgPath("sql-west", "fog-orders", "failover"))->status, 202);
}

TEST_F(ArmSimServerTest, StatusUrlFaultDoesNotFailTheOperation) {
  auto r = Post(FgPath("sql-west", "fog-orders", "failover"));
  ASSERT_EQ(r->status, 202);
  FaultSpec f;
  f.kind = FaultSpec::Kind::kHttp500;
  f.route = "asyncOperation";
  f.count = 1;
  sim_->AddFault(f);
  std::string async = PathOf(r->get_header_value("Azure-AsyncOperation"));
  EXPECT_EQ(client_->Get(async)->status, 500);
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(Body(client_->Get(async))["status"], "Succeeded");
}

TEST_F(ArmSimServerTest, RetryAfterIsSentOnlyWhenConfigured) {
  auto r = Post(FgPath("sql-west", "fog-orders", "failover"));
  EXPECT_FALSE(r->has_header("Retry-After"));
  sim_->SetRetryAfter(absl::Seconds(15));
  sim_->SetOperationDuration(absl::Seconds(1));
  clock_.Advance(absl::Seconds(10));
  auto back = Post(FgPath("sql-east", "fog-orders", "failover"));
  ASSERT_EQ(back->status, 202);
  EXPECT_EQ(back->get_header_value("Retry-After"), "15");
  auto poll = client_->Get(PathOf(back->get_header_value("Location")));
  EXPECT_EQ(poll->status, 202);
  EXPECT_EQ(poll->get_header_value("Retry-After"), "15");
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(client_->Get(PathOf(back->get_header_value("Location")))->status, 200);
}

TEST_F(ArmSimServerTest, TokenEndpointFaultsAnswerWithOAuthErrors) {
  auto f = ParseFault(json{{"kind", "429"}, {"route", "token"}, {"count", 1}});
  ASSERT_THAT(f.status(), IsOk());
  sim_->AddFault(*f);
  std::string form = "grant_type=client_credentials&client_id=foghorn&client_secret=armsim-secret";
  std::string path = "/11111111-2222-3333-4444-555555555555/oauth2/v2.0/token";
  auto first = client_->Post(path, form, "application/x-www-form-urlencoded");
  EXPECT_EQ(first->status, 429);
  EXPECT_EQ(Body(first)["error"], "temporarily_unavailable");
  EXPECT_EQ(client_->Post(path, form, "application/x-www-form-urlencoded")->status, 200);
}

TEST_F(ArmSimServerTest, AdminConfigTurnsOnStrictAuthAndDurations) {
  ASSERT_EQ(client_
                ->Put("/admin/config", R"({"strictAuth":true,"operationDurationMs":1})",
                      "application/json")
                ->status,
            200);
  EXPECT_EQ(client_->Get(FgPath("sql-east", "fog-orders"))->status, 401);
  EXPECT_EQ(sim_->State()["operationDurationMs"], 1);
  httplib::Headers auth = {{"Authorization", "Bearer " + sim_->IssueToken()}};
  EXPECT_EQ(client_->Get(FgPath("sql-east", "fog-orders"), auth)->status, 200);
}

TEST(ArmSimParseTest, RejectsBadFaultsAndOutages) {
  EXPECT_THAT(ParseFault(json{{"kind", "418"}}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseFault(json{{"kind", "503"}, {"probability", 2}}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("probability")));
  EXPECT_THAT(ParseFault(json::array()).status(), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseOutage(json{{"mode", "sideways"}}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("mode")));
  auto o = ParseOutage(json{{"dataPlane", false}, {"mode", "blackhole"}});
  ASSERT_THAT(o.status(), IsOk());
  EXPECT_TRUE(o->control_plane);
  EXPECT_FALSE(o->data_plane);
}

TEST(ArmSimStartTest, RejectsBadTopologyAndMissingCertificateDirectory) {
  ArmSimOptions o;
  o.topology_json = "{";
  EXPECT_THAT(ArmSimServer::Start(o).status(), StatusIs(absl::StatusCode::kInvalidArgument));
  ArmSimOptions no_certs;
  EXPECT_THAT(ArmSimServer::Start(no_certs).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cert_dir")));
}

TEST_F(ArmSimServerTest, LatencyFaultDelaysButServes) {
  FaultSpec f;
  f.kind = FaultSpec::Kind::kLatency;
  f.latency = absl::Milliseconds(20);
  f.route = "get";
  f.count = 1;
  sim_->AddFault(f);
  EXPECT_EQ(client_->Get(FgPath("sql-east", "fog-orders"))->status, 200);
  EXPECT_EQ(sim_->RequestLog().back().fault, "latency");
}

TEST_F(ArmSimServerTest, ResetBeforeDropsTheConnectionWithoutApplying) {
  FaultSpec f;
  f.kind = FaultSpec::Kind::kResetBefore;
  f.route = "failover";
  f.count = 1;
  sim_->AddFault(f);
  EXPECT_FALSE(Post(FgPath("sql-west", "fog-orders", "failover")));
  EXPECT_EQ(sim_->AcceptedFailovers(), 0);
  client_ = NewClient(*sim_);
  EXPECT_EQ(Post(FgPath("sql-west", "fog-orders", "failover"))->status, 202);
}

TEST_F(ArmSimServerTest, ResetAfterAppliesTheFailoverButDropsTheAnswer) {
  FaultSpec f;
  f.kind = FaultSpec::Kind::kResetAfter;
  f.route = "failover";
  f.count = 1;
  sim_->AddFault(f);
  EXPECT_FALSE(Post(FgPath("sql-west", "fog-orders", "failover")));
  EXPECT_EQ(sim_->AcceptedFailovers(), 1);
  client_ = NewClient(*sim_);
  // A blind retry now meets the running operation.
  EXPECT_EQ(ErrorCode(Post(FgPath("sql-west", "fog-orders", "failover"))), "FailoverGroupBusy");
}

TEST_F(ArmSimServerTest, FailOperationFaultEndsTheOperationFailed) {
  FaultSpec f;
  f.kind = FaultSpec::Kind::kFailOperation;
  f.route = "failover";
  f.error_code = "PlannedFailoverTimedOut";
  sim_->AddFault(f);
  auto r = Post(FgPath("sql-west", "fog-orders", "failover"));
  ASSERT_EQ(r->status, 202);
  clock_.Advance(absl::Seconds(10));
  auto status = client_->Get(PathOf(r->get_header_value("Azure-AsyncOperation")));
  EXPECT_EQ(Body(status)["status"], "Failed");
  EXPECT_EQ(Body(status)["error"]["code"], "PlannedFailoverTimedOut");
  EXPECT_EQ(client_->Get(PathOf(r->get_header_value("Location")))->status, 400);
  EXPECT_EQ(Role("sql-west"), "Secondary");
}

TEST_F(ArmSimServerTest, AdminCanFailOrCancelARunningOperation) {
  auto r = Post(FgPath("sql-west", "fog-orders", "failover"));
  std::string id = sim_->State()["operations"][0]["id"];
  EXPECT_THAT(sim_->FailOperation(id, "OperationCancelled", "stop", /*canceled=*/true), IsOk());
  auto status = client_->Get(PathOf(r->get_header_value("Azure-AsyncOperation")));
  EXPECT_EQ(Body(status)["status"], "Canceled");
  EXPECT_THAT(sim_->FailOperation(id, "X", "y", false),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(sim_->FailOperation("nope", "X", "y", false), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(ArmSimServerTest, ProbabilisticFaultsAreReproducibleFromTheSeed) {
  auto run = [&] {
    Start([](ArmSimOptions&) {});
    FaultSpec f;
    f.kind = FaultSpec::Kind::kHttp503;
    f.route = "get";
    f.probability = 0.5;
    f.seed = 42;
    sim_->AddFault(f);
    std::string pattern;
    for (int i = 0; i < 20; ++i) {
      pattern += client_->Get(FgPath("sql-east", "fog-orders"))->status == 503 ? 'x' : '.';
    }
    return pattern;
  };
  std::string first = run();
  EXPECT_EQ(first, run());
  EXPECT_NE(first.find('x'), std::string::npos);
  EXPECT_NE(first.find('.'), std::string::npos);
}

TEST_F(ArmSimServerTest, RequestLogWritesJsonLinesAndCountsFailovers) {
  std::string log_path = dir_.File("requests.jsonl");
  Start([&](ArmSimOptions& o) { o.request_log_path = log_path; });
  client_->Get(FgPath("sql-east", "fog-orders"));
  Post(FgPath("sql-west", "fog-orders", "failover"));
  std::ifstream in(log_path);
  std::vector<json> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["route"], "get");
  EXPECT_EQ(lines[1]["route"], "failover");
  EXPECT_EQ(lines[1]["status"], 202);
  EXPECT_EQ(lines[1]["acceptedOperation"], true);
  EXPECT_TRUE(lines[1].contains("ts"));
  EXPECT_EQ(sim_->AcceptedFailovers(), 1);
}

TEST_F(ArmSimServerTest, AdminHttpApiDrivesRegionsFaultsAndState) {
  auto down = client_->Post("/admin/regions/eastus/down",
                            R"({"controlPlane":true,"dataPlane":false,"mode":"refuse"})",
                            "application/json");
  ASSERT_EQ(down->status, 200);
  EXPECT_EQ(client_->Get(FgPath("sql-east", "fog-orders"))->status, 503);
  json state = Body(client_->Get("/admin/state"));
  EXPECT_EQ(state["regions"]["eastus"]["controlPlaneDown"], true);
  ASSERT_EQ(client_->Post("/admin/regions/eastus/up", "", "application/json")->status, 200);
  EXPECT_EQ(client_->Get(FgPath("sql-east", "fog-orders"))->status, 200);

  auto fault = client_->Post("/admin/faults", R"({"kind":"504","route":"get","count":1})",
                             "application/json");
  ASSERT_EQ(fault->status, 200);
  EXPECT_EQ(client_->Get(FgPath("sql-east", "fog-orders"))->status, 504);
  EXPECT_EQ(client_->Post("/admin/faults", R"({"kind":"nope"})", "application/json")->status, 400);

  ASSERT_EQ(
      client_->Post("/admin/failoverGroups/fog-orders/writes", R"({"count":3})", "application/json")
          ->status,
      200);
  json repl = Body(client_->Get("/admin/failoverGroups/fog-orders/replication"));
  EXPECT_EQ(repl["writesTotal"], 3);
  Post(FgPath("sql-west", "fog-orders", "failover"));
  EXPECT_EQ(Body(client_->Get("/admin/counters"))["acceptedFailovers"], 1);
}

// --- data plane ---

int Connect(const std::string& endpoint) {
  absl::StatusOr<common::HostPort> address = common::ParseHostPort(endpoint);
  if (!address.ok()) return -1;
  const int port = address->port;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{0, 300000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

std::string ReadLine(int fd) {
  std::string line;
  char c;
  while (recv(fd, &c, 1, 0) == 1 && c != '\n') line.push_back(c);
  return line;
}

TEST_F(ArmSimServerTest, ReadWriteListenerFollowsThePrimary) {
  std::string rw = sim_->ReadWriteListener("fog-orders");
  ASSERT_FALSE(rw.empty());
  int fd = Connect(rw);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(json::parse(ReadLine(fd))["server"], "sql-east");
  close(fd);
  Post(FgPath("sql-west", "fog-orders", "failover"));
  clock_.Advance(absl::Seconds(10));
  fd = Connect(rw);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(json::parse(ReadLine(fd))["server"], "sql-west");
  close(fd);
  fd = Connect(sim_->ReadOnlyListener("fog-orders"));
  ASSERT_GE(fd, 0);
  EXPECT_EQ(json::parse(ReadLine(fd))["role"], "Secondary");
  close(fd);
}

TEST_F(ArmSimServerTest, WritesOverTheDataPlaneCountOnThePrimaryOnly) {
  int fd = Connect(sim_->ServerEndpoint("sql-east"));
  ASSERT_GE(fd, 0);
  ReadLine(fd);
  ASSERT_EQ(send(fd, "WRITE 4\nPING\n", 13, 0), 13);
  EXPECT_EQ(ReadLine(fd), "OK");
  EXPECT_EQ(ReadLine(fd), "PONG");
  close(fd);
  EXPECT_EQ(sim_->Replication("fog-orders")->writes_total, 4);
  fd = Connect(sim_->ServerEndpoint("sql-west"));
  ReadLine(fd);
  ASSERT_EQ(send(fd, "WRITE\n", 6, 0), 6);
  EXPECT_THAT(ReadLine(fd), HasSubstr("ERROR"));
  close(fd);
}

TEST_F(ArmSimServerTest, DataPlaneOutageRefusesThenRecovers) {
  std::string east = sim_->ServerEndpoint("sql-east");
  sim_->SetRegionDown("eastus", {.control_plane = false, .data_plane = true});
  EXPECT_EQ(Connect(east), -1);
  EXPECT_EQ(Connect(sim_->ReadWriteListener("fog-orders")), -1);
  EXPECT_EQ(client_->Get(FgPath("sql-east", "fog-orders"))->status, 200);
  sim_->SetRegionUp("eastus");
  int fd = Connect(east);
  EXPECT_GE(fd, 0);
  if (fd >= 0) close(fd);
}

TEST_F(ArmSimServerTest, DataPlaneBlackholeAcceptsButNeverAnswers) {
  sim_->SetRegionDown("eastus",
                      {.control_plane = false, .data_plane = true, .mode = OutageMode::kBlackhole});
  int fd = Connect(sim_->ServerEndpoint("sql-east"));
  ASSERT_GE(fd, 0);
  ASSERT_EQ(send(fd, "PING\n", 5, 0), 5);
  char c;
  EXPECT_EQ(recv(fd, &c, 1, 0), -1);  // SO_RCVTIMEO expires: no greeting, no answer
  close(fd);
  EXPECT_EQ(client_->Get("/sql/servers/sql-west/replicationLinks")->status, 200);
}

}  // namespace
}  // namespace foghorn::armsim
