#include "orchestrator/arm/retry_policy.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"

namespace foghorn::arm {

bool RetryPolicy::ShouldRetry(const absl::StatusOr<http::HttpResponse>& result, int attempts_made,
                              bool idempotent) const {
  if (attempts_made >= options_.max_attempts) return false;
  if (!result.ok()) {
    const auto code = result.status().code();
    if (code != absl::StatusCode::kUnavailable && code != absl::StatusCode::kDeadlineExceeded) {
      return false;
    }
    return idempotent || !http::RequestMaybeSent(result.status());
  }
  const int status = result->status;
  if (!IsRetryableStatus(status)) return false;
  if (idempotent) return true;
  // 429 means throttled before dispatch: the POST was not acted on.
  return status == 429;
}

BackoffPolicy::BackoffPolicy(Options options, std::uint64_t seed) : options_(options), rng_(seed) {}

absl::Duration BackoffPolicy::Delay(int retry_number) {
  const int n = std::max(retry_number, 1);
  double base =
      absl::ToDoubleSeconds(options_.initial) * std::pow(options_.multiplier, std::min(n - 1, 62));
  base = std::min(base, absl::ToDoubleSeconds(options_.max));
  double jitter = 1.0;
  if (options_.jitter_max > options_.jitter_min) {
    absl::MutexLock lock(&mu_);
    std::uniform_real_distribution<double> dist(options_.jitter_min, options_.jitter_max);
    jitter = dist(rng_);
  }
  double s = std::min(base * jitter, absl::ToDoubleSeconds(options_.max));
  return absl::Seconds(std::max(s, 0.0));
}

std::optional<absl::Duration> RetryAfterFromHeaders(const http::HttpHeaders& headers,
                                                    absl::Time now) {
  for (const char* ms_header : {"x-ms-retry-after-ms", "retry-after-ms"}) {
    if (auto v = headers.Find(ms_header)) {
      std::int64_t ms = 0;
      if (absl::SimpleAtoi(absl::StripAsciiWhitespace(*v), &ms) && ms >= 0) {
        return absl::Milliseconds(ms);
      }
    }
  }
  auto v = headers.Find("retry-after");
  if (!v) return std::nullopt;
  absl::string_view text = absl::StripAsciiWhitespace(*v);
  std::int64_t seconds = 0;
  if (absl::SimpleAtoi(text, &seconds)) {
    if (seconds < 0) return std::nullopt;
    return absl::Seconds(seconds);
  }
  // HTTP-date (IMF-fixdate, RFC 7231 §7.1.1.1), e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
  absl::Time when;
  std::string err;
  if (absl::ParseTime("%a, %d %b %Y %H:%M:%S GMT", std::string(text), &when, &err)) {
    return std::max(when - now, absl::ZeroDuration());
  }
  return std::nullopt;
}

}  // namespace foghorn::arm
