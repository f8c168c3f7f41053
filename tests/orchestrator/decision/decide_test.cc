#include "orchestrator/decision/decide.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace foghorn::decision {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using v1::FailoverKind;

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);  // 2026-01-01T00:00:00Z (Thursday)

Policy TestPolicy() {
  Policy p;
  p.confirm_after = absl::Seconds(30);
  p.planned_grace = absl::Minutes(1);
  p.data_loss_grace = absl::Minutes(10);
  p.data_loss_budget = absl::Minutes(15);
  p.approval_mode = v1::APPROVAL_MODE_AUTOMATIC;
  p.cooldown = absl::Hours(1);
  p.reevaluate_interval = absl::Seconds(30);
  return p;
}

// A group whose primary went down at kT0 with a healthy secondary and a fresh lag sample.
GroupView DownSince(absl::Time since) {
  GroupView v;
  v.roles = {"srv-a", "srv-b"};
  v.primary = {v1::VERDICT_UNHEALTHY, since};
  v.secondary = {v1::VERDICT_HEALTHY, absl::InfinitePast()};
  v.last_lag = LagSample{absl::Seconds(5), since};
  v.groups_failing = 1;
  return v;
}

std::vector<ReasonCode> Codes(const Decision& d) {
  std::vector<ReasonCode> out;
  for (const Reason& r : d.reasons) out.push_back(r.code);
  return out;
}

TEST(DecideTest, HealthyPrimaryIsHealthyAndReevaluatesOnTheInterval) {
  GroupView v;
  v.roles = {"srv-a", "srv-b"};
  v.primary.verdict = v1::VERDICT_HEALTHY;
  Decision d = Decide(v, TestPolicy(), kT0);
  EXPECT_EQ(d.stage, Stage::kHealthy);
  EXPECT_EQ(d.action, v1::FAILOVER_KIND_UNSPECIFIED);
  EXPECT_THAT(Codes(d), ElementsAre(ReasonCode::kPrimaryHealthy));
  EXPECT_EQ(d.next_evaluation, kT0 + absl::Seconds(30));
  EXPECT_EQ(d.summary, "HEALTHY: srv-a is healthy");
}

TEST(DecideTest, AHealthyGroupSaysWhileCoordinationIsLost) {
  GroupView v;
  v.roles = {"srv-a", "srv-b"};
  v.primary.verdict = v1::VERDICT_HEALTHY;
  v.coordination = CoordinationView{};
  v.coordination->lost = true;
  v.coordination->lost_reason = "no etcd quorum";
  Decision d = Decide(v, TestPolicy(), kT0);
  EXPECT_EQ(d.stage, Stage::kHealthy);
  EXPECT_THAT(Codes(d), ElementsAre(ReasonCode::kPrimaryHealthy, ReasonCode::kCoordinationLost));
  EXPECT_THAT(d.summary, HasSubstr("no etcd quorum"));
}

TEST(DecideTest, TheOutageReasonNamesEachVantagesVote) {
  GroupView v = DownSince(kT0);
  v.coordination = CoordinationView{};
  v.coordination->leader = true;
  v.coordination->primary_quorum = CoordinationView::Quorum::kConfirmedDown;
  v.coordination->votes = "confirmed 2/3 (quorum 2): eu=down, us=down, ap=up";
  EXPECT_THAT(Decide(v, TestPolicy(), kT0 + absl::Seconds(5)).summary,
              HasSubstr("(vantages confirmed 2/3 (quorum 2): eu=down, us=down, ap=up)"));
  EXPECT_THAT(Decide(v, TestPolicy(), kT0 + absl::Minutes(5)).summary,
              HasSubstr("eu=down, us=down, ap=up"));
}

