// Waits for an ARM long-running operation. Follows the Azure-AsyncOperation URL when there is one
// and the Location URL otherwise, honours Retry-After (else a configurable default interval),
// treats an error answer from the status URL as a failed poll rather than a failed operation (and
// keeps polling through transient ones, with backoff, until the deadline), turns Failed/Canceled
// into statuses carrying ARM's code and message, and reads the final resource back.
#ifndef FOGHORN_ORCHESTRATOR_ARM_LRO_POLLER_H_
#define FOGHORN_ORCHESTRATOR_ARM_LRO_POLLER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "orchestrator/arm/arm_status.h"
#include "orchestrator/arm/retry_policy.h"
#include "orchestrator/common/clock.h"
#include "orchestrator/common/sleeper.h"
#include "orchestrator/http/http_transport.h"

namespace foghorn::arm {

// Where an accepted operation can be followed. Either URL may be empty, not both. The agent
// journals this after a POST is accepted and hands it back (FailoverRequest::resume_operation)
// to resume polling after a crash.
struct OperationRef {
  std::string async_operation_url;  // Azure-AsyncOperation
  std::string location_url;         // Location
  bool empty() const { return async_operation_url.empty() && location_url.empty(); }
  friend bool operator==(const OperationRef&, const OperationRef&) = default;
};

// Reads the URLs from a 201/202 answer (relative URLs are resolved against `base_url`'s origin).
std::optional<OperationRef> OperationRefFromHeaders(const http::HttpHeaders& headers,
                                                    std::string_view base_url);

// Which URL holds the final resource once the operation succeeded.
enum class FinalStateVia {
  kNone,         // DELETE: nothing to read back
  kLocation,     // failover POSTs: the Location URL returns the group (falls back to resource url)
  kOriginalUri,  // PUT/PATCH: GET the resource itself
};

struct LroOptions {
  // Wait between polls when the service sends no Retry-After (the real service sends none).
  absl::Duration default_interval = absl::Seconds(5);
  // Bounds applied to server-sent Retry-After.
  absl::Duration min_interval = absl::ZeroDuration();
  absl::Duration max_interval = absl::Minutes(10);
  // A poll that failed transiently (a transport error or timeout, HTTP 408, 429, 500, 502, 503,
  // 504) says nothing about the operation, which ARM accepted and may still be running: such polls
  // are repeated until the deadline, never given up on. The wait after one is the answer's
  // Retry-After (clamped to [min_interval, max_interval]) or this backoff, growing with the number
  // of transient failures in a row.
  BackoffPolicy::Options failed_poll_backoff = {absl::Seconds(1), 2.0, absl::Seconds(30), 0.8, 1.3};
  // Consecutive polls that failed otherwise (404 operation not found, another 4xx, an unparsable
  // status, a refused URL) before giving up with UNAVAILABLE; transient failures in between neither
  // count nor reset the count. The caller then reads the resource itself.
  int max_consecutive_failed_polls = 10;
};

class LroPoller {
 public:
  // One GET of a status or final URL, with authentication and request ids, without retries.
  using Fetch = std::function<absl::StatusOr<http::HttpResponse>(const std::string& url)>;

  struct Result {
    // The final GET's answer (kLocation / kOriginalUri), when one was made and succeeded.
    std::optional<http::HttpResponse> final_response;
    int polls = 0;
    int failed_polls = 0;
  };

  // `clock` and `sleeper` must outlive the poller. `seed` seeds the failed-poll backoff's jitter.
  // Thread-compatible (one Wait at a time per poller; the client makes one per call).
  LroPoller(Fetch fetch, const common::Clock& clock, common::Sleeper& sleeper, LroOptions options,
            std::uint64_t seed = 0x5eed);

  // Polls `op` until it ends or `deadline` passes, first waiting `first_delay`. `what` and `ids`
  // go into error messages. Returns:
  //   OK                 the operation succeeded (final resource read if `via` asks for it);
  //   status per StatusCodeForFailedOperation  it ended Failed or Canceled;
  //   DEADLINE_EXCEEDED  still running, or its status unreadable for transient reasons, at the
  //                      deadline (the message names the status URL to resume with);
  //   UNAVAILABLE        the status URL failed non-transiently max_consecutive_failed_polls times
  //                      in a row (e.g. 404: the operation record is gone);
  //   INVALID_ARGUMENT   `op` is empty.
  absl::StatusOr<Result> Wait(const OperationRef& op, FinalStateVia via,
                              const std::string& resource_url, absl::Duration first_delay,
                              absl::Time deadline, std::string_view what, const RequestIds& ids);

 private:
  absl::Duration NextInterval(const http::HttpHeaders& headers) const;

  Fetch fetch_;
  const common::Clock& clock_;
  common::Sleeper& sleeper_;
  const LroOptions options_;
  BackoffPolicy failed_poll_backoff_;
};

}  // namespace foghorn::arm

#endif  // FOGHORN_ORCHESTRATOR_ARM_LRO_POLLER_H_
