// Table-driven timelines: each case is a JSON-lines observation log replayed through the engine,
// with the (time, stage, action) sequence it must produce.
#include "orchestrator/decision/replay.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace foghorn::decision {
namespace {

using ::foghorn::testing::StatusIs;
using ::testing::HasSubstr;

Policy TimelinePolicy() {
  Policy p;
  p.confirm_after = absl::Seconds(30);
  p.planned_grace = absl::Seconds(60);
  p.data_loss_grace = absl::Minutes(10);
  p.data_loss_budget = absl::Minutes(15);
  p.approval_mode = v1::APPROVAL_MODE_AUTOMATIC;
  p.cooldown = absl::Hours(1);
  p.reevaluate_interval = absl::Minutes(5);
  return p;
}

// "t=90 PLANNED planned" style rendering of a replay, one entry per reported decision.
std::vector<std::string> Render(const std::vector<ReplayedDecision>& decisions, absl::Time epoch) {
  std::vector<std::string> out;
  for (const ReplayedDecision& r : decisions) {
    std::string s =
        absl::StrCat("t=", absl::ToInt64Seconds(r.at - epoch), " ", StageName(r.decision.stage));
    // For holds, the first hold reason; for approvals, APPROVAL_REQUIRED.
    for (const Reason& reason : r.decision.reasons) {
      if ((r.decision.stage == Stage::kHold && reason.code >= ReasonCode::kOperationInFlight) ||
          (r.decision.stage == Stage::kWaitApproval &&
           reason.code == ReasonCode::kApprovalRequired)) {
        absl::StrAppend(&s, " ", ReasonCodeName(reason.code));
        break;
      }
    }
    out.push_back(s);
  }
  return out;
}

constexpr char kStart[] =
    R"({"t":0,"type":"verdict","target":"primary","verdict":"healthy"}
{"t":0,"type":"roles","primary":"srv-a","secondary":"srv-b"}
{"t":0,"type":"verdict","target":"secondary","verdict":"healthy"}
{"t":0,"type":"lag","seconds":2}
)";

struct TimelineCase {
  std::string name;
  std::string timeline;  // appended to kStart
  std::vector<std::string> expected;
  // Replay timers up to this many seconds after the start.
  int until_s = 1200;
  std::function<void(Policy&)> tweak = [](Policy&) {};
};

class TimelineTest : public ::testing::TestWithParam<TimelineCase> {};