TEST(DecideTest, UnhealthyPrimaryIsSuspectUntilConfirmAfterAndWakesThen) {
  Decision d = Decide(DownSince(kT0), TestPolicy(), kT0 + absl::Seconds(10));
  EXPECT_EQ(d.stage, Stage::kSuspect);
  EXPECT_EQ(d.next_evaluation, kT0 + absl::Seconds(30));
}

TEST(DecideTest, ConfirmedDownWaitsForPlannedGraceAndWakesWhenItEnds) {
  Policy p = TestPolicy();
  p.reevaluate_interval = absl::Minutes(5);
  Decision d = Decide(DownSince(kT0), p, kT0 + absl::Seconds(45));
  EXPECT_EQ(d.stage, Stage::kConfirmedDown);
  EXPECT_THAT(Codes(d),
              ElementsAre(ReasonCode::kPrimaryConfirmedDown, ReasonCode::kAwaitingPlannedGrace));
  EXPECT_EQ(d.next_evaluation, kT0 + absl::Seconds(90));
}

TEST(DecideTest, PlannedFailoverAfterPlannedGraceTowardsTheSecondary) {
  Decision d = Decide(DownSince(kT0), TestPolicy(), kT0 + absl::Seconds(90));
  EXPECT_EQ(d.stage, Stage::kPlanned);
  EXPECT_EQ(d.action, v1::FAILOVER_KIND_PLANNED);
  EXPECT_EQ(d.target_server, "srv-b");
}

TEST(DecideTest, FailedPlannedAttemptIsNotRetriedAndWaitsForDataLossGrace) {
  GroupView v = DownSince(kT0);
  v.last_planned_attempt =
      PlannedAttempt{kT0 + absl::Minutes(3), AttemptOutcome::kFailed, "PlannedFailoverTimedOut"};
  Decision d = Decide(v, TestPolicy(), kT0 + absl::Minutes(4));
  EXPECT_EQ(d.stage, Stage::kConfirmedDown);
  EXPECT_EQ(d.action, v1::FAILOVER_KIND_UNSPECIFIED);
  EXPECT_TRUE(d.HasReason(ReasonCode::kPlannedAttemptFailed));
  EXPECT_THAT(d.summary, HasSubstr("PlannedFailoverTimedOut"));
  EXPECT_EQ(d.next_evaluation, kT0 + absl::Minutes(4) + absl::Seconds(30));
  Decision later = Decide(v, TestPolicy(), kT0 + absl::Minutes(10));
  EXPECT_EQ(later.stage, Stage::kForced);
  EXPECT_EQ(later.action, v1::FAILOVER_KIND_FORCED);
}

TEST(DecideTest, PlannedAttemptFromAnEarlierOutageDoesNotCount) {
  GroupView v = DownSince(kT0);
  v.last_planned_attempt = PlannedAttempt{kT0 - absl::Hours(5), AttemptOutcome::kFailed, ""};
  EXPECT_EQ(Decide(v, TestPolicy(), kT0 + absl::Minutes(2)).action, v1::FAILOVER_KIND_PLANNED);
}

TEST(DecideTest, PreferTryPlannedBeforeForcedByPolicy) {
  Policy p = TestPolicy();
  p.prefer_try_planned_before_forced = true;
  Decision d = Decide(DownSince(kT0), p, kT0 + absl::Minutes(11));
  EXPECT_EQ(d.stage, Stage::kTryPlannedBeforeForced);
  EXPECT_EQ(d.action, v1::FAILOVER_KIND_TRY_PLANNED_BEFORE_FORCED);
}

TEST(DecideTest, DataLossEstimateIsLastLagPlusTimeSinceSample) {
  GroupView v = DownSince(kT0);
  v.last_lag = LagSample{absl::Seconds(20), kT0 - absl::Seconds(40)};
  Decision d = Decide(v, TestPolicy(), kT0 + absl::Minutes(10));
  ASSERT_TRUE(d.estimated_data_loss.has_value());
  EXPECT_EQ(*d.estimated_data_loss, absl::Seconds(20) + absl::Seconds(40) + absl::Minutes(10));
  EXPECT_EQ(d.stage, Stage::kForced);
  EXPECT_TRUE(d.HasReason(ReasonCode::kDataLossWithinBudget));
  // The estimate crosses the 15m budget in 4m, after the 30s re-evaluation interval.
  EXPECT_EQ(d.next_evaluation, kT0 + absl::Minutes(10) + absl::Seconds(30));
}

