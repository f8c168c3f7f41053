// The drill report's JSON codec: protobuf's JSON mapping round-trips every field, reports written
// by the codec that came before the proto (tests/fixtures/drill) still load with every figure,
// files of a newer agent load, and text that is not a report is refused.
#include "orchestrator/drill/report.h"

#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "orchestrator/common/durations.h"
#include "tests/orchestrator/drill/report_sample.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace foghorn::drill {
namespace {

using ::foghorn::drill::testing::SampleReport;
using ::foghorn::testing::IsOk;
using ::foghorn::testing::StatusIs;
using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

absl::Time T(const std::string& rfc3339) {
  absl::Time t;
  std::string err;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &err)) << err;
  return t;
}

DrillReport Fixture(const std::string& name) {
  auto r = ReportFromJson(
      ::foghorn::testing::ReadFileOrDie(::foghorn::testing::FixturesDir() + "/drill/" + name));
  EXPECT_THAT(r, IsOk());
  return r.ok() ? *r : DrillReport();
}

absl::Duration Seconds(const google::protobuf::Duration& d) { return common::FromProtoDuration(d); }

TEST(DrillReportJsonTest, RoundTripsEveryField) {
  DrillReport r = SampleReport("drill-1", absl::FromUnixMillis(1767225600123));
  r.set_operation_id("op-1");
  r.set_description("orders");
  r.set_rw_listener("fog.example:1433");
  r.set_requested_by("alice");
  r.set_reason("Q3 game day");
  r.mutable_directions(0)->set_data_lost_writes(7);
  auto json = ReportToJson(r);
  ASSERT_THAT(json, IsOk());
  auto back = ReportFromJson(*json);
  ASSERT_THAT(back, IsOk());
  std::string diff;
  MessageDifferencer differ;
  differ.ReportDifferencesToString(&diff);
  EXPECT_TRUE(differ.Compare(r, *back)) << diff;
}

TEST(DrillReportJsonTest, IsProtobufsJsonMappingWithProtoFieldNamesAndEveryField) {
  DrillReport r = SampleReport("drill-1", absl::FromUnixMillis(1767225600123));
  auto json = ReportToJson(r);
  ASSERT_THAT(json, IsOk());
  EXPECT_THAT(*json, HasSubstr("\"drill_id\": \"drill-1\""));
  EXPECT_THAT(*json, HasSubstr("\"outcome\": \"DRILL_OUTCOME_PASSED\""));
  EXPECT_THAT(*json, HasSubstr("\"state\": \"DRILL_STEP_STATE_DONE\""));
  EXPECT_THAT(*json, HasSubstr("\"status\": \"CHECK_STATUS_WARN\""));
  EXPECT_THAT(*json, HasSubstr("\"started_at\": \"2026-01-01T00:00:00.123Z\""));
  EXPECT_THAT(*json, HasSubstr("\"rto\": \"41.500s\""));
  // Zeros and empty strings are printed too, and int32 counts are JSON numbers.
  EXPECT_THAT(*json, HasSubstr("\"data_lost_writes\": 0"));
  EXPECT_THAT(*json, HasSubstr("\"dry_run\": false"));
  EXPECT_THAT(*json, HasSubstr("\"operation_id\": \"\""));
  EXPECT_THAT(*json, Not(HasSubstr("rto_seconds")));
}

TEST(DrillReportJsonTest, TextThatIsNotAReportIsRefused) {
  for (const char* text : {"{\"x\":1}", "not json", "[]", "{\"drill_id\": 5}", "",
                           "{\"drill_id\": \"d\", \"started_at\": \"yesterday\"}"}) {
    EXPECT_THAT(ReportFromJson(text), StatusIs(absl::StatusCode::kInvalidArgument)) << text;
  }
}

TEST(DrillReportJsonTest, AReportOfANewerAgentLoadsWithoutWhatThisBuildDoesNotKnow) {
  auto r = ReportFromJson(R"({
    "drill_id": "drill-9", "outcome": "DRILL_OUTCOME_FROM_THE_FUTURE", "summary": "ok",
    "new_section": {"a": [1, 2]},
    "steps": [{"name": "preflight", "state": "DRILL_STEP_STATE_DONE", "new_field": true},
              {"name": "teleport", "state": "DRILL_STEP_STATE_TELEPORTED"}]})");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->drill_id(), "drill-9");
  EXPECT_EQ(r->summary(), "ok");
  EXPECT_EQ(r->outcome(), v1::DRILL_OUTCOME_UNSPECIFIED);
  ASSERT_EQ(r->steps_size(), 2);
  EXPECT_EQ(r->steps(0).state(), v1::DRILL_STEP_STATE_DONE);
  EXPECT_EQ(r->steps(1).name(), "teleport");
  EXPECT_EQ(r->steps(1).state(), v1::DRILL_STEP_STATE_UNSPECIFIED);
}

