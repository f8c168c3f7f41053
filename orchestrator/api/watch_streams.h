// The Watch side of the control API: the fan-out thread, the stream limits, and the reactor that
// serves one Watch stream.
// - Publish() only queues an agent event (bounded: beyond fanout_queue_capacity events are
//   dropped and every subscriber is told how many it missed); the fan-out thread converts queued
//   events to WatchResponses and hands them to the hub (watch_hub.h), whose subscriptions each
//   have their own bounded queue. So the agent's threads never wait on subscribers.
// - Streams are limited in all, per caller (token name), and with slots kept for operators and
//   approvers (the CLI watches before it requests a failover).
// - A stream subscribes on a worker pool (resolving group names reads the agent), writes
//   SUBSCRIBED, then drains its subscription whenever the hub wakes it; at most one write is in
//   flight and nothing on gRPC's threads waits.
#ifndef FOGHORN_ORCHESTRATOR_API_WATCH_STREAMS_H_
#define FOGHORN_ORCHESTRATOR_API_WATCH_STREAMS_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "foghorn/v1/control.pb.h"
#include "grpcpp/support/server_callback.h"
#include "orchestrator/agent/agent.h"
#include "orchestrator/api/auth.h"
#include "orchestrator/api/bounded_pool.h"
#include "orchestrator/api/watch_hub.h"
#include "orchestrator/common/clock.h"
#include "orchestrator/common/metrics.h"

namespace grpc {
class CallbackServerContext;
}  // namespace grpc

namespace foghorn::api {

class WatchStreams {
 public:
  struct Options {
    // Events each subscriber may have queued before it starts missing events.
    int queue_capacity = 1024;
    // Streams open at once, in all and per caller; of max_subscribers, reserved_operator are
    // kept for operators and approvers.
    int max_subscribers = 256;
    int max_subscribers_per_caller = 64;
    int reserved_operator = 32;
    // Agent events waiting for the fan-out thread.
    int fanout_queue_capacity = 16384;
  };
  // What the streams need from the server. Every function must be thread-safe.
  struct Deps {
    const common::Clock& clock;
    common::MetricsRegistry& metrics;
    // Authenticates and authorizes a Watch call inline (no I/O).
    std::function<absl::StatusOr<Caller>(grpc::CallbackServerContext*)> authenticate;
    // A group id, or a name that exactly one watched group has, to its id (reads the agent:
    // called on a pool thread).
    std::function<absl::StatusOr<std::string>(const std::string&)> resolve_group;
    // Runs a stream's set-up on the worker pool for the caller's role.
    std::function<BoundedPool::Submitted(const Caller&, std::function<void()>)> submit;
  };

  // Starts the fan-out thread. `clock` and `metrics` must outlive this object.
  WatchStreams(Deps deps, Options options);
  ~WatchStreams();  // Close()
  WatchStreams(const WatchStreams&) = delete;
  WatchStreams& operator=(const WatchStreams&) = delete;

  // Queues `e` for the fan-out. Safe from any thread, under any lock; never blocks beyond a
  // short critical section.
  void Publish(const agent::AgentEvent& e);

  // The reactor of a new Watch call (it deletes itself when the call is done). A refused call
  // (authentication, the stream limits: RESOURCE_EXHAUSTED, a full or stopped pool) finishes at
  // once.
  grpc::ServerWriteReactor<v1::WatchResponse>* Open(grpc::CallbackServerContext* ctx,
                                                    const v1::WatchRequest* req);

  // Stops the fan-out thread (events still queued are dropped) and ends every stream
  // (UNAVAILABLE); later streams end at once. Idempotent.
  void Close();

  // Streams subscribed now.
  std::size_t subscribers() const { return hub_.subscribers(); }

 private:
  friend class WatchReactor;

  // A stream slot for `who`: RESOURCE_EXHAUSTED beyond the limits.
  absl::Status Acquire(const Caller& who);
  void Release(const std::string& caller);
  void RunFanout();

  const Deps deps_;
  const Options options_;
  WatchHub hub_;

  absl::Mutex fanout_mu_;
  std::deque<agent::AgentEvent> fanout_queue_ ABSL_GUARDED_BY(fanout_mu_);
  std::uint64_t fanout_dropped_ ABSL_GUARDED_BY(fanout_mu_) = 0;
  bool fanout_stopping_ ABSL_GUARDED_BY(fanout_mu_) = false;
  bool closed_ ABSL_GUARDED_BY(fanout_mu_) = false;
  std::thread fanout_thread_;

  absl::Mutex slots_mu_;
  int open_ ABSL_GUARDED_BY(slots_mu_) = 0;
  std::map<std::string, int> by_caller_ ABSL_GUARDED_BY(slots_mu_);
};

}  // namespace foghorn::api

#endif  // FOGHORN_ORCHESTRATOR_API_WATCH_STREAMS_H_