TEST(DecideTest, ForcedOverBudgetWaitsForAnApprovalThatAllowsDataLoss) {
  GroupView v = DownSince(kT0);
  v.last_lag = LagSample{absl::Minutes(10), kT0};
  Decision d = Decide(v, TestPolicy(), kT0 + absl::Minutes(10));
  EXPECT_EQ(d.stage, Stage::kWaitApproval);
  EXPECT_EQ(d.action, v1::FAILOVER_KIND_UNSPECIFIED);
  EXPECT_EQ(d.intended, v1::FAILOVER_KIND_FORCED);
  EXPECT_TRUE(d.HasReason(ReasonCode::kDataLossBudgetExceeded));

  v.approval = Approval{v1::FAILOVER_KIND_FORCED, kT0 + absl::Minutes(9), kT0 + absl::Hours(1),
                        /*allow_data_loss_over_budget=*/false};
  EXPECT_EQ(Decide(v, TestPolicy(), kT0 + absl::Minutes(10)).stage, Stage::kWaitApproval);
  v.approval->allow_data_loss_over_budget = true;
  Decision approved = Decide(v, TestPolicy(), kT0 + absl::Minutes(10));
  EXPECT_EQ(approved.action, v1::FAILOVER_KIND_FORCED);
  EXPECT_TRUE(approved.HasReason(ReasonCode::kApproved));
}

TEST(DecideTest, NoLagSampleMeansUnknownDataLossAndWaitsForApproval) {
  GroupView v = DownSince(kT0);
  v.last_lag.reset();
  Decision d = Decide(v, TestPolicy(), kT0 + absl::Minutes(10));
  EXPECT_EQ(d.stage, Stage::kWaitApproval);
  EXPECT_TRUE(d.HasReason(ReasonCode::kDataLossUnknown));
}

TEST(DecideTest, ApproveForcedRunsPlannedAloneButWaitsBeforeForced) {
  Policy p = TestPolicy();
  p.approval_mode = v1::APPROVAL_MODE_APPROVE_FORCED;
  EXPECT_EQ(Decide(DownSince(kT0), p, kT0 + absl::Minutes(2)).action, v1::FAILOVER_KIND_PLANNED);
  Decision d = Decide(DownSince(kT0), p, kT0 + absl::Minutes(10));
  EXPECT_EQ(d.stage, Stage::kWaitApproval);
  EXPECT_TRUE(d.HasReason(ReasonCode::kApprovalRequired));
}

TEST(DecideTest, ApprovalForThisOutageReleasesTheForcedFailover) {
  Policy p = TestPolicy();
  p.approval_mode = v1::APPROVAL_MODE_APPROVE_FORCED;
  GroupView v = DownSince(kT0);
  v.approval = Approval{v1::FAILOVER_KIND_TRY_PLANNED_BEFORE_FORCED, kT0 + absl::Minutes(5),
                        kT0 + absl::Minutes(20), false};
  EXPECT_EQ(Decide(v, p, kT0 + absl::Minutes(10)).action, v1::FAILOVER_KIND_FORCED);
}

