#include "probes/result_checks.h"

#include <sys/wait.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "probes/probe_config.h"

namespace foghorn::probes {
namespace {

using ::testing::HasSubstr;

int Exited(int code) { return code << 8; }  // The wait status of a normal exit.

TEST(JudgeHttpResponseTest, Accepts2xxByDefaultAndRejectsOthers) {
  v1::HttpProbe spec;
  EXPECT_EQ(JudgeHttpResponse(spec, 204, "").outcome, ProbeOutcome::kSuccess);
  ProbeResult r = JudgeHttpResponse(spec, 503, "");
  EXPECT_EQ(r.outcome, ProbeOutcome::kFailure);
  EXPECT_THAT(r.detail, HasSubstr("503"));
}

TEST(JudgeHttpResponseTest, HonoursExpectedStatusRanges) {
  v1::HttpProbe spec;
  auto* range = spec.add_expected_statuses();
  range->set_start(200);
  range->set_end(200);
  range = spec.add_expected_statuses();
  range->set_start(401);
  range->set_end(401);
  EXPECT_EQ(JudgeHttpResponse(spec, 401, "").outcome, ProbeOutcome::kSuccess);
  EXPECT_EQ(JudgeHttpResponse(spec, 201, "").outcome, ProbeOutcome::kFailure);
}

TEST(JudgeHttpResponseTest, ChecksBodyTextAndJsonFields) {
  v1::HttpProbe spec;
  spec.set_body_contains("ready");
  spec.set_json_field("db.role");
  spec.set_json_field_value("Primary");
  EXPECT_EQ(JudgeHttpResponse(spec, 200, R"({"s":"ready","db":{"role":"Primary"}})").outcome,
            ProbeOutcome::kSuccess);
  EXPECT_EQ(JudgeHttpResponse(spec, 200, R"({"s":"ready","db":{"role":"Secondary"}})").outcome,
            ProbeOutcome::kFailure);
  EXPECT_EQ(JudgeHttpResponse(spec, 200, R"({"db":{"role":"Primary"}})").outcome,
            ProbeOutcome::kFailure);
  EXPECT_EQ(JudgeHttpResponse(spec, 200, "ready but not json").outcome, ProbeOutcome::kFailure);
}

TEST(JudgeHttpResponseTest, ComparesNonStringJsonFieldsByTheirJsonText) {
  v1::HttpProbe spec;
  spec.set_json_field("items.1.ok");
  spec.set_json_field_value("true");
  EXPECT_EQ(JudgeHttpResponse(spec, 200, R"({"items":[{},{"ok":true}]})").outcome,
            ProbeOutcome::kSuccess);
}

TEST(JudgeHttpResponseTest, ReadsTheMetricFromAJsonNumberOrNumericString) {
  v1::HttpProbe spec;
  spec.set_metric_json_field("replication.lag_seconds");
  EXPECT_EQ(JudgeHttpResponse(spec, 200, R"({"replication":{"lag_seconds":3.5}})").metric, 3.5);
  EXPECT_EQ(JudgeHttpResponse(spec, 200, R"({"replication":{"lag_seconds":"7"}})").metric, 7.0);
  ProbeResult missing = JudgeHttpResponse(spec, 200, "{}");
  EXPECT_EQ(missing.outcome, ProbeOutcome::kSuccess);
  EXPECT_FALSE(missing.metric.has_value());
}

TEST(JudgeExitTest, ExitCodeDecidesAnd127IsUnknown) {
  v1::ExecProbe spec;
  EXPECT_EQ(JudgeExit(spec, Exited(0), "").outcome, ProbeOutcome::kSuccess);
  EXPECT_EQ(JudgeExit(spec, Exited(1), "").outcome, ProbeOutcome::kFailure);
  EXPECT_EQ(JudgeExit(spec, Exited(127), "").outcome, ProbeOutcome::kUnknown);
}

TEST(JudgeExitTest, TakesTheMetricFromTheFirstLineOfStdout) {
  v1::ExecProbe spec;
  spec.set_metric_from_stdout(true);
  EXPECT_EQ(JudgeExit(spec, Exited(0), " 2.5 \nmore\n").metric, 2.5);
  EXPECT_FALSE(JudgeExit(spec, Exited(0), "lag=2.5\n").metric.has_value());
}

TEST(JudgeArmStateTest, ChecksRoleAndReplicationState) {
  v1::ArmStateProbe spec;
  spec.set_expect_role(v1::ROLE_PRIMARY);
  spec.add_expect_replication_states("CATCH_UP");
  EXPECT_EQ(JudgeArmState(spec, FailoverGroupState{v1::ROLE_PRIMARY, "catch_up"}).outcome,
            ProbeOutcome::kSuccess);
  EXPECT_EQ(JudgeArmState(spec, FailoverGroupState{v1::ROLE_SECONDARY, "CATCH_UP"}).outcome,
            ProbeOutcome::kFailure);
  EXPECT_EQ(JudgeArmState(spec, FailoverGroupState{v1::ROLE_PRIMARY, "SEEDING"}).outcome,
            ProbeOutcome::kFailure);
}

TEST(JudgeArmStateTest, ArmUnreachableIsUnknownButNotFoundIsAFailure) {
  v1::ArmStateProbe spec;
  EXPECT_EQ(JudgeArmState(spec, absl::UnavailableError("arm 503")).outcome, ProbeOutcome::kUnknown);
  EXPECT_EQ(JudgeArmState(spec, absl::NotFoundError("no group")).outcome, ProbeOutcome::kFailure);
}

TEST(JudgeDnsTest, MatchesExpectedAddressesOrCanonicalName) {
  v1::DnsProbe spec;
  EXPECT_EQ(JudgeDns(spec, {"10.0.0.1"}, "").outcome, ProbeOutcome::kSuccess);
  spec.add_expect_any("east.database.windows.net.");
  EXPECT_EQ(JudgeDns(spec, {"10.0.0.1"}, "EAST.database.windows.net").outcome,
            ProbeOutcome::kSuccess);
  EXPECT_EQ(JudgeDns(spec, {"10.0.0.1"}, "west.database.windows.net").outcome,
            ProbeOutcome::kFailure);
  spec.add_expect_any("10.0.0.1");
  EXPECT_EQ(JudgeDns(spec, {"10.0.0.2", "10.0.0.1"}, "").outcome, ProbeOutcome::kSuccess);
}

TEST(ProbeConfigTest, AppliesDefaults) {
  v1::ProbeSpec spec;
  spec.set_name("p");
  auto t = ResolveTiming(spec);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->interval, absl::Seconds(5));
  EXPECT_EQ(t->timeout, absl::Seconds(2));
  EXPECT_EQ(t->unhealthy_threshold, 3);
  EXPECT_EQ(t->healthy_threshold, 2);
}

TEST(ProbeConfigTest, RejectsMalformedAddressesNamingTheField) {
  v1::ProbeSpec spec;
  spec.set_name("p");
  spec.mutable_tcp()->set_address("no-port");
  absl::Status s = ValidateProbeSpec(spec);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("tcp.address"));
  spec.mutable_tcp()->set_address("[::1]:1433");
  EXPECT_TRUE(ValidateProbeSpec(spec).ok());
}

