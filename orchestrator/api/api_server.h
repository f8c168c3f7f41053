// The gRPC control API server (proto/foghorn/v1/control.proto; docs/api.md). It authenticates
// every call (bearer tokens with roles, auth.h), serves reads from the agent and the journal,
// forwards actions to the agent, audits every mutating call with the caller's identity, fans
// agent events out to Watch streams (watch_hub.h), and serves the standard health service and
// server reflection.
//
// Threading: it uses gRPC's callback API. Reactions never block: every handler that touches the
// agent or the journal (SQLite) runs on a small worker pool owned by the server, which finishes
// the call; Watch streams are written from the publishing thread or gRPC's threads without
// waiting. Publish() is safe from any thread and never blocks beyond short critical sections.
#ifndef FOGHORN_ORCHESTRATOR_API_API_SERVER_H_
#define FOGHORN_ORCHESTRATOR_API_API_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "foghorn/v1/agent.pb.h"
#include "orchestrator/agent/agent.h"
#include "orchestrator/common/clock.h"
#include "orchestrator/common/log.h"
#include "orchestrator/common/metrics.h"
#include "orchestrator/drill/drill_launcher.h"
#include "orchestrator/journal/journal.h"

namespace foghorn::api {

struct ApiServerDeps {
  agent::Agent& agent;
  journal::Journal& journal;
  const common::Clock& clock;
  common::Logger logger;
  common::MetricsRegistry& metrics;
  // Drills (StartDrill, CheckReadiness, ListDrillReports, GetDrillReport). Optional: without it
  // those methods are UNIMPLEMENTED. Must outlive the server; its drills publish their progress
  // through Publish (wire the runner's journal through drill::ProgressJournal).
  drill::DrillLauncher* drills = nullptr;
};

class ApiServer {
 public:
  struct Options {
    // Threads that run handlers (agent and journal calls).
    int worker_threads = 4;
    // Events each Watch subscriber may have queued before it starts missing events.
    int watch_queue_capacity = 1024;
  };

  // Validates `settings`, reads the TLS files and token values, binds and starts serving.
  // Defaults: listen 127.0.0.1:7443. INVALID_ARGUMENT for a malformed listen address, for a
  // non-loopback listen address without TLS and at least one token, for a TLS block missing its
  // certificate or key, or for a bad token (auth.h); NOT_FOUND for unreadable files;
  // UNAVAILABLE when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<ApiServer>> Start(const v1::ApiSettings& settings,
                                                          ApiServerDeps deps);
  static absl::StatusOr<std::unique_ptr<ApiServer>> Start(const v1::ApiSettings& settings,
                                                          ApiServerDeps deps, Options options);

  // Shuts down.
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // The bound port (listen "127.0.0.1:0" picks a free one).
  int port() const;

  // Feeds the Watch fan-out. Called from agent threads; never blocks.
  void Publish(const agent::AgentEvent& e);

  // Ends every Watch stream (UNAVAILABLE), stops accepting calls, lets calls in progress finish
  // (up to 5 s) and stops the workers. Idempotent.
  void Shutdown();

  // Watch subscribers connected now (tests, benchmarks).
  std::size_t watch_subscribers() const;

  class Impl;

 private:
  explicit ApiServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace foghorn::api

#endif  // FOGHORN_ORCHESTRATOR_API_API_SERVER_H_
