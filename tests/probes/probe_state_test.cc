#include "probes/probe_state.h"

#include "gtest/gtest.h"

namespace foghorn::probes {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1000);

absl::Time At(int s) { return kT0 + absl::Seconds(s); }

TEST(ProbeStateMachineTest, StartsUnknownAndOneSuccessMakesItHealthy) {
  ProbeStateMachine m(3, 2);
  EXPECT_EQ(m.state(), ProbeState::kUnknown);
  EXPECT_EQ(m.Apply(ProbeOutcome::kSuccess, At(0)), ProbeState::kHealthy);
}

TEST(ProbeStateMachineTest, TurnsUnhealthyOnlyAtTheUnhealthyThreshold) {
  ProbeStateMachine m(3, 2);
  m.Apply(ProbeOutcome::kSuccess, At(0));
  EXPECT_EQ(m.Apply(ProbeOutcome::kFailure, At(5)), ProbeState::kHealthy);
  EXPECT_EQ(m.Apply(ProbeOutcome::kFailure, At(10)), ProbeState::kHealthy);
  EXPECT_EQ(m.Apply(ProbeOutcome::kFailure, At(15)), ProbeState::kUnhealthy);
}

TEST(ProbeStateMachineTest, FailureStreakStartsAtTheFirstFailureNotTheThresholdCrossing) {
  ProbeStateMachine m(3, 2);
  m.Apply(ProbeOutcome::kSuccess, At(0));
  m.Apply(ProbeOutcome::kFailure, At(5));
  m.Apply(ProbeOutcome::kFailure, At(10));
  m.Apply(ProbeOutcome::kFailure, At(15));
  EXPECT_EQ(m.failure_streak_start(), At(5));
}

TEST(ProbeStateMachineTest, ASuccessBetweenFailuresRestartsTheCountAndTheStreak) {
  ProbeStateMachine m(3, 2);
  m.Apply(ProbeOutcome::kSuccess, At(0));
  m.Apply(ProbeOutcome::kFailure, At(5));
  m.Apply(ProbeOutcome::kFailure, At(10));
  m.Apply(ProbeOutcome::kSuccess, At(15));
  EXPECT_EQ(m.failure_streak_start(), absl::InfinitePast());
  m.Apply(ProbeOutcome::kFailure, At(20));
  m.Apply(ProbeOutcome::kFailure, At(25));
  EXPECT_EQ(m.state(), ProbeState::kHealthy);
  EXPECT_EQ(m.Apply(ProbeOutcome::kFailure, At(30)), ProbeState::kUnhealthy);
  EXPECT_EQ(m.failure_streak_start(), At(20));
}

TEST(ProbeStateMachineTest, RecoveryNeedsHealthyThresholdSuccessesInARow) {
  ProbeStateMachine m(1, 3);
  m.Apply(ProbeOutcome::kFailure, At(0));
  ASSERT_EQ(m.state(), ProbeState::kUnhealthy);
  EXPECT_EQ(m.Apply(ProbeOutcome::kSuccess, At(5)), ProbeState::kUnhealthy);
  EXPECT_EQ(m.Apply(ProbeOutcome::kSuccess, At(10)), ProbeState::kUnhealthy);
  EXPECT_EQ(m.Apply(ProbeOutcome::kFailure, At(15)), ProbeState::kUnhealthy);
  EXPECT_EQ(m.Apply(ProbeOutcome::kSuccess, At(20)), ProbeState::kUnhealthy);
  EXPECT_EQ(m.Apply(ProbeOutcome::kSuccess, At(25)), ProbeState::kUnhealthy);
  EXPECT_EQ(m.Apply(ProbeOutcome::kSuccess, At(30)), ProbeState::kHealthy);
}

TEST(ProbeStateMachineTest, FailuresAtStartupNeedTheThresholdToTurnUnhealthy) {
  ProbeStateMachine m(2, 2);
  EXPECT_EQ(m.Apply(ProbeOutcome::kFailure, At(0)), ProbeState::kUnknown);
  EXPECT_EQ(m.Apply(ProbeOutcome::kFailure, At(5)), ProbeState::kUnhealthy);
  EXPECT_EQ(m.failure_streak_start(), At(0));
}

TEST(ProbeStateMachineTest, UnknownOutcomesAbstainAfterThresholdAndKeepTheStreak) {
  ProbeStateMachine m(2, 2);
  m.Apply(ProbeOutcome::kFailure, At(0));
  m.Apply(ProbeOutcome::kFailure, At(5));
  ASSERT_EQ(m.state(), ProbeState::kUnhealthy);
  EXPECT_EQ(m.Apply(ProbeOutcome::kUnknown, At(10)), ProbeState::kUnhealthy);
  EXPECT_EQ(m.Apply(ProbeOutcome::kUnknown, At(15)), ProbeState::kUnknown);
  EXPECT_EQ(m.failure_streak_start(), At(0));
  EXPECT_EQ(m.Apply(ProbeOutcome::kFailure, At(20)), ProbeState::kUnhealthy);
  EXPECT_EQ(m.failure_streak_start(), At(0));
}

TEST(ProbeStateMachineTest, UnknownOutcomesDoNotBreakASuccessStreakAfterAnOutage) {
  ProbeStateMachine m(1, 2);
  m.Apply(ProbeOutcome::kFailure, At(0));
  m.Apply(ProbeOutcome::kSuccess, At(5));
  m.Apply(ProbeOutcome::kUnknown, At(10));
  EXPECT_EQ(m.state(), ProbeState::kUnknown);
  EXPECT_EQ(m.Apply(ProbeOutcome::kSuccess, At(15)), ProbeState::kHealthy);
}

}  // namespace
}  // namespace foghorn::probes
