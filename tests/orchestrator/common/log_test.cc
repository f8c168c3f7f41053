#include "orchestrator/common/log.h"

#include <cmath>
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "orchestrator/common/fake_clock.h"
#include "tests/testing/capturing_log_sink.h"
#include "tests/testing/status_matchers.h"

namespace foghorn::common {
namespace {

using ::foghorn::testing::CapturingLogSink;
using ::foghorn::testing::IsOkAndHolds;
using ::foghorn::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;

class LoggerTest : public ::testing::Test {
 protected:
  Logger MakeLogger(LogFormat format = LogFormat::kJson, LogLevel min = LogLevel::kInfo) {
    return Logger(sink_, redactor_, clock_, {.min_level = min, .format = format});
  }
  FakeClock clock_{absl::FromUnixSeconds(1767225600)};
  std::shared_ptr<CapturingLogSink> sink_ = std::make_shared<CapturingLogSink>();
  std::shared_ptr<Redactor> redactor_ = std::make_shared<Redactor>();
};

TEST_F(LoggerTest, WritesOneJsonObjectPerLineWithTimeLevelMessageAndFields) {
  Logger log = MakeLogger();
  log.Info("failover \"started\"", {{"group", "fog-1"}, {"attempt", 2}, {"forced", false}});
  ASSERT_THAT(sink_->lines(), SizeIs(1));
  auto j = nlohmann::json::parse(sink_->lines()[0]);
  EXPECT_EQ(j["ts"], "2026-01-01T00:00:00.000Z");
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["msg"], "failover \"started\"");
  EXPECT_EQ(j["group"], "fog-1");
  EXPECT_EQ(j["attempt"], 2);
  EXPECT_EQ(j["forced"], false);
}

TEST_F(LoggerTest, DropsLinesBelowTheMinimumLevel) {
  Logger log = MakeLogger(LogFormat::kJson, LogLevel::kWarn);
  log.Info("quiet");
  log.Debug("quieter");
  log.Error("loud");
  ASSERT_THAT(sink_->lines(), SizeIs(1));
  EXPECT_THAT(sink_->lines()[0], HasSubstr("loud"));
}

TEST_F(LoggerTest, BoundFieldsAppearOnEveryLineOfTheChild) {
  Logger log = MakeLogger().With({{"request_id", "r-1"}});
  log.Info("a");
  log.Warn("b", {{"x", 1}});
  for (const auto& line : sink_->lines()) {
    EXPECT_EQ(nlohmann::json::parse(line)["request_id"], "r-1");
  }
}

TEST_F(LoggerTest, TextFormatIsHumanReadable) {
  MakeLogger(LogFormat::kText).Warn("slow probe", {{"probe", "tcp-primary"}});
  EXPECT_EQ(sink_->lines()[0], "2026-01-01T00:00:00.000Z WARN slow probe probe=tcp-primary");
}

TEST_F(LoggerTest, RegisteredSecretsNeverReachTheSink) {
  redactor_->AddSecret("s3cr3t-value-123");
  MakeLogger().Error("auth failed with s3cr3t-value-123", {{"detail", "body=s3cr3t-value-123"}});
  EXPECT_THAT(sink_->text(), Not(HasSubstr("s3cr3t-value-123")));
  EXPECT_THAT(sink_->text(), HasSubstr("[REDACTED]"));
}

TEST_F(LoggerTest, FieldsNamedLikeSecretsAreMaskedWhateverTheirValue) {
  MakeLogger().Info("token fetched", {{"access_token", "abc.def"}, {"password", "hunter22"}});
  EXPECT_THAT(sink_->text(), Not(HasSubstr("abc.def")));
  EXPECT_THAT(sink_->text(), Not(HasSubstr("hunter22")));
}

TEST(RedactorTest, MasksBearerTokensJwtsAndSecretKeyValues) {
  Redactor r;
  EXPECT_EQ(r.Redact("Authorization: Bearer abc123.xyz"), "Authorization: [REDACTED] [REDACTED]");
  EXPECT_THAT(r.Redact("got eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig_part here"),
              Not(HasSubstr("eyJhbGci")));
  EXPECT_EQ(r.Redact("grant_type=client_credentials&client_secret=p4ss&scope=x"),
            "grant_type=client_credentials&client_secret=[REDACTED]&scope=x");
  EXPECT_EQ(r.Redact(R"({"access_token": "tok-value", "expires_in": 3599})"),
            R"({"access_token": "[REDACTED]", "expires_in": 3599})");
  EXPECT_EQ(r.Redact("password: hunter2 rest"), "password: [REDACTED] rest");
}

TEST(RedactorTest, MasksCredentialQueryParametersAndUserinfo) {
  Redactor r;
  EXPECT_EQ(r.Redact("GET https://acct.blob.core.windows.net/c/b?sv=2022&sig=AbC%2Bd&se=1"),
            "GET https://acct.blob.core.windows.net/c/b?sv=2022&sig=[REDACTED]&se=1");
  EXPECT_EQ(r.Redact("https://x.example/api?code=s3cr3t"), "https://x.example/api?code=[REDACTED]");
  EXPECT_EQ(r.Redact("https://x.example/h?key=k1&token=t1 answered 500"),
            "https://x.example/h?key=[REDACTED]&token=[REDACTED] answered 500");
  EXPECT_EQ(r.Redact("posting to https://bot:hunter22@hooks.example/x failed"),
            "posting to https://[REDACTED]@hooks.example/x failed");
  // ARM's error codes are not query parameters: they stay readable.
  EXPECT_EQ(r.Redact(R"({"code":"FailoverGroupBusy"})"), R"({"code":"FailoverGroupBusy"})");
}

TEST(RedactorTest, KeepsOnlyTheNewestRotatingSecrets) {
  Redactor r;
  for (int i = 0; i < 100; ++i) r.AddSecret("token-value-" + std::to_string(i), true);
  EXPECT_EQ(r.Redact("token-value-99"), "[REDACTED]");
  EXPECT_EQ(r.Redact("token-value-92"), "[REDACTED]");
  EXPECT_EQ(r.Redact("token-value-3 "), "token-value-3 ");  // long replaced, no longer kept
  r.AddSecret("client-secret-value");
  for (int i = 100; i < 200; ++i) r.AddSecret("token-value-" + std::to_string(i), true);
  EXPECT_EQ(r.Redact("client-secret-value"), "[REDACTED]");  // permanent ones stay
}

TEST(RedactorTest, LeavesOrdinaryTextAlone) {
  Redactor r;
  const std::string text = "failover of fog-1 to server-b accepted; tokens_remaining 5, eyJ";
  EXPECT_EQ(r.Redact(text), text);
}

TEST(RedactorTest, IgnoresSecretsTooShortToMaskSafely) {
  Redactor r;
  r.AddSecret("ab");
  EXPECT_EQ(r.Redact("about"), "about");
}

TEST(LogLevelTest, ParsesKnownNamesAndRejectsOthers) {
  EXPECT_THAT(ParseLogLevel("WARNING"), IsOkAndHolds(LogLevel::kWarn));
  EXPECT_THAT(ParseLogLevel("debug"), IsOkAndHolds(LogLevel::kDebug));
  EXPECT_THAT(ParseLogLevel("loud"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("loud")));
}

TEST_F(LoggerTest, JsonLinesEscapeEveryControlCharacter) {
  std::string text = "a\"b\\c";
  for (char c = 0; c < 0x20; ++c) text += c;
  text += '\x7f';
  MakeLogger().Info(text, {{"detail", text}, {text, "key with controls"}});
  ASSERT_THAT(sink_->lines(), SizeIs(1));
  const std::string line = sink_->lines()[0];
  // One physical line, no raw control byte in it, and the text comes back unchanged.
  for (char c : line) EXPECT_GE(static_cast<unsigned char>(c), 0x20) << line;
  EXPECT_THAT(line, HasSubstr(R"(a\"b\\c\u0000\u0001)"));
  EXPECT_THAT(line, HasSubstr(R"(\b\t\n\u000b\f\r)"));
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["msg"], text);
  EXPECT_EQ(j["detail"], text);
  EXPECT_EQ(j[text], "key with controls");
}

