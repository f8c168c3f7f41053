#include "orchestrator/agent/agent_config.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace foghorn::agent {
namespace {

using ::foghorn::testing::IsOk;
using ::foghorn::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(AgentConfigTest, FillsDefaultsAndResolvesPathsAgainstTheConfigDir) {
  auto c = ParseAgentConfig(
      "agent.yaml", "state_dir: state\nrunbooks: [rb, /abs/x.yaml]\narm: {ca_file: ca.pem}\n",
      "/etc/foghorn");
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->state_dir(), "/etc/foghorn/state");
  EXPECT_THAT(c->runbooks(), ElementsAre("/etc/foghorn/rb", "/abs/x.yaml"));
  EXPECT_EQ(c->arm().ca_file(), "/etc/foghorn/ca.pem");
  EXPECT_EQ(c->api().listen(), kDefaultApiListen);
  EXPECT_EQ(c->metrics().listen(), kDefaultMetricsListen);
  EXPECT_EQ(c->arm().endpoint(), "https://management.azure.com");
  EXPECT_EQ(c->log().level(), "info");
  EXPECT_DOUBLE_EQ(c->impairment_fraction(), 0.8);
}

TEST(AgentConfigTest, EveryProblemNamesFileLineAndField) {
  auto c = ParseAgentConfig("agent.yaml",
                            "state_dir: s\n"
                            "runbooks: [r]\n"
                            "log: {level: loud}\n"
                            "api:\n"
                            "  listen: nowhere\n"
                            "  tokens:\n"
                            "    - {name: ops, role: operator}\n"
                            "impairment_fraction: 2\n",
                            "/x");
  ASSERT_THAT(c, StatusIs(absl::StatusCode::kInvalidArgument));
  const std::string m(c.status().message());
  EXPECT_THAT(m, AllOf(HasSubstr("agent.yaml:3:"), HasSubstr("log.level"), HasSubstr("loud")));
  EXPECT_THAT(m, AllOf(HasSubstr("agent.yaml:5:"), HasSubstr("api.listen")));
  EXPECT_THAT(m, HasSubstr("api.tokens[0]: set exactly one of token_file and token_env"));
  EXPECT_THAT(m, AllOf(HasSubstr("agent.yaml:8:"), HasSubstr("impairment_fraction")));
}

TEST(AgentConfigTest, RequiresAStateDirAndRunbooksAndRefusesPlainHttpArmOffLoopback) {
  auto c = ParseAgentConfig("a.yaml", "arm: {endpoint: http://arm.example}\n", "/x");
  ASSERT_THAT(c, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(c.status().message()),
              AllOf(HasSubstr("state_dir: required"), HasSubstr("runbooks"),
                    HasSubstr("arm.endpoint: must be https")));
}

TEST(AgentConfigTest, ExpandsRunbookDirectoriesToTheirYamlFilesInOrder) {
  foghorn::testing::TempDir dir;
  dir.Write("rb/b.yaml", "x");
  dir.Write("rb/a.yml", "x");
  dir.Write("rb/notes.txt", "x");
  dir.Write("one.yaml", "x");
  v1::AgentConfig c;
  c.add_runbooks(dir.File("rb"));
  c.add_runbooks(dir.File("one.yaml"));
  auto files = RunbookFiles(c);
  ASSERT_THAT(files, IsOk());
  EXPECT_THAT(*files,
              ElementsAre(dir.File("rb/a.yml"), dir.File("rb/b.yaml"), dir.File("one.yaml")));
  c.add_runbooks(dir.File("missing"));
  EXPECT_THAT(RunbookFiles(c), StatusIs(absl::StatusCode::kNotFound));
}

TEST(AgentConfigTest, SplitsListenAddresses) {
  std::string host;
  int port = 0;
  ASSERT_THAT(SplitListen("127.0.0.1:7443", &host, &port), IsOk());
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 7443);
  ASSERT_THAT(SplitListen("[::1]:0", &host, &port), IsOk());
  EXPECT_EQ(host, "::1");
  EXPECT_THAT(SplitListen("7443", &host, &port), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(SplitListen("h:99999", &host, &port), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace foghorn::agent
