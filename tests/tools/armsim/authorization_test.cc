// foghorn-armsim's Microsoft.Authorization permissions read, the admin knob that narrows a
// server's grant (issue 16: "a readiness regression, the permission removed in the emulator")
// and its enforcement on failover-group requests; also the admin knob that forces a group's
// replication-link state. Over HTTPS on 127.0.0.1, the emulator on a FakeClock.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orchestrator/common/fake_clock.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/tools/armsim/armsim_test_client.h"
#include "tools/armsim/armsim_server.h"
#include "tools/armsim/permissions.h"

namespace foghorn::armsim {
namespace {

using ::foghorn::armsim::testing::Body;
using ::foghorn::armsim::testing::ErrorCode;
using ::foghorn::armsim::testing::FgPath;
using ::foghorn::armsim::testing::kRg;
using ::foghorn::armsim::testing::kSub;
using ::foghorn::armsim::testing::NewClient;
using ::foghorn::testing::IsOk;
using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kForceAction[] =
    "Microsoft.Sql/servers/failoverGroups/forceFailoverAllowDataLoss/action";

std::string ServerId(const std::string& server) {
  return absl::StrCat("/subscriptions/", kSub, "/resourceGroups/", kRg,
                      "/providers/Microsoft.Sql/servers/", server);
}

class AuthorizationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ArmSimOptions o;
    o.topology_path = foghorn::testing::SourceDir() + "/tools/armsim/examples/topology.json";
    o.cert_dir = dir_.path();
    o.operation_duration = absl::Seconds(10);
    o.clock = &clock_;
    o.threads = 4;
    o.data_plane = false;
    auto sim = ArmSimServer::Start(o);
    ASSERT_THAT(sim.status(), IsOk());
    sim_ = *std::move(sim);
    client_ = NewClient(*sim_);
  }

  httplib::Result Permissions(const std::string& scope, const std::string& api = "2022-04-01") {
    return client_->Get(absl::StrCat(scope, "/providers/Microsoft.Authorization/permissions",
                                     api.empty() ? "" : "?api-version=", api));
  }

  int Admin(const std::string& method, const std::string& path, const json& body) {
    auto r = method == "PUT" ? client_->Put(path, body.dump(), "application/json")
                             : client_->Post(path, body.dump(), "application/json");
    return r ? r->status : 0;
  }

  json LinkState(const std::string& server) {
    auto r = client_->Get(ServerId(server) +
                          "/databases/orders/replicationLinks?api-version=2023-08-01");
    EXPECT_TRUE(r);
    return Body(r)["value"][0]["properties"]["replicationState"];
  }

  foghorn::testing::TempDir dir_;
  common::FakeClock clock_;
  std::unique_ptr<ArmSimServer> sim_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(AuthorizationTest, PermissionsAllowEverythingByDefaultInAzuresShape) {
  auto r = Permissions(ServerId("sql-west"));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_FALSE(r->get_header_value("x-ms-ratelimit-remaining-subscription-reads").empty());
  json value = Body(r)["value"];
  ASSERT_EQ(value.size(), 1u);
  EXPECT_EQ(value[0]["actions"], json::array({"*"}));
  EXPECT_EQ(value[0]["notActions"], json::array());
  EXPECT_EQ(value[0]["dataActions"], json::array());
  EXPECT_EQ(value[0]["notDataActions"], json::array());
  // A scope below the server reads the server's grant.
  auto below = Permissions(ServerId("sql-west") + "/failoverGroups/fog-orders");
  ASSERT_TRUE(below);
  EXPECT_EQ(below->status, 200);
  EXPECT_EQ(Body(below)["value"], value);
}

TEST_F(AuthorizationTest, PermissionsReadChecksApiVersionAndServer) {
  auto missing = Permissions(ServerId("sql-west"), "");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 400);
  EXPECT_EQ(ErrorCode(missing), "MissingApiVersionParameter");
  auto bad = Permissions(ServerId("sql-west"), "2099-01-01");
  ASSERT_TRUE(bad);
  EXPECT_EQ(ErrorCode(bad), "InvalidApiVersionParameter");
  auto unknown = Permissions(ServerId("sql-nowhere"));
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  EXPECT_EQ(ErrorCode(unknown), "ResourceNotFound");
}

