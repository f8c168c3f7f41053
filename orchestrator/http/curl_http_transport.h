// HttpTransport over libcurl: easy handles kept in a small pool and reused, so connections (and
// TLS sessions) stay alive across calls; HTTP/2 over TLS where the server offers it (ALPN); connect
// and total timeouts; TLS verification always on, with an optional CA file (the emulator's);
// proxies from the environment (https_proxy, no_proxy) as libcurl reads them; User-Agent
// "foghorn/<version>". A non-idempotent request (a failover POST) always goes out on a connection
// opened for it, so libcurl never re-sends it behind the caller's back.
#ifndef FOGHORN_ORCHESTRATOR_HTTP_CURL_HTTP_TRANSPORT_H_
#define FOGHORN_ORCHESTRATOR_HTTP_CURL_HTTP_TRANSPORT_H_

#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "orchestrator/http/http_transport.h"

namespace foghorn::http {

// The foghorn version string compiled into the library (the CMake project version).
std::string FoghornVersion();

class CurlHttpTransport final : public HttpTransport {
 public:
  struct Options {
    absl::Duration connect_timeout = absl::Seconds(10);
    // Used when a request has no timeout of its own.
    absl::Duration default_timeout = absl::Seconds(60);
    // PEM bundle to trust instead of the system store (empty: system store).
    std::string ca_file;
    // Empty: "foghorn/<version>".
    std::string user_agent;
    bool http2 = true;
    // Idle handles kept for reuse; more concurrent requests than this still work.
    int max_idle_handles = 8;
  };

  CurlHttpTransport() : CurlHttpTransport(Options{}) {}
  explicit CurlHttpTransport(Options options);
  ~CurlHttpTransport() override;

  CurlHttpTransport(const CurlHttpTransport&) = delete;
  CurlHttpTransport& operator=(const CurlHttpTransport&) = delete;

  // Thread-safe. See HttpTransport for the error contract.
  absl::StatusOr<HttpResponse> Send(const HttpRequest& request) override;

 private:
  void* Acquire();
  void Release(void* handle);

  const Options options_;
  std::string user_agent_;
  absl::Mutex mu_;
  std::vector<void*> idle_ ABSL_GUARDED_BY(mu_);
};

}  // namespace foghorn::http

#endif  // FOGHORN_ORCHESTRATOR_HTTP_CURL_HTTP_TRANSPORT_H_
