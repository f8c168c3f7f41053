#include "tools/armsim/scenario.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orchestrator/common/fake_clock.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tools/armsim/topology.h"

namespace foghorn::armsim {
namespace {

using ::foghorn::testing::IsOk;
using ::foghorn::testing::StatusIs;
using ::testing::HasSubstr;

TEST(ScenarioTest, ParsesTheExampleScenarioSortedByTime) {
  auto steps = ParseScenario(foghorn::testing::ReadFileOrDie(
      foghorn::testing::SourceDir() + "/tools/armsim/examples/scenario.json"));
  ASSERT_THAT(steps.status(), IsOk());
  ASSERT_EQ(steps->size(), 4u);
  EXPECT_EQ((*steps)[2].action, "regionDown");
  EXPECT_EQ((*steps)[3].at, absl::Seconds(60));
}

TEST(ScenarioTest, RejectsUnknownActionsAndBadFaultsNamingTheStep) {
  EXPECT_THAT(ParseScenario(R"({"steps":[{"action":"explode"}]})"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("steps[0].action")));
  EXPECT_THAT(ParseScenario(R"({"steps":[{"action":"fault","fault":{"kind":"418"}}]})"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("steps[0]")));
  EXPECT_THAT(ParseScenario("not json"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ScenarioTest, AppliesStepsToARunningEmulator) {
  foghorn::testing::TempDir dir;
  ArmSimOptions o;
  o.topology_path = foghorn::testing::SourceDir() + "/tools/armsim/examples/topology.json";
  o.tls = false;
  o.data_plane = false;
  auto sim = ArmSimServer::Start(o);
  ASSERT_THAT(sim.status(), IsOk());
  auto steps = ParseScenario(R"({"steps":[
      {"action":"writes","failoverGroup":"fog-orders","count":5},
      {"action":"regionDown","region":"eastus","dataPlane":false,"mode":"blackhole"}]})");
  ASSERT_THAT(steps.status(), IsOk());
  for (const auto& s : *steps) ASSERT_THAT(ApplyScenarioStep(**sim, s), IsOk());
  EXPECT_EQ((*sim)->Replication("fog-orders")->writes_total, 5);
  auto down = (*sim)->emulator().RegionDown("eastus");
  ASSERT_TRUE(down.has_value());
  EXPECT_FALSE(down->data_plane);
  EXPECT_EQ(down->mode, OutageMode::kBlackhole);
}

TEST(ScenarioTest, AMicrosoftFailoverStepStartsASystemOperation) {
  EXPECT_THAT(ParseScenario(R"({"steps":[{"action":"microsoftFailover"}]})"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("steps[0].failoverGroup")));
  common::FakeClock clock;
  ArmSimOptions o;
  o.topology_path = foghorn::testing::SourceDir() + "/tools/armsim/examples/topology.json";
  o.tls = false;
  o.data_plane = false;
  o.clock = &clock;
  o.operation_duration = absl::Seconds(5);
  auto sim = ArmSimServer::Start(o);
  ASSERT_THAT(sim.status(), IsOk());
  auto steps = ParseScenario(R"({"steps":[
      {"action":"microsoftFailover","failoverGroup":"fog-orders","caller":"Azure"}]})");
  ASSERT_THAT(steps.status(), IsOk());
  ASSERT_THAT(ApplyScenarioStep(**sim, (*steps)[0]), IsOk());
  clock.Advance(absl::Seconds(5));
  EXPECT_EQ((*sim)->Replication("fog-orders")->primary, "sql-west");
  ActivityQuery q;
  q.subscription = "00000000-1111-2222-3333-444444444444";
  nlohmann::json events = (*sim)->emulator().ActivityLog(q)["value"];
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0]["caller"], "Azure");
}

TEST(TopologyTest, RejectsBadTopologiesNamingTheField) {
  EXPECT_THAT(ParseTopology("{}"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("subscriptions")));
  EXPECT_THAT(ParseTopology(R"({"subscriptions":[{"id":"s","resourceGroups":[{"name":"rg",
        "servers":[{"name":"a"}]}]}]})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("subscriptions[0].resourceGroups[0].servers[0].location")));
  EXPECT_THAT(
      ParseTopology(R"({"subscriptions":[{"id":"s","resourceGroups":[{"name":"rg",
        "servers":[{"name":"a","location":"eastus"}]}]}],
        "failoverGroups":[{"name":"f","primaryServer":"a","partnerServer":"zz"}]})"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("failoverGroups[0].partnerServer")));
}

TEST(TopologyTest, NormalisesRegionNames) {
  EXPECT_EQ(RegionKey("East US 2"), "eastus2");
  EXPECT_EQ(RegionDisplayName("japanwest"), "Japan West");
  EXPECT_EQ(RegionDisplayName("Mars Central"), "Mars Central");
}

}  // namespace
}  // namespace foghorn::armsim
