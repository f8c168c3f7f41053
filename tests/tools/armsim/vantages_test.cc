// Vantages and partitions in foghorn-armsim: each vantage has its own data-plane listeners and
// SQL health path; a partition cuts one vantage off from a region (refuse or black hole) while
// the other vantage and the shared endpoints still answer; a region outage still reaches all.
#include "tools/armsim/vantages.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orchestrator/common/fake_clock.h"
#include "orchestrator/common/host_port.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/tools/armsim/armsim_test_client.h"
#include "tools/armsim/armsim_server.h"
#include "tools/armsim/scenario.h"
#include "tools/armsim/topology.h"

namespace foghorn::armsim {
namespace {

using ::foghorn::armsim::testing::Body;
using ::foghorn::armsim::testing::ErrorCode;
using ::foghorn::armsim::testing::FgPath;
using ::foghorn::armsim::testing::NewClient;
using ::foghorn::testing::IsOk;
using ::foghorn::testing::StatusIs;
using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kEu[] = "eu-probe";
constexpr char kUs[] = "us-probe";
constexpr char kJson[] = "application/json";

// Connects to "127.0.0.1:<port>"; the fd, or -1 if the connection is refused.
int Connect(const std::string& endpoint) {
  absl::StatusOr<common::HostPort> address = common::ParseHostPort(endpoint);
  if (!address.ok()) return -1;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(address->port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Reads one line, waiting at most `wait` for each byte; "" if nothing (more) arrives in time or
// the peer closed.
std::string ReadLine(int fd, absl::Duration wait = absl::Seconds(5)) {
  std::string line;
  while (true) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(wait))) != 1) return line;
    char c;
    if (recv(fd, &c, 1, 0) != 1 || c == '\n') return line;
    line.push_back(c);
  }
}

// Whether the peer closed or reset the connection (recv gives 0 or an error without waiting).
bool PeerClosed(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, 5000) != 1) return false;
  char c;
  return recv(fd, &c, 1, MSG_DONTWAIT) <= 0;
}

// The greeting of an endpoint (its first line as JSON), or null if it refuses or stays silent.
json Greeting(const std::string& endpoint, absl::Duration wait = absl::Seconds(5)) {
  int fd = Connect(endpoint);
  if (fd < 0) return nullptr;
  std::string line = ReadLine(fd, wait);
  close(fd);
  json j = json::parse(line, nullptr, false);
  return j.is_discarded() ? json(nullptr) : j;
}

class VantagesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ArmSimOptions o;
    o.topology_path = foghorn::testing::SourceDir() + "/tools/armsim/examples/topology.json";
    o.cert_dir = dir_.path();
    o.operation_duration = absl::Seconds(10);
    o.clock = &clock_;
    o.threads = 4;
    o.vantages = {kEu, kUs};
    o.blackhole_timeout = absl::Milliseconds(300);
    auto sim = ArmSimServer::Start(o);
    ASSERT_THAT(sim.status(), IsOk());
    sim_ = *std::move(sim);
    client_ = NewClient(*sim_);
  }

  std::string LinksPath(const std::string& vantage, const std::string& server) {
    return absl::StrCat("/vantages/", vantage, "/sql/servers/", server, "/replicationLinks");
  }

  foghorn::testing::TempDir dir_;
  common::FakeClock clock_;
  std::unique_ptr<ArmSimServer> sim_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(VantagesTest, EachVantageHasItsOwnEndpoints) {
  EXPECT_THAT(sim_->Vantages(), ElementsAre(kEu, kUs));
  std::map<std::string, std::string> shared = sim_->Endpoints();
  std::map<std::string, std::string> eu = sim_->Endpoints(kEu);
  std::map<std::string, std::string> us = sim_->Endpoints(kUs);
  ASSERT_EQ(eu.size(), shared.size());
  ASSERT_EQ(us.size(), shared.size());
  for (const auto& [name, address] : shared) {
    EXPECT_NE(eu[name], address) << name;
    EXPECT_NE(us[name], address) << name;
    EXPECT_NE(eu[name], us[name]) << name;
  }
  json greeting = Greeting(sim_->ServerEndpoint("sql-east", kEu));
  EXPECT_EQ(greeting["server"], "sql-east");
  EXPECT_EQ(greeting["vantage"], kEu);
  EXPECT_TRUE(sim_->Endpoints("nowhere").empty());
}

