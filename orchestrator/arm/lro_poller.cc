#include "orchestrator/arm/lro_poller.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "orchestrator/arm/models.h"
#include "orchestrator/arm/retry_policy.h"
#include "orchestrator/common/status_macros.h"

namespace foghorn::arm {
namespace {

absl::string_view V(std::string_view s) { return absl::string_view(s.data(), s.size()); }

std::string Origin(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return "";
  size_t path = url.find('/', scheme + 3);
  return std::string(url.substr(0, path));
}

std::string Resolve(const std::string& url, std::string_view base) {
  if (url.empty() || absl::StrContains(url, "://")) return url;
  if (url.front() == '/') return Origin(base) + url;
  return url;
}

// Whether a failed poll says only that the status could not be read right now: transport errors
// and timeouts, and the HTTP statuses the client retries (RetryPolicy's default set).
bool IsTransientPollFailure(const absl::StatusOr<http::HttpResponse>& r) {
  if (!r.ok()) {
    return r.status().code() == absl::StatusCode::kUnavailable ||
           r.status().code() == absl::StatusCode::kDeadlineExceeded;
  }
  static const RetryPolicy kDefaultRetry;
  return kDefaultRetry.IsRetryableStatus(r->status);
}

}  // namespace

std::optional<OperationRef> OperationRefFromHeaders(const http::HttpHeaders& headers,
                                                    std::string_view base_url) {
  OperationRef op;
  if (auto v = headers.Find("azure-asyncoperation")) {
    op.async_operation_url = Resolve(*v, base_url);
  } else if (auto v2 = headers.Find("operation-location")) {
    op.async_operation_url = Resolve(*v2, base_url);
  }
  if (auto v = headers.Find("location")) op.location_url = Resolve(*v, base_url);
  if (op.empty()) return std::nullopt;
  return op;
}

LroPoller::LroPoller(Fetch fetch, const common::Clock& clock, common::Sleeper& sleeper,
                     LroOptions options, std::uint64_t seed)
    : fetch_(std::move(fetch)),
      clock_(clock),
      sleeper_(sleeper),
      options_(options),
      failed_poll_backoff_(options.failed_poll_backoff, seed) {}

absl::Duration LroPoller::NextInterval(const http::HttpHeaders& headers) const {
  auto hint = RetryAfterFromHeaders(headers, clock_.Now());
  if (!hint) return options_.default_interval;
  return std::clamp(*hint, options_.min_interval, options_.max_interval);
}

absl::StatusOr<LroPoller::Result> LroPoller::Wait(const OperationRef& op, FinalStateVia via,
                                                  const std::string& resource_url,
                                                  absl::Duration first_delay, absl::Time deadline,
                                                  std::string_view what, const RequestIds& ids) {
  if (op.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("arm ", V(what), ": no operation url to poll"));
  }
  const bool use_async = !op.async_operation_url.empty();
  const std::string& status_url = use_async ? op.async_operation_url : op.location_url;
  Result result;
  int transient_in_a_row = 0;
  int other_in_a_row = 0;
  absl::Duration delay = first_delay;
  std::optional<http::HttpResponse> location_final;  // Location-mode final answer

  auto sleep_or_deadline = [&](absl::Duration d) -> absl::Status {
    const absl::Time now = clock_.Now();
    if (now + d > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("arm ", V(what), ": operation not finished by the deadline; follow ",
                       http::UrlForLog(status_url), ids.Suffix()));
    }
    sleeper_.SleepFor(d);
    return absl::OkStatus();
  };
  // Books a failed poll and returns the wait before the next one, or UNAVAILABLE when too many
  // non-transient failures came in a row.
  auto failed_poll = [&](const absl::StatusOr<http::HttpResponse>& r,
                         std::string_view why) -> absl::StatusOr<absl::Duration> {
    ++result.failed_polls;
    if (IsTransientPollFailure(r)) {
      // ARM accepted the operation; an unreadable status says nothing about it. Keep asking.
      ++transient_in_a_row;
      if (r.ok()) {
        if (auto hint = RetryAfterFromHeaders(r->headers, clock_.Now())) {
          return std::clamp(*hint, options_.min_interval, options_.max_interval);
        }
      }
      return failed_poll_backoff_.Delay(transient_in_a_row);
    }
    transient_in_a_row = 0;
    if (++other_in_a_row >= options_.max_consecutive_failed_polls) {
      return absl::UnavailableError(
          absl::StrCat("arm ", V(what), ": operation status unreadable after ", other_in_a_row,
                       " polls of ", http::UrlForLog(status_url), ": ", V(why), ids.Suffix()));
    }
    return options_.default_interval;
  };
  auto succeeded_poll = [&] {
    transient_in_a_row = 0;
    other_in_a_row = 0;
  };

  for (;;) {
    if (absl::Status s = sleep_or_deadline(delay); !s.ok()) return s;
    ++result.polls;
    absl::StatusOr<http::HttpResponse> r = fetch_(status_url);
    if (!r.ok() || r->status >= 400) {
      // The status could not be read; the operation itself has not failed (ARM RPC).
      const std::string why =
          r.ok() ? absl::StrCat("http ", r->status) : std::string(r.status().message());
      ASSIGN_OR_RETURN(delay, failed_poll(r, why));
      continue;
    }
    if (use_async) {
      auto st = ParseOperationStatus(r->body);
      if (!st.ok()) {
        ASSIGN_OR_RETURN(delay, failed_poll(st.status(), std::string(st.status().message())));
        continue;
      }
      succeeded_poll();
      if (st->state == OperationState::kInProgress) {
        delay = NextInterval(r->headers);
        continue;
      }
      if (st->state != OperationState::kSucceeded) {
        return StatusFromFailedOperation(what, *st, ids);
      }
      break;
    }
    succeeded_poll();
    // Location mode: 202 while running, anything else 2xx is the final answer.
    if (r->status == 202) {
      delay = NextInterval(r->headers);
      continue;
    }
    location_final = *std::move(r);
    break;
  }

  if (via == FinalStateVia::kNone) return result;
  if (location_final) {
    if (via == FinalStateVia::kLocation) result.final_response = std::move(location_final);
    if (via == FinalStateVia::kLocation) return result;
  }
  std::string final_url = resource_url;
  if (via == FinalStateVia::kLocation && !op.location_url.empty()) final_url = op.location_url;
  if (final_url.empty()) return result;
  // The final GET is idempotent: retry it like a poll.
  succeeded_poll();
  absl::Duration final_delay = absl::ZeroDuration();
  for (;;) {
    if (absl::Status s = sleep_or_deadline(final_delay); !s.ok()) return s;
    absl::StatusOr<http::HttpResponse> r = fetch_(final_url);
    if (r.ok() && r->status >= 200 && r->status < 300 && r->status != 202) {
      result.final_response = *std::move(r);
      return result;
    }
    if (r.ok() && r->status == 404 && final_url != resource_url && !resource_url.empty()) {
      final_url = resource_url;  // an expired operation result: read the resource instead
      continue;
    }
    std::string why = r.ok() ? absl::StrCat("http ", r->status) : std::string(r.status().message());
    ASSIGN_OR_RETURN(final_delay, failed_poll(r, why));
  }
}

}  // namespace foghorn::arm