TEST_F(AuthorizationTest, RemovingTheFailoverActionShowsInTheReadAndDeniesTheFailover) {
  ASSERT_EQ(Admin("PUT", "/admin/permissions",
                  {{"server", "sql-west"}, {"notActions", json::array({kFailoverAction})}}),
            200);
  json entry = Body(Permissions(ServerId("sql-west")))["value"][0];
  EXPECT_EQ(entry["actions"], json::array({"*"}));
  EXPECT_EQ(entry["notActions"], json::array({kFailoverAction}));
  // The other server keeps everything.
  EXPECT_EQ(Body(Permissions(ServerId("sql-east")))["value"][0]["notActions"], json::array());

  auto denied = client_->Post(FgPath("sql-west", "fog-orders", "failover"), "", "application/json");
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->status, 403);
  EXPECT_EQ(ErrorCode(denied), "AuthorizationFailed");
  EXPECT_THAT(Body(denied)["error"]["message"].get<std::string>(), HasSubstr(kFailoverAction));
  EXPECT_EQ(sim_->AcceptedFailovers(), 0);
  // Reads are still allowed.
  auto get = client_->Get(FgPath("sql-west", "fog-orders"));
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 200);

  // Restored: the read shows everything again and the failover is accepted.
  ASSERT_EQ(Admin("PUT", "/admin/permissions", {{"server", "sql-west"}}), 200);
  EXPECT_EQ(Body(Permissions(ServerId("sql-west")))["value"][0]["notActions"], json::array());
  auto accepted =
      client_->Post(FgPath("sql-west", "fog-orders", "failover"), "", "application/json");
  ASSERT_TRUE(accepted);
  EXPECT_EQ(accepted->status, 202) << accepted->body;
}

TEST_F(AuthorizationTest, AnExplicitActionListReplacesTheWildcard) {
  ASSERT_EQ(Admin("PUT", "/admin/permissions",
                  {{"server", "sql-west"},
                   {"actions", json::array({"Microsoft.Sql/servers/failoverGroups/read",
                                            "microsoft.sql/servers/failovergroups/*/action"})}}),
            200);
  auto forced = client_->Post(FgPath("sql-west", "fog-orders", "forceFailoverAllowDataLoss"), "",
                              "application/json");
  ASSERT_TRUE(forced);
  EXPECT_EQ(forced->status, 202) << forced->body;  // wildcards match, case-insensitively
  json put = {{"properties", {{"readWriteEndpoint", {{"failoverPolicy", "Manual"}}}}}};
  auto write = client_->Patch(FgPath("sql-west", "fog-orders"), put.dump(), "application/json");
  ASSERT_TRUE(write);
  EXPECT_EQ(write->status, 403);
  EXPECT_THAT(Body(write)["error"]["message"].get<std::string>(),
              HasSubstr("Microsoft.Sql/servers/failoverGroups/write"));
  auto listed = client_->Get("/admin/permissions");
  ASSERT_TRUE(listed);
  EXPECT_TRUE(Body(listed).contains("sql-west"));
}

TEST_F(AuthorizationTest, AdminPermissionsRejectsBadBodies) {
  EXPECT_EQ(Admin("PUT", "/admin/permissions", {{"notActions", json::array()}}), 400);
  EXPECT_EQ(Admin("PUT", "/admin/permissions", {{"server", "sql-west"}, {"notActions", "x"}}), 400);
  EXPECT_EQ(Admin("PUT", "/admin/permissions",
                  {{"server", "sql-nowhere"}, {"notActions", json::array()}}),
            404);
}

TEST_F(AuthorizationTest, PermissionStoreMatchesArmWildcards) {
  PermissionStore store;
  EXPECT_TRUE(store.Allows("sql-west", kFailoverAction));
  store.Set("SQL-WEST", PermissionGrant{{"Microsoft.Sql/*"}, {"*/failover/action"}});
  EXPECT_FALSE(store.Allows("sql-west", kFailoverAction));
  EXPECT_TRUE(store.Allows("sql-west", kForceAction));
  EXPECT_FALSE(store.Allows("sql-west", "Microsoft.Web/sites/read"));
  store.Set("sql-west", std::nullopt);
  EXPECT_TRUE(store.Allows("sql-west", kFailoverAction));
  EXPECT_TRUE(ActionMatches("a*b*c", "aXXbYYc"));
  EXPECT_FALSE(ActionMatches("a*b*c", "aXXbYY"));
}

TEST_F(AuthorizationTest, TheLinkStateKnobForcesSuspendedOnBothSidesUntilCleared) {
  EXPECT_EQ(LinkState("sql-west"), "CATCH_UP");
  ASSERT_EQ(Admin("PUT", "/admin/failoverGroups/fog-orders/linkState", {{"state", "SUSPENDED"}}),
            200);
  EXPECT_EQ(LinkState("sql-west"), "SUSPENDED");
  EXPECT_EQ(LinkState("sql-east"), "SUSPENDED");
  ASSERT_EQ(Admin("PUT", "/admin/failoverGroups/fog-orders/linkState", {{"state", nullptr}}), 200);
  EXPECT_EQ(LinkState("sql-west"), "CATCH_UP");
  EXPECT_EQ(Admin("PUT", "/admin/failoverGroups/fog-orders/linkState", {{"state", "BROKEN"}}), 400);
  EXPECT_EQ(Admin("PUT", "/admin/failoverGroups/fog-nowhere/linkState", {{"state", "SUSPENDED"}}),
            404);
}

}  // namespace
}  // namespace foghorn::armsim
