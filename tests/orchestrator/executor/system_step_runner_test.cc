#include "orchestrator/executor/system_step_runner.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "orchestrator/common/fake_clock.h"
#include "tests/testing/capturing_log_sink.h"
#include "tests/testing/fake_sleeper.h"
#include "tests/testing/status_matchers.h"

namespace foghorn::executor {
namespace {

using ::foghorn::testing::IsOk;
using ::foghorn::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

class OneAnswerTransport final : public http::HttpTransport {
 public:
  absl::StatusOr<http::HttpResponse> Send(const http::HttpRequest& request) override {
    last = request;
    return http::HttpResponse{status, {}, ""};
  }
  int status = 204;
  http::HttpRequest last;
};

class SystemStepRunnerTest : public ::testing::Test {
 protected:
  SystemStepRunnerTest()
      : runner_(transport_, sleeper_,
                common::Logger(std::make_shared<foghorn::testing::CapturingLogSink>(), nullptr,
                               clock_, {}),
                {}) {
    op_.id = "op-1";
    op_.group_id = "sub/rg/fog-1";
    op_.kind = "forced";
    op_.target_server = "srv-b";
  }
  v1::Step Exec(std::vector<std::string> argv, int timeout_s = 10) {
    v1::Step s;
    s.set_name("hook");
    for (auto& a : argv) s.mutable_exec()->add_argv(a);
    s.mutable_timeout()->set_seconds(timeout_s);
    return s;
  }
  common::FakeClock clock_;
  OneAnswerTransport transport_;
  foghorn::testing::FakeSleeper sleeper_;
  SystemStepRunner runner_;
  journal::OperationRecord op_;
};

TEST_F(SystemStepRunnerTest, AZeroExitPassesAndANonZeroExitVetoes) {
  EXPECT_THAT(runner_.Run(Exec({"true"}), op_), IsOk());
  EXPECT_THAT(runner_.Run(Exec({"sh", "-c", "exit 3"}), op_),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("exited 3")));
}

TEST_F(SystemStepRunnerTest, HooksSeeTheOperationInTheirEnvironment) {
  EXPECT_THAT(runner_.Run(Exec({"sh", "-c", "test \"$FOGHORN_TARGET_SERVER\" = srv-b"}), op_),
              IsOk());
  v1::Step s = Exec({"sh", "-c", "test \"$EXTRA\" = yes"});
  (*s.mutable_exec()->mutable_env())["EXTRA"] = "yes";
  EXPECT_THAT(runner_.Run(s, op_), IsOk());
}

TEST_F(SystemStepRunnerTest, AMissingCommandIsNotFoundAndASlowOneTimesOut) {
  EXPECT_THAT(runner_.Run(Exec({"/nonexistent/foghorn-hook"}), op_),
              StatusIs(absl::StatusCode::kNotFound));
  // A 200 ms timeout: the test waits it out in real time (the child is real), so it is short.
  v1::Step slow = Exec({"sleep", "30"}, /*timeout_s=*/0);
  slow.mutable_timeout()->set_nanos(200'000'000);
  EXPECT_THAT(runner_.Run(slow, op_), StatusIs(absl::StatusCode::kDeadlineExceeded));
}

TEST_F(SystemStepRunnerTest, HooksGetAnAllowListedEnvironmentWithoutTheAgentsCredentials) {
  setenv("AZURE_CLIENT_SECRET", "agent-secret-value", 1);
  setenv("FOGHORN_ARM_TOKEN", "agent-token-value", 1);
  setenv("FOGHORN_TEST_SITE", "eu-west", 1);
  setenv("FOGHORN_TEST_OTHER", "not-named", 1);
  auto r = RunCommand({"sh", "-c", "env"}, {{"SET_BY_RUNBOOK", "1"}}, absl::Seconds(10),
                      {"FOGHORN_TEST_SITE", "AZURE_CLIENT_SECRET"});
  unsetenv("AZURE_CLIENT_SECRET");
  unsetenv("FOGHORN_ARM_TOKEN");
  unsetenv("FOGHORN_TEST_SITE");
  unsetenv("FOGHORN_TEST_OTHER");
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(r->stdout_text, Not(HasSubstr("agent-secret-value")));  // even when named
  EXPECT_THAT(r->stdout_text, Not(HasSubstr("agent-token-value")));
  EXPECT_THAT(r->stdout_text, Not(HasSubstr("not-named")));
  EXPECT_THAT(r->stdout_text, HasSubstr("FOGHORN_TEST_SITE=eu-west"));
  EXPECT_THAT(r->stdout_text, HasSubstr("SET_BY_RUNBOOK=1"));
  EXPECT_THAT(r->stdout_text, HasSubstr("PATH="));
}

TEST_F(SystemStepRunnerTest, RunCommandCapturesStderrApartAndHandlesHugeTimeouts) {
  // 30 days: beyond poll()'s int milliseconds; must still wait for the command, not return at once.
  auto r = RunCommand({"sh", "-c", "echo out; echo err >&2"}, {}, absl::Hours(24 * 30));
  ASSERT_THAT(r, IsOk());
  EXPECT_FALSE(r->timed_out);
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->stdout_text, "out\n");
  EXPECT_EQ(r->stderr_text, "err\n");
}