TEST_F(VantagesTest, RefusePartitionCutsOnlyThatVantageFromTheRegion) {
  ASSERT_THAT(sim_->Partition(kEu, "eastus", OutageMode::kRefuse), IsOk());
  EXPECT_EQ(Connect(sim_->ServerEndpoint("sql-east", kEu)), -1);
  EXPECT_EQ(Connect(sim_->ReadWriteListener("fog-orders", kEu)), -1);  // primary in eastus
  EXPECT_EQ(Greeting(sim_->ServerEndpoint("sql-west", kEu))["server"], "sql-west");
  EXPECT_EQ(Greeting(sim_->ServerEndpoint("sql-east", kUs))["server"], "sql-east");
  EXPECT_EQ(Greeting(sim_->ServerEndpoint("sql-east"))["server"], "sql-east");
  EXPECT_EQ(client_->Get(LinksPath(kEu, "sql-east"))->status, 503);
  EXPECT_EQ(client_->Get(LinksPath(kEu, "sql-west"))->status, 200);
  EXPECT_EQ(client_->Get(LinksPath(kUs, "sql-east"))->status, 200);
  EXPECT_EQ(client_->Get("/sql/servers/sql-east/replicationLinks")->status, 200);
  // The management plane is not partitioned.
  EXPECT_EQ(client_->Get(FgPath("sql-east", "fog-orders"))->status, 200);

  ASSERT_THAT(sim_->Heal(kEu, "eastus"), IsOk());
  EXPECT_EQ(Greeting(sim_->ServerEndpoint("sql-east", kEu))["server"], "sql-east");
  EXPECT_EQ(client_->Get(LinksPath(kEu, "sql-east"))->status, 200);
}

TEST_F(VantagesTest, RefusePartitionResetsOpenConnectionsOfThatVantageOnly) {
  int eu = Connect(sim_->ServerEndpoint("sql-east", kEu));
  int us = Connect(sim_->ServerEndpoint("sql-east", kUs));
  ASSERT_GE(eu, 0);
  ASSERT_GE(us, 0);
  ReadLine(eu);
  ReadLine(us);
  ASSERT_THAT(sim_->Partition(kEu, "eastus"), IsOk());
  EXPECT_TRUE(PeerClosed(eu));
  ASSERT_EQ(send(us, "PING\n", 5, MSG_NOSIGNAL), 5);
  EXPECT_EQ(ReadLine(us), "PONG");
  close(eu);
  close(us);
}

TEST_F(VantagesTest, BlackholePartitionAcceptsButNeverAnswersThenHeals) {
  int held = Connect(sim_->ServerEndpoint("sql-east", kEu));
  ASSERT_GE(held, 0);
  ReadLine(held);
  ASSERT_THAT(sim_->Partition(kEu, "eastus", OutageMode::kBlackhole), IsOk());

  // New connections are accepted and never answered; the open one goes silent.
  int fd = Connect(sim_->ServerEndpoint("sql-east", kEu));
  ASSERT_GE(fd, 0);
  ASSERT_EQ(send(fd, "PING\n", 5, MSG_NOSIGNAL), 5);
  EXPECT_EQ(ReadLine(fd, absl::Milliseconds(300)), "");
  ASSERT_EQ(send(held, "PING\n", 5, MSG_NOSIGNAL), 5);
  EXPECT_EQ(ReadLine(held, absl::Milliseconds(300)), "");
  // The other vantage still gets answers.
  EXPECT_EQ(Greeting(sim_->ServerEndpoint("sql-east", kUs))["role"], "Primary");
  // The SQL health route is held, then dropped without an answer.
  EXPECT_FALSE(client_->Get(LinksPath(kEu, "sql-east")));
  EXPECT_EQ(client_->Get(LinksPath(kUs, "sql-east"))->status, 200);

  ASSERT_THAT(sim_->Heal(kEu), IsOk());
  // Black-holed connections are closed when the partition heals; new ones are served.
  EXPECT_TRUE(PeerClosed(fd));
  EXPECT_TRUE(PeerClosed(held));
  close(fd);
  close(held);
  EXPECT_EQ(Greeting(sim_->ServerEndpoint("sql-east", kEu))["server"], "sql-east");
}

TEST_F(VantagesTest, RegionOutageStillReachesEveryVantage) {
  sim_->SetRegionDown("eastus", {.control_plane = false, .data_plane = true});
  EXPECT_EQ(Connect(sim_->ServerEndpoint("sql-east", kEu)), -1);
  EXPECT_EQ(Connect(sim_->ServerEndpoint("sql-east", kUs)), -1);
  EXPECT_EQ(Connect(sim_->ServerEndpoint("sql-east")), -1);
  EXPECT_EQ(client_->Get(LinksPath(kUs, "sql-east"))->status, 503);
  sim_->SetRegionUp("eastus");
  EXPECT_EQ(Greeting(sim_->ServerEndpoint("sql-east", kUs))["server"], "sql-east");
}

