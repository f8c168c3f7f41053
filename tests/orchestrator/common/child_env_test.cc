#include "orchestrator/common/child_env.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace foghorn::common {
namespace {

using ::testing::UnorderedElementsAre;

TEST(ChildEnvironmentTest, PassesTheAllowListTheNamedAndTheSetVariablesOnly) {
  const char* parent[] = {"PATH=/usr/bin",
                          "HOME=/var/lib/foghorn",
                          "AZURE_CLIENT_SECRET=s3cr3t",
                          "IDENTITY_HEADER=h",
                          "https_proxy=http://user:pw@proxy:3128",
                          "FOGHORN_API_TOKEN_FILE=/etc/foghorn/token",
                          "SITE=eu",
                          "OTHER=x",
                          "MODE=parent",
                          nullptr};
  auto env = ChildEnvironment(const_cast<char**>(parent), {"SITE", "AZURE_CLIENT_SECRET"},
                              {{"MODE", "runbook"}});
  EXPECT_THAT(env, UnorderedElementsAre("PATH=/usr/bin", "HOME=/var/lib/foghorn", "SITE=eu",
                                        "MODE=runbook"));
}

TEST(ChildEnvironmentTest, KnowsTheAgentsCredentialVariables) {
  for (const char* name :
       {"AZURE_CLIENT_SECRET", "FOGHORN_ARM_TOKEN", "FOGHORN_ARM_TOKEN_FILE", "IDENTITY_HEADER",
        "MSI_SECRET", "FOGHORN_API_TOKENS", "HTTPS_PROXY", "http_proxy", "FOGHORN_TOKEN_FILE"}) {
    EXPECT_TRUE(IsAgentSecretEnv(name)) << name;
  }
  for (const char* name : {"PATH", "SITE", "AZURE_SUBSCRIPTION_ID", "FOGHORN_GROUP"}) {
    EXPECT_FALSE(IsAgentSecretEnv(name)) << name;
  }
}

}  // namespace
}  // namespace foghorn::common
