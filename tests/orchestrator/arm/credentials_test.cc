#include "orchestrator/arm/credentials.h"

#include <map>

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orchestrator/common/fake_clock.h"
#include "tests/orchestrator/arm/fake_http_transport.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace foghorn::arm {
namespace {

using ::foghorn::testing::IsOk;
using ::foghorn::testing::StatusIs;
using testing::FakeHttpTransport;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::Response;

constexpr char kSecret[] = "s3cr3t-Client~Value";

EnvLookup Env(std::map<std::string, std::string> vars) {
  return [vars](const std::string& k) -> std::optional<std::string> {
    auto it = vars.find(k);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::string TokenBody(const std::string& token, int expires_in) {
  return "{\"token_type\":\"Bearer\",\"expires_in\":" + std::to_string(expires_in) +
         ",\"access_token\":\"" + token + "\"}";
}

TEST(TokenResponseTest, AcceptsNumbersOrStringsForExpiry) {
  absl::Time now = absl::FromUnixSeconds(1000);
  auto t = ParseTokenResponse(R"({"access_token":"a","expires_in":"3599"})", now);
  ASSERT_THAT(t, IsOk());
  EXPECT_EQ(t->expires_on, now + absl::Seconds(3599));
  t = ParseTokenResponse(R"({"access_token":"a","expires_on":"5000"})", now);
  EXPECT_EQ(t->expires_on, absl::FromUnixSeconds(5000));
  t = ParseTokenResponse(R"({"access_token":"a","expires_in":7200,"refresh_in":3600})", now);
  EXPECT_EQ(t->refresh_on, now + absl::Seconds(3600));
  // Found by the fuzzer: a huge float must not overflow the integer conversion.
  t = ParseTokenResponse(R"({"access_token":"a","expires_in":3E59})", now);
  ASSERT_THAT(t, IsOk());
  EXPECT_EQ(t->expires_on, now + absl::Hours(1));
  EXPECT_THAT(ParseTokenResponse(R"({"expires_in":1})", now),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(DefaultCredentialTest, ClientSecretPostsTheFormToTheAuthorityAndRedactsTheSecret) {
  common::FakeClock clock;
  FakeHttpTransport http;
  auto redactor = std::make_shared<common::Redactor>();
  http.ExpectHandler(
      "POST", "https://login.example.com/tenant-1/oauth2/v2.0/token",
      [](const http::HttpRequest& r) {
        EXPECT_THAT(r.body, HasSubstr("grant_type=client_credentials"));
        EXPECT_THAT(r.body, HasSubstr("client_id=app-1"));
        EXPECT_THAT(r.body, HasSubstr("client_secret=s3cr3t-Client~Value"));
        EXPECT_THAT(r.body, HasSubstr("scope=https%3A%2F%2Fmanagement.azure.com%2F.default"));
        return Response(200, TokenBody("tok-AAAA", 3600));
      });
  CredentialOptions o;
  o.redactor = redactor;
  auto cred = MakeDefaultCredential(Env({{"AZURE_TENANT_ID", "tenant-1"},
                                         {"AZURE_CLIENT_ID", "app-1"},
                                         {"AZURE_CLIENT_SECRET", kSecret},
                                         {"AZURE_AUTHORITY_HOST", "https://login.example.com/"}}),
                                    http, clock, o);
  ASSERT_THAT(cred, IsOk());
  EXPECT_EQ((*cred)->name(), "client-secret");
  auto t = (*cred)->GetToken();
  ASSERT_THAT(t, IsOk());
  EXPECT_EQ(t->token, "tok-AAAA");
  EXPECT_EQ(redactor->Redact(std::string("x ") + kSecret + " tok-AAAA"), "x [REDACTED] [REDACTED]");
}

TEST(DefaultCredentialTest, RejectionNamesTheCredentialButNotTheSecret) {
  common::FakeClock clock;
  FakeHttpTransport http;
  http.Expect("POST", "/oauth2/v2.0/token",
              Response(401, std::string(R"({"error":"invalid_client","error_description":"bad )") +
                                kSecret + R"(","trace_id":"tr-1"})"));
  auto cred = MakeDefaultCredential(
      Env({{"AZURE_TENANT_ID", "t"}, {"AZURE_CLIENT_ID", "c"}, {"AZURE_CLIENT_SECRET", kSecret}}),
      http, clock, {});
  ASSERT_THAT(cred, IsOk());
  auto t = (*cred)->GetToken();
  EXPECT_THAT(t, StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("invalid_client")));
  EXPECT_THAT(std::string(t.status().message()), Not(HasSubstr(kSecret)));
  EXPECT_THAT(std::string(t.status().message()), HasSubstr("tr-1"));
}

TEST(DefaultCredentialTest, IdentityProviderOutageIsUnavailable) {
  common::FakeClock clock;
  FakeHttpTransport http;
  http.Expect("POST", "/oauth2/v2.0/token", Response(503, ""));
  auto cred = MakeDefaultCredential(
      Env({{"AZURE_TENANT_ID", "t"}, {"AZURE_CLIENT_ID", "c"}, {"AZURE_CLIENT_SECRET", kSecret}}),
      http, clock, {});
  ASSERT_THAT(cred, IsOk());
  EXPECT_THAT((*cred)->GetToken(), StatusIs(absl::StatusCode::kUnavailable));
}

TEST(DefaultCredentialTest, WorkloadIdentitySendsTheFederatedAssertionFromTheFile) {
  common::FakeClock clock;
  FakeHttpTransport http;
  ::foghorn::testing::TempDir tmp;
  std::string file = tmp.Write("token", "eyJhbGciOi.assertion-body.sig\n");
  http.ExpectHandler("POST", "/tenant-2/oauth2/v2.0/token", [](const http::HttpRequest& r) {
    EXPECT_THAT(r.body, HasSubstr("client_assertion=eyJhbGciOi.assertion-body.sig"));
    EXPECT_THAT(r.body, HasSubstr("client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-"
                                  "assertion-type%3Ajwt-bearer"));
    EXPECT_THAT(r.body, Not(HasSubstr("client_secret")));
    return Response(200, TokenBody("wi-token", 3600));
  });
  auto cred = MakeDefaultCredential(Env({{"AZURE_TENANT_ID", "tenant-2"},
                                         {"AZURE_CLIENT_ID", "c"},
                                         {"AZURE_FEDERATED_TOKEN_FILE", file}}),
                                    http, clock, {});
  ASSERT_THAT(cred, IsOk());
  EXPECT_EQ((*cred)->name(), "workload-identity");
  EXPECT_THAT((*cred)->GetToken(), IsOk());
}

TEST(DefaultCredentialTest, FallsBackToImdsWithoutProxyAndWithMetadataHeader) {
  common::FakeClock clock;
  FakeHttpTransport http;
  http.ExpectHandler("GET", "http://169.254.169.254/metadata/identity/oauth2/token",
                     [](const http::HttpRequest& r) {
                       EXPECT_TRUE(r.bypass_proxy);
                       EXPECT_EQ(r.headers.Find("Metadata"), "true");
                       EXPECT_THAT(r.url, HasSubstr("api-version=2018-02-01"));
                       EXPECT_THAT(r.url,
                                   HasSubstr("resource=https%3A%2F%2Fmanagement.azure.com%2F"));
                       EXPECT_THAT(r.url, HasSubstr("client_id=user-mi"));
                       return Response(200, R"({"access_token":"mi","expires_on":"1767229200"})");
                     });
  auto cred = MakeDefaultCredential(Env({{"AZURE_CLIENT_ID", "user-mi"}}), http, clock, {});
  ASSERT_THAT(cred, IsOk());
  EXPECT_EQ((*cred)->name(), "managed-identity");
  auto t = (*cred)->GetToken();
  ASSERT_THAT(t, IsOk());
  EXPECT_EQ(t->expires_on, absl::FromUnixSeconds(1767229200));
}

TEST(DefaultCredentialTest, UsesTheAppServiceIdentityEndpointWhenPresent) {
  common::FakeClock clock;
  FakeHttpTransport http;
  http.ExpectHandler("GET", "http://127.0.0.1:41000/msi/token", [](const http::HttpRequest& r) {
    EXPECT_EQ(r.headers.Find("X-IDENTITY-HEADER"), "hdr-secret");
    EXPECT_THAT(r.url, HasSubstr("api-version=2019-08-01"));
    return Response(200, TokenBody("as", 3600));
  });
  auto cred = MakeDefaultCredential(Env({{"IDENTITY_ENDPOINT", "http://127.0.0.1:41000/msi/token"},
                                         {"IDENTITY_HEADER", "hdr-secret"}}),
                                    http, clock, {});
  ASSERT_THAT(cred, IsOk());
  EXPECT_THAT((*cred)->GetToken(), IsOk());
}

TEST(DefaultCredentialTest, ExplicitStaticTokenWinsAndIsReReadAfterInvalidate) {
  common::FakeClock clock;
  FakeHttpTransport http;  // no request may be made
  ::foghorn::testing::TempDir tmp;
  std::string file = tmp.Write("t", "first-token");
  auto cred = MakeDefaultCredential(
      Env({{"FOGHORN_ARM_TOKEN_FILE", file}, {"AZURE_CLIENT_SECRET", "x"}}), http, clock, {});
  ASSERT_THAT(cred, IsOk());
  EXPECT_EQ((*cred)->name(), "static");
  EXPECT_EQ((*cred)->GetToken()->token, "first-token");
  tmp.Write("t", "second-token");
  EXPECT_EQ((*cred)->GetToken()->token, "first-token");
  (*cred)->Invalidate();
  EXPECT_EQ((*cred)->GetToken()->token, "second-token");
}

TEST(DefaultCredentialTest, RejectsAPlainHttpAuthorityHost) {
  common::FakeClock clock;
  FakeHttpTransport http;
  EXPECT_THAT(
      MakeDefaultCredential(Env({{"AZURE_AUTHORITY_HOST", "http://login.evil"}}), http, clock, {}),
      StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(StaticTokenCredentialTest, TakesExpiryFromAJwtExpClaim) {
  common::FakeClock clock;
  std::string payload = absl::WebSafeBase64Escape(R"({"exp":1767300000})");
  StaticTokenCredential::Options o;
  o.token = "eyJhbGciOiJub25lIn0." + payload + ".sig";
  StaticTokenCredential c(clock, o, nullptr);
  auto t = c.GetToken();
  ASSERT_THAT(t, IsOk());
  EXPECT_EQ(t->expires_on, absl::FromUnixSeconds(1767300000));
}

class CountingCredential final : public TokenCredential {
 public:
  CountingCredential(const common::Clock& clock, absl::Duration lifetime)
      : clock_(clock), lifetime_(lifetime) {}
  absl::StatusOr<AccessToken> GetToken() override {
    ++calls;
    if (fail) return absl::UnavailableError("idp down");
    return AccessToken{"t" + std::to_string(calls), clock_.Now() + lifetime_, std::nullopt};
  }
  std::string_view name() const override { return "counting"; }
  int calls = 0;
  bool fail = false;

 private:
  const common::Clock& clock_;
  absl::Duration lifetime_;
};

TEST(CachingTokenCredentialTest, RefreshesBeforeExpiry) {
  common::FakeClock clock;
  auto inner = std::make_unique<CountingCredential>(clock, absl::Hours(1));
  CountingCredential* raw = inner.get();
  CachingTokenCredential c(std::move(inner), clock, absl::Minutes(5));
  EXPECT_EQ(c.GetToken()->token, "t1");
  clock.Advance(absl::Minutes(54));
  EXPECT_EQ(c.GetToken()->token, "t1");
  clock.Advance(absl::Minutes(1) + absl::Seconds(1));
  EXPECT_EQ(c.GetToken()->token, "t2");
  EXPECT_EQ(raw->calls, 2);
}

TEST(CachingTokenCredentialTest, RefreshesLongLivedTokensAtHalfLife) {
  common::FakeClock clock;
  auto inner = std::make_unique<CountingCredential>(clock, absl::Hours(24));
  CachingTokenCredential c(std::move(inner), clock, absl::Minutes(5));
  EXPECT_EQ(c.GetToken()->token, "t1");
  clock.Advance(absl::Hours(12) + absl::Seconds(1));
  EXPECT_EQ(c.GetToken()->token, "t2");
}

TEST(CachingTokenCredentialTest, ServesAStillValidTokenWhenRefreshFails) {
  common::FakeClock clock;
  auto inner = std::make_unique<CountingCredential>(clock, absl::Hours(1));
  CountingCredential* raw = inner.get();
  CachingTokenCredential c(std::move(inner), clock, absl::Minutes(5));
  ASSERT_THAT(c.GetToken(), IsOk());
  raw->fail = true;
  clock.Advance(absl::Minutes(57));
  EXPECT_EQ(c.GetToken()->token, "t1");
  clock.Advance(absl::Minutes(4));
  EXPECT_THAT(c.GetToken(), StatusIs(absl::StatusCode::kUnavailable));
}

TEST(CachingTokenCredentialTest, InvalidateForcesAFetch) {
  common::FakeClock clock;
  auto inner = std::make_unique<CountingCredential>(clock, absl::Hours(1));
  CachingTokenCredential c(std::move(inner), clock, absl::Minutes(5));
  EXPECT_EQ(c.GetToken()->token, "t1");
  c.Invalidate();
  EXPECT_EQ(c.GetToken()->token, "t2");
}

TEST(ScopeTest, DerivesScopeAndResourceFromTheEndpoint) {
  EXPECT_EQ(ScopeForEndpoint("https://management.usgovcloudapi.net/"),
            "https://management.usgovcloudapi.net/.default");
  EXPECT_EQ(ResourceForEndpoint("https://management.azure.com"), "https://management.azure.com/");
}

}  // namespace
}  // namespace foghorn::arm
