// Fuzzes everything the ARM client parses from the network: failover group, list, operation
// status, error and token bodies, Azure's signal bodies (metrics, Resource Health, replication
// links, Activity Log), and the headers that steer retries and polling (Retry-After,
// x-ms-retry-after-ms, Azure-AsyncOperation/Location, x-ms-ratelimit-remaining-*). Input layout:
// the first byte picks a header name, bytes up to the first newline are that header's value, the
// rest is the body. Parsers must never crash, throw or hang; serialising a parsed group must
// produce JSON that parses back.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "orchestrator/arm/arm_status.h"
#include "orchestrator/arm/azure_signals.h"
#include "orchestrator/arm/credentials.h"
#include "orchestrator/arm/lro_poller.h"
#include "orchestrator/arm/models.h"
#include "orchestrator/arm/request_throttle.h"
#include "orchestrator/arm/resource_id.h"
#include "orchestrator/arm/retry_policy.h"
#include "orchestrator/common/fake_clock.h"
#include "orchestrator/http/http_transport.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace foghorn::arm;
  namespace http = foghorn::http;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  static constexpr const char* kHeaders[] = {"Retry-After",
                                             "x-ms-retry-after-ms",
                                             "retry-after-ms",
                                             "Azure-AsyncOperation",
                                             "Location",
                                             "x-ms-ratelimit-remaining-subscription-reads",
                                             "x-ms-ratelimit-remaining-subscription-global-writes",
                                             "x-ms-request-id"};
  std::string header_name = kHeaders[in.empty() ? 0 : static_cast<uint8_t>(in[0]) % 8];
  std::string_view rest = in.empty() ? in : in.substr(1);
  size_t nl = rest.find('\n');
  std::string header_value(rest.substr(0, nl == std::string_view::npos ? rest.size() : nl));
  std::string body(nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1));

  http::HttpHeaders headers;
  headers.Add(header_name, header_value);
  const absl::Time now = absl::FromUnixSeconds(1767225600);
  (void)RetryAfterFromHeaders(headers, now);
  (void)OperationRefFromHeaders(headers, "https://management.azure.com/subscriptions/s");
  foghorn::common::FakeClock clock;
  RequestThrottle throttle(clock, {});
  throttle.Observe("s", RequestKind::kRead, headers);
  throttle.Observe("s", RequestKind::kWrite, headers);
  (void)throttle.Reserve("s", RequestKind::kRead);
  (void)FailoverGroupId::Parse(header_value);
  (void)ServerId::Parse(header_value);

  if (auto g = ParseFailoverGroup(body); g.ok()) {
    // What we would send back must parse as a group with the same partners.
    auto again = ParseFailoverGroup(FailoverGroupToPutJson(*g));
    if (!again.ok() || again->partner_servers.size() != g->partner_servers.size()) {
      __builtin_trap();
    }
  }
  (void)ParseFailoverGroupPage(body);
  (void)ParseOperationStatus(body);
  (void)ParseTokenResponse(body, now);
  if (auto m = ParseMetricsResponse(body); m.ok()) {
    for (const Metric& metric : m->value) {
      (void)NewestPoint(metric, MetricAggregation::kMaximum);
      (void)NewestPoint(metric, MetricAggregation::kAverage);
    }
  }
  (void)ParseAvailabilityStatus(body);
  (void)ParseReplicationLinks(body);
  (void)ParseActivityLogPage(body);
  (void)ParseArmTime(header_value);
  http::HttpResponse response;
  response.status = 400 + static_cast<int>(size % 200);
  response.body = body;
  response.headers = headers;
  RequestIds ids;
  ids.From(headers);
  absl::Status s = StatusFromHttpError("fuzz", response, ids);
  (void)ArmErrorCode(s);
  (void)HttpStatusOf(s);
  return 0;
}
