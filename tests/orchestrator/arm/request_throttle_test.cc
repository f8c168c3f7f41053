#include "orchestrator/arm/request_throttle.h"

#include "gtest/gtest.h"
#include "orchestrator/common/fake_clock.h"

namespace foghorn::arm {
namespace {

RequestThrottle::Options Small() {
  RequestThrottle::Options o;
  o.reads = {2, 1};
  o.writes = {1, 0.5};
  return o;
}

TEST(RequestThrottleTest, LetsABurstThroughThenAsksToWait) {
  common::FakeClock clock;
  RequestThrottle t(clock, Small());
  EXPECT_EQ(t.Reserve("sub", RequestKind::kRead), absl::ZeroDuration());
  EXPECT_EQ(t.Reserve("sub", RequestKind::kRead), absl::ZeroDuration());
  EXPECT_EQ(t.Reserve("sub", RequestKind::kRead), absl::Seconds(1));
  EXPECT_EQ(t.Reserve("sub", RequestKind::kRead), absl::Seconds(2));
}

TEST(RequestThrottleTest, RefillsOverTime) {
  common::FakeClock clock;
  RequestThrottle t(clock, Small());
  t.Reserve("sub", RequestKind::kRead);
  t.Reserve("sub", RequestKind::kRead);
  clock.Advance(absl::Seconds(1));
  EXPECT_EQ(t.Reserve("sub", RequestKind::kRead), absl::ZeroDuration());
}

TEST(RequestThrottleTest, KeepsSubscriptionsAndKindsApart) {
  common::FakeClock clock;
  RequestThrottle t(clock, Small());
  EXPECT_EQ(t.Reserve("a", RequestKind::kWrite), absl::ZeroDuration());
  EXPECT_GT(t.Reserve("a", RequestKind::kWrite), absl::ZeroDuration());
  EXPECT_EQ(t.Reserve("b", RequestKind::kWrite), absl::ZeroDuration());
  EXPECT_EQ(t.Reserve("a", RequestKind::kRead), absl::ZeroDuration());
}

TEST(RequestThrottleTest, FollowsArmRemainingHeadersDownButNeverUp) {
  common::FakeClock clock;
  RequestThrottle t(clock, RequestThrottle::Options{});
  t.Observe("sub", RequestKind::kRead,
            {{"x-ms-ratelimit-remaining-subscription-reads", "3"},
             {"x-ms-ratelimit-remaining-subscription-global-reads", "3000"}});
  EXPECT_DOUBLE_EQ(t.Level("sub", RequestKind::kRead), 3);
  t.Observe("sub", RequestKind::kRead, {{"x-ms-ratelimit-remaining-subscription-reads", "200"}});
  EXPECT_DOUBLE_EQ(t.Level("sub", RequestKind::kRead), 3);
  t.Observe("sub", RequestKind::kWrite, {{"x-ms-ratelimit-remaining-subscription-reads", "0"}});
  EXPECT_DOUBLE_EQ(t.Level("sub", RequestKind::kWrite), 200);
}

TEST(RequestThrottleTest, ReleaseReturnsAnUnusedToken) {
  common::FakeClock clock;
  RequestThrottle t(clock, Small());
  t.Reserve("s", RequestKind::kWrite);
  t.Release("s", RequestKind::kWrite);
  EXPECT_EQ(t.Reserve("s", RequestKind::kWrite), absl::ZeroDuration());
}

TEST(RequestThrottleTest, DisabledNeverWaits) {
  common::FakeClock clock;
  RequestThrottle::Options o = Small();
  o.enabled = false;
  RequestThrottle t(clock, o);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(t.Reserve("s", RequestKind::kWrite), absl::ZeroDuration());
}

}  // namespace
}  // namespace foghorn::arm