TEST_P(TimelineTest, ReplayYieldsTheExpectedDecisions) {
  ReplayOptions options;
  options.policy = TimelinePolicy();
  GetParam().tweak(options.policy);
  options.until = options.epoch + absl::Seconds(GetParam().until_s);
  auto decisions = Replay(std::string(kStart) + GetParam().timeline, options);
  ASSERT_TRUE(decisions.ok()) << decisions.status();
  EXPECT_EQ(Render(*decisions, options.epoch), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Timelines, TimelineTest,
    ::testing::Values(
        TimelineCase{"OutageLeadsToPlannedFailover",
                     R"({"t":100,"type":"verdict","target":"primary","verdict":"unhealthy"})",
                     {"t=0 HEALTHY", "t=100 SUSPECT", "t=130 CONFIRMED_DOWN", "t=190 PLANNED"},
                     190},
        TimelineCase{"PartialOutageRecoversBeforeThePlannedGrace",
                     R"({"t":100,"type":"verdict","target":"primary","verdict":"unhealthy"}
{"t":150,"type":"verdict","target":"primary","verdict":"healthy"})",
                     {"t=0 HEALTHY", "t=100 SUSPECT", "t=130 CONFIRMED_DOWN", "t=150 HEALTHY"}},
        TimelineCase{"FlappingBelowTheConfirmThresholdNeverConfirms",
                     R"({"t":100,"type":"verdict","target":"primary","verdict":"unhealthy"}
{"t":120,"type":"verdict","target":"primary","verdict":"healthy"}
{"t":130,"type":"verdict","target":"primary","verdict":"unhealthy"}
{"t":150,"type":"verdict","target":"primary","verdict":"healthy"}
{"t":160,"type":"verdict","target":"primary","verdict":"unhealthy"}
{"t":185,"type":"verdict","target":"primary","verdict":"healthy"})",
                     {"t=0 HEALTHY", "t=100 SUSPECT", "t=120 HEALTHY", "t=130 SUSPECT",
                      "t=150 HEALTHY", "t=160 SUSPECT", "t=185 HEALTHY"}},
        TimelineCase{"SecondaryDownHoldsUntilItRecovers",
                     R"({"t":50,"type":"verdict","target":"secondary","verdict":"unhealthy"}
{"t":100,"type":"verdict","target":"primary","verdict":"unhealthy"}
{"t":400,"type":"verdict","target":"secondary","verdict":"healthy"})",
                     {"t=0 HEALTHY", "t=100 SUSPECT", "t=130 CONFIRMED_DOWN",
                      "t=190 HOLD SECONDARY_UNHEALTHY", "t=400 PLANNED"},
                     400},
        TimelineCase{"FailedPlannedAttemptMovesOnToForced",
                     R"({"t":100,"type":"verdict","target":"primary","verdict":"unhealthy"}
{"t":190,"type":"operation_started","kind":"planned"}
{"t":250,"type":"operation_finished","kind":"planned","outcome":"failed","error":"PlannedFailoverTimedOut"})",
                     {"t=0 HEALTHY", "t=100 SUSPECT", "t=130 CONFIRMED_DOWN", "t=190 PLANNED",
                      "t=190 HOLD OPERATION_IN_FLIGHT", "t=250 CONFIRMED_DOWN", "t=700 FORCED"},
                     700},
        TimelineCase{"DataLossBudgetExceededWaitsForApproval",
                     R"({"t":100,"type":"verdict","target":"primary","verdict":"unhealthy"}
{"t":190,"type":"operation_started","kind":"planned"}
{"t":250,"type":"operation_finished","kind":"planned","outcome":"failed"})",
                     {"t=0 HEALTHY", "t=100 SUSPECT", "t=130 CONFIRMED_DOWN", "t=190 PLANNED",
                      "t=190 HOLD OPERATION_IN_FLIGHT", "t=250 CONFIRMED_DOWN",
                      "t=700 WAIT_APPROVAL APPROVAL_REQUIRED"},
                     1200,
                     [](Policy& p) { p.data_loss_budget = absl::Minutes(5); }},
        TimelineCase{"ApprovalReleasesAForcedFailover",
                     R"({"t":100,"type":"verdict","target":"primary","verdict":"unhealthy"}
{"t":190,"type":"operation_started","kind":"planned"}
{"t":250,"type":"operation_finished","kind":"planned","outcome":"failed"}
{"t":800,"type":"approval","kind":"forced"})",
                     {"t=0 HEALTHY", "t=100 SUSPECT", "t=130 CONFIRMED_DOWN", "t=190 PLANNED",
                      "t=190 HOLD OPERATION_IN_FLIGHT", "t=250 CONFIRMED_DOWN",
                      "t=700 WAIT_APPROVAL APPROVAL_REQUIRED", "t=800 FORCED"},
                     800,
                     [](Policy& p) { p.approval_mode = v1::APPROVAL_MODE_APPROVE_FORCED; }},
        TimelineCase{
            "CooldownHoldsASecondFailover",
            R"({"t":10,"type":"operation_finished","kind":"planned","outcome":"succeeded"}
{"t":10,"type":"roles","primary":"srv-b","secondary":"srv-a"}
{"t":100,"type":"verdict","target":"primary","verdict":"unhealthy"})",
            {"t=0 HEALTHY", "t=100 SUSPECT", "t=130 CONFIRMED_DOWN", "t=190 HOLD COOLDOWN"},
            600},
        TimelineCase{"BlastRadiusCapHoldsWhenManyGroupsFail",
                     R"({"t":90,"type":"groups_failing","count":12}
{"t":100,"type":"verdict","target":"primary","verdict":"unhealthy"}
{"t":600,"type":"groups_failing","count":2})",
                     {"t=0 HEALTHY", "t=100 SUSPECT", "t=130 CONFIRMED_DOWN",
                      "t=190 HOLD BLAST_RADIUS_CAP", "t=600 PLANNED"},
                     600,
                     [](Policy& p) { p.blast_radius_cap = 5; }},
        TimelineCase{
            "ImpairedVantageHolds",
            R"({"t":100,"type":"verdict","target":"primary","verdict":"unhealthy"}
{"t":110,"type":"vantage","impaired":true})",
            {"t=0 HEALTHY", "t=100 SUSPECT", "t=130 CONFIRMED_DOWN", "t=190 HOLD VANTAGE_IMPAIRED"},
            600},
        TimelineCase{
            "MaintenanceWindowHoldsUntilItEnds",
            R"({"t":100,"type":"verdict","target":"primary","verdict":"unhealthy"})",
            {"t=0 HEALTHY", "t=100 SUSPECT", "t=130 CONFIRMED_DOWN",
             "t=190 HOLD MAINTENANCE_WINDOW", "t=300 PLANNED"},
            300,
            [](Policy& p) {
              p.maintenance_windows.push_back({0x7f, absl::ZeroDuration(), absl::Minutes(5)});
            }},
        TimelineCase{"PauseWithExpiryHoldsThenActs",
                     R"({"t":50,"type":"pause","until":400}
{"t":100,"type":"verdict","target":"primary","verdict":"unhealthy"})",
                     {"t=0 HEALTHY", "t=100 SUSPECT", "t=130 CONFIRMED_DOWN", "t=190 HOLD PAUSED",
                      "t=400 PLANNED"},
                     400},
        TimelineCase{
            "ObserveOnlyNeverActs",
            R"({"t":100,"type":"verdict","target":"primary","verdict":"unhealthy"})",
            {"t=0 HEALTHY", "t=100 SUSPECT", "t=130 CONFIRMED_DOWN", "t=190 HOLD OBSERVE_ONLY"},
            600,
            [](Policy& p) { p.approval_mode = v1::APPROVAL_MODE_OBSERVE_ONLY; }}),
    [](const ::testing::TestParamInfo<TimelineCase>& info) { return info.param.name; });

