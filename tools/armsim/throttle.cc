#include "tools/armsim/throttle.h"

#include <algorithm>
#include <cmath>

namespace foghorn::armsim {

SubscriptionThrottle::SubscriptionThrottle(ThrottleLimits limits)
    : limits_{limits.reads, limits.writes, limits.deletes} {}

ThrottleVerdict SubscriptionThrottle::Take(const std::string& subscription,
                                           const std::string& method, absl::Time now,
                                           bool enforce) {
  static const char* kKindNames[] = {"reads", "writes", "deletes"};
  int kind = method == "GET" ? 0 : method == "DELETE" ? 2 : 1;
  const BucketLimit& limit = limits_[kind];
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = buckets_.try_emplace(subscription);
  if (inserted) {
    for (int i = 0; i < 3; ++i) it->second[i] = {limits_[i].capacity, now};
  }
  Bucket& b = it->second[kind];
  b.tokens = std::min(limit.capacity,
                      b.tokens + limit.refill_per_second * absl::ToDoubleSeconds(now - b.last));
  b.last = now;
  ThrottleVerdict v;
  v.kind = kKindNames[kind];
  v.throttled = enforce && b.tokens < 1.0;
  if (enforce && !v.throttled) b.tokens -= 1.0;
  v.remaining = static_cast<int64_t>(std::max(0.0, std::floor(b.tokens)));
  if (v.throttled) {
    double wait = limit.refill_per_second > 0 ? (1.0 - b.tokens) / limit.refill_per_second : 60;
    v.retry_after_seconds = std::max<int64_t>(1, std::ceil(wait));
  }
  return v;
}

}  // namespace foghorn::armsim
