// The admin API of foghorn-armsim over HTTPS, route by route: what each route answers, how bad
// input and unknown routes are rejected, and that the routes reach the emulator.
#include <httplib.h>

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
using ::foghorn::armsim::testing::NewClient;
using ::foghorn::testing::IsOk;
using nlohmann::json;
using ::testing::StartsWith;

constexpr char kJson[] = "application/json";

class AdminRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ArmSimOptions o;
    o.topology_path = foghorn::testing::SourceDir() + "/tools/armsim/examples/topology.json";
    o.cert_dir = dir_.path();
    o.operation_duration = absl::Seconds(10);
    o.clock = &clock_;
    o.threads = 4;
    auto sim = ArmSimServer::Start(o);
    ASSERT_THAT(sim.status(), IsOk());
    sim_ = *std::move(sim);
    client_ = NewClient(*sim_);
  }

  httplib::Result Send(const std::string& method, const std::string& path,
                       const std::string& body = "") {
    if (method == "GET") return client_->Get(path);
    if (method == "POST") return client_->Post(path, body, kJson);
    if (method == "PUT") return client_->Put(path, body, kJson);
    if (method == "PATCH") return client_->Patch(path, body, kJson);
    return client_->Delete(path, body, kJson);
  }

  foghorn::testing::TempDir dir_;
  common::FakeClock clock_;
  std::unique_ptr<ArmSimServer> sim_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(AdminRoutesTest, UnknownRoutesAndWrongMethodsAreNotFound) {
  for (auto [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/admin"},
           {"GET", "/admin/nope"},
           {"POST", "/admin/state"},
           {"GET", "/admin/regions/eastus/down"},
           {"POST", "/admin/regions/eastus/sideways"},
           {"PUT", "/admin/faults"},
           {"GET", "/admin/faults/1"},
           {"GET", "/admin/operations/x/fail"},
           {"GET", "/admin/failoverGroups/fog-orders/writes"},
           {"DELETE", "/admin/failoverGroups/fog-orders/lag"},
           {"GET", "/admin/config"},
           {"POST", "/admin/requests"},
           {"GET", "/admin/token"},
           {"GET", "/admin/state/extra"},
       }) {
    auto r = Send(method, path);
    ASSERT_TRUE(r) << method << " " << path;
    EXPECT_EQ(r->status, 404) << method << " " << path;
    EXPECT_EQ(ErrorCode(r), "NotFound") << method << " " << path;
    EXPECT_EQ(Body(r)["error"]["message"], "unknown admin route") << method << " " << path;
  }
}

TEST_F(AdminRoutesTest, MalformedJsonIsRejectedBeforeRouting) {
  for (const char* path : {"/admin/faults", "/admin/nope"}) {
    auto r = client_->Post(path, "{not json", kJson);
    EXPECT_EQ(r->status, 400) << path;
    EXPECT_EQ(ErrorCode(r), "InvalidJson") << path;
  }
}

TEST_F(AdminRoutesTest, AnswersCarryTheRequestIdHeaders) {
  auto r = client_->Get("/admin/state");
  EXPECT_FALSE(r->get_header_value("x-ms-request-id").empty());
  EXPECT_FALSE(r->get_header_value("x-ms-correlation-request-id").empty());
}

TEST_F(AdminRoutesTest, StateShowsTheWholeWorld) {
  auto r = client_->Get("/admin/state");
  ASSERT_EQ(r->status, 200);
  json state = Body(r);
  for (const char* key : {"regions", "servers", "failoverGroups", "operations"}) {
    EXPECT_TRUE(state.contains(key)) << key;
  }
  EXPECT_EQ(state["failoverGroups"]["fog-orders"]["primary"], "sql-east");
}

TEST_F(AdminRoutesTest, RegionsGoDownAndComeBack) {
  auto down = client_->Post("/admin/regions/eastus/down",
                            R"({"controlPlane":false,"mode":"blackhole"})", kJson);
  ASSERT_EQ(down->status, 200);
  EXPECT_EQ(Body(down), json::object());
  json region = sim_->State()["regions"]["eastus"];
  EXPECT_EQ(region["controlPlaneDown"], false);
  EXPECT_EQ(region["dataPlaneDown"], true);
  EXPECT_EQ(region["mode"], "blackhole");

  // No body: both planes, refuse.
  ASSERT_EQ(client_->Post("/admin/regions/westus/down", "", kJson)->status, 200);
  EXPECT_EQ(sim_->State()["regions"]["westus"]["controlPlaneDown"], true);
  EXPECT_EQ(sim_->State()["regions"]["westus"]["mode"], "refuse");

  auto bad = client_->Post("/admin/regions/eastus/down", R"({"mode":"sideways"})", kJson);
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(ErrorCode(bad), "INVALID_ARGUMENT");

  ASSERT_EQ(client_->Post("/admin/regions/eastus/up", "", kJson)->status, 200);
  ASSERT_EQ(client_->Post("/admin/regions/westus/up", "", kJson)->status, 200);
  EXPECT_EQ(sim_->State()["regions"]["eastus"]["dataPlaneDown"], false);
  EXPECT_EQ(sim_->State()["regions"]["westus"]["controlPlaneDown"], false);
}