TEST_F(VantagesTest, PartitionIsFromARegionSoListenersFollowTheRoles) {
  ASSERT_THAT(sim_->Partition(kEu, "East US"), IsOk());  // display names are normalised
  EXPECT_EQ(Connect(sim_->ReadWriteListener("fog-orders", kEu)), -1);
  // A partition is not an outage: a planned failover succeeds, and the read-write listener
  // moves to westus, which eu-probe reaches.
  ASSERT_EQ(client_->Post(FgPath("sql-west", "fog-orders", "failover"), "", kJson)->status, 202);
  clock_.Advance(absl::Seconds(10));
  sim_->emulator().StateJson();   // completes the due operation
  sim_->Heal(kUs).IgnoreError();  // any change reconciles the listeners now
  EXPECT_EQ(Greeting(sim_->ReadWriteListener("fog-orders", kEu))["server"], "sql-west");
  EXPECT_EQ(Connect(sim_->ReadOnlyListener("fog-orders", kEu)), -1);  // sql-east, secondary now
}

TEST_F(VantagesTest, UnknownVantagesAreNotFound) {
  EXPECT_THAT(sim_->Partition("nowhere", "eastus"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(sim_->Heal("nowhere"), StatusIs(absl::StatusCode::kNotFound));
  auto r = client_->Get(LinksPath("nowhere", "sql-east"));
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(ErrorCode(r), "VantageNotFound");
}

TEST_F(VantagesTest, AdminApiListsVantagesAndCutsAndHealsPartitions) {
  json vantages = Body(client_->Get("/admin/vantages"));
  ASSERT_EQ(vantages["vantages"].size(), 2u);
  EXPECT_EQ(vantages["vantages"][0]["name"], kEu);
  EXPECT_EQ(vantages["vantages"][0]["sqlBaseUrl"], sim_->VantageBaseUrl(kEu));
  EXPECT_TRUE(vantages["partitions"].empty());

  json endpoints = Body(client_->Get("/admin/vantages/us-probe/endpoints"));
  EXPECT_EQ(endpoints["server:sql-east"], sim_->ServerEndpoint("sql-east", kUs));
  EXPECT_EQ(endpoints["fg:fog-orders:rw"], sim_->ReadWriteListener("fog-orders", kUs));
  EXPECT_EQ(client_->Get("/admin/vantages/nowhere/endpoints")->status, 404);

  auto cut = client_->Post("/admin/partitions",
                           R"({"vantage":"us-probe","region":"eastus","mode":"refuse"})", kJson);
  ASSERT_EQ(cut->status, 200) << cut->body;
  EXPECT_EQ(Connect(sim_->ServerEndpoint("sql-east", kUs)), -1);
  EXPECT_EQ(Greeting(sim_->ServerEndpoint("sql-east", kEu))["server"], "sql-east");
  EXPECT_EQ(Body(client_->Get("/admin/partitions")),
            json::parse(R"([{"vantage":"us-probe","region":"eastus","mode":"refuse"}])"));

  EXPECT_EQ(client_
                ->Post("/admin/partitions", R"({"vantage":"us-probe","region":"eastus",
                          "mode":"sideways"})",
                       kJson)
                ->status,
            400);
  EXPECT_EQ(client_->Post("/admin/partitions", R"({"vantage":"us-probe"})", kJson)->status, 400);
  EXPECT_EQ(client_->Post("/admin/partitions", R"({"vantage":"nowhere","region":"eastus"})", kJson)
                ->status,
            404);

  ASSERT_EQ(client_->Delete("/admin/partitions", R"({"vantage":"us-probe"})", kJson)->status, 200);
  EXPECT_EQ(Greeting(sim_->ServerEndpoint("sql-east", kUs))["server"], "sql-east");
  EXPECT_TRUE(Body(client_->Get("/admin/partitions")).empty());
}