// legacy-report-passed.json: the report drill_armsim_test wrote with the codec before the proto
// (a real drill against the emulator).
TEST(DrillReportJsonTest, APassedReportOfTheOldCodecLoadsWithEveryFigure) {
  DrillReport r = Fixture("legacy-report-passed.json");
  EXPECT_EQ(r.drill_id(), "drill-fog-orders-20261202T181355.184Z");
  EXPECT_EQ(r.operation_id(), "op-20261202T181355-7e0a631e0001");
  EXPECT_EQ(r.group_id(), "00000000-1111-2222-3333-444444444444/rg-foghorn/fog-orders");
  EXPECT_EQ(r.group_name(), "fog-orders");
  EXPECT_EQ(r.description(), "orders DR drill against foghorn-armsim");
  EXPECT_FALSE(r.dry_run());
  EXPECT_EQ(r.outcome(), v1::DRILL_OUTCOME_PASSED);
  EXPECT_EQ(r.summary(), "failed over sql-east -> sql-west and back; the group ends on sql-east");
  EXPECT_EQ(r.original_primary(), "sql-east");
  EXPECT_EQ(r.partner(), "sql-west");
  EXPECT_EQ(r.final_primary(), "sql-east");
  EXPECT_EQ(r.rw_listener(), "127.0.0.1:36783");
  EXPECT_EQ(FromTimestamp(r.started_at()), T("2026-12-02T18:13:55.184Z"));
  EXPECT_EQ(FromTimestamp(r.finished_at()), T("2026-12-02T18:13:55.855Z"));

  ASSERT_EQ(r.checks_size(), 8);
  EXPECT_EQ(r.checks(0).name(), "arm_access");
  EXPECT_EQ(r.checks(0).status(), v1::CHECK_STATUS_PASS);
  EXPECT_EQ(r.checks(7).name(), "not_paused");
  EXPECT_EQ(r.checks(7).status(), v1::CHECK_STATUS_SKIP);
  EXPECT_EQ(r.checks(7).reason(), "no agent state to consult");

  std::vector<std::string> steps;
  for (const v1::DrillStep& s : r.steps()) {
    steps.push_back(s.name() + ":" + DrillStepStateName(s.state()));
    EXPECT_TRUE(s.has_started_at() && s.has_finished_at()) << s.name();
  }
  EXPECT_THAT(steps, ElementsAre("preflight:done", "failover:done", "verify_failover:done",
                                 "hold:done", "failback:done", "verify_failback:done"));
  EXPECT_EQ(r.steps(0).detail(), "all readiness checks pass");

  ASSERT_EQ(r.directions_size(), 2);
  const v1::DrillDirection& there = r.directions(0);
  EXPECT_EQ(there.name(), "failover");
  EXPECT_EQ(there.from_server(), "sql-east");
  EXPECT_EQ(there.to_server(), "sql-west");
  EXPECT_TRUE(there.completed());
  EXPECT_EQ(FromTimestamp(there.started_at()), T("2026-12-02T18:13:55.197Z"));
  EXPECT_EQ(FromTimestamp(there.roles_swapped_at()), T("2026-12-02T18:13:55.375Z"));
  EXPECT_EQ(FromTimestamp(there.rw_restored_at()), T("2026-12-02T18:13:55.378Z"));
  ASSERT_TRUE(there.has_rto());
  EXPECT_EQ(Seconds(there.rto()), absl::Nanoseconds(180858893));
  ASSERT_TRUE(there.has_listener_outage());
  EXPECT_EQ(Seconds(there.listener_outage()), absl::ZeroDuration());
  EXPECT_EQ(there.failed_samples(), 0);
  EXPECT_EQ(there.posts_accepted(), 1);
  EXPECT_EQ(there.data_lost_writes(), 0);
  EXPECT_EQ(there.data_loss_basis(), "planned failover: full synchronization before the switch");
  EXPECT_EQ(r.directions(1).name(), "failback");
  EXPECT_EQ(Seconds(r.directions(1).rto()), absl::Nanoseconds(163051499));

  ASSERT_EQ(r.role_changes_size(), 2);
  EXPECT_EQ(FromTimestamp(r.role_changes(0).at()), T("2026-12-02T18:13:55.375Z"));
  EXPECT_EQ(r.role_changes(0).primary(), "sql-west");
  EXPECT_EQ(r.role_changes(0).secondary(), "sql-east");
  EXPECT_EQ(r.role_changes(0).cause(), "failover");
  EXPECT_EQ(r.samples_size(), 27);
  EXPECT_EQ(FromTimestamp(r.samples(0).at()), T("2026-12-02T18:13:55.198Z"));
  EXPECT_TRUE(r.samples(0).ok());
  EXPECT_EQ(r.probes_size(), 0);
  EXPECT_EQ(r.fixes_size(), 0);
}

