// ARM's per-subscription request throttling as foghorn-armsim emulates it: one token bucket per
// subscription and request kind (reads, writes, deletes) that refills continuously on the
// injected clock. ARM routes consult it before anything reaches the emulator; every answer carries
// the bucket's remaining tokens, and an empty bucket answers 429 (arm_routes.cc).
#ifndef FOGHORN_TOOLS_ARMSIM_THROTTLE_H_
#define FOGHORN_TOOLS_ARMSIM_THROTTLE_H_

#include <array>
#include <cstdint>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace foghorn::armsim {

struct BucketLimit {
  double capacity = 0;           // tokens in a full bucket (the burst)
  double refill_per_second = 0;  // tokens added per second up to capacity
};

struct ThrottleLimits {
  BucketLimit reads;    // GET
  BucketLimit writes;   // PUT, PATCH, POST
  BucketLimit deletes;  // DELETE
};

// One request's outcome against its bucket.
struct ThrottleVerdict {
  // "reads" | "writes" | "deletes": the kind's name in ARM's
  // x-ms-ratelimit-remaining-subscription-<kind> header and in the 429 message.
  const char* kind = "";
  int64_t remaining = 0;  // whole tokens left after this request
  bool throttled = false;
  int64_t retry_after_seconds = 0;  // when throttled: until a token is back (at least 1)
};

class SubscriptionThrottle {
 public:
  explicit SubscriptionThrottle(ThrottleLimits limits);

  // Refills the bucket of (subscription, the kind of `method`) up to `now`; a new subscription
  // starts with full buckets. When `enforce`, the request takes one token, or is throttled if
  // less than one is left. Without `enforce` the buckets only refill, so `remaining` reports a
  // full bucket. Thread-safe.
  ThrottleVerdict Take(const std::string& subscription, const std::string& method, absl::Time now,
                       bool enforce);

 private:
  struct Bucket {
    double tokens;
    absl::Time last;
  };

  const std::array<BucketLimit, 3> limits_;  // indexed like the buckets: reads, writes, deletes
  absl::Mutex mu_;
  std::map<std::string, std::array<Bucket, 3>> buckets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace foghorn::armsim

#endif  // FOGHORN_TOOLS_ARMSIM_THROTTLE_H_
