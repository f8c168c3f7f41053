// The gRPC control API server (proto/foghorn/v1/control.proto; docs/api.md). It authenticates
// every call (bearer tokens with roles, auth.h; listen address and TLS, server_credentials.h),
// serves reads from the agent and the journal, forwards actions to the agent, audits every
// mutating call with the caller's identity, shares readiness checks between callers
// (shared_readiness.h), fans agent events out to Watch streams (watch_streams.h, watch_hub.h),
// and serves the standard health service and server reflection. api_server.cc holds the service
// and its Unary dispatch.
//
// Threading contract: it uses gRPC's callback API. Reactions never block: every handler that
// touches the agent or the journal (SQLite) runs on one of three bounded pools owned by the server
// (reads, mutations, readiness checks; bounded_pool.h), which finishes the call; refused mutating
// calls are audited by a background writer (refusal_audit.h). Publish() only queues the event: a
// fan-out thread converts it and hands it to the Watch subscriptions, whose streams are written
// from gRPC's threads without waiting. Publish() is safe from any thread, under any lock, and
// never blocks beyond a short critical section.
#ifndef FOGHORN_ORCHESTRATOR_API_API_SERVER_H_
#define FOGHORN_ORCHESTRATOR_API_API_SERVER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "foghorn/v1/agent.pb.h"
#include "orchestrator/agent/agent.h"
#include "orchestrator/api/request_limits.h"
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
  // through Publish (daemon::PublishDrillProgress turns the drill
  // executor's step and operation observers into agent events).
  drill::DrillLauncher* drills = nullptr;
};

class ApiServer {
 public:
  // Limits that keep any caller, and viewers above all, from delaying an operation or exhausting
  // the agent's memory (docs/api.md "Limits"). Read-only calls, mutating calls and readiness
  // checks run on separate pools, so a flood of reads never waits in front of an operator.
  struct Options {
    // Threads that run read-only handlers (viewer calls: agent and journal reads).
    int worker_threads = 4;
    // Threads that run mutating handlers (operator and approver calls).
    int operator_threads = 2;
    // Threads that run readiness checks (their ARM reads and dials take seconds).
    int readiness_threads = 2;
    // Calls of each pool that may wait for a thread; beyond that a call is answered
    // RESOURCE_EXHAUSTED at once.
    int max_queued_reads = 256;
    int max_queued_mutations = 256;
    // Read-only calls one caller (token name) may have in flight. Operators' and approvers' reads
    // run on the mutations pool (with tokens configured), so viewers never queue in front of them.
    int max_reads_per_caller = 32;
    // A readiness result is reused for this long (on the agent's clock), and concurrent checks of
    // one group share one run: viewers cannot multiply the ARM reads that failovers also need.
    absl::Duration readiness_reuse = absl::Seconds(10);
    // Readiness runs start from a token bucket over all groups and callers: a burst of
    // readiness_burst, then one per readiness_min_interval (agent clock); a caller that would
    // start one beyond it gets RESOURCE_EXHAUSTED.
    absl::Duration readiness_min_interval = absl::Seconds(1);
    int readiness_burst = 5;
    // Callers waiting for readiness results at once (all groups).
    int max_readiness_waiters = 512;
    // Events each Watch subscriber may have queued before it starts missing events.
    int watch_queue_capacity = 1024;
    // Watch streams open at once, in all and per caller (token name).
    int max_watch_subscribers = 256;
    int max_watch_subscribers_per_caller = 64;
    // Of max_watch_subscribers, this many are kept for operators and approvers.
    int reserved_operator_watches = 32;
    // Agent events waiting for the Watch fan-out thread; beyond it events are dropped and every
    // subscriber is told how many it missed.
    int fanout_queue_capacity = 16384;
    // gRPC transport limits: request message size, concurrent streams per connection, request
    // metadata size.
    int max_receive_message_bytes = kMaxReceiveMessageBytes;
    int max_concurrent_streams = 128;
    int max_metadata_bytes = 16 << 10;
    // Refused mutating calls (refusal_audit.h).
    int refusal_audit_queue = 1024;
    int refusal_audit_burst = 5;
    int refusal_audit_rows_per_window = 100;
    absl::Duration refusal_audit_window = absl::Minutes(1);
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

  // Writes the refused calls the refusal auditor holds (their summary rows for windows that
  // ended) and waits until they are in the journal (tests, shutdown).
  void FlushRefusalAudit();

  // Watch subscribers connected now (tests, benchmarks).
  std::size_t watch_subscribers() const;

  class Impl;

 private:
  explicit ApiServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace foghorn::api

#endif  // FOGHORN_ORCHESTRATOR_API_API_SERVER_H_