TEST(DecideTest, ApprovalFromBeforeTheOutageOrExpiredDoesNotCount) {
  Policy p = TestPolicy();
  p.approval_mode = v1::APPROVAL_MODE_APPROVE_ALL;
  GroupView v = DownSince(kT0);
  v.approval = Approval{v1::FAILOVER_KIND_AUTO, kT0 - absl::Minutes(1), kT0 + absl::Hours(1), 0};
  EXPECT_EQ(Decide(v, p, kT0 + absl::Minutes(2)).stage, Stage::kWaitApproval);
  v.approval = Approval{v1::FAILOVER_KIND_AUTO, kT0 + absl::Minutes(1), kT0 + absl::Minutes(2), 0};
  EXPECT_EQ(Decide(v, p, kT0 + absl::Minutes(3)).stage, Stage::kWaitApproval);
  EXPECT_EQ(Decide(v, p, kT0 + absl::Seconds(100)).action, v1::FAILOVER_KIND_PLANNED);
}

TEST(DecideTest, PlannedApprovalDoesNotCoverForced) {
  Policy p = TestPolicy();
  p.approval_mode = v1::APPROVAL_MODE_APPROVE_ALL;
  GroupView v = DownSince(kT0);
  v.approval = Approval{v1::FAILOVER_KIND_PLANNED, kT0 + absl::Minutes(1), kT0 + absl::Hours(1), 0};
  EXPECT_EQ(Decide(v, p, kT0 + absl::Minutes(11)).stage, Stage::kWaitApproval);
}

struct HoldCase {
  std::string name;
  std::function<void(GroupView&, Policy&)> arrange;
  ReasonCode reason;
  absl::Time wake;  // expected next_evaluation; InfinitePast = now + reevaluate interval
};

class HoldTest : public ::testing::TestWithParam<HoldCase> {};

TEST_P(HoldTest, HoldsWithTheSpecificReasonAndNoAction) {
  GroupView v = DownSince(kT0);
  Policy p = TestPolicy();
  // Long enough that only the hold's own edge sets next_evaluation.
  p.reevaluate_interval = absl::Hours(2);
  p.data_loss_budget = absl::Hours(10);
  GetParam().arrange(v, p);
  const absl::Time now = kT0 + absl::Minutes(12);
  Decision d = Decide(v, p, now);
  EXPECT_EQ(d.stage, Stage::kHold) << d.summary;
  EXPECT_EQ(d.action, v1::FAILOVER_KIND_UNSPECIFIED);
  EXPECT_TRUE(d.HasReason(GetParam().reason)) << d.summary;
  const absl::Time wake =
      GetParam().wake == absl::InfinitePast() ? now + p.reevaluate_interval : GetParam().wake;
  EXPECT_EQ(d.next_evaluation, wake) << d.summary;
}

