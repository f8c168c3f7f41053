#include "probes/health_tracker.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orchestrator/common/fake_clock.h"
#include "orchestrator/common/manual_executor.h"
#include "probes/probe_scheduler.h"
#include "tests/probes/fake_prober.h"
#include "tests/testing/status_matchers.h"

namespace foghorn::probes {
namespace {

using ::foghorn::probes::testing::RecordingSink;
using ::foghorn::testing::IsOk;
using ::foghorn::testing::StatusIs;
using ::testing::HasSubstr;

v1::HealthRule Rule(v1::ProbeTarget target, std::vector<std::string> probes,
                    v1::QuorumMode mode = v1::QUORUM_MODE_ALL, int k = 0) {
  v1::HealthRule rule;
  rule.set_target(target);
  for (auto& p : probes) rule.add_probes(p);
  rule.set_quorum(mode);
  rule.set_k(k);
  return rule;
}

class HealthTrackerTest : public ::testing::Test {
 protected:
  // Feeds a probe state as the scheduler would report it.
  void Feed(const std::string& group, const std::string& name, ProbeState state,
            absl::Time streak = absl::InfinitePast(), std::optional<double> metric = {},
            v1::MetricKind kind = v1::METRIC_KIND_UNSPECIFIED) {
    ProbeEvent e;
    e.probe_id = group + "/" + name;
    e.group = group;
    e.state = state;
    e.failure_streak_start = streak;
    e.metric_kind = kind;
    e.result.outcome =
        state == ProbeState::kHealthy ? ProbeOutcome::kSuccess : ProbeOutcome::kFailure;
    e.result.metric = metric;
    e.result.started = clock_.Now();
    tracker_.OnProbeEvent(e);
  }

  v1::Verdict VerdictOf(const std::string& group, v1::ProbeTarget target) {
    auto h = tracker_.Get(group, target);
    return h.has_value() ? h->verdict : v1::VERDICT_UNSPECIFIED;
  }

  absl::Time At(int s) { return t0_ + absl::Seconds(s); }

