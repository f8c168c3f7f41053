#include "probes/probe_scheduler.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orchestrator/common/fake_clock.h"
#include "orchestrator/common/manual_executor.h"
#include "tests/probes/fake_prober.h"
#include "tests/testing/status_matchers.h"

namespace foghorn::probes {
namespace {

using ::foghorn::probes::testing::FakeProber;
using ::foghorn::probes::testing::RecordingSink;
using ::foghorn::testing::IsOk;
using ::foghorn::testing::StatusIs;

v1::ProbeSpec TcpSpec(const std::string& name, int interval_s = 5, int timeout_s = 2) {
  v1::ProbeSpec spec;
  spec.set_name(name);
  spec.set_target(v1::PROBE_TARGET_PRIMARY);
  spec.mutable_interval()->set_seconds(interval_s);
  spec.mutable_timeout()->set_seconds(timeout_s);
  spec.mutable_tcp()->set_address("127.0.0.1:1433");
  return spec;
}

class ProbeSchedulerTest : public ::testing::Test {
 protected:
  common::FakeClock clock_;
  common::ManualExecutor executor_{clock_};
  FakeProber prober_;
  RecordingSink sink_;
  ProbeScheduler scheduler_{executor_, prober_, &sink_};
  absl::Time t0_ = clock_.Now();
};

TEST_F(ProbeSchedulerTest, RunsTheFirstProbeAfterTheInitialDelayThenEveryInterval) {
  v1::ProbeSpec spec = TcpSpec("p");
  spec.mutable_initial_delay()->set_seconds(3);
  prober_.SetDefault("p", ProbeOutcome::kSuccess);
  ASSERT_THAT(scheduler_.AddProbe("g", spec, {}), IsOk());
  executor_.Advance(absl::Seconds(2));
  EXPECT_TRUE(prober_.calls().empty());
  executor_.Advance(absl::Seconds(1));
  EXPECT_EQ(prober_.calls().size(), 1u);
  executor_.Advance(absl::Seconds(10));
  ASSERT_EQ(sink_.probe_events.size(), 3u);
  EXPECT_EQ(sink_.probe_events[0].result.scheduled, t0_ + absl::Seconds(3));
  EXPECT_EQ(sink_.probe_events[1].result.scheduled, t0_ + absl::Seconds(8));
  EXPECT_EQ(sink_.probe_events[2].result.scheduled, t0_ + absl::Seconds(13));
  EXPECT_EQ(sink_.probe_events[2].result.started, t0_ + absl::Seconds(13));
}

TEST_F(ProbeSchedulerTest, JitterStretchesEachIntervalWithinItsBound) {
  v1::ProbeSpec spec = TcpSpec("p");
  spec.mutable_jitter()->set_seconds(1);
  prober_.SetDefault("p", ProbeOutcome::kSuccess);
  ASSERT_THAT(scheduler_.AddProbe("g", spec, {}), IsOk());
  executor_.Advance(absl::Seconds(600));
  ASSERT_GE(sink_.probe_events.size(), 90u);
  EXPECT_GE(sink_.probe_events[0].result.scheduled, t0_);
  EXPECT_LE(sink_.probe_events[0].result.scheduled, t0_ + absl::Seconds(1));
  bool saw_stretch = false;
  for (size_t i = 1; i < sink_.probe_events.size(); ++i) {
    absl::Duration gap =
        sink_.probe_events[i].result.scheduled - sink_.probe_events[i - 1].result.scheduled;
    EXPECT_GE(gap, absl::Seconds(5));
    EXPECT_LE(gap, absl::Seconds(6));
    if (gap > absl::Seconds(5)) saw_stretch = true;
  }
  EXPECT_TRUE(saw_stretch);
}

TEST_F(ProbeSchedulerTest, AnAttemptWithoutAnswerFailsAtTheTimeout) {
  ASSERT_THAT(scheduler_.AddProbe("g", TcpSpec("p", 5, 2), {}), IsOk());
  executor_.Advance(absl::Milliseconds(1999));
  EXPECT_TRUE(sink_.probe_events.empty());
  executor_.Advance(absl::Milliseconds(1));
  ASSERT_EQ(sink_.probe_events.size(), 1u);
  EXPECT_EQ(sink_.probe_events[0].result.outcome, ProbeOutcome::kFailure);
  EXPECT_THAT(sink_.probe_events[0].result.detail, ::testing::HasSubstr("timeout"));
  EXPECT_EQ(sink_.probe_events[0].result.finished, t0_ + absl::Seconds(2));
}

TEST_F(ProbeSchedulerTest, ALateAnswerAfterTheTimeoutIsDiscarded) {
  ASSERT_THAT(scheduler_.AddProbe("g", TcpSpec("p", 5, 2), {}), IsOk());
  executor_.Advance(absl::Seconds(3));
  ASSERT_EQ(sink_.probe_events.size(), 1u);
  prober_.ReleaseHeld(ProbeOutcome::kSuccess);
  executor_.RunUntilIdle();
  EXPECT_EQ(sink_.probe_events.size(), 1u);
}

TEST_F(ProbeSchedulerTest, PassesTheTimeoutToTheProber) {
  ASSERT_THAT(scheduler_.AddProbe("g", TcpSpec("p", 10, 3), {}), IsOk());
  executor_.RunUntilIdle();
  ASSERT_EQ(prober_.calls().size(), 1u);
  EXPECT_EQ(prober_.calls()[0].timeout, absl::Seconds(3));
}

TEST_F(ProbeSchedulerTest, ReportsStateChangesAndTheFirstFailureTime) {
  v1::ProbeSpec spec = TcpSpec("p");
  spec.set_unhealthy_threshold(2);
  prober_.Script("p", {ProbeOutcome::kSuccess, ProbeOutcome::kFailure, ProbeOutcome::kFailure});
  ASSERT_THAT(scheduler_.AddProbe("g", spec, {}), IsOk());
  executor_.Advance(absl::Seconds(10));
  ASSERT_EQ(sink_.probe_events.size(), 3u);
  const ProbeEvent& last = sink_.probe_events[2];
  EXPECT_EQ(last.probe_id, "g/p");
  EXPECT_EQ(last.previous_state, ProbeState::kHealthy);
  EXPECT_EQ(last.state, ProbeState::kUnhealthy);
  EXPECT_EQ(last.failure_streak_start, t0_ + absl::Seconds(5));
}

TEST_F(ProbeSchedulerTest, KeepsABoundedHistoryOldestFirst) {
  ProbeScheduler::Options options;
  options.history_size = 3;
  ProbeScheduler scheduler(executor_, prober_, nullptr, options);
  prober_.SetDefault("h", ProbeOutcome::kSuccess);
  ASSERT_THAT(scheduler.AddProbe("g", TcpSpec("h"), {}), IsOk());
  executor_.Advance(absl::Seconds(20));
  std::optional<ProbeStatus> status = scheduler.Status("g/h");
  ASSERT_TRUE(status.has_value());
  ASSERT_EQ(status->history.size(), 3u);
  EXPECT_EQ(status->history.front().started, t0_ + absl::Seconds(10));
  EXPECT_EQ(status->history.back().started, t0_ + absl::Seconds(20));
}

TEST_F(ProbeSchedulerTest, RejectsDuplicateAndInvalidProbes) {
  EXPECT_THAT(scheduler_.AddProbe("g", TcpSpec("p"), {}), IsOk());
  EXPECT_THAT(scheduler_.AddProbe("g", TcpSpec("p"), {}),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(scheduler_.AddProbe("g", TcpSpec("q", 5, 5), {}),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("timeout")));
  v1::ProbeSpec no_kind;
  no_kind.set_name("x");
  EXPECT_THAT(scheduler_.AddProbe("g", no_kind, {}), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(ProbeSchedulerTest, ARemovedProbeStopsRunning) {
  prober_.SetDefault("p", ProbeOutcome::kSuccess);
  ASSERT_THAT(scheduler_.AddProbe("g", TcpSpec("p"), {}), IsOk());
  executor_.Advance(absl::Seconds(1));
  ASSERT_EQ(prober_.calls().size(), 1u);
  ASSERT_THAT(scheduler_.RemoveProbe("g/p"), IsOk());
  executor_.Advance(absl::Seconds(30));
  EXPECT_EQ(prober_.calls().size(), 1u);
  EXPECT_EQ(scheduler_.size(), 0u);
  EXPECT_THAT(scheduler_.RemoveProbe("g/p"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(ProbeSchedulerTest, UnknownResultsLeaveTheProbeAbstaining) {
  v1::ProbeSpec spec = TcpSpec("p");
  spec.set_unhealthy_threshold(2);
  prober_.SetDefault("p", ProbeOutcome::kUnknown);
  ASSERT_THAT(scheduler_.AddProbe("g", spec, {}), IsOk());
  executor_.Advance(absl::Seconds(30));
  std::optional<ProbeStatus> status = scheduler_.Status("g/p");
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->state, ProbeState::kUnknown);
  EXPECT_EQ(status->failure_streak_start, absl::InfinitePast());
}

}  // namespace
}  // namespace foghorn::probes