INSTANTIATE_TEST_SUITE_P(
    Holds, HoldTest,
    ::testing::Values(
        HoldCase{"SecondaryUnhealthy",
                 [](GroupView& v, Policy&) {
                   v.secondary = {v1::VERDICT_UNHEALTHY, kT0};
                 },
                 ReasonCode::kSecondaryUnhealthy, absl::InfinitePast()},
        HoldCase{"SecondaryUnknown",
                 [](GroupView& v, Policy&) { v.secondary.verdict = v1::VERDICT_UNKNOWN; },
                 ReasonCode::kSecondaryUnknown, absl::InfinitePast()},
        HoldCase{"Cooldown",
                 [](GroupView& v, Policy&) { v.last_failover_at = kT0 - absl::Minutes(30); },
                 ReasonCode::kCooldown, kT0 + absl::Minutes(30)},
        HoldCase{"PausedWithExpiry",
                 [](GroupView& v, Policy&) {
                   v.paused_until = kT0 + absl::Minutes(12) + absl::Seconds(5);
                 },
                 ReasonCode::kPaused, kT0 + absl::Minutes(12) + absl::Seconds(5)},
        HoldCase{"PausedIndefinitely",
                 [](GroupView& v, Policy&) { v.paused_until = absl::InfiniteFuture(); },
                 ReasonCode::kPaused, absl::InfinitePast()},
        HoldCase{"MaintenanceWindow",
                 [](GroupView&, Policy& p) {
                   // Every day 23:50 for 30 minutes: active at 00:12 (started the day before).
                   p.maintenance_windows.push_back(
                       {0x7f, absl::Hours(23) + absl::Minutes(50), absl::Minutes(30)});
                 },
                 ReasonCode::kMaintenanceWindow, kT0 + absl::Minutes(20)},
        HoldCase{"BlastRadiusCap",
                 [](GroupView& v, Policy& p) {
                   p.blast_radius_cap = 3;
                   v.groups_failing = 4;
                 },
                 ReasonCode::kBlastRadiusCap, absl::InfinitePast()},
        HoldCase{"VantageImpaired", [](GroupView& v, Policy&) { v.vantage_impaired = true; },
                 ReasonCode::kVantageImpaired, absl::InfinitePast()},
        HoldCase{"PrimaryVerdictImpaired",
                 [](GroupView& v, Policy&) { v.primary.verdict = v1::VERDICT_IMPAIRED; },
                 ReasonCode::kVantageImpaired, absl::InfinitePast()},
        HoldCase{"OperationInFlight",
                 [](GroupView& v, Policy&) {
                   v.in_flight = OperationInFlight{v1::FAILOVER_KIND_PLANNED, kT0};
                 },
                 ReasonCode::kOperationInFlight, absl::InfinitePast()},
        HoldCase{"ObserveOnly",
                 [](GroupView&, Policy& p) { p.approval_mode = v1::APPROVAL_MODE_OBSERVE_ONLY; },
                 ReasonCode::kObserveOnly, absl::InfinitePast()},
        HoldCase{"RolesUnknown", [](GroupView& v, Policy&) { v.roles = {}; },
                 ReasonCode::kRolesUnknown, absl::InfinitePast()}),
    [](const ::testing::TestParamInfo<HoldCase>& info) { return info.param.name; });

TEST(DecideTest, HoldListsEveryReasonThatApplies) {
  GroupView v = DownSince(kT0);
  v.paused_until = absl::InfiniteFuture();
  v.secondary.verdict = v1::VERDICT_UNHEALTHY;
  Decision d = Decide(v, TestPolicy(), kT0 + absl::Minutes(2));
  EXPECT_TRUE(d.HasReason(ReasonCode::kPaused));
  EXPECT_TRUE(d.HasReason(ReasonCode::kSecondaryUnhealthy));
}

TEST(DecideTest, ObserveOnlyStillSaysWhatItWouldHaveDone) {
  Policy p = TestPolicy();
  p.approval_mode = v1::APPROVAL_MODE_OBSERVE_ONLY;
  Decision d = Decide(DownSince(kT0), p, kT0 + absl::Minutes(11));
  EXPECT_EQ(d.intended, v1::FAILOVER_KIND_FORCED);
  EXPECT_EQ(d.action, v1::FAILOVER_KIND_UNSPECIFIED);
  EXPECT_THAT(d.summary, HasSubstr("would start a forced failover"));
}

TEST(DecideTest, UnknownPrimaryRightAfterAFailoverIsVerifying) {
  GroupView v;
  v.roles = {"srv-b", "srv-a"};
  v.last_failover_at = kT0;
  Decision d = Decide(v, TestPolicy(), kT0 + absl::Seconds(5));
  EXPECT_EQ(d.stage, Stage::kVerifying);
}

TEST(DecideTest, StreakStartInTheFutureIsTreatedAsStartingNow) {
  Decision d = Decide(DownSince(kT0 + absl::Hours(1)), TestPolicy(), kT0);
  EXPECT_EQ(d.stage, Stage::kSuspect);
  EXPECT_EQ(d.outage_began, kT0);
}