  common::FakeClock clock_;
  absl::Time t0_ = clock_.Now();
  RecordingSink sink_;
  HealthTracker tracker_{clock_, &sink_, HealthTracker::Options{0.8, 4}};
};

TEST_F(HealthTrackerTest, ATargetWithNoResultsIsUnknown) {
  ASSERT_THAT(tracker_.AddRule("g", Rule(v1::PROBE_TARGET_PRIMARY, {"a", "b"})), IsOk());
  EXPECT_EQ(VerdictOf("g", v1::PROBE_TARGET_PRIMARY), v1::VERDICT_UNKNOWN);
}

TEST_F(HealthTrackerTest, KnowsEachProbesLastStateEvenWithoutARule) {
  EXPECT_FALSE(tracker_.ProbeStateOf("g/canary").has_value());
  Feed("g", "canary", ProbeState::kUnhealthy, At(0));
  EXPECT_EQ(tracker_.ProbeStateOf("g/canary"), ProbeState::kUnhealthy);
  Feed("g", "canary", ProbeState::kHealthy);
  EXPECT_EQ(tracker_.ProbeStateOf("g/canary"), ProbeState::kHealthy);
}

TEST_F(HealthTrackerTest, QuorumAllNeedsEveryVotingProbeUnhealthy) {
  ASSERT_THAT(tracker_.AddRule("g", Rule(v1::PROBE_TARGET_PRIMARY, {"a", "b"})), IsOk());
  Feed("g", "a", ProbeState::kUnhealthy, At(0));
  Feed("g", "b", ProbeState::kHealthy);
  EXPECT_EQ(VerdictOf("g", v1::PROBE_TARGET_PRIMARY), v1::VERDICT_HEALTHY);
  Feed("g", "b", ProbeState::kUnhealthy, At(3));
  EXPECT_EQ(VerdictOf("g", v1::PROBE_TARGET_PRIMARY), v1::VERDICT_UNHEALTHY);
}

TEST_F(HealthTrackerTest, QuorumAnyNeedsOneUnhealthyProbe) {
  ASSERT_THAT(
      tracker_.AddRule("g", Rule(v1::PROBE_TARGET_PRIMARY, {"a", "b"}, v1::QUORUM_MODE_ANY)),
      IsOk());
  Feed("g", "a", ProbeState::kUnhealthy, At(0));
  Feed("g", "b", ProbeState::kHealthy);
  EXPECT_EQ(VerdictOf("g", v1::PROBE_TARGET_PRIMARY), v1::VERDICT_UNHEALTHY);
}

TEST_F(HealthTrackerTest, QuorumKOfNNeedsKUnhealthyProbes) {
  ASSERT_THAT(tracker_.AddRule(
                  "g", Rule(v1::PROBE_TARGET_PRIMARY, {"a", "b", "c"}, v1::QUORUM_MODE_K_OF_N, 2)),
              IsOk());
  Feed("g", "a", ProbeState::kUnhealthy, At(0));
  Feed("g", "b", ProbeState::kHealthy);
  Feed("g", "c", ProbeState::kHealthy);
  EXPECT_EQ(VerdictOf("g", v1::PROBE_TARGET_PRIMARY), v1::VERDICT_HEALTHY);
  Feed("g", "c", ProbeState::kUnhealthy, At(4));
  EXPECT_EQ(VerdictOf("g", v1::PROBE_TARGET_PRIMARY), v1::VERDICT_UNHEALTHY);
}

TEST_F(HealthTrackerTest, UnknownProbesAbstainFromTheVote) {
  ASSERT_THAT(tracker_.AddRule("g", Rule(v1::PROBE_TARGET_PRIMARY, {"a", "b"})), IsOk());
  Feed("g", "a", ProbeState::kUnhealthy, At(0));
  Feed("g", "b", ProbeState::kUnknown);
  auto h = tracker_.Get("g", v1::PROBE_TARGET_PRIMARY);
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->verdict, v1::VERDICT_UNHEALTHY);
  EXPECT_EQ(h->voting, 1);
  EXPECT_EQ(h->abstaining, 1);
}

TEST_F(HealthTrackerTest, AllProbesUnknownGiveAnUnknownVerdictNotDown) {
  ASSERT_THAT(tracker_.AddRule("g", Rule(v1::PROBE_TARGET_PRIMARY, {"a"})), IsOk());
  Feed("g", "a", ProbeState::kUnhealthy, At(0));
  Feed("g", "a", ProbeState::kUnknown, At(0));
  EXPECT_EQ(VerdictOf("g", v1::PROBE_TARGET_PRIMARY), v1::VERDICT_UNKNOWN);
}

TEST_F(HealthTrackerTest, FailureStreakOfAllIsWhenTheLastProbeStartedFailing) {
  ASSERT_THAT(tracker_.AddRule("g", Rule(v1::PROBE_TARGET_PRIMARY, {"a", "b"})), IsOk());
  Feed("g", "b", ProbeState::kHealthy);
  Feed("g", "a", ProbeState::kUnhealthy, At(2));
  Feed("g", "b", ProbeState::kUnhealthy, At(7));
  auto h = tracker_.Get("g", v1::PROBE_TARGET_PRIMARY);
  EXPECT_EQ(h->failure_streak_start, At(7));
  ASSERT_FALSE(sink_.verdicts.empty());
  EXPECT_EQ(sink_.verdicts.back().verdict, v1::VERDICT_UNHEALTHY);
  EXPECT_EQ(sink_.verdicts.back().failure_streak_start, At(7));
}

TEST_F(HealthTrackerTest, FailureStreakOfAnyIsWhenTheFirstProbeStartedFailing) {
  ASSERT_THAT(
      tracker_.AddRule("g", Rule(v1::PROBE_TARGET_PRIMARY, {"a", "b"}, v1::QUORUM_MODE_ANY)),
      IsOk());
  Feed("g", "b", ProbeState::kUnhealthy, At(7));
  Feed("g", "a", ProbeState::kUnhealthy, At(2));
  EXPECT_EQ(tracker_.Get("g", v1::PROBE_TARGET_PRIMARY)->failure_streak_start, At(2));
}

TEST_F(HealthTrackerTest, VerdictChangesAreTimestampedEventsWithReasons) {
  ASSERT_THAT(tracker_.AddRule("g", Rule(v1::PROBE_TARGET_SECONDARY, {"a"})), IsOk());
  clock_.Advance(absl::Seconds(9));
  Feed("g", "a", ProbeState::kHealthy);
  ASSERT_EQ(sink_.verdicts.size(), 1u);
  EXPECT_EQ(sink_.verdicts[0].previous, v1::VERDICT_UNKNOWN);
  EXPECT_EQ(sink_.verdicts[0].verdict, v1::VERDICT_HEALTHY);
  EXPECT_EQ(sink_.verdicts[0].at, At(9));
  EXPECT_EQ(sink_.verdicts[0].target, v1::PROBE_TARGET_SECONDARY);
  EXPECT_THAT(sink_.verdicts[0].reason, HasSubstr("0 of 1 voting"));
  Feed("g", "a", ProbeState::kHealthy);
  EXPECT_EQ(sink_.verdicts.size(), 1u);
}

TEST_F(HealthTrackerTest, NearlyEverythingDownAtOnceIsImpairedNotUnhealthy) {
  for (std::string g : {"g1", "g2", "g3", "g4", "g5"}) {
    ASSERT_THAT(tracker_.AddRule(g, Rule(v1::PROBE_TARGET_PRIMARY, {"a"})), IsOk());
    Feed(g, "a", ProbeState::kHealthy);
  }
  Feed("g1", "a", ProbeState::kUnhealthy, At(1));
  Feed("g2", "a", ProbeState::kUnhealthy, At(1));
  Feed("g3", "a", ProbeState::kUnhealthy, At(1));
  EXPECT_EQ(VerdictOf("g1", v1::PROBE_TARGET_PRIMARY), v1::VERDICT_UNHEALTHY);
  EXPECT_FALSE(tracker_.impaired());
  Feed("g4", "a", ProbeState::kUnhealthy, At(1));
  EXPECT_TRUE(tracker_.impaired());
  for (std::string g : {"g1", "g2", "g3", "g4"}) {
    EXPECT_EQ(VerdictOf(g, v1::PROBE_TARGET_PRIMARY), v1::VERDICT_IMPAIRED) << g;
  }
  EXPECT_EQ(VerdictOf("g5", v1::PROBE_TARGET_PRIMARY), v1::VERDICT_HEALTHY);
  EXPECT_EQ(tracker_.Get("g1", v1::PROBE_TARGET_PRIMARY)->raw_verdict, v1::VERDICT_UNHEALTHY);
  EXPECT_THAT(sink_.verdicts.back().reason, HasSubstr("vantage impaired"));
}

TEST_F(HealthTrackerTest, ImpairmentLiftsWhenTheShareDropsBelowTheFraction) {
  for (std::string g : {"g1", "g2", "g3", "g4"}) {
    ASSERT_THAT(tracker_.AddRule(g, Rule(v1::PROBE_TARGET_PRIMARY, {"a"})), IsOk());
    Feed(g, "a", ProbeState::kUnhealthy, At(1));
  }
  ASSERT_TRUE(tracker_.impaired());
  Feed("g1", "a", ProbeState::kHealthy);
  EXPECT_FALSE(tracker_.impaired());
  EXPECT_EQ(VerdictOf("g2", v1::PROBE_TARGET_PRIMARY), v1::VERDICT_UNHEALTHY);
}

TEST_F(HealthTrackerTest, FewerTargetsThanTheMinimumAreNeverImpaired) {
  for (std::string g : {"g1", "g2", "g3"}) {
    ASSERT_THAT(tracker_.AddRule(g, Rule(v1::PROBE_TARGET_PRIMARY, {"a"})), IsOk());
    Feed(g, "a", ProbeState::kUnhealthy, At(1));
  }
  EXPECT_FALSE(tracker_.impaired());
  EXPECT_EQ(VerdictOf("g1", v1::PROBE_TARGET_PRIMARY), v1::VERDICT_UNHEALTHY);
}

TEST_F(HealthTrackerTest, ARegionOutageOfPrimariesAloneIsNotImpairment) {
  for (std::string g : {"g1", "g2", "g3"}) {
    ASSERT_THAT(tracker_.AddRule(g, Rule(v1::PROBE_TARGET_PRIMARY, {"p"})), IsOk());
    ASSERT_THAT(tracker_.AddRule(g, Rule(v1::PROBE_TARGET_SECONDARY, {"s"})), IsOk());
    Feed(g, "p", ProbeState::kUnhealthy, At(1));
    Feed(g, "s", ProbeState::kHealthy);
  }
  EXPECT_FALSE(tracker_.impaired());
  EXPECT_EQ(VerdictOf("g2", v1::PROBE_TARGET_PRIMARY), v1::VERDICT_UNHEALTHY);
}

TEST_F(HealthTrackerTest, KeepsTheLatestReplicationLagPerGroup) {
  ASSERT_THAT(tracker_.AddRule("g", Rule(v1::PROBE_TARGET_SECONDARY, {"lag"})), IsOk());
  Feed("g", "lag", ProbeState::kHealthy, absl::InfinitePast(), 2.5,
       v1::METRIC_KIND_REPLICATION_LAG_SECONDS);
  clock_.Advance(absl::Seconds(5));
  Feed("g", "lag", ProbeState::kHealthy, absl::InfinitePast(), 4.0,
       v1::METRIC_KIND_REPLICATION_LAG_SECONDS);
  auto lag = tracker_.ReplicationLag("g");
  ASSERT_TRUE(lag.has_value());
  EXPECT_DOUBLE_EQ(lag->seconds, 4.0);
  EXPECT_EQ(lag->sampled_at, At(5));
  EXPECT_EQ(lag->probe_id, "g/lag");
  EXPECT_FALSE(tracker_.ReplicationLag("other").has_value());
}

TEST_F(HealthTrackerTest, RejectsBadAndDuplicateRules) {
  EXPECT_THAT(
      tracker_.AddRule("g", Rule(v1::PROBE_TARGET_PRIMARY, {"a"}, v1::QUORUM_MODE_K_OF_N, 2)),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("k")));
  EXPECT_THAT(tracker_.AddRule("g", Rule(v1::PROBE_TARGET_PRIMARY, {})),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(tracker_.AddRule("g", Rule(v1::PROBE_TARGET_PRIMARY, {"a"})), IsOk());
  EXPECT_THAT(tracker_.AddRule("g", Rule(v1::PROBE_TARGET_PRIMARY, {"b"})),
              StatusIs(absl::StatusCode::kAlreadyExists));
}

// The whole chain on the fake clock: scheduler -> state machines -> tracker; the grace period
// can be measured from the first failing probe, not from the threshold crossing.
TEST(SchedulerAndTrackerTest, TheOutageStartIsTheFirstFailedProbeNotTheVerdictTime) {
  common::FakeClock clock;
  common::ManualExecutor executor(clock);
  absl::Time t0 = clock.Now();
  testing::FakeProber prober;
  RecordingSink verdicts;
  HealthTracker tracker(clock, &verdicts);
  ProbeScheduler scheduler(executor, prober, &tracker);
  v1::ProbeSpec spec;
  spec.set_name("tcp");
  spec.set_target(v1::PROBE_TARGET_PRIMARY);
  spec.mutable_tcp()->set_address("10.0.0.1:1433");
  prober.Script("tcp", {ProbeOutcome::kSuccess, ProbeOutcome::kSuccess});
  prober.SetDefault("tcp", ProbeOutcome::kFailure);
  ASSERT_THAT(scheduler.AddProbe("g", spec, {}), IsOk());
  ASSERT_THAT(tracker.AddRule("g", Rule(v1::PROBE_TARGET_PRIMARY, {"tcp"})), IsOk());
  executor.Advance(absl::Seconds(30));
  ASSERT_EQ(verdicts.verdicts.size(), 2u);
  EXPECT_EQ(verdicts.verdicts[1].verdict, v1::VERDICT_UNHEALTHY);
  // Probes at 0 and 5 pass; 10, 15, 20 fail; the third failure crosses the threshold.
  EXPECT_EQ(verdicts.verdicts[1].at, t0 + absl::Seconds(20));
  EXPECT_EQ(verdicts.verdicts[1].failure_streak_start, t0 + absl::Seconds(10));
}

}  // namespace
}  // namespace foghorn::probes