TEST_F(VantagesTest, ScenarioStepsPartitionAndHeal) {
  auto steps = ParseScenario(R"({"steps":[
      {"atMs":0,"action":"partition","vantage":"eu-probe","region":"westus","mode":"refuse"},
      {"atMs":10,"action":"heal","vantage":"eu-probe","region":"westus"}]})");
  ASSERT_THAT(steps.status(), IsOk());
  ASSERT_EQ(steps->size(), 2u);
  ASSERT_THAT(ApplyScenarioStep(*sim_, (*steps)[0]), IsOk());
  EXPECT_EQ(Connect(sim_->ServerEndpoint("sql-west", kEu)), -1);
  EXPECT_EQ(Greeting(sim_->ServerEndpoint("sql-west", kUs))["server"], "sql-west");
  ASSERT_THAT(ApplyScenarioStep(*sim_, (*steps)[1]), IsOk());
  EXPECT_EQ(Greeting(sim_->ServerEndpoint("sql-west", kEu))["server"], "sql-west");

  auto unknown = ParseScenario(R"({"steps":[{"action":"partition","vantage":"x","region":"y"}]})");
  ASSERT_THAT(unknown.status(), IsOk());
  EXPECT_THAT(ApplyScenarioStep(*sim_, (*unknown)[0]), StatusIs(absl::StatusCode::kNotFound));
}

TEST(VantageScenarioTest, RejectsBadPartitionStepsNamingTheStep) {
  EXPECT_THAT(ParseScenario(R"({"steps":[{"action":"partition","region":"eastus"}]})"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("steps[0]")));
  EXPECT_THAT(ParseScenario(R"({"steps":[{"action":"partition","vantage":"a","region":"b",
                                "mode":"loud"}]})"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("partition.mode")));
  EXPECT_THAT(ParseScenario(R"({"steps":[{"action":"heal","vantage":7}]})"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("steps[0].vantage")));
}

TEST(VantageScenarioTest, ParsesThePartitionExampleScenario) {
  auto steps = ParseScenario(foghorn::testing::ReadFileOrDie(
      foghorn::testing::SourceDir() + "/tools/armsim/examples/partition-scenario.json"));
  ASSERT_THAT(steps.status(), IsOk());
  ASSERT_EQ(steps->size(), 5u);
  EXPECT_EQ((*steps)[1].action, "partition");
  EXPECT_EQ((*steps)[2].action, "heal");
}

TEST(VantageTopologyTest, ReadsVantagesAndRejectsBadOrDuplicateNames) {
  constexpr char kServers[] = R"("subscriptions":[{"id":"s","resourceGroups":[{"name":"rg",
      "servers":[{"name":"a","location":"eastus"}]}]}])";
  auto topo = ParseTopology(absl::StrCat("{", kServers, R"(,"vantages":["eu-probe","us-probe"]})"));
  ASSERT_THAT(topo.status(), IsOk());
  EXPECT_THAT(topo->vantages, ElementsAre("eu-probe", "us-probe"));
  EXPECT_THAT(ParseTopology(absl::StrCat("{", kServers, R"(,"vantages":["a","a"]})")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("vantages[1]")));
  EXPECT_THAT(ParseTopology(absl::StrCat("{", kServers, R"(,"vantages":["a/b"]})")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("vantages[0]")));
  EXPECT_THAT(ParseTopology(absl::StrCat("{", kServers, R"(,"vantages":"a"})")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("vantages")));
}

TEST(VantageStartTest, RejectsDuplicateVantageOptions) {
  ArmSimOptions o;
  o.topology_json = R"({"subscriptions":[],"vantages":["eu-probe"]})";
  o.tls = false;
  o.data_plane = false;
  o.vantages = {"eu-probe"};
  EXPECT_THAT(ArmSimServer::Start(o).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("duplicate vantage")));
  o.vantages = {""};
  EXPECT_THAT(ArmSimServer::Start(o).status(), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(VantageMapTest, HealsByVantageByRegionOrAll) {
  VantageMap map({"a", "b"});
  ASSERT_THAT(map.Cut({"a", "eastus", OutageMode::kRefuse}), IsOk());
  ASSERT_THAT(map.Cut({"a", "westus", OutageMode::kBlackhole}), IsOk());
  ASSERT_THAT(map.Cut({"b", "eastus", OutageMode::kRefuse}), IsOk());
  EXPECT_EQ(map.CutMode("a", "westus"), OutageMode::kBlackhole);
  EXPECT_EQ(map.CutMode("", "eastus"), std::nullopt);  // the shared endpoints are never cut
  ASSERT_THAT(map.Heal("", "eastus"), IsOk());
  EXPECT_EQ(map.CutMode("a", "eastus"), std::nullopt);
  EXPECT_EQ(map.CutMode("b", "eastus"), std::nullopt);
  EXPECT_EQ(map.CutMode("a", "westus"), OutageMode::kBlackhole);
  ASSERT_THAT(map.Heal("", ""), IsOk());
  EXPECT_TRUE(map.PartitionsJson().empty());
  EXPECT_THAT(map.Cut({"a", "", OutageMode::kRefuse}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace foghorn::armsim
