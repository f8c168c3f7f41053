// Replays the 10 x-ms-examples of FailoverGroups 2025-01-01 against the emulator: each request
// must be answered with a status code the example lists, and the final body must equal the
// example's 200 body (ignoring the top-level id and name, which some examples get wrong).
#include <fstream>
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
using ::foghorn::armsim::testing::NewClient;
using ::foghorn::armsim::testing::PathOf;
using ::foghorn::testing::IsOk;
using nlohmann::json;

std::string LastSegment(const std::string& id) { return id.substr(id.rfind('/') + 1); }

json FgSeed(const json& body, const std::string& primary, const std::string& partner) {
  const json& p = body["properties"];
  json seed = {{"name", body["name"]}, {"primaryServer", primary}, {"partnerServer", partner}};
  seed["readWriteEndpoint"] = p["readWriteEndpoint"];
  seed["readOnlyEndpoint"] = {{"failoverPolicy", p["readOnlyEndpoint"]["failoverPolicy"]}};
  json dbs = json::array();
  for (const auto& d : p["databases"]) dbs.push_back(LastSegment(d));
  seed["databases"] = dbs;
  return seed;
}

json StripIds(json body) {
  body.erase("id");
  body.erase("name");
  return body;
}

class SwaggerExampleTest : public ::testing::TestWithParam<std::string> {
 protected:
  json Load() {
    std::string path =
        foghorn::testing::FixturesDir() + "/arm/examples-2025-01-01/" + GetParam() + ".json";
    return json::parse(foghorn::testing::ReadFileOrDie(path));
  }

  foghorn::testing::TempDir dir_;
  common::FakeClock clock_;
};