// legacy-report-failed.json: written with the old codec for this test: a failed gate, an
// abort_failback that did not complete (times "", rto_seconds null), every check status and
// probe outcome, a failed sample.
TEST(DrillReportJsonTest, AFailedReportOfTheOldCodecLoadsWithItsUnsetTimesAndUnmeasuredRto) {
  DrillReport r = Fixture("legacy-report-failed.json");
  EXPECT_EQ(r.outcome(), v1::DRILL_OUTCOME_FAILED);
  EXPECT_EQ(r.description(), "orders <DR> drill & \"hook\"");
  std::vector<v1::CheckStatus> statuses;
  for (const v1::ReadinessCheck& c : r.checks()) statuses.push_back(c.status());
  EXPECT_THAT(statuses, ElementsAre(v1::CHECK_STATUS_PASS, v1::CHECK_STATUS_WARN,
                                    v1::CHECK_STATUS_FAIL, v1::CHECK_STATUS_SKIP));
  EXPECT_EQ(r.checks(1).fix(), "az sql failover-group update --failover-policy Manual");

  ASSERT_EQ(r.steps_size(), 5);
  EXPECT_EQ(r.steps(2).state(), v1::DRILL_STEP_STATE_FAILED);
  EXPECT_EQ(r.steps(3).name(), "abort_failback");
  EXPECT_EQ(r.steps(4).state(), v1::DRILL_STEP_STATE_SKIPPED);
  EXPECT_TRUE(r.steps(4).has_started_at());
  EXPECT_FALSE(r.steps(4).has_finished_at());

  ASSERT_EQ(r.directions_size(), 2);
  EXPECT_EQ(Seconds(r.directions(0).rto()), absl::Milliseconds(31350));
  EXPECT_EQ(Seconds(r.directions(0).listener_outage()), absl::Milliseconds(1500));
  EXPECT_EQ(r.directions(0).failed_samples(), 6);
  const v1::DrillDirection& back = r.directions(1);
  EXPECT_EQ(back.name(), "abort_failback");
  EXPECT_FALSE(back.completed());
  EXPECT_TRUE(back.has_started_at());
  EXPECT_FALSE(back.has_roles_swapped_at());
  EXPECT_FALSE(back.has_rw_restored_at());
  EXPECT_FALSE(back.has_rto());
  EXPECT_EQ(Seconds(back.listener_outage()), absl::ZeroDuration());

  ASSERT_EQ(r.role_changes_size(), 2);
  EXPECT_EQ(r.role_changes(1).cause(), "abort_failback");
  ASSERT_EQ(r.samples_size(), 3);
  EXPECT_FALSE(r.samples(1).ok());
  EXPECT_EQ(r.samples(1).detail(), "connect: Connection refused");
  ASSERT_EQ(r.probes_size(), 2);
  std::vector<v1::DrillProbeOutcome> outcomes;
  for (const auto& p : r.probes(0).points()) outcomes.push_back(p.outcome());
  EXPECT_THAT(outcomes,
              ElementsAre(v1::DRILL_PROBE_OUTCOME_SUCCESS, v1::DRILL_PROBE_OUTCOME_FAILURE,
                          v1::DRILL_PROBE_OUTCOME_UNKNOWN));
  EXPECT_EQ(r.probes(1).probe(), "primary-arm");
  EXPECT_EQ(r.probes(1).points_size(), 0);
  EXPECT_EQ(r.fixes_size(), 2);
}

TEST(DrillReportJsonTest, AnOldReportWrittenAgainReadsTheSame) {
  for (const char* name : {"legacy-report-passed.json", "legacy-report-failed.json"}) {
    DrillReport old = Fixture(name);
    auto json = ReportToJson(old);
    ASSERT_THAT(json, IsOk());
    EXPECT_THAT(*json, Not(HasSubstr("_seconds")));
    auto again = ReportFromJson(*json);
    ASSERT_THAT(again, IsOk());
    EXPECT_TRUE(MessageDifferencer::Equals(old, *again)) << name;
  }
}

TEST(DrillReportNamesTest, EnumValuesReadAsShortLowercaseNames) {
  EXPECT_EQ(DrillOutcomeName(v1::DRILL_OUTCOME_PASSED), "passed");
  EXPECT_EQ(DrillOutcomeName(v1::DRILL_OUTCOME_UNSPECIFIED), "unspecified");
  EXPECT_EQ(DrillOutcomeName(static_cast<v1::DrillOutcome>(99)), "99");
  EXPECT_EQ(DrillStepStateName(v1::DRILL_STEP_STATE_PLANNED), "planned");
  EXPECT_EQ(DrillProbeOutcomeName(v1::DRILL_PROBE_OUTCOME_FAILURE), "failure");
  EXPECT_EQ(ReadinessStatusName(v1::CHECK_STATUS_WARN), "warn");
}

TEST(DrillReportTimeTest, TimestampsConvertBothWaysToTheNanosecond) {
  for (absl::Time t :
       {absl::FromUnixNanos(1767225600123456789), absl::FromUnixNanos(-1), absl::UnixEpoch()}) {
    EXPECT_EQ(FromTimestamp(ToTimestamp(t)), t);
  }
  EXPECT_EQ(ToTimestamp(absl::FromUnixNanos(-1)).nanos(), 999999999);
  EXPECT_EQ(TimeOrPast(false, ToTimestamp(absl::UnixEpoch())), absl::InfinitePast());
}

}  // namespace
}  // namespace foghorn::drill
