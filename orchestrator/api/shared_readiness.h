// Readiness checks shared between callers (CheckReadiness). A check costs ARM reads from the
// budget failovers also need and takes seconds, so viewers must not be able to multiply them:
// - a result is reused for `reuse` (on the agent's clock) unless something changed meanwhile
//   (Invalidate: a decision, an operation, a mutating call);
// - concurrent checks of one group share one run: callers join its waiters;
// - runs start from a token bucket over all groups and callers (a burst, then one per
//   min_interval); beyond it, and beyond max_waiters callers waiting, a call is answered
//   RESOURCE_EXHAUSTED;
// - runs execute on their own bounded pool (readiness pool), never on a gRPC thread.
//
// Threading: Await, Invalidate and Abandon are safe from any thread and never block on I/O; the
// readiness pool's threads run the checks and finish the waiting calls.
#ifndef FOGHORN_ORCHESTRATOR_API_SHARED_READINESS_H_
#define FOGHORN_ORCHESTRATOR_API_SHARED_READINESS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "foghorn/v1/control.pb.h"
#include "grpcpp/support/server_callback.h"
#include "orchestrator/agent/agent.h"
#include "orchestrator/api/bounded_pool.h"
#include "orchestrator/common/clock.h"
#include "orchestrator/common/metrics.h"
#include "orchestrator/drill/drill_launcher.h"

namespace foghorn::api {

// The status a handler returns when its call will be finished later, by someone else (a
// readiness run): the server's Finish must then leave the call alone.
absl::Status DeferredStatus();
bool IsDeferred(const absl::Status& s);

class SharedReadiness {
 public:
  struct Options {
    int threads = 2;        // the readiness pool
    int max_waiters = 512;  // callers waiting for results at once (all groups)
    absl::Duration reuse = absl::Seconds(10);
    absl::Duration min_interval = absl::Seconds(1);
    int burst = 5;
  };
  // Finishes a waiting CheckReadiness call with a status (the server's Finish).
  using FinishFn = std::function<void(grpc::ServerUnaryReactor*, const absl::Status&)>;

  // `drills` runs the checks (DrillLauncher::CheckReadiness); it, `clock` and `metrics` must
  // outlive this object.
  SharedReadiness(drill::DrillLauncher* drills, const common::Clock& clock,
                  common::MetricsRegistry& metrics, FinishFn finish, Options options);
  SharedReadiness(const SharedReadiness&) = delete;
  SharedReadiness& operator=(const SharedReadiness&) = delete;

  // Answers `resp` from a result of `g` younger than `reuse` (OK), or joins the run of `g` in
  // progress, or starts one on the readiness pool; then returns DeferredStatus() and the run
  // finishes `reactor` through FinishFn. RESOURCE_EXHAUSTED at the waiter, token-bucket or pool
  // limits; UNAVAILABLE after Abandon(). `resp` must stay valid until the call is finished.
  absl::Status Await(const agent::GroupSnapshot& g, grpc::ServerUnaryReactor* reactor,
                     v1::CheckReadinessResponse* resp);

  // Forgets the reused result of `group_id` (every group when empty); a run in progress still
  // answers its waiters but its result is not reused.
  void Invalidate(const std::string& group_id);

  // At shutdown: answers every caller still waiting UNAVAILABLE (runs not started yet are skipped
  // by the pool's shutdown) and refuses later calls, so the server's wait does not hang on them.
  void Abandon();

  // Stops the readiness pool, letting a run in progress finish. Call after Abandon().
  void Shutdown();

 private:
  struct Waiter {
    grpc::ServerUnaryReactor* reactor;
    v1::CheckReadinessResponse* resp;
  };
  struct Readiness {
    bool running = false;
    // Bumped by Invalidate: a run's result is reused only if it did not change.
    std::uint64_t generation = 0;
    absl::Time at = absl::InfinitePast();
    std::optional<v1::CheckReadinessResponse> result;
    std::vector<Waiter> waiters;
  };

  void Run(const std::string& group_id, const v1::Runbook& runbook, std::uint64_t generation);

  drill::DrillLauncher* const drills_;
  const common::Clock& clock_;
  common::MetricsRegistry& metrics_;
  const FinishFn finish_;
  const Options options_;
  BoundedPool pool_;

  absl::Mutex mu_;
  std::map<std::string, Readiness> readiness_ ABSL_GUARDED_BY(mu_);
  int waiting_ ABSL_GUARDED_BY(mu_) = 0;
  double tokens_ ABSL_GUARDED_BY(mu_);
  absl::Time last_refill_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace foghorn::api

#endif  // FOGHORN_ORCHESTRATOR_API_SHARED_READINESS_H_
