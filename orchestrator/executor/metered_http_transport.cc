#include "orchestrator/executor/metered_http_transport.h"

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace foghorn::executor {

absl::StatusOr<http::HttpResponse> MeteredHttpTransport::Send(const http::HttpRequest& request) {
  std::string target = "other";
  if (!arm_endpoint_.empty() && absl::StartsWith(request.url, arm_endpoint_)) {
    target = "arm";
  }
  if (absl::StrContains(request.url, "/oauth2/") || absl::StrContains(request.url, "/identity/")) {
    target = "token";
  }
  const absl::Time start = absl::Now();
  absl::StatusOr<http::HttpResponse> resp = base_.Send(request);
  std::string status = resp.ok() ? absl::StrCat(resp->status)
                                 : std::string(absl::StatusCodeToString(resp.status().code()));
  metrics_.IncrementCounter("foghorn_http_requests_total",
                            {{"target", target}, {"method", request.method}, {"status", status}});
  metrics_.Observe("foghorn_http_request_seconds", {{"target", target}},
                   absl::ToDoubleSeconds(absl::Now() - start));
  return resp;
}

}  // namespace foghorn::executor
