#include <atomic>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orchestrator/common/clock.h"
#include "orchestrator/common/fake_clock.h"
#include "orchestrator/common/manual_executor.h"
#include "orchestrator/common/thread_executor.h"
#include "orchestrator/common/worker_pool.h"

namespace foghorn::common {
namespace {

using ::testing::ElementsAre;

TEST(ManualExecutorTest, RunsNothingUntilToldThenRunsPostedWork) {
  FakeClock clock;
  ManualExecutor executor(clock);
  int ran = 0;
  executor.Post([&] { ++ran; });
  EXPECT_EQ(ran, 0);
  EXPECT_EQ(executor.RunUntilIdle(), 1);
  EXPECT_EQ(ran, 1);
}

TEST(ManualExecutorTest, FiresTimersWhenTheClockAdvancesPastThem) {
  FakeClock clock;
  ManualExecutor executor(clock);
  std::vector<int> order;
  executor.ScheduleAfter(absl::Seconds(10), [&] { order.push_back(10); });
  executor.ScheduleAfter(absl::Seconds(5), [&] { order.push_back(5); });
  clock.Advance(absl::Seconds(4));
  EXPECT_TRUE(order.empty());
  clock.Advance(absl::Seconds(1));
  EXPECT_THAT(order, ElementsAre(5));
  clock.Advance(absl::Seconds(100));
  EXPECT_THAT(order, ElementsAre(5, 10));
}

TEST(ManualExecutorTest, RunsEachTimerWithTheClockAtItsDueTime) {
  FakeClock clock;
  const absl::Time start = clock.Now();
  ManualExecutor executor(clock);
  std::vector<absl::Duration> seen;
  executor.ScheduleAfter(absl::Seconds(3), [&] { seen.push_back(clock.Now() - start); });
  executor.ScheduleAfter(absl::Seconds(7), [&] { seen.push_back(clock.Now() - start); });
  clock.Advance(absl::Minutes(1));
  EXPECT_THAT(seen, ElementsAre(absl::Seconds(3), absl::Seconds(7)));
  EXPECT_EQ(clock.Now() - start, absl::Minutes(1));
}

TEST(ManualExecutorTest, RunsTimersScheduledByTimersWithinTheSameAdvance) {
  FakeClock clock;
  ManualExecutor executor(clock);
  int ticks = 0;
  std::function<void()> tick = [&] {
    ++ticks;
    executor.ScheduleAfter(absl::Seconds(5), [&] { tick(); });
  };
  executor.ScheduleAfter(absl::Seconds(5), [&] { tick(); });
  clock.Advance(absl::Seconds(22));
  EXPECT_EQ(ticks, 4);  // at 5, 10, 15, 20
}

TEST(ManualExecutorTest, CancelledTimersDoNotRun) {
  FakeClock clock;
  ManualExecutor executor(clock);
  bool ran = false;
  TimerId id = executor.ScheduleAfter(absl::Seconds(1), [&] { ran = true; });
  EXPECT_TRUE(executor.Cancel(id));
  EXPECT_FALSE(executor.Cancel(id));
  clock.Advance(absl::Seconds(2));
  EXPECT_FALSE(ran);
  EXPECT_EQ(executor.pending(), 0u);
}

TEST(ManualExecutorTest, TiesRunInSubmissionOrder) {
  FakeClock clock;
  ManualExecutor executor(clock);
  std::vector<int> order;
  for (int i = 0; i < 5; ++i)
    executor.ScheduleAfter(absl::Seconds(1), [&, i] { order.push_back(i); });
  clock.Advance(absl::Seconds(1));
  EXPECT_THAT(order, ElementsAre(0, 1, 2, 3, 4));
}

TEST(ThreadExecutorTest, RunsPostedWorkOnItsOwnThreadInOrder) {
  RealClock clock;
  ThreadExecutor executor(clock);
  std::vector<int> order;
  absl::Notification done;
  std::thread::id loop_thread;
  for (int i = 0; i < 3; ++i) executor.Post([&, i] { order.push_back(i); });
  executor.Post([&] {
    loop_thread = std::this_thread::get_id();
    done.Notify();
  });
  done.WaitForNotification();
  EXPECT_THAT(order, ElementsAre(0, 1, 2));
  EXPECT_NE(loop_thread, std::this_thread::get_id());
}

TEST(ThreadExecutorTest, RunsATimerAfterItsDueTime) {
  RealClock clock;
  ThreadExecutor executor(clock);
  absl::Notification done;
  absl::Time due = clock.Now() + absl::Milliseconds(20);
  absl::Time ran_at;
  executor.ScheduleAt(due, [&] {
    ran_at = clock.Now();
    done.Notify();
  });
  done.WaitForNotification();
  EXPECT_GE(ran_at, due);
}

TEST(ThreadExecutorTest, DropsWorkPostedAfterShutdown) {
  RealClock clock;
  ThreadExecutor executor(clock);
  executor.Shutdown();
  EXPECT_EQ(executor.ScheduleAfter(absl::ZeroDuration(), [] {}), 0u);
  executor.Shutdown();  // idempotent
}

}  // namespace
}  // namespace foghorn::common

namespace foghorn::common {
namespace {

TEST(WorkerPoolTest, RunsEveryTaskAndWaitsForThemToFinish) {
  WorkerPool pool(3);
  std::atomic<int> ran{0};
  for (int i = 0; i < 50; ++i) pool.Submit([&] { ++ran; });
  pool.WaitIdle();
  EXPECT_EQ(ran.load(), 50);
}

TEST(WorkerPoolTest, ShutdownFinishesQueuedWorkThenRefusesMore) {
  WorkerPool pool(1);
  std::atomic<int> ran{0};
  for (int i = 0; i < 10; ++i) pool.Submit([&] { ++ran; });
  pool.Shutdown();
  EXPECT_EQ(ran.load(), 10);
  EXPECT_FALSE(pool.Submit([&] { ++ran; }));
}

}  // namespace
}  // namespace foghorn::common