TEST(ProbeConfigTest, TheDefaultTimeoutStaysBelowAShortInterval) {
  v1::ProbeSpec spec;
  spec.set_name("p");
  spec.mutable_tcp();
  spec.mutable_interval()->set_seconds(1);
  auto t = ResolveTiming(spec);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->timeout, absl::Milliseconds(500));
}

TEST(ProbeConfigTest, ListsEveryProblemWithItsField) {
  v1::ProbeSpec spec;
  spec.set_name("a/b");
  spec.mutable_jitter()->set_seconds(5);  // the default interval is 5s
  spec.mutable_http()->set_url("ftp://h/");
  spec.mutable_http()->set_json_field_value("ok");
  spec.set_metric_kind(v1::METRIC_KIND_REPLICATION_LAG_SECONDS);
  std::vector<std::string> fields;
  for (const ProbeSpecProblem& p : ProbeSpecProblems(spec)) fields.push_back(p.field);
  EXPECT_THAT(fields, ::testing::ElementsAre("name", "jitter", "http.url", "http.json_field",
                                             "metric_kind"));
  absl::Status s = ValidateProbeSpec(spec);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()),
              ::testing::StartsWith("probe 'a/b': field name: must not contain '/'; field jitter"));
  spec.Clear();
  EXPECT_THAT(std::string(ValidateProbeSpec(spec).message()),
              HasSubstr("field name: missing required field; missing one of tcp, http"));
}

}  // namespace
}  // namespace foghorn::probes