TEST(ReplayTest, ObserveOnlyReplayRecordsWhatWouldHaveBeenDone) {
  ReplayOptions options;
  options.policy = TimelinePolicy();
  options.policy.approval_mode = v1::APPROVAL_MODE_OBSERVE_ONLY;
  options.until = options.epoch + absl::Minutes(15);
  auto decisions =
      Replay(std::string(kStart) +
                 R"({"t":100,"type":"verdict","target":"primary","verdict":"unhealthy"})",
             options);
  ASSERT_TRUE(decisions.ok()) << decisions.status();
  const ReplayedDecision& last = decisions->back();
  EXPECT_EQ(last.decision.intended, v1::FAILOVER_KIND_FORCED);
  EXPECT_EQ(last.decision.action, v1::FAILOVER_KIND_UNSPECIFIED);
  const std::string line = ReplayedDecisionToJson(last);
  EXPECT_THAT(line, HasSubstr(R"("intended":"forced")"));
  EXPECT_THAT(
      line,
      HasSubstr(R"("reasons":["PRIMARY_CONFIRMED_DOWN","DATA_LOSS_GRACE_ELAPSED","OBSERVE_ONLY")"));
}

TEST(ReplayTest, AcceptsRfc3339TimesAndComments) {
  ReplayOptions options;
  options.policy = TimelinePolicy();
  auto decisions = Replay(
      "# incident 2026-01-01\n"
      R"({"t":"2026-01-01T00:00:00Z","type":"verdict","target":"primary","verdict":"healthy"})",
      options);
  ASSERT_TRUE(decisions.ok()) << decisions.status();
  ASSERT_EQ(decisions->size(), 1u);
  EXPECT_EQ(decisions->front().line, 2);
  EXPECT_EQ(decisions->front().at, options.epoch);
}

TEST(ReplayTest, RejectsMalformedLinesNamingTheLine) {
  ReplayOptions options;
  EXPECT_THAT(Replay("{\"t\":0,\"type\":\"evaluate\"}\nnot json\n", options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 2")));
  EXPECT_THAT(Replay(R"({"t":0,"type":"explode"})", options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown observation type")));
  EXPECT_THAT(Replay("{\"t\":10,\"type\":\"evaluate\"}\n{\"t\":5,\"type\":\"evaluate\"}", options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("backwards")));
  EXPECT_THAT(Replay(R"({"t":0,"type":"verdict","target":"primary","verdict":"meh"})", options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown verdict")));
}

TEST(ReplayTest, StopsARunawayReplay) {
  ReplayOptions options;
  options.policy.reevaluate_interval = absl::Seconds(1);
  options.max_evaluations = 100;
  options.only_changes = false;
  options.until = options.epoch + absl::Hours(1);
  EXPECT_THAT(Replay(R"({"t":0,"type":"evaluate"})", options),
              StatusIs(absl::StatusCode::kResourceExhausted));
}

}  // namespace
}  // namespace foghorn::decision