TEST_P(SwaggerExampleTest, ReplaysWithMatchingStatusAndBody) {
  const std::string name = GetParam();
  json ex = Load();
  const json& params = ex["parameters"];
  const json& responses = ex["responses"];
  std::string sub = params["subscriptionId"], rg = params["resourceGroupName"];
  std::string server = params["serverName"];
  std::string fg = params.value("failoverGroupName", "");
  bool is_failover = name == "FailoverGroupFailover" ||
                     name == "FailoverGroupForceFailoverAllowDataLoss" ||
                     name == "FailoverGroupTryPlannedBeforeForcedFailover";
  bool is_create = name.find("CreateOrUpdate") != std::string::npos;
  bool is_update = name.find("Update") != std::string::npos && !is_create;

  // The world before the request, read off the example's answer.
  json expected = responses.contains("200") && responses["200"].contains("body")
                      ? responses["200"]["body"]
                      : json();
  json sample = name == "FailoverGroupList" ? expected["value"][0] : expected;
  std::string here_location = sample.is_null() ? "Japan East" : sample["location"];
  std::string partner = sample.is_null()
                            ? "failover-group-secondary-server"
                            : LastSegment(sample["properties"]["partnerServers"][0]["id"]);
  std::string partner_location =
      sample.is_null() ? "Japan West" : sample["properties"]["partnerServers"][0]["location"];
  std::vector<std::string> dbs = {"testdb-1", "testdb-2", "testdb1", "testdb2"};
  json topo = {
      {"subscriptions",
       {{{"id", sub},
         {"resourceGroups",
          {{{"name", rg},
            {"servers",
             {{{"name", server}, {"location", here_location}, {"databases", dbs}},
              {{"name", partner}, {"location", partner_location}, {"databases", dbs}}}}}}}}}},
      {"failoverGroups", json::array()}};
  if (name == "FailoverGroupList") {
    for (const auto& v : expected["value"]) {
      topo["failoverGroups"].push_back(FgSeed(v, server, partner));
    }
  } else if (is_failover) {
    topo["failoverGroups"].push_back(FgSeed(expected, partner, server));
  } else if (is_update) {
    json seed = FgSeed(expected, server, partner);
    seed["name"] = fg;
    seed["readWriteEndpoint"]["failoverWithDataLossGracePeriodMinutes"] = 480;
    seed["databases"] = {"testdb-1", "testdb-2"};
    topo["failoverGroups"].push_back(seed);
  } else if (name == "FailoverGroupDelete") {
    topo["failoverGroups"].push_back(
        {{"name", fg}, {"primaryServer", server}, {"partnerServer", partner}});
  } else if (!is_create) {
    topo["failoverGroups"].push_back(FgSeed(expected, server, partner));
  }

  ArmSimOptions o;
  o.topology_json = topo.dump();
  o.cert_dir = dir_.path();
  o.clock = &clock_;
  o.threads = 2;
  o.data_plane = false;
  auto sim = ArmSimServer::Start(o);
  ASSERT_THAT(sim.status(), IsOk());
  auto client = NewClient(**sim);

  std::string path = absl::StrCat("/subscriptions/", sub, "/resourceGroups/", rg,
                                  "/providers/Microsoft.Sql/servers/", server, "/failoverGroups");
  if (!fg.empty()) absl::StrAppend(&path, "/", fg);
  std::string api = absl::StrCat("?api-version=", params["api-version"].get<std::string>());
  std::string body = params.contains("parameters") ? params["parameters"].dump() : "";
  auto send = [&]() -> httplib::Result {
    if (name == "FailoverGroupGet" || name == "FailoverGroupList") return client->Get(path + api);
    if (is_create) return client->Put(path + api, body, "application/json");
    if (is_update) return client->Patch(path + api, body, "application/json");
    if (name == "FailoverGroupDelete") return client->Delete(path + api);
    std::string action = name == "FailoverGroupFailover" ? "failover"
                         : name == "FailoverGroupForceFailoverAllowDataLoss"
                             ? "forceFailoverAllowDataLoss"
                             : "tryPlannedBeforeForcedFailover";
    return client->Post(path + "/" + action + api, "", "application/json");
  };
  httplib::Result r = send();
  ASSERT_TRUE(r);
  ASSERT_TRUE(responses.contains(std::to_string(r->status)))
      << "status " << r->status << " not in the example: " << r->body;

  json actual;
  if (r->status == 202) {
    std::string location = r->get_header_value("Location");
    ASSERT_FALSE(location.empty());
    EXPECT_THAT(location, ::testing::HasSubstr("/failoverGroupOperationResults/"));
    clock_.Advance(absl::Seconds(5));
    auto final_result = client->Get(PathOf(location));
    ASSERT_TRUE(final_result);
    ASSERT_TRUE(responses.contains(std::to_string(final_result->status)))
        << final_result->status << " " << final_result->body;
    if (is_create || is_update) {
      actual = Body(client->Get(path + api));  // what the SDK poller's final GET sees
    } else {
      actual = final_result->body.empty() ? json() : Body(final_result);
    }
  } else {
    actual = Body(r);
  }
  if (expected.is_null()) {
    EXPECT_TRUE(actual.is_null()) << actual.dump();
    return;
  }
  if (name == "FailoverGroupList") {
    ASSERT_EQ(actual["value"].size(), expected["value"].size());
    for (size_t i = 0; i < expected["value"].size(); ++i) {
      EXPECT_EQ(StripIds(actual["value"][i]), StripIds(expected["value"][i]));
    }
  } else {
    EXPECT_EQ(StripIds(actual), StripIds(expected)) << "actual:   " << actual.dump(2);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Examples, SwaggerExampleTest,
    ::testing::Values("FailoverGroupCreateOrUpdate", "FailoverGroupCreateOrUpdateStandbySecondary",
                      "FailoverGroupDelete", "FailoverGroupFailover",
                      "FailoverGroupForceFailoverAllowDataLoss", "FailoverGroupGet",
                      "FailoverGroupList", "FailoverGroupTryPlannedBeforeForcedFailover",
                      "FailoverGroupUpdate", "FailoverGroupUpdateStandbySecondary"),
    [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace foghorn::armsim
