// Retry decisions for ARM requests, as two small policies in the google-cloud-cpp manner:
// RetryPolicy says whether to try again, BackoffPolicy says how long to wait. Server hints
// (Retry-After in seconds or HTTP-date, x-ms-retry-after-ms, retry-after-ms) override the backoff.
#ifndef FOGHORN_ORCHESTRATOR_ARM_RETRY_POLICY_H_
#define FOGHORN_ORCHESTRATOR_ARM_RETRY_POLICY_H_

#include <cstdint>
#include <optional>
#include <random>
#include <set>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "orchestrator/http/http_transport.h"

namespace foghorn::arm {

// Whether a failed attempt may be retried. Stateless and thread-safe.
//
// Retryable: HTTP 408, 429, 500, 502, 503, 504 (429 included, unlike the C++ Azure SDK's default)
// and transport errors (UNAVAILABLE, DEADLINE_EXCEEDED). For a non-idempotent request (a failover
// POST) only answers that prove the request was not acted on are retried: 429 (ARM throttles before
// the resource provider sees the request) and transport errors where the request never left
// (http::RequestMaybeSent() false). Everything else is ambiguous and goes back to the caller, which
// re-reads state instead of re-sending.
class RetryPolicy {
 public:
  struct Options {
    int max_attempts = 4;  // first try + 3 retries, as the Azure SDKs
    std::set<int> retryable_statuses = {408, 429, 500, 502, 503, 504};
  };
  RetryPolicy() : RetryPolicy(Options{}) {}
  explicit RetryPolicy(Options options) : options_(std::move(options)) {}

  // `attempts_made` counts attempts so far (>= 1). `result` is the last attempt's outcome.
  bool ShouldRetry(const absl::StatusOr<http::HttpResponse>& result, int attempts_made,
                   bool idempotent) const;

  bool IsRetryableStatus(int http_status) const {
    return options_.retryable_statuses.count(http_status) > 0;
  }
  const Options& options() const { return options_; }

 private:
  Options options_;
};

// How long to wait before retry number n: initial * multiplier^(n-1), capped at `max`, times a
// random jitter in [jitter_min, jitter_max] (and capped again). Thread-safe; deterministic for a
// given seed.
class BackoffPolicy {
 public:
  struct Options {
    absl::Duration initial = absl::Milliseconds(800);
    double multiplier = 2.0;
    absl::Duration max = absl::Seconds(60);
    double jitter_min = 0.8;
    double jitter_max = 1.3;
  };
  explicit BackoffPolicy(Options options, std::uint64_t seed = 0x5eed);

  // `retry_number` >= 1.
  absl::Duration Delay(int retry_number);
  const Options& options() const { return options_; }

 private:
  Options options_;
  absl::Mutex mu_;
  std::mt19937_64 rng_ ABSL_GUARDED_BY(mu_);
};

// The server's requested delay from x-ms-retry-after-ms, retry-after-ms or Retry-After (delta
// seconds or an HTTP-date relative to `now`), in that order. nullopt when absent or unparsable;
// dates in the past give zero.
std::optional<absl::Duration> RetryAfterFromHeaders(const http::HttpHeaders& headers,
                                                    absl::Time now);

}  // namespace foghorn::arm

#endif  // FOGHORN_ORCHESTRATOR_ARM_RETRY_POLICY_H_
