// An HttpTransport decorator that counts every exchange in the metrics registry, by method,
// target (arm, token, webhook) and HTTP status (or the transport error's code), so the agent's
// /metrics shows ARM calls by status. The URL's path and query are never recorded.
#ifndef FOGHORN_ORCHESTRATOR_EXECUTOR_METERED_HTTP_TRANSPORT_H_
#define FOGHORN_ORCHESTRATOR_EXECUTOR_METERED_HTTP_TRANSPORT_H_

#include <string>

#include "orchestrator/common/metrics.h"
#include "orchestrator/http/http_transport.h"

namespace foghorn::executor {

class MeteredHttpTransport final : public http::HttpTransport {
 public:
  // Requests whose URL starts with `arm_endpoint` are counted as target "arm", URLs containing
  // "/oauth2/" or "/identity/" as "token", the rest as "other". Both references must outlive it.
  MeteredHttpTransport(http::HttpTransport& base, common::MetricsRegistry& metrics,
                       std::string arm_endpoint)
      : base_(base), metrics_(metrics), arm_endpoint_(std::move(arm_endpoint)) {}

  absl::StatusOr<http::HttpResponse> Send(const http::HttpRequest& request) override;

 private:
  http::HttpTransport& base_;
  common::MetricsRegistry& metrics_;
  const std::string arm_endpoint_;
};

}  // namespace foghorn::executor

#endif  // FOGHORN_ORCHESTRATOR_EXECUTOR_METERED_HTTP_TRANSPORT_H_
