#include "orchestrator/arm/retry_policy.h"

#include "gtest/gtest.h"
#include "tests/orchestrator/arm/fake_http_transport.h"

namespace foghorn::arm {
namespace {

using testing::Response;

TEST(RetryPolicyTest, RetriesTransientStatusesIncluding429ForIdempotentRequests) {
  RetryPolicy p;
  for (int s : {408, 429, 500, 502, 503, 504}) {
    EXPECT_TRUE(p.ShouldRetry(Response(s), 1, true)) << s;
  }
  for (int s : {400, 401, 403, 404, 409, 412, 501, 505}) {
    EXPECT_FALSE(p.ShouldRetry(Response(s), 1, true)) << s;
  }
}

TEST(RetryPolicyTest, StopsAfterMaxAttempts) {
  RetryPolicy p(RetryPolicy::Options{.max_attempts = 3});
  EXPECT_TRUE(p.ShouldRetry(Response(503), 2, true));
  EXPECT_FALSE(p.ShouldRetry(Response(503), 3, true));
}

TEST(RetryPolicyTest, NonIdempotentRequestsRetryOnlyWhenSurelyNotActedOn) {
  RetryPolicy p;
  EXPECT_TRUE(p.ShouldRetry(Response(429), 1, false));
  EXPECT_FALSE(p.ShouldRetry(Response(503), 1, false));
  EXPECT_FALSE(p.ShouldRetry(Response(500), 1, false));
  EXPECT_FALSE(p.ShouldRetry(Response(408), 1, false));
  EXPECT_TRUE(p.ShouldRetry(http::TransportError(absl::StatusCode::kUnavailable, "refused", false),
                            1, false));
  EXPECT_FALSE(
      p.ShouldRetry(http::TransportError(absl::StatusCode::kUnavailable, "reset", true), 1, false));
  EXPECT_FALSE(p.ShouldRetry(
      http::TransportError(absl::StatusCode::kDeadlineExceeded, "timeout", true), 1, false));
  EXPECT_TRUE(
      p.ShouldRetry(http::TransportError(absl::StatusCode::kUnavailable, "reset", true), 1, true));
}

TEST(RetryPolicyTest, DoesNotRetryConfigurationErrors) {
  RetryPolicy p;
  EXPECT_FALSE(p.ShouldRetry(
      http::TransportError(absl::StatusCode::kFailedPrecondition, "bad cert", false), 1, true));
  EXPECT_FALSE(p.ShouldRetry(absl::UnauthenticatedError("no token"), 1, true));
}

TEST(BackoffPolicyTest, GrowsExponentiallyWithinJitterAndCap) {
  BackoffPolicy b(BackoffPolicy::Options{}, 42);
  for (int n = 1; n <= 12; ++n) {
    const double nominal = std::min(0.8 * std::pow(2.0, n - 1), 60.0);
    const double d = absl::ToDoubleSeconds(b.Delay(n));
    EXPECT_GE(d, nominal * 0.8 - 1e-9) << n;
    EXPECT_LE(d, std::min(nominal * 1.3, 60.0) + 1e-9) << n;
  }
}

TEST(BackoffPolicyTest, IsDeterministicForASeed) {
  BackoffPolicy a(BackoffPolicy::Options{}, 7);
  BackoffPolicy b(BackoffPolicy::Options{}, 7);
  for (int n = 1; n < 5; ++n) EXPECT_EQ(a.Delay(n), b.Delay(n));
}

TEST(RetryAfterTest, ReadsMillisecondHeadersFirst) {
  absl::Time now = absl::FromUnixSeconds(1000);
  EXPECT_EQ(RetryAfterFromHeaders({{"x-ms-retry-after-ms", "1500"}, {"Retry-After", "9"}}, now),
            absl::Milliseconds(1500));
  EXPECT_EQ(RetryAfterFromHeaders({{"retry-after-ms", "20"}}, now), absl::Milliseconds(20));
}

TEST(RetryAfterTest, ReadsSecondsAndHttpDates) {
  absl::Time now = absl::FromUnixSeconds(784111777);  // Sun, 06 Nov 1994 08:49:37 GMT
  EXPECT_EQ(RetryAfterFromHeaders({{"Retry-After", "17"}}, now), absl::Seconds(17));
  EXPECT_EQ(RetryAfterFromHeaders({{"retry-after", "Sun, 06 Nov 1994 08:50:07 GMT"}}, now),
            absl::Seconds(30));
  EXPECT_EQ(RetryAfterFromHeaders({{"Retry-After", "Sun, 06 Nov 1994 08:00:00 GMT"}}, now),
            absl::ZeroDuration());
}

TEST(RetryAfterTest, IgnoresGarbage) {
  absl::Time now = absl::FromUnixSeconds(0);
  EXPECT_FALSE(RetryAfterFromHeaders({}, now).has_value());
  EXPECT_FALSE(RetryAfterFromHeaders({{"Retry-After", "soon"}}, now).has_value());
  EXPECT_FALSE(RetryAfterFromHeaders({{"Retry-After", "-5"}}, now).has_value());
}

}  // namespace
}  // namespace foghorn::arm