TEST_F(AdminRoutesTest, FaultsAreAddedListedAndRemoved) {
  auto first = client_->Post("/admin/faults", R"({"kind":"503","route":"get","count":2})", kJson);
  ASSERT_EQ(first->status, 200);
  EXPECT_EQ(Body(first), json({{"id", 1}}));
  EXPECT_EQ(Body(client_->Post("/admin/faults", R"({"kind":"latency"})", kJson)),
            json({{"id", 2}}));
  EXPECT_EQ(client_->Get(FgPath("sql-east", "fog-orders"))->status, 503);

  json listed = Body(client_->Get("/admin/faults"));
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0],
            json({{"id", 1}, {"kind", "503"}, {"route", "get"}, {"count", 2}, {"hits", 1}}));
  EXPECT_EQ(listed[1]["kind"], "latency");

  auto bad = client_->Post("/admin/faults", R"({"kind":"nope"})", kJson);
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(ErrorCode(bad), "INVALID_ARGUMENT");
  EXPECT_EQ(client_->Post("/admin/faults", "", kJson)->status, 400);  // kind missing

  EXPECT_EQ(client_->Delete("/admin/faults/abc")->status, 400);
  ASSERT_EQ(client_->Delete("/admin/faults/1")->status, 200);
  ASSERT_EQ(client_->Delete("/admin/faults/99")->status, 200);  // unknown ids are ignored
  listed = Body(client_->Get("/admin/faults"));
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["id"], 2);
  EXPECT_EQ(client_->Get(FgPath("sql-east", "fog-orders"))->status, 200);

  ASSERT_EQ(client_->Delete("/admin/faults")->status, 200);
  EXPECT_EQ(Body(client_->Get("/admin/faults")), json::array());
  EXPECT_EQ(Body(client_->Post("/admin/faults", R"({"kind":"500"})", kJson))["id"], 3);
}

TEST_F(AdminRoutesTest, RunningOperationsCanBeFailedOnce) {
  ASSERT_EQ(client_->Post(FgPath("sql-west", "fog-orders", "failover"), "", kJson)->status, 202);
  std::string id = sim_->State()["operations"][0]["id"];
  std::string path = "/admin/operations/" + id + "/fail";

  ASSERT_EQ(
      client_->Post(path, R"({"code":"Nope","message":"stop","canceled":true})", kJson)->status,
      200);
  json op = sim_->State()["operations"][0];
  EXPECT_EQ(op["status"], "Canceled");
  EXPECT_EQ(op["error"], json({{"code", "Nope"}, {"message", "stop"}}));

  auto again = client_->Post(path, "", kJson);
  EXPECT_EQ(again->status, 409);
  EXPECT_EQ(ErrorCode(again), "FAILED_PRECONDITION");
  auto unknown = client_->Post("/admin/operations/nope/fail", "", kJson);
  EXPECT_EQ(unknown->status, 404);
  EXPECT_EQ(ErrorCode(unknown), "NOT_FOUND");
}

TEST_F(AdminRoutesTest, FailingAnOperationWithoutABodyUsesDefaults) {
  ASSERT_EQ(client_->Post(FgPath("sql-west", "fog-orders", "failover"), "", kJson)->status, 202);
  std::string id = sim_->State()["operations"][0]["id"];
  ASSERT_EQ(client_->Post("/admin/operations/" + id + "/fail", "", kJson)->status, 200);
  json op = sim_->State()["operations"][0];
  EXPECT_EQ(op["status"], "Failed");
  EXPECT_EQ(op["error"]["code"], "OperationTimedOut");
  EXPECT_EQ(op["error"]["message"], "The operation was failed by the emulator.");
}

