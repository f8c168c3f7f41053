// How foghorn-armsim maps ARM paths and methods to failover-group routes (MatchArmRoute).
#include "tools/armsim/arm_routes.h"

#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace foghorn::armsim {
namespace {

std::vector<std::string> Split(const std::string& path) {
  return absl::StrSplit(path, '/', absl::SkipEmpty());
}

constexpr char kGroups[] =
    "/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Sql/servers/sql-east/failoverGroups";

TEST(MatchArmRouteTest, MapsEveryFailoverGroupRoute) {
  struct Case {
    std::string method;
    std::string suffix;
    ArmRoute route;
  };
  for (const Case& c : {
           Case{"GET", "", ArmRoute::kList},
           Case{"GET", "/fg1", ArmRoute::kGet},
           Case{"PUT", "/fg1", ArmRoute::kPut},
           Case{"PATCH", "/fg1", ArmRoute::kPatch},
           Case{"DELETE", "/fg1", ArmRoute::kDelete},
           Case{"POST", "/fg1/failover", ArmRoute::kFailover},
           Case{"POST", "/fg1/forceFailoverAllowDataLoss", ArmRoute::kForceFailover},
           Case{"POST", "/fg1/tryPlannedBeforeForcedFailover",
                ArmRoute::kTryPlannedBeforeForcedFailover},
       }) {
    auto r = MatchArmRoute(c.method, Split(kGroups + c.suffix));
    ASSERT_TRUE(r.has_value()) << c.method << " " << c.suffix;
    EXPECT_EQ(r->route, c.route) << c.method << " " << c.suffix;
    EXPECT_EQ(r->subscription, "s1");
    EXPECT_EQ(r->resource_group, "rg1");
    EXPECT_EQ(r->server, "sql-east");
    EXPECT_EQ(r->failover_group, c.suffix.empty() ? "" : "fg1");
  }
}

TEST(MatchArmRouteTest, KeywordsMatchCaseInsensitively) {
  auto r =
      MatchArmRoute("POST", Split("/SUBSCRIPTIONS/s1/resourcegroups/rg1/PROVIDERS/"
                                  "microsoft.sql/Servers/sql-east/FailoverGroups/fg1/FAILOVER"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->route, ArmRoute::kFailover);
  EXPECT_EQ(r->server, "sql-east");
}

TEST(MatchArmRouteTest, MapsStatusUrlsInBothScopes) {
  for (const std::string prefix : {"/subscriptions/s1", "/subscriptions/s1/resourceGroups/rg1"}) {
    auto async = MatchArmRoute("GET", Split(prefix + "/providers/Microsoft.Sql/locations/eastus/"
                                                     "failoverGroupAzureAsyncOperation/op-1"));
    ASSERT_TRUE(async.has_value()) << prefix;
    EXPECT_EQ(async->route, ArmRoute::kAsyncOperation);
    EXPECT_EQ(async->subscription, "s1");
    EXPECT_EQ(async->region, "eastus");
    EXPECT_EQ(async->operation_id, "op-1");
    EXPECT_EQ(async->resource_group, "");
    auto result = MatchArmRoute("GET", Split(prefix + "/providers/Microsoft.Sql/locations/eastus/"
                                                      "failoverGroupOperationResults/op-1"));
    ASSERT_TRUE(result.has_value()) << prefix;
    EXPECT_EQ(result->route, ArmRoute::kOperationResult);
  }
}

TEST(MatchArmRouteTest, RejectsOtherPathsAndMethods) {
  for (auto [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"POST", kGroups},
           {"POST", std::string(kGroups) + "/fg1"},
           {"GET", std::string(kGroups) + "/fg1/failover"},
           {"POST", std::string(kGroups) + "/fg1/reboot"},
           {"GET", std::string(kGroups) + "/fg1/failover/extra"},
           {"GET", "/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Sql/servers/x/dbs"},
           {"POST",
            "/subscriptions/s1/providers/Microsoft.Sql/locations/eastus/"
            "failoverGroupAzureAsyncOperation/op-1"},
           {"GET", "/subscriptions/s1/providers/Microsoft.Sql/locations/eastus/other/op-1"},
           {"GET", "/subscriptions"},
           {"GET",
            "/tenants/s1/resourceGroups/rg1/providers/Microsoft.Sql/servers/x/"
            "failoverGroups"},
       }) {
    EXPECT_FALSE(MatchArmRoute(method, Split(path)).has_value()) << method << " " << path;
  }
}

}  // namespace
}  // namespace foghorn::armsim