TEST_F(SystemStepRunnerTest, RunCommandCapturesStdout) {
  auto r = RunCommand({"sh", "-c", "echo 2.5"}, {}, absl::Seconds(10));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->stdout_text, "2.5\n");
}

TEST_F(SystemStepRunnerTest, NotifyPostsTheOperationAndFailsOnAnErrorAnswer) {
  v1::Step s;
  s.set_name("page");
  s.mutable_notify()->set_url("http://127.0.0.1:1/hook");
  ASSERT_THAT(runner_.Run(s, op_), IsOk());
  auto body = nlohmann::json::parse(transport_.last.body);
  EXPECT_EQ(body["operation"], "op-1");
  EXPECT_EQ(body["step"], "page");
  transport_.status = 500;
  EXPECT_THAT(runner_.Run(s, op_), StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(SystemStepRunnerTest, AWebhookErrorNamesOnlyTheSchemeAndHostOfItsSecretUrl) {
  v1::Step s;
  s.set_name("page");
  s.mutable_notify()->set_url("https://bot:pw@hooks.example.com/services/T00/B00/S3CR3TTOKEN?x=1");
  transport_.status = 500;
  absl::Status st = runner_.Run(s, op_);
  EXPECT_THAT(st, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(st.message(), HasSubstr("https://hooks.example.com"));
  EXPECT_THAT(st.message(), Not(HasSubstr("S3CR3TTOKEN")));
  EXPECT_THAT(st.message(), Not(HasSubstr("pw@")));
  EXPECT_TRUE(transport_.last.secret_url);
}

TEST(UrlForLogTest, DropsUserinfoQueryAndForSecretUrlsThePath) {
  EXPECT_EQ(http::UrlForLog("https://u:p@management.azure.com/subscriptions/x?api-version=1"),
            "https://management.azure.com/subscriptions/x");
  EXPECT_EQ(http::UrlOrigin("https://u:p@hooks.slack.com:8443/services/A/B/C"),
            "https://hooks.slack.com:8443");
  EXPECT_EQ(http::UrlOrigin("not a url"), "not a url");
}

TEST_F(SystemStepRunnerTest, WaitSleepsOnTheInjectedSleeperAndGatesNeedHooks) {
  v1::Step s;
  s.set_name("settle");
  s.mutable_wait()->mutable_duration()->set_seconds(30);
  ASSERT_THAT(runner_.Run(s, op_), IsOk());
  EXPECT_EQ(sleeper_.total(), absl::Seconds(30));
  v1::Step gate;
  gate.set_name("approve");
  gate.mutable_approval()->set_message("ok?");
  EXPECT_THAT(runner_.Run(gate, op_), StatusIs(absl::StatusCode::kUnimplemented));
}

}  // namespace
}  // namespace foghorn::executor
