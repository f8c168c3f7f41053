#include "orchestrator/agent/agent_config.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdio>
#include <map>
#include <memory>
#include <optional>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orchestrator/agent/config_check.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tools/armsim/certificate.h"

namespace foghorn::agent {
namespace {

using ::foghorn::testing::IsOk;
using ::foghorn::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

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

TEST(AgentConfigTest, ParsesTheArmEndpointInsteadOfMatchingAPrefix) {
  auto endpoint_error = [](const std::string& url) {
    auto c = ParseAgentConfig(
        "a.yaml", "state_dir: s\nrunbooks: [r.yaml]\narm: {endpoint: \"" + url + "\"}\n", "/x");
    return c.ok() ? std::string() : std::string(c.status().message());
  };
  for (const char* bad : {"http://127.0.0.1.evil.example", "http://localhost:8443",
                          "http://127.0.0.1@evil.example", "https://user:pw@management.azure.com",
                          "ftp://x", "https://", "http://10.0.0.1:80", "https://h:99999"}) {
    EXPECT_THAT(endpoint_error(bad), HasSubstr("arm.endpoint")) << bad;
  }
  for (const char* good : {"https://management.azure.com", "https://management.azure.com/",
                           "http://127.0.0.1:8443", "http://[::1]:8443", "https://[::1]:1"}) {
    EXPECT_EQ(endpoint_error(good), "") << good;
  }
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

TEST(AgentConfigTest, JournalRetentionDefaultsToTheJournalsPolicy) {
  auto c = ParseAgentConfig("agent.yaml", "state_dir: s\nrunbooks: [r]\n", "/x");
  ASSERT_THAT(c, IsOk());
  const journal::RetentionPolicy r = JournalRetention(*c);
  EXPECT_EQ(r.audit_max_age, absl::Hours(24 * 365));
  EXPECT_EQ(r.audit_max_rows, 1'000'000);
  EXPECT_EQ(r.decisions_max_age, absl::Hours(24 * 90));
  EXPECT_EQ(r.decisions_max_rows_per_group, 10'000);
  // The defaults are filled into the config too, as the other defaults are.
  EXPECT_EQ(c->journal().retention().audit_max_rows(), 1'000'000);
  EXPECT_EQ(c->journal().retention().decisions_max_age().seconds(), 90 * 24 * 3600);
  // A config built in code, never parsed, gets the same.
  EXPECT_EQ(JournalRetention(v1::AgentConfig()).audit_max_age, absl::Hours(24 * 365));
}

TEST(AgentConfigTest, JournalRetentionTakesWhatIsWrittenAndZeroMeansUnlimited) {
  auto c = ParseAgentConfig("agent.yaml",
                            "state_dir: s\n"
                            "runbooks: [r]\n"
                            "journal:\n"
                            "  retention:\n"
                            "    audit_max_age: 30d\n"
                            "    audit_max_rows: 0\n"
                            "    decisions_max_age: 0\n"
                            "    decisions_max_rows_per_group: 500\n",
                            "/x");
  ASSERT_THAT(c, IsOk());
  const journal::RetentionPolicy r = JournalRetention(*c);
  EXPECT_EQ(r.audit_max_age, absl::Hours(24 * 30));
  EXPECT_EQ(r.audit_max_rows, 0);
  EXPECT_EQ(r.decisions_max_age, absl::ZeroDuration());
  EXPECT_EQ(r.decisions_max_rows_per_group, 500);
}

TEST(AgentConfigTest, RefusesNegativeJournalRetentionNamingFileLineAndField) {
  auto c = ParseAgentConfig("agent.yaml",
                            "state_dir: s\n"
                            "runbooks: [r]\n"
                            "journal:\n"
                            "  retention:\n"
                            "    audit_max_rows: -1\n"
                            "    decisions_max_age: -5m\n"
                            "    decisions_max_rows_per_group: -10\n",
                            "/x");
  ASSERT_THAT(c, StatusIs(absl::StatusCode::kInvalidArgument));
  const std::string m(c.status().message());
  EXPECT_THAT(m, AllOf(HasSubstr("agent.yaml:5:"), HasSubstr("journal.retention.audit_max_rows"),
                       HasSubstr("must not be negative")));
  EXPECT_THAT(m,
              AllOf(HasSubstr("agent.yaml:6:"), HasSubstr("journal.retention.decisions_max_age")));
  EXPECT_THAT(m, AllOf(HasSubstr("agent.yaml:7:"),
                       HasSubstr("journal.retention.decisions_max_rows_per_group")));
}

// ---- CheckAgentConfig: what --check and start-up refuse before anything starts ----

constexpr char kToken[] = "s3cret-token-value-0123456789";

// A config written into a temp dir with TLS material, token files and a state dir beside it.
class ConfigCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pki = armsim::GenerateCertificates(dir_.path(), "client");
    ASSERT_THAT(pki, IsOk());
    pki_ = *pki;
    dir_.Write("oncall.token", std::string(kToken) + "\n");
    dir_.Write("other.token", "another-token-value-0123456789\n");
    dir_.Write("rb/x.yaml", "x");
  }

  // Parses `yaml` (after the required fields) as the config "agent.yaml" in the temp dir.
  v1::AgentConfig Config(const std::string& yaml) {
    auto c =
        ParseAgentConfig("agent.yaml", "state_dir: state\nrunbooks: [rb]\n" + yaml, dir_.path());
    EXPECT_THAT(c, IsOk());
    return c.ok() ? *c : v1::AgentConfig{};
  }

  absl::Status Check(const v1::AgentConfig& config) {
    return CheckAgentConfig("agent.yaml", config, [this](const std::string& name) {
      auto it = env_.find(name);
      return it == env_.end() ? std::nullopt : std::optional<std::string>(it->second);
    });
  }

  std::string Message(const v1::AgentConfig& config) {
    return std::string(Check(config).message());
  }

  foghorn::testing::TempDir dir_;
  armsim::CertificatePaths pki_;
  std::map<std::string, std::string> env_;
};

TEST_F(ConfigCheckTest, AcceptsTheDefaultLoopbackConfig) { EXPECT_THAT(Check(Config("")), IsOk()); }

TEST_F(ConfigCheckTest, RefusesANonLoopbackApiWithoutTlsAndTokens) {
  absl::Status s = Check(Config("api: {listen: \"0.0.0.0:7443\"}\n"));
  ASSERT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(s.message()),
              AllOf(HasSubstr("agent.yaml: api.listen: 0.0.0.0:7443 is not a loopback address"),
                    HasSubstr("missing: tls and tokens")));
}

TEST_F(ConfigCheckTest, RefusesANonLoopbackApiWithTlsButNoToken) {
  EXPECT_THAT(Message(Config("api:\n"
                             "  listen: \"10.1.2.3:7443\"\n"
                             "  tls: {cert_file: cert.pem, key_file: key.pem}\n")),
              HasSubstr("missing: tokens"));
}

TEST_F(ConfigCheckTest, AcceptsANonLoopbackApiWithReadableTlsAndTokens) {
  env_["FOGHORN_VIEWER_TOKEN"] = "viewer-token-value-0123456789";
  EXPECT_THAT(
      Check(Config("api:\n"
                   "  listen: \"[::]:7443\"\n"
                   "  tls: {cert_file: cert.pem, key_file: key.pem, client_ca_file: ca.pem}\n"
                   "  tokens:\n"
                   "    - {name: oncall, role: approver, token_file: oncall.token}\n"
                   "    - {name: dash, role: viewer, token_env: FOGHORN_VIEWER_TOKEN}\n")),
      IsOk());
}

TEST_F(ConfigCheckTest, RefusesTlsFilesThatAreMissingOrNotPem) {
  dir_.Write("garbage.pem", "not a pem file\n");
  const std::string m =
      Message(Config("api:\n"
                     "  tls: {cert_file: missing.pem, key_file: garbage.pem,\n"
                     "        client_ca_file: oncall.token}\n"));
  EXPECT_THAT(m, HasSubstr("api.tls.cert_file: cannot read " + dir_.File("missing.pem")));
  EXPECT_THAT(m, HasSubstr("api.tls.key_file: " + dir_.File("garbage.pem") +
                           " holds no unencrypted PEM private key"));
  EXPECT_THAT(m, HasSubstr("api.tls.client_ca_file: " + dir_.File("oncall.token") +
                           " holds no PEM certificate"));
  EXPECT_THAT(m, Not(HasSubstr(kToken)));
}

TEST_F(ConfigCheckTest, RefusesHalfATlsPair) {
  EXPECT_THAT(Message(Config("api: {tls: {cert_file: cert.pem}}\n")),
              HasSubstr("api.tls.key_file: needed with cert_file"));
  EXPECT_THAT(Message(Config("api: {tls: {client_ca_file: ca.pem}}\n")),
              HasSubstr("api.tls.client_ca_file: needs cert_file and key_file"));
}

TEST_F(ConfigCheckTest, RefusesAKeyThatDoesNotMatchTheCertificate) {
  EXPECT_THAT(
      Message(Config("api: {tls: {cert_file: cert.pem, key_file: client-key.pem}}\n")),
      HasSubstr("api.tls.key_file: " + pki_.client_key + " does not match the certificate"));
}

TEST_F(ConfigCheckTest, RefusesAnEncryptedKeyTheAgentCouldNotUseUnattended) {
  // Re-write the server key encrypted with a passphrase.
  std::unique_ptr<FILE, int (*)(FILE*)> in(std::fopen(pki_.key.c_str(), "r"), &std::fclose);
  ASSERT_NE(in, nullptr);
  std::unique_ptr<EVP_PKEY, void (*)(EVP_PKEY*)> key(
      PEM_read_PrivateKey(in.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
  ASSERT_NE(key, nullptr);
  const std::string encrypted = dir_.File("encrypted-key.pem");
  std::unique_ptr<FILE, int (*)(FILE*)> out(std::fopen(encrypted.c_str(), "w"), &std::fclose);
  ASSERT_NE(out, nullptr);
  char pass[] = "passphrase";
  ASSERT_EQ(
      PEM_write_PrivateKey(out.get(), key.get(), EVP_aes_256_cbc(), nullptr, 0, nullptr, pass), 1);
  out.reset();
  EXPECT_THAT(
      Message(Config("api: {tls: {cert_file: cert.pem, key_file: encrypted-key.pem}}\n")),
      HasSubstr("api.tls.key_file: " + encrypted + " holds no unencrypted PEM private key"));
}

TEST_F(ConfigCheckTest, RefusesApiTokensWhoseValueCannotBeHadOrIsWeakOrShared) {
  dir_.Write("short.token", "short\n");
  dir_.Write("copy.token", std::string(kToken));
  const std::string m =
      Message(Config("api:\n"
                     "  tokens:\n"
                     "    - {name: a, role: viewer, token_file: missing.token}\n"
                     "    - {name: b, role: viewer, token_env: UNSET_TOKEN}\n"
                     "    - {name: c, role: viewer, token_file: short.token}\n"
                     "    - {name: d, role: viewer, token_file: oncall.token}\n"
                     "    - {name: e, role: viewer, token_file: copy.token}\n"
                     "    - {name: d, role: viewer, token_file: other.token}\n"));
  EXPECT_THAT(m, HasSubstr("api.tokens[0].token_file: cannot read " + dir_.File("missing.token")));
  EXPECT_THAT(m, HasSubstr("api.tokens[1].token_env: environment variable UNSET_TOKEN is not set"));
  EXPECT_THAT(m, HasSubstr("api.tokens[2]: the token's value must be at least 16 characters"));
  EXPECT_THAT(m, HasSubstr("api.tokens[4]: has the same value as token \"d\""));
  EXPECT_THAT(m, HasSubstr("api.tokens[5].name: \"d\" is used by another token"));
  EXPECT_THAT(m, Not(HasSubstr(kToken)));
  EXPECT_THAT(m, Not(HasSubstr("short\n")));
}

TEST_F(ConfigCheckTest, RefusesMetricsThatAreMalformedOrTakeTheApiPort) {
  // Malformed: refused as the config is parsed, by the parser every listen address goes through.
  EXPECT_THAT(
      ParseAgentConfig("agent.yaml",
                       "state_dir: state\nrunbooks: [rb]\nmetrics: {listen: \"[::1:9464\"}\n",
                       dir_.path()),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("metrics.listen: \"[::1:9464\" has an unclosed [ipv6]")));
  EXPECT_THAT(Message(Config("api: {listen: \"127.0.0.1:7443\"}\n"
                             "metrics: {listen: \"0.0.0.0:7443\"}\n")),
              HasSubstr("metrics.listen: 0.0.0.0:7443 takes the control API's port"));
  EXPECT_THAT(Check(Config("api: {listen: \"127.0.0.1:0\"}\nmetrics: {listen: \"127.0.0.1:0\"}\n")),
              IsOk());
  EXPECT_THAT(Check(Config("metrics: {listen: \"off\"}\n")), IsOk());
}

TEST_F(ConfigCheckTest, MetricsOffLoopbackNeedAnExplicitOptIn) {
  EXPECT_THAT(Message(Config("metrics: {listen: \"0.0.0.0:9464\"}\n")),
              HasSubstr("metrics.listen: 0.0.0.0:9464 is not a loopback address"));
  EXPECT_THAT(Check(Config("metrics: {listen: \"0.0.0.0:9464\", allow_non_loopback: true}\n")),
              IsOk());
}

TEST_F(ConfigCheckTest, RefusesAStateDirThatIsAFileOrUnderOne) {
  dir_.Write("state", "a file");
  EXPECT_THAT(Message(Config("")),
              HasSubstr("state_dir: " + dir_.File("state") + " is not a directory"));
  auto c = ParseAgentConfig("agent.yaml", "state_dir: oncall.token/state\nrunbooks: [rb]\n",
                            dir_.path());
  ASSERT_THAT(c, IsOk());
  EXPECT_THAT(std::string(Check(*c).message()),
              HasSubstr("cannot be created: " + dir_.File("oncall.token") + " is not a directory"));
}

TEST_F(ConfigCheckTest, RefusesArmCaAndTokenSourcesThatCannotBeUsed) {
  dir_.Write("empty.token", "  \n");
  const std::string m =
      Message(Config("arm:\n"
                     "  ca_file: oncall.token\n"
                     "  credentials: {token_file: empty.token}\n"));
  EXPECT_THAT(m,
              HasSubstr("arm.ca_file: " + dir_.File("oncall.token") + " holds no PEM certificate"));
  EXPECT_THAT(m,
              HasSubstr("arm.credentials.token_file: " + dir_.File("empty.token") + " is empty"));
  EXPECT_THAT(Message(Config("arm: {credentials: {token_env: ARM_TOKEN}}\n")),
              HasSubstr("arm.credentials.token_env: environment variable ARM_TOKEN is not set"));
  env_["ARM_TOKEN"] = "x";
  EXPECT_THAT(Check(Config("arm: {ca_file: ca.pem, credentials: {token_env: ARM_TOKEN}}\n")),
              IsOk());
}

TEST_F(ConfigCheckTest, RefusesAPlainHttpAuthorityHostForTheDefaultCredentialChain) {
  EXPECT_THAT(Message(Config("arm: {credentials: {authority_host: \"http://login.example\"}}\n")),
              HasSubstr("arm.credentials.authority_host: must be an https URL"));
  env_["AZURE_AUTHORITY_HOST"] = "http://login.example";
  EXPECT_THAT(
      Message(Config("")),
      HasSubstr("arm.credentials.authority_host (AZURE_AUTHORITY_HOST): must be an https URL"));
}

TEST_F(ConfigCheckTest, RefusesALogFileThatCannotBeCreatedAndAWebhookThatIsNotHttp) {
  const std::string m =
      Message(Config("log: {file: oncall.token/agent.log}\n"
                     "webhooks: [{url: \"ftp://hooks.example/s3cret\"}]\n"));
  EXPECT_THAT(
      m, HasSubstr("log.file: " + dir_.File("oncall.token/agent.log") +
                   " cannot be created: " + dir_.File("oncall.token") + " is not a directory"));
  EXPECT_THAT(m, HasSubstr("webhooks[0].url: is not an http(s) URL with a host"));
  EXPECT_THAT(m, Not(HasSubstr("s3cret")));  // a webhook URL may carry a secret
}

}  // namespace
}  // namespace foghorn::agent
