#include "orchestrator/arm/models.h"

#include <filesystem>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace foghorn::arm {
namespace {

using ::foghorn::testing::IsOk;
using ::foghorn::testing::StatusIs;

std::string Example(const std::string& name) {
  return ::foghorn::testing::ReadFileOrDie(::foghorn::testing::FixturesDir() +
                                           "/arm/examples-2025-01-01/" + name);
}

TEST(ModelsTest, ParsesTheGetExampleFromTheSpec) {
  auto doc = nlohmann::json::parse(Example("FailoverGroupGet.json"));
  auto g = ParseFailoverGroup(doc["responses"]["200"]["body"].dump());
  ASSERT_THAT(g, IsOk());
  EXPECT_EQ(g->name, "failovergrouptest3");
  EXPECT_EQ(g->location, "Japan West");
  EXPECT_EQ(g->replication_role, ReplicationRole::kPrimary);
  EXPECT_EQ(g->replication_state, "CATCH_UP");
  ASSERT_EQ(g->partner_servers.size(), 1u);
  EXPECT_EQ(g->partner_servers[0].replication_role, ReplicationRole::kSecondary);
  ASSERT_TRUE(g->read_write_endpoint.has_value());
  EXPECT_EQ(g->read_write_endpoint->failover_policy, "Automatic");
  EXPECT_EQ(g->read_write_endpoint->failover_with_data_loss_grace_period_minutes, 120);
  EXPECT_EQ(g->databases.size(), 2u);
}

TEST(ModelsTest, ParsesEveryResponseBodyOfEveryReferenceExample) {
  const std::string dir = ::foghorn::testing::FixturesDir() + "/arm/examples-2025-01-01";
  int bodies = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    auto doc = nlohmann::json::parse(::foghorn::testing::ReadFileOrDie(entry.path().string()));
    for (const auto& [code, resp] : doc["responses"].items()) {
      if (!resp.contains("body")) continue;
      const auto& body = resp["body"];
      if (body.contains("value")) {
        EXPECT_THAT(ParseFailoverGroupPage(body.dump()), IsOk()) << entry.path();
      } else {
        EXPECT_THAT(ParseFailoverGroup(body.dump()), IsOk()) << entry.path() << " " << code;
      }
      ++bodies;
    }
  }
  EXPECT_GE(bodies, 10);
}

TEST(ModelsTest, ToleratesUnknownFieldsAndRoleCase) {
  auto g = ParseFailoverGroup(
      R"({"id":"x","newTopLevel":{"a":1},"properties":{"replicationRole":"secondary",
          "futureField":[1,2],"partnerServers":[{"id":"p","extra":true}]}})");
  ASSERT_THAT(g, IsOk());
  EXPECT_EQ(g->replication_role, ReplicationRole::kSecondary);
  EXPECT_EQ(g->partner_servers.size(), 1u);
}

TEST(ModelsTest, RejectsBodiesThatAreNotGroups) {
  EXPECT_THAT(ParseFailoverGroup("<html>"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseFailoverGroup("[1]"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseFailoverGroup(R"({"id":"x"})"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseFailoverGroupPage(R"({"value":5})"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ModelsTest, PutBodyCarriesOnlyWritableFields) {
  FailoverGroup g;
  g.id = "/should/not/appear";
  g.location = "East US";
  g.replication_role = ReplicationRole::kPrimary;
  g.read_write_endpoint = ReadWriteEndpoint{"Automatic", 480};
  g.read_only_endpoint = ReadOnlyEndpoint{"Disabled", ""};
  g.partner_servers.push_back(
      {"/subscriptions/s/.../servers/b", "West US", ReplicationRole::kSecondary});
  g.databases = {"db1"};
  auto j = nlohmann::json::parse(FailoverGroupToPutJson(g));
  EXPECT_FALSE(j.contains("id"));
  EXPECT_FALSE(j.contains("location"));
  EXPECT_FALSE(j["properties"].contains("replicationRole"));
  EXPECT_EQ(j["properties"]["readWriteEndpoint"]["failoverWithDataLossGracePeriodMinutes"], 480);
  EXPECT_EQ(j["properties"]["partnerServers"][0],
            nlohmann::json({{"id", g.partner_servers[0].id}}));
  EXPECT_FALSE(j["properties"]["partnerServers"][0].contains("location"));
}

TEST(ModelsTest, PatchBodyCarriesOnlyPresentFields) {
  FailoverGroupUpdate u;
  u.read_write_endpoint = ReadWriteEndpoint{"Manual", std::nullopt};
  auto j = nlohmann::json::parse(FailoverGroupUpdateToJson(u));
  EXPECT_EQ(j["properties"].size(), 1u);
  EXPECT_FALSE(
      j["properties"]["readWriteEndpoint"].contains("failoverWithDataLossGracePeriodMinutes"));
}

TEST(ModelsTest, ParsesOperationStatusesCaseInsensitively) {
  auto s = ParseOperationStatus(R"({"name":"n","status":"InProgress","startTime":"t"})");
  ASSERT_THAT(s, IsOk());
  EXPECT_EQ(s->state, OperationState::kInProgress);
  s = ParseOperationStatus(
      R"({"status":"failed","error":{"code":"PlannedFailoverTimedOut","message":"m"}})");
  ASSERT_THAT(s, IsOk());
  EXPECT_EQ(s->state, OperationState::kFailed);
  EXPECT_EQ(s->error->code, "PlannedFailoverTimedOut");
  EXPECT_EQ(ParseOperationStatus(R"({"status":"Canceled"})")->state, OperationState::kCanceled);
  EXPECT_EQ(ParseOperationStatus(R"({"status":"Succeeded"})")->state, OperationState::kSucceeded);
  EXPECT_THAT(ParseOperationStatus(R"({"name":"n"})"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ModelsTest, ParsesArmErrorBodiesAndIgnoresOtherText) {
  auto e = ParseArmError(R"({"error":{"code":"FailoverGroupBusy","message":"busy"}})");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code, "FailoverGroupBusy");
  EXPECT_FALSE(ParseArmError("Bad Gateway").has_value());
  EXPECT_FALSE(ParseArmError("").has_value());
}

}  // namespace
}  // namespace foghorn::arm
