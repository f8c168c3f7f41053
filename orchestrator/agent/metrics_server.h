// The agent's Prometheus endpoint: GET /metrics (text format 0.0.4) and GET /healthz, served by
// cpp-httplib on the address of the agent config's metrics.listen (plain HTTP, no authentication).
// Extra GET routes (the status page, orchestrator/api/status_page.h) are mounted by the daemon
// through Options::routes; they do their own authentication.
#ifndef FOGHORN_ORCHESTRATOR_AGENT_METRICS_SERVER_H_
#define FOGHORN_ORCHESTRATOR_AGENT_METRICS_SERVER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "orchestrator/common/metrics.h"

namespace httplib {
class Server;
}

namespace foghorn::agent {

// A GET request as a mounted route sees it (no httplib types leave this file pair).
struct HttpGet {
  std::string path = {};
  std::string authorization = {};  // the Authorization header; empty when absent
  std::vector<std::pair<std::string, std::string>> query = {};
};
struct HttpReply {
  int status = 200;
  std::string content_type = "text/plain";
  std::string body = {};
  std::vector<std::pair<std::string, std::string>> headers = {};
};
// Called on one of the server's threads; may read the journal (it is not the control loop).
using HttpRoute = std::function<HttpReply(const HttpGet&)>;

class MetricsServer {
 public:
  struct Options {
    // Exact paths beside /metrics and /healthz.
    std::vector<std::pair<std::string, HttpRoute>> routes;
  };
  // Binds `listen` ("host:port"; port 0 picks one) and serves on a background thread; returns once
  // it serves. UNAVAILABLE when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(const std::string& listen,
                                                              common::MetricsRegistry& metrics,
                                                              Options options = {});
  ~MetricsServer();
  int port() const { return port_; }
  // Stops serving and joins the thread; returns promptly at any time after Start. Idempotent.
  void Shutdown();

 private:
  MetricsServer() = default;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::atomic<bool> exited_{false};  // set by the thread when listening ends
  int port_ = 0;
};

}  // namespace foghorn::agent

#endif  // FOGHORN_ORCHESTRATOR_AGENT_METRICS_SERVER_H_