TEST_F(AdminRoutesTest, WritesReplicationAndLagOfAGroup) {
  ASSERT_EQ(
      client_->Post("/admin/failoverGroups/fog-orders/writes", R"({"count":5})", kJson)->status,
      200);
  ASSERT_EQ(client_->Post("/admin/failoverGroups/fog-orders/writes", "", kJson)->status, 200);
  EXPECT_EQ(
      client_->Post("/admin/failoverGroups/fog-orders/writes", R"({"count":-1})", kJson)->status,
      400);
  EXPECT_EQ(client_->Post("/admin/failoverGroups/nope/writes", "", kJson)->status, 404);

  auto repl = client_->Get("/admin/failoverGroups/fog-orders/replication");
  ASSERT_EQ(repl->status, 200);
  EXPECT_EQ(Body(repl), json({{"failoverGroup", "fog-orders"},
                              {"primary", "sql-east"},
                              {"secondary", "sql-west"},
                              {"writesTotal", 6},
                              {"writesReplicated", 0},
                              {"writesPending", 6},
                              {"writesLost", 0},
                              {"replicationLagSeconds", 0.0},
                              {"configuredLagSeconds", 2.0}}));
  EXPECT_EQ(client_->Get("/admin/failoverGroups/nope/replication")->status, 404);

  ASSERT_EQ(client_->Put("/admin/failoverGroups/fog-orders/lag", R"({"seconds":3})", kJson)->status,
            200);
  EXPECT_EQ(
      Body(client_->Get("/admin/failoverGroups/fog-orders/replication"))["configuredLagSeconds"],
      3.0);
  ASSERT_EQ(
      client_->Post("/admin/failoverGroups/fog-orders/lag", R"({"seconds":0})", kJson)->status,
      200);
  EXPECT_EQ(Body(client_->Get("/admin/failoverGroups/fog-orders/replication"))["writesPending"], 0);
  EXPECT_EQ(client_->Put("/admin/failoverGroups/fog-orders/lag", "{}", kJson)->status, 400);
  EXPECT_EQ(
      client_->Put("/admin/failoverGroups/fog-orders/lag", R"({"seconds":-1})", kJson)->status,
      400);
  EXPECT_EQ(client_->Put("/admin/failoverGroups/nope/lag", R"({"seconds":1})", kJson)->status, 404);
}

TEST_F(AdminRoutesTest, ConfigChangesSettingsLive) {
  ASSERT_EQ(client_
                ->Put("/admin/config",
                      R"({"operationDurationMs":1234,"retryAfterSeconds":7,"throttling":false,
                          "strictAuth":true})",
                      kJson)
                ->status,
            200);
  EXPECT_EQ(sim_->State()["operationDurationMs"], 1234);
  EXPECT_EQ(client_->Get(FgPath("sql-east", "fog-orders"))->status, 401);
  ASSERT_EQ(client_->Post("/admin/config", R"({"strictAuth":false})", kJson)->status, 200);
  EXPECT_EQ(client_->Get(FgPath("sql-east", "fog-orders"))->status, 200);
  auto accepted = client_->Post(FgPath("sql-west", "fog-orders", "failover"), "", kJson);
  EXPECT_EQ(accepted->get_header_value("Retry-After"), "7");
}

TEST_F(AdminRoutesTest, RequestsAreListedAndFilteredByRoute) {
  client_->Get(FgPath("sql-east", "fog-orders"));
  client_->Post(FgPath("sql-west", "fog-orders", "failover"), "", kJson);
  json all = Body(client_->Get("/admin/requests"));
  ASSERT_EQ(all.size(), 2u);  // the listing itself is logged after it answers
  EXPECT_EQ(all[0]["route"], "get");
  EXPECT_EQ(all[1]["route"], "failover");
  json failovers = Body(client_->Get("/admin/requests?route=failover"));
  ASSERT_EQ(failovers.size(), 1u);
  EXPECT_EQ(failovers[0]["status"], 202);
  EXPECT_EQ(Body(client_->Get("/admin/requests?route=admin")).size(), 2u);
}

TEST_F(AdminRoutesTest, CountersCountAcceptedFailovers) {
  client_->Post(FgPath("sql-west", "fog-orders", "failover"), "", kJson);
  EXPECT_EQ(Body(client_->Get("/admin/counters")),
            json({{"acceptedFailovers", 1},
                  {"acceptedFailoversByGroup", {{"fog-orders", 1}}},
                  {"requestsLogged", 1}}));
}

TEST_F(AdminRoutesTest, EndpointsListTheDataPlane) {
  json endpoints = Body(client_->Get("/admin/endpoints"));
  EXPECT_EQ(endpoints["server:sql-east"], sim_->ServerEndpoint("sql-east"));
  EXPECT_EQ(endpoints["fg:fog-orders:rw"], sim_->ReadWriteListener("fog-orders"));
  EXPECT_EQ(endpoints["fg:fog-orders:ro"], sim_->ReadOnlyListener("fog-orders"));
  EXPECT_EQ(endpoints.size(), 4u);
}

TEST_F(AdminRoutesTest, TokenIsAcceptedByStrictAuth) {
  auto r = client_->Post("/admin/token", "", kJson);
  ASSERT_EQ(r->status, 200);
  std::string token = Body(r)["access_token"];
  EXPECT_THAT(token, StartsWith("armsim."));
  ASSERT_EQ(client_->Put("/admin/config", R"({"strictAuth":true})", kJson)->status, 200);
  httplib::Headers auth = {{"Authorization", "Bearer " + token}};
  EXPECT_EQ(client_->Get(FgPath("sql-east", "fog-orders"), auth)->status, 200);
}

}  // namespace
}  // namespace foghorn::armsim
