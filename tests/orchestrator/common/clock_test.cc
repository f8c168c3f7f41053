#include "orchestrator/common/clock.h"

#include "gtest/gtest.h"
#include "orchestrator/common/fake_clock.h"

namespace foghorn::common {
namespace {

TEST(FakeClockTest, StartsAtGivenTimeAndAdvancesOnlyWhenTold) {
  FakeClock clock(absl::FromUnixSeconds(1000));
  EXPECT_EQ(clock.Now(), absl::FromUnixSeconds(1000));
  EXPECT_EQ(clock.Now(), absl::FromUnixSeconds(1000));
  clock.Advance(absl::Seconds(5));
  EXPECT_EQ(clock.Now(), absl::FromUnixSeconds(1005));
}

TEST(FakeClockTest, NeverGoesBackwards) {
  FakeClock clock(absl::FromUnixSeconds(1000));
  clock.SetTime(absl::FromUnixSeconds(900));
  EXPECT_EQ(clock.Now(), absl::FromUnixSeconds(1000));
  clock.Advance(absl::Seconds(-3));
  EXPECT_EQ(clock.Now(), absl::FromUnixSeconds(1000));
  clock.SetTime(absl::FromUnixSeconds(2000));
  EXPECT_EQ(clock.Now(), absl::FromUnixSeconds(2000));
}

TEST(RealClockTest, IsMonotonicEnoughForTwoReads) {
  RealClock clock;
  absl::Time a = clock.Now();
  absl::Time b = clock.Now();
  EXPECT_LE(a, b);
  EXPECT_GT(a, absl::FromUnixSeconds(1700000000));
}

}  // namespace
}  // namespace foghorn::common
