// foghorn-armsim's per-subscription token buckets (SubscriptionThrottle).
#include "tools/armsim/throttle.h"

#include "gtest/gtest.h"

namespace foghorn::armsim {
namespace {

constexpr ThrottleLimits kLimits = {.reads = {.capacity = 2, .refill_per_second = 1},
                                    .writes = {.capacity = 3, .refill_per_second = 0.5},
                                    .deletes = {.capacity = 1, .refill_per_second = 0}};

const absl::Time kStart = absl::FromUnixSeconds(1700000000);

TEST(SubscriptionThrottleTest, TakesTokensUntilEmptyThenThrottlesUntilRefilled) {
  SubscriptionThrottle throttle(kLimits);
  ThrottleVerdict first = throttle.Take("s1", "GET", kStart, /*enforce=*/true);
  EXPECT_STREQ(first.kind, "reads");
  EXPECT_FALSE(first.throttled);
  EXPECT_EQ(first.remaining, 1);
  EXPECT_EQ(throttle.Take("s1", "GET", kStart, true).remaining, 0);
  ThrottleVerdict third = throttle.Take("s1", "GET", kStart, true);
  EXPECT_TRUE(third.throttled);
  EXPECT_EQ(third.retry_after_seconds, 1);
  EXPECT_FALSE(throttle.Take("s1", "GET", kStart + absl::Seconds(1), true).throttled);
}

TEST(SubscriptionThrottleTest, KindsAndSubscriptionsHaveTheirOwnBuckets) {
  SubscriptionThrottle throttle(kLimits);
  throttle.Take("s1", "GET", kStart, true);
  throttle.Take("s1", "GET", kStart, true);
  EXPECT_TRUE(throttle.Take("s1", "GET", kStart, true).throttled);
  EXPECT_FALSE(throttle.Take("s2", "GET", kStart, true).throttled);
  for (const char* method : {"PUT", "PATCH", "POST"}) {
    ThrottleVerdict v = throttle.Take("s1", method, kStart, true);
    EXPECT_STREQ(v.kind, "writes") << method;
    EXPECT_FALSE(v.throttled) << method;
  }
  ThrottleVerdict write = throttle.Take("s1", "POST", kStart, true);
  EXPECT_TRUE(write.throttled);
  EXPECT_EQ(write.retry_after_seconds, 2);  // one token at 0.5/s
  EXPECT_STREQ(throttle.Take("s1", "DELETE", kStart, true).kind, "deletes");
}

TEST(SubscriptionThrottleTest, ABucketThatNeverRefillsAsksForAMinute) {
  SubscriptionThrottle throttle(kLimits);
  throttle.Take("s1", "DELETE", kStart, true);
  ThrottleVerdict v = throttle.Take("s1", "DELETE", kStart + absl::Hours(1), true);
  EXPECT_TRUE(v.throttled);
  EXPECT_EQ(v.retry_after_seconds, 60);
}

TEST(SubscriptionThrottleTest, WithoutEnforcementBucketsStayFull) {
  SubscriptionThrottle throttle(kLimits);
  for (int i = 0; i < 10; ++i) {
    ThrottleVerdict v = throttle.Take("s1", "GET", kStart, /*enforce=*/false);
    EXPECT_FALSE(v.throttled);
    EXPECT_EQ(v.remaining, 2);
  }
}

}  // namespace
}  // namespace foghorn::armsim