TEST(PolicyTest, MaintenanceWindowHonoursDaysOfTheWeek) {
  // kT0 is a Thursday. A Wednesday-only window 23:00 + 2h covers Thursday 00:00-01:00.
  std::vector<MaintenanceWindow> w = {{1u << 2, absl::Hours(23), absl::Hours(2)}};
  EXPECT_EQ(ActiveMaintenanceWindowEnd(w, kT0 + absl::Minutes(30)), kT0 + absl::Hours(1));
  EXPECT_EQ(ActiveMaintenanceWindowEnd(w, kT0 + absl::Hours(1)), std::nullopt);
  std::vector<MaintenanceWindow> fri = {{1u << 4, absl::Hours(0), absl::Hours(2)}};
  EXPECT_EQ(ActiveMaintenanceWindowEnd(fri, kT0 + absl::Minutes(30)), std::nullopt);
  EXPECT_EQ(ActiveMaintenanceWindowEnd(fri, kT0 + absl::Hours(24) + absl::Minutes(30)),
            kT0 + absl::Hours(26));
}

TEST(PolicyTest, FromProtoFillsDefaultsAndParsesWindows) {
  v1::Policy proto;
  proto.mutable_cooldown()->set_seconds(600);
  auto* w = proto.add_maintenance_windows();
  w->add_days("sat");
  w->add_days("Sunday");
  w->set_start("02:30");
  w->mutable_duration()->set_seconds(3600);
  absl::StatusOr<Policy> p = PolicyFromProto(proto);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->cooldown, absl::Minutes(10));
  EXPECT_EQ(p->planned_grace, kDefaultPlannedGrace);
  EXPECT_EQ(p->approval_mode, kDefaultApprovalMode);
  ASSERT_EQ(p->maintenance_windows.size(), 1u);
  EXPECT_EQ(p->maintenance_windows[0].days_mask, (1u << 5) | (1u << 6));
  EXPECT_EQ(p->maintenance_windows[0].start, absl::Hours(2) + absl::Minutes(30));
}

