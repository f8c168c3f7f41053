#include "orchestrator/http/curl_http_transport.h"

#include <curl/curl.h>

#include <algorithm>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

#ifndef FOGHORN_VERSION
#define FOGHORN_VERSION "0.0.0"
#endif

namespace foghorn::http {
namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Collected {
  HttpResponse* response;
  size_t max_body = 0;
  bool too_large = false;
};

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* c = static_cast<Collected*>(user);
  if (c->response->body.size() + size * n > c->max_body) {
    // A hostile or broken peer must not stream gigabytes into the agent: abort the transfer.
    c->too_large = true;
    return 0;
  }
  c->response->body.append(data, size * n);
  return size * n;
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* c = static_cast<Collected*>(user);
  absl::string_view line(data, size * n);
  line = absl::StripTrailingAsciiWhitespace(line);
  if (absl::StartsWith(line, "HTTP/")) {
    // A new status line (after 100 Continue or a redirect): start over.
    c->response->headers.Clear();
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon != absl::string_view::npos) {
    c->response->headers.Add(std::string(line.substr(0, colon)),
                             std::string(absl::StripAsciiWhitespace(line.substr(colon + 1))));
  }
  return size * n;
}

// Errors raised before any request byte could have left this process.
bool FailedBeforeSending(CURLcode code) {
  switch (code) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
      return true;
    default:
      return false;
  }
}

absl::StatusCode CodeFor(CURLcode code) {
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return absl::StatusCode::kDeadlineExceeded;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
      return absl::StatusCode::kFailedPrecondition;
    default:
      return absl::StatusCode::kUnavailable;
  }
}

long Millis(absl::Duration d) {
  return static_cast<long>(std::max<int64_t>(1, absl::ToInt64Milliseconds(d)));
}

}  // namespace

std::string FoghornVersion() { return FOGHORN_VERSION; }

CurlHttpTransport::CurlHttpTransport(Options options) : options_(std::move(options)) {
  GlobalInit();
  user_agent_ = options_.user_agent.empty() ? absl::StrCat("foghorn/", FoghornVersion())
                                            : options_.user_agent;
}

CurlHttpTransport::~CurlHttpTransport() {
  absl::MutexLock lock(&mu_);
  for (void* h : idle_) curl_easy_cleanup(static_cast<CURL*>(h));
  idle_.clear();
}

void* CurlHttpTransport::Acquire() {
  {
    absl::MutexLock lock(&mu_);
    if (!idle_.empty()) {
      void* h = idle_.back();
      idle_.pop_back();
      return h;
    }
  }
  return curl_easy_init();
}

void CurlHttpTransport::Release(void* handle) {
  absl::MutexLock lock(&mu_);
  if (static_cast<int>(idle_.size()) < options_.max_idle_handles) {
    idle_.push_back(handle);
    return;
  }
  curl_easy_cleanup(static_cast<CURL*>(handle));
}

absl::StatusOr<HttpResponse> CurlHttpTransport::Send(const HttpRequest& request) {
  CURL* h = static_cast<CURL*>(Acquire());
  if (h == nullptr) {
    return TransportError(absl::StatusCode::kResourceExhausted, "curl_easy_init failed", false);
  }
  // curl_easy_reset keeps live connections, the TLS session cache and the DNS cache.
  curl_easy_reset(h);
  HttpResponse response;
  Collected collected{&response, request.max_response_bytes, false};
  char errbuf[CURL_ERROR_SIZE] = {0};

  curl_slist* headers = nullptr;
  for (const auto& [k, v] : request.headers.fields()) {
    headers = curl_slist_append(headers, absl::StrCat(k, ": ", v).c_str());
  }
  // No "Expect: 100-continue" round trip for small ARM bodies.
  headers = curl_slist_append(headers, "Expect:");

  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_USERAGENT, user_agent_.c_str());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &collected);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &collected);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, Millis(options_.connect_timeout));
  curl_easy_setopt(
      h, CURLOPT_TIMEOUT_MS,
      Millis(request.timeout > absl::ZeroDuration() ? request.timeout : options_.default_timeout));
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);  // Location means "operation", not redirect
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  if (!options_.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, options_.ca_file.c_str());
  if (options_.http2) curl_easy_setopt(h, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);
  if (request.bypass_proxy) curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
  if (!IsIdempotent(request)) {
    // libcurl silently re-sends a request on a new connection when the reused keep-alive connection
    // it went out on dies before any byte of the answer (Curl_retry_request). The server may have
    // acted on the first copy already: for a failover POST that is a second failover nobody
    // decided to send. A request on a connection opened for it is never re-sent that way, so a
    // non-idempotent request always gets one (TLS session reuse keeps the handshake short), and
    // that connection is closed after the answer rather than pooled: kept, each such request would
    // leave one more idle connection (and a server worker) behind.
    curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
  }

  if (request.method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "POST") {
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  } else {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    if (!request.body.empty() || request.method == "PUT" || request.method == "PATCH") {
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
    }
    if (request.method == "HEAD") curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  }

  CURLcode rc = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  long request_size = 0;
  curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &request_size);
  curl_slist_free_all(headers);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);

  if (rc != CURLE_OK && collected.too_large) {
    curl_easy_cleanup(h);
    // The request was answered (the status line and headers came): not a transport failure to
    // retry blindly, an answer the agent refuses to read.
    return absl::ResourceExhaustedError(absl::StrCat(request.method, " ", UrlForLog(request),
                                                     ": response body larger than ",
                                                     request.max_response_bytes, " bytes"));
  }
  if (rc != CURLE_OK) {
    // A failed handle may hold a broken connection; drop it rather than pool it.
    curl_easy_cleanup(h);
    const bool maybe_sent =
        !FailedBeforeSending(rc) && !(rc == CURLE_OPERATION_TIMEDOUT && request_size == 0);
    std::string detail = errbuf[0] != '\0' ? std::string(errbuf) : curl_easy_strerror(rc);
    return TransportError(CodeFor(rc),
                          absl::StrCat(request.method, " ", UrlForLog(request), ": ",
                                       curl_easy_strerror(rc), " (", detail, ")"),
                          maybe_sent);
  }
  Release(h);
  response.status = static_cast<int>(status);
  return response;
}

}  // namespace foghorn::http
