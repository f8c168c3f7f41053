// The agent's Prometheus endpoint: GET /metrics (text format 0.0.4) and GET /healthz, served by
// cpp-httplib on the address of the agent config's metrics.listen (plain HTTP, no authentication).
#ifndef FOGHORN_ORCHESTRATOR_AGENT_METRICS_SERVER_H_
#define FOGHORN_ORCHESTRATOR_AGENT_METRICS_SERVER_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "orchestrator/common/metrics.h"

namespace httplib {
class Server;
}

namespace foghorn::agent {

class MetricsServer {
 public:
  // Binds `listen` ("host:port"; port 0 picks one) and serves on a background thread; returns once
  // it serves. UNAVAILABLE when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(const std::string& listen,
                                                              common::MetricsRegistry& metrics);
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