TEST(PolicyTest, FromProtoRejectsABadWindowStart) {
  v1::Policy proto;
  proto.add_maintenance_windows()->set_start("25:00");
  EXPECT_EQ(PolicyFromProto(proto).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(HoldsTest, AreExactlyTheHoldsDecideListsOnceTheLadderCallsForAFailover) {
  GroupView v = DownSince(kT0);
  v.paused_until = absl::InfiniteFuture();
  v.last_failover_at = kT0 - absl::Minutes(5);
  v.secondary.verdict = v1::VERDICT_UNHEALTHY;
  Policy p = TestPolicy();
  p.blast_radius_cap = 1;
  v.groups_failing = 2;
  const absl::Time now = kT0 + absl::Minutes(2);
  Decision d = Decide(v, p, now);
  ASSERT_EQ(d.stage, Stage::kHold);
  std::vector<ReasonCode> from_decide;
  for (ReasonCode c : Codes(d)) {
    if (c == ReasonCode::kPaused || c == ReasonCode::kCooldown ||
        c == ReasonCode::kSecondaryUnhealthy || c == ReasonCode::kBlastRadiusCap) {
      from_decide.push_back(c);
    }
  }
  std::vector<ReasonCode> holds;
  for (const Reason& r : Holds(v, p, now, v1::FAILOVER_KIND_PLANNED)) holds.push_back(r.code);
  EXPECT_EQ(holds, from_decide);
  EXPECT_THAT(holds, ElementsAre(ReasonCode::kPaused, ReasonCode::kCooldown,
                                 ReasonCode::kSecondaryUnhealthy, ReasonCode::kBlastRadiusCap));
}

TEST(HoldsTest, ApplyWhateverThePrimarysHealth) {
  GroupView v;
  v.roles = {"srv-a", "srv-b"};
  v.primary.verdict = v1::VERDICT_HEALTHY;
  v.secondary.verdict = v1::VERDICT_HEALTHY;
  EXPECT_TRUE(Holds(v, TestPolicy(), kT0, v1::FAILOVER_KIND_FORCED).empty());
  v.paused_until = kT0 + absl::Minutes(5);
  std::vector<Reason> holds = Holds(v, TestPolicy(), kT0, v1::FAILOVER_KIND_FORCED);
  ASSERT_EQ(holds.size(), 1u);
  EXPECT_EQ(holds[0].code, ReasonCode::kPaused);
  EXPECT_EQ(holds[0].text, "automation paused for another 5m");
}

TEST(DecideTest, DataLossReasonNamesTheLagSourceAndTheSampleAge) {
  GroupView v = DownSince(kT0);
  const absl::Time now = kT0 + absl::Minutes(10);
  v.last_lag =
      LagSample{absl::Seconds(20), now - absl::Seconds(95), "azure_metric replication_lag_seconds"};
  Decision d = Decide(v, TestPolicy(), now);
  ASSERT_TRUE(d.estimated_data_loss.has_value());
  EXPECT_EQ(*d.estimated_data_loss, absl::Seconds(115));
  ASSERT_TRUE(d.HasReason(ReasonCode::kDataLossWithinBudget));
  EXPECT_THAT(d.summary, HasSubstr("estimated data loss 1m55s (azure_metric "
                                   "replication_lag_seconds, sample 1m35s old) within budget 15m"));
}

TEST(DecideTest, DataLossOverBudgetNamesTheLagSource) {
  GroupView v = DownSince(kT0);
  v.last_lag = LagSample{absl::Minutes(10), kT0, "last known (journal)"};
  Decision d = Decide(v, TestPolicy(), kT0 + absl::Minutes(10));
  ASSERT_TRUE(d.HasReason(ReasonCode::kDataLossBudgetExceeded));
  EXPECT_THAT(d.summary, HasSubstr("estimated data loss 20m (last known (journal), sample 10m "
                                   "old) exceeds budget 15m"));
}

TEST(DecideTest, DataLossReasonWithoutASourceStillGivesTheSampleAge) {
  GroupView v = DownSince(kT0);
  Decision d = Decide(v, TestPolicy(), kT0 + absl::Minutes(10));
  EXPECT_THAT(d.summary, HasSubstr("estimated data loss 10m5s (sample 10m old) within budget"));
}

TEST(DecideTest, SecondaryWhoseLinkIsNotReadyIsNotAFailoverTarget) {
  GroupView v = DownSince(kT0);
  v.secondary_not_ready = "replication link SUSPENDED (link to srv-a/db1, GEO)";
  Decision d = Decide(v, TestPolicy(), kT0 + absl::Minutes(11));
  EXPECT_EQ(d.stage, Stage::kHold);
  EXPECT_EQ(d.action, v1::FAILOVER_KIND_UNSPECIFIED);
  EXPECT_EQ(d.intended, v1::FAILOVER_KIND_FORCED);
  ASSERT_TRUE(d.HasReason(ReasonCode::kSecondaryNotReady));
  EXPECT_THAT(d.summary, HasSubstr("secondary srv-b is not a failover target: replication link "
                                   "SUSPENDED (link to srv-a/db1, GEO)"));
  EXPECT_EQ(ReasonCodeName(ReasonCode::kSecondaryNotReady), "SECONDARY_NOT_READY");
  // The planned rung holds too, and so does a person's request (Holds).
  EXPECT_EQ(Decide(v, TestPolicy(), kT0 + absl::Minutes(2)).stage, Stage::kHold);
  std::vector<Reason> holds = Holds(v, TestPolicy(), kT0, v1::FAILOVER_KIND_PLANNED);
  ASSERT_EQ(holds.size(), 1u);
  EXPECT_EQ(holds[0].code, ReasonCode::kSecondaryNotReady);

  v.secondary_not_ready.clear();
  EXPECT_EQ(Decide(v, TestPolicy(), kT0 + absl::Minutes(11)).action, v1::FAILOVER_KIND_FORCED);
}

}  // namespace
}  // namespace foghorn::decision
