// The HTTP seam of the ARM client. ArmClient, the LRO poller and the credentials speak to the
// network only through HttpTransport: CurlHttpTransport in production, a scripted fake in unit
// tests (tests/orchestrator/arm/fake_http_transport.h), the real emulator over loopback in
// integration tests.
#ifndef FOGHORN_ORCHESTRATOR_HTTP_HTTP_TRANSPORT_H_
#define FOGHORN_ORCHESTRATOR_HTTP_HTTP_TRANSPORT_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace foghorn::http {

// An ordered list of header fields. Lookup is case-insensitive (HTTP/2 lower-cases names).
class HttpHeaders {
 public:
  HttpHeaders() = default;
  HttpHeaders(std::initializer_list<std::pair<std::string, std::string>> fields)
      : fields_(fields) {}

  // Appends a field (does not replace an existing one).
  void Add(std::string name, std::string value) {
    fields_.emplace_back(std::move(name), std::move(value));
  }
  // Replaces every field called `name` with one field.
  void Set(std::string name, std::string value);
  // The first value of `name`, if any.
  std::optional<std::string> Find(std::string_view name) const;
  bool Has(std::string_view name) const { return Find(name).has_value(); }

  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }
  void Clear() { fields_.clear(); }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  HttpHeaders headers;
  std::string body;
  // Total time allowed for this exchange; zero means the transport's default.
  absl::Duration timeout = absl::ZeroDuration();
  // Connect directly even when a proxy is configured in the environment (IMDS must not be
  // proxied).
  bool bypass_proxy = false;
  // Whether sending the request twice has no more effect than sending it once. Unset: decided by
  // the method (IsIdempotent). The ARM client marks the failover POSTs false explicitly.
  std::optional<bool> idempotent;
  // The URL's path and query are a secret (Slack, Teams and Discord webhooks carry their token
  // there): errors and logs name only its scheme and host.
  bool secret_url = false;
  // The most body bytes read from the answer; a longer body ends the exchange with
  // RESOURCE_EXHAUSTED. ARM answers are small (a page of a list is well under 1 MiB).
  size_t max_response_bytes = 16u << 20;
};

// request.idempotent if set, else true for GET, HEAD, OPTIONS, PUT and DELETE and false for any
// other method (POST, PATCH: RFC 9110 section 9.2.2).
bool IsIdempotent(const HttpRequest& request);

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;
  std::string body;
};

// Sends one HTTP exchange. Implementations are thread-safe.
//
// A response with any HTTP status (including 4xx/5xx) is returned as OK: interpreting it is the
// caller's job. A non-OK status means no complete response arrived:
//   UNAVAILABLE        connection refused/reset, DNS or TLS handshake failure, truncated reply;
//   DEADLINE_EXCEEDED  the timeout passed;
//   FAILED_PRECONDITION TLS verification failed or the request is malformed (retrying won't help).
// Every transport error says, through RequestMaybeSent(), whether the request could have reached
// the server: that decides whether a non-idempotent POST is ambiguous.
//
// One call sends a non-idempotent request (IsIdempotent() false) at most once: an implementation
// never re-sends it on its own, not even on a new connection after a reused one died before any
// answer. Whether to send it again is the caller's decision alone.
class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  virtual absl::StatusOr<HttpResponse> Send(const HttpRequest& request) = 0;
};

// Builds a transport error carrying the "maybe sent" mark.
absl::Status TransportError(absl::StatusCode code, std::string_view message, bool maybe_sent);

// True when `status` says the request may have reached the server (the default for errors that
// carry no mark, to stay on the safe side for non-idempotent requests). False for OK.
bool RequestMaybeSent(const absl::Status& status);

// Marks (or unmarks) `status` as "request may have been sent".
void SetRequestMaybeSent(absl::Status& status, bool maybe_sent);

// Returns `url` without its userinfo, query string and fragment, for log lines and error
// messages.
std::string UrlForLog(std::string_view url);
// Returns only the scheme and host[:port] of `url` ("https://hooks.slack.com"), for URLs whose
// path is a secret.
std::string UrlOrigin(std::string_view url);
// UrlOrigin(request.url) when request.secret_url, else UrlForLog(request.url).
std::string UrlForLog(const HttpRequest& request);

}  // namespace foghorn::http

#endif  // FOGHORN_ORCHESTRATOR_HTTP_HTTP_TRANSPORT_H_
