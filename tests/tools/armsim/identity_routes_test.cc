// The emulated Entra ID of foghorn-armsim over HTTPS: the client-credentials token endpoint (v1
// and v2 paths), its OpenID configuration and the IMDS managed-identity endpoint, with the OAuth
// errors real clients see.
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
using ::foghorn::armsim::testing::FgPath;
using ::foghorn::armsim::testing::NewClient;
using ::foghorn::testing::IsOk;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kTenant[] = "11111111-2222-3333-4444-555555555555";
constexpr char kForm[] = "application/x-www-form-urlencoded";
constexpr char kImds[] =
    "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://"
    "management.azure.com/";

class IdentityRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ArmSimOptions o;
    o.topology_path = foghorn::testing::SourceDir() + "/tools/armsim/examples/topology.json";
    o.cert_dir = dir_.path();
    o.clock = &clock_;
    o.threads = 4;
    o.strict_auth = true;
    o.token_lifetime = absl::Minutes(10);
    auto sim = ArmSimServer::Start(o);
    ASSERT_THAT(sim.status(), IsOk());
    sim_ = *std::move(sim);
    client_ = NewClient(*sim_);
  }

  httplib::Result Token(const std::string& form, const std::string& version = "/v2.0") {
    return client_->Post(std::string("/") + kTenant + "/oauth2" + version + "/token", form, kForm);
  }

  foghorn::testing::TempDir dir_;
  common::FakeClock clock_;
  std::unique_ptr<ArmSimServer> sim_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(IdentityRoutesTest, ClientCredentialsOnBothPathsIssueBearerTokens) {
  for (const char* version : {"/v2.0", ""}) {
    auto r = Token("grant_type=client_credentials&client_id=foghorn&client_secret=armsim-secret",
                   version);
    ASSERT_EQ(r->status, 200) << version;
    json j = Body(r);
    EXPECT_EQ(j["token_type"], "Bearer");
    EXPECT_EQ(j["expires_in"], 600);
    EXPECT_EQ(j["ext_expires_in"], 600);
    EXPECT_THAT(j["access_token"].get<std::string>(), StartsWith("armsim."));
  }
}

TEST_F(IdentityRoutesTest, AClientAssertionReplacesTheSecret) {
  auto r = Token("grant_type=client_credentials&client_id=foghorn&client_assertion=eyJ.x.y");
  ASSERT_EQ(r->status, 200);
  httplib::Headers auth = {
      {"Authorization", "Bearer " + Body(r)["access_token"].get<std::string>()}};
  EXPECT_EQ(client_->Get(FgPath("sql-east", "fog-orders"), auth)->status, 200);
}

TEST_F(IdentityRoutesTest, BadTokenRequestsGetOAuthErrors) {
  struct Case {
    std::string form;
    int status;
    std::string error;
  };
  for (const Case& c : {
           Case{"grant_type=password&client_id=foghorn&client_secret=armsim-secret", 400,
                "unsupported_grant_type"},
           Case{"grant_type=client_credentials&client_secret=armsim-secret", 400,
                "invalid_request"},
           Case{"grant_type=client_credentials&client_id=foghorn", 401, "invalid_client"},
           Case{"grant_type=client_credentials&client_id=stranger&client_secret=armsim-secret", 401,
                "invalid_client"},
           Case{"grant_type=client_credentials&client_id=foghorn&client_secret=wrong", 401,
                "invalid_client"},
       }) {
    auto r = Token(c.form);
    EXPECT_EQ(r->status, c.status) << c.form;
    EXPECT_EQ(Body(r)["error"], c.error) << c.form;
    EXPECT_EQ(Body(r)["error_codes"], json::array()) << c.form;
  }
}

TEST_F(IdentityRoutesTest, TheTokenEndpointOnlyTakesPost) {
  auto r = client_->Get(std::string("/") + kTenant + "/oauth2/v2.0/token");
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(Body(r)["error"], "invalid_request");
}

TEST_F(IdentityRoutesTest, OpenIdConfigurationPointsAtTheTokenEndpoint) {
  auto r = client_->Get(std::string("/") + kTenant + "/v2.0/.well-known/openid-configuration");
  ASSERT_EQ(r->status, 200);
  json j = Body(r);
  EXPECT_EQ(j["token_endpoint"], sim_->base_url() + "/" + kTenant + "/oauth2/v2.0/token");
  EXPECT_EQ(j["issuer"], std::string("https://login.microsoftonline.com/") + kTenant + "/v2.0");
  EXPECT_EQ(j["token_endpoint_auth_methods_supported"],
            json::array({"client_secret_post", "private_key_jwt"}));
}

TEST_F(IdentityRoutesTest, ManagedIdentityTokensLookLikeImds) {
  auto no_resource = client_->Get("/metadata/identity/oauth2/token?api-version=2018-02-01",
                                  {{"Metadata", "true"}});
  EXPECT_EQ(no_resource->status, 400);
  EXPECT_THAT(Body(no_resource)["error_description"].get<std::string>(), HasSubstr("audience"));

  auto r = client_->Get(kImds, {{"Metadata", "true"}});
  ASSERT_EQ(r->status, 200);
  json j = Body(r);
  int64_t now = absl::ToUnixSeconds(clock_.Now());
  EXPECT_EQ(j["expires_in"], "600");
  EXPECT_EQ(j["expires_on"], std::to_string(now + 600));
  EXPECT_EQ(j["not_before"], std::to_string(now));
  EXPECT_EQ(j["token_type"], "Bearer");
  EXPECT_EQ(j["refresh_token"], "");
  EXPECT_EQ(client_->Post(kImds, "", kForm)->status, 404);  // IMDS is GET only
}

TEST_F(IdentityRoutesTest, TokensExpireAfterTheirLifetime) {
  std::string token = sim_->IssueToken();
  httplib::Headers auth = {{"Authorization", "Bearer " + token}};
  clock_.Advance(absl::Minutes(9));
  EXPECT_EQ(client_->Get(FgPath("sql-east", "fog-orders"), auth)->status, 200);
  clock_.Advance(absl::Minutes(2));
  auto expired = client_->Get(FgPath("sql-east", "fog-orders"), auth);
  EXPECT_EQ(expired->status, 401);
  EXPECT_THAT(expired->get_header_value("WWW-Authenticate"), StartsWith("Bearer "));
}

TEST_F(IdentityRoutesTest, ImdsFaultsAnswerWithOAuthErrors) {
  FaultSpec f;
  f.kind = FaultSpec::Kind::kHttp503;
  f.route = "imds";
  f.count = 1;
  sim_->AddFault(f);
  auto r = client_->Get(kImds, {{"Metadata", "true"}});
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(Body(r)["error"], "temporarily_unavailable");
  EXPECT_EQ(client_->Get(kImds, {{"Metadata", "true"}})->status, 200);
  EXPECT_EQ(sim_->RequestLog()[0].fault, "503");
  EXPECT_EQ(sim_->RequestLog()[0].route, "imds");
}

}  // namespace
}  // namespace foghorn::armsim
