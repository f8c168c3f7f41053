#include "orchestrator/common/sleeper.h"

#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace foghorn::common {
namespace {

// Long enough never to end on its own within a test run: a broken Cancel() fails the bounded
// wait for the sleeping thread (which then ends after this long).
constexpr absl::Duration kForever = absl::Seconds(60);

TEST(RealSleeperTest, CancelWakesAThreadWaitingToBeCancelled) {
  RealSleeper sleeper;
  absl::Notification started, returned;
  bool completed = true;
  std::thread t([&] {
    started.Notify();
    completed = sleeper.SleepUnlessCancelled(kForever);
    returned.Notify();
  });
  started.WaitForNotification();
  sleeper.Cancel();
  EXPECT_TRUE(returned.WaitForNotificationWithTimeout(absl::Seconds(10)));
  t.join();
  EXPECT_FALSE(completed);
  EXPECT_TRUE(sleeper.cancelled());
}

TEST(RealSleeperTest, AfterCancelEveryInterruptibleWaitReturnsFalseAtOnce) {
  RealSleeper sleeper;
  sleeper.Cancel();
  sleeper.Cancel();  // idempotent
  EXPECT_FALSE(sleeper.SleepUnlessCancelled(kForever));
  EXPECT_FALSE(sleeper.SleepUnlessCancelled(absl::ZeroDuration()));
}

TEST(RealSleeperTest, UncancelledWaitsCompleteAndReportIt) {
  RealSleeper sleeper;
  EXPECT_TRUE(sleeper.SleepUnlessCancelled(absl::Milliseconds(1)));
  EXPECT_TRUE(sleeper.SleepUnlessCancelled(absl::ZeroDuration()));
  EXPECT_TRUE(sleeper.SleepUnlessCancelled(-absl::Seconds(1)));
  EXPECT_FALSE(sleeper.cancelled());
}

TEST(RealSleeperTest, ConcurrentCancelsAreSafe) {
  RealSleeper sleeper;
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back([&] { sleeper.Cancel(); });
  for (auto& t : threads) t.join();
  EXPECT_TRUE(sleeper.cancelled());
}

// A sleeper that cannot be cancelled waits in SleepUnlessCancelled as in SleepFor.
class RecordingSleeper final : public Sleeper {
 public:
  void SleepFor(absl::Duration d) override { waits.push_back(d); }
  std::vector<absl::Duration> waits;
};

TEST(SleeperTest, TheDefaultInterruptibleWaitIsAPlainWait) {
  RecordingSleeper sleeper;
  EXPECT_TRUE(sleeper.SleepUnlessCancelled(absl::Seconds(3)));
  ASSERT_EQ(sleeper.waits.size(), 1u);
  EXPECT_EQ(sleeper.waits[0], absl::Seconds(3));
}

}  // namespace
}  // namespace foghorn::common
