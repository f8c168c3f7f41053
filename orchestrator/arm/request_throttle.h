// Client-side throttling: one token bucket per (subscription, request kind), sized like ARM's own
// buckets (reads 250 refilling 25/s; writes and deletes 200 refilling 10/s), and pulled down
// whenever ARM's x-ms-ratelimit-remaining-subscription-* headers report fewer requests left. A busy
// agent therefore slows itself down before ARM starts answering 429.
#ifndef FOGHORN_ORCHESTRATOR_ARM_REQUEST_THROTTLE_H_
#define FOGHORN_ORCHESTRATOR_ARM_REQUEST_THROTTLE_H_

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "orchestrator/common/clock.h"
#include "orchestrator/http/http_transport.h"

namespace foghorn::arm {

enum class RequestKind { kRead = 0, kWrite = 1, kDelete = 2 };

// Thread-safe. `clock` must outlive the throttle.
class RequestThrottle {
 public:
  struct Bucket {
    double capacity;
    double refill_per_second;
  };
  struct Options {
    bool enabled = true;
    Bucket reads{250, 25};
    Bucket writes{200, 10};
    Bucket deletes{200, 10};
  };

  RequestThrottle(const common::Clock& clock, Options options);

  // Takes one token for a request of `kind` on `subscription` and returns how long the caller
  // must wait before sending (zero when a token was available). The token is reserved even when
  // a wait is returned, so concurrent callers queue up fairly.
  absl::Duration Reserve(const std::string& subscription, RequestKind kind);

  // Gives back a token reserved by Reserve() whose request was never sent.
  void Release(const std::string& subscription, RequestKind kind);

  // Lowers the bucket's level to what ARM reports remaining (the smaller of the regional and
  // global headers for `kind`). Never raises it: our own accounting stays the upper bound.
  void Observe(const std::string& subscription, RequestKind kind, const http::HttpHeaders& headers);

  // Current token level (for tests and diagnostics).
  double Level(const std::string& subscription, RequestKind kind);

 private:
  struct State {
    double tokens = 0;
    absl::Time updated;
  };
  const Bucket& BucketFor(RequestKind kind) const;
  State& Refill(const std::string& subscription, RequestKind kind)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const common::Clock& clock_;
  const Options options_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, State> states_ ABSL_GUARDED_BY(mu_);
};

}  // namespace foghorn::arm

#endif  // FOGHORN_ORCHESTRATOR_ARM_REQUEST_THROTTLE_H_