TEST_F(LoggerTest, InvalidUtf8BecomesTheReplacementCharacterAndTheLineStaysJson) {
  // A lone continuation byte, a truncated 3-byte sequence, an overlong '/', and 0xff.
  const std::string bad = "x\x80y\xe2\x82z\xc0\xafw\xff";
  MakeLogger().Warn(bad, {{"body", bad}, {"ok", "caf\xc3\xa9 \xe2\x82\xac"}});
  ASSERT_THAT(sink_->lines(), SizeIs(1));
  const std::string line = sink_->lines()[0];
  auto j = nlohmann::json::parse(line);  // strict: throws on invalid UTF-8
  const std::string replacement = "\xef\xbf\xbd";
  EXPECT_EQ(j["msg"].get<std::string>().find('\xff'), std::string::npos);
  EXPECT_THAT(j["msg"].get<std::string>(), HasSubstr("x" + replacement + "y"));
  EXPECT_THAT(j["body"].get<std::string>(), HasSubstr(replacement + "w" + replacement));
  // Valid multi-byte UTF-8 is written as it is, not \u-escaped.
  EXPECT_EQ(j["ok"], "caf\xc3\xa9 \xe2\x82\xac");
  EXPECT_THAT(line, HasSubstr("caf\xc3\xa9"));
}

TEST_F(LoggerTest, JsonLinesKeepTheirKeyOrderAndTypedValues) {
  Logger log = MakeLogger().With({{"group", "fog-1"}, {"attempt", 1}});
  log.Info("m", {{"attempt", 2}, {"lag_s", 1.5}, {"nan", std::nan("")}, {"msg", "shadow"}});
  ASSERT_THAT(sink_->lines(), SizeIs(1));
  EXPECT_EQ(sink_->lines()[0],
            R"({"ts":"2026-01-01T00:00:00.000Z","level":"info","msg":"m","group":"fog-1",)"
            R"("attempt":2,"lag_s":1.5,"nan":null,"field_msg":"shadow"})");
}

}  // namespace
}  // namespace foghorn::common
