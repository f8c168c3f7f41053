#include "orchestrator/api/shared_readiness.h"

#include <algorithm>
#include <utility>

#include "absl/strings/cord.h"
#include "orchestrator/api/convert.h"

namespace foghorn::api {
namespace {

// Marks a handler's status as "the call is finished elsewhere".
constexpr char kDeferredPayload[] = "type.foghorn.dev/deferred";

}  // namespace

absl::Status DeferredStatus() {
  absl::Status s = absl::CancelledError("finished later");
  s.SetPayload(kDeferredPayload, absl::Cord("1"));
  return s;
}

bool IsDeferred(const absl::Status& s) { return s.GetPayload(kDeferredPayload).has_value(); }

SharedReadiness::SharedReadiness(drill::DrillLauncher* drills, const common::Clock& clock,
                                 common::MetricsRegistry& metrics, FinishFn finish, Options options)
    : drills_(drills),
      clock_(clock),
      metrics_(metrics),
      finish_(std::move(finish)),
      options_(options),
      pool_(options.threads, options.max_waiters),
      tokens_(options.burst) {}

absl::Status SharedReadiness::Await(const agent::GroupSnapshot& g,
                                    grpc::ServerUnaryReactor* reactor,
                                    v1::CheckReadinessResponse* resp) {
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  if (closed_) return absl::UnavailableError("the agent is shutting down");
  Readiness& r = readiness_[g.id];
  if (r.result.has_value() && now - r.at < options_.reuse && now >= r.at) {
    *resp = *r.result;
    metrics_.IncrementCounter("foghorn_api_readiness_reused_total", {});
    return absl::OkStatus();
  }
  if (waiting_ >= options_.max_waiters) {
    return Overloaded("callers waiting for readiness checks");
  }
  if (!r.running) {
    // Every run costs ARM reads from the budget failovers also need: runs start from a token
    // bucket (a burst of `burst`, then one per min_interval), whatever the number of groups and
    // callers.
    if (IsFinite(last_refill_) && now > last_refill_ &&
        options_.min_interval > absl::ZeroDuration()) {
      tokens_ = std::min<double>(
          options_.burst, tokens_ + absl::FDivDuration(now - last_refill_, options_.min_interval));
    }
    if (!IsFinite(last_refill_) || now > last_refill_) last_refill_ = now;
    if (tokens_ < 1) {
      return Overloaded("readiness runs (a burst, then one a second in all; retry shortly)");
    }
    BoundedPool::Submitted submitted = pool_.Submit(
        [this, id = g.id, runbook = g.runbook, gen = r.generation] { Run(id, runbook, gen); });
    if (submitted == BoundedPool::Submitted::kFull) return Overloaded("readiness checks");
    if (submitted == BoundedPool::Submitted::kShutDown) {
      return absl::UnavailableError("the agent is shutting down");
    }
    r.running = true;
    tokens_ -= 1;
  }
  r.waiters.push_back({reactor, resp});
  ++waiting_;
  return DeferredStatus();
}

void SharedReadiness::Invalidate(const std::string& group_id) {
  absl::MutexLock lock(&mu_);
  if (group_id.empty()) {
    for (auto& [id, r] : readiness_) {
      r.result.reset();
      ++r.generation;
    }
    return;
  }
  auto it = readiness_.find(group_id);
  if (it != readiness_.end()) {
    it->second.result.reset();
    ++it->second.generation;
  }
}

void SharedReadiness::Run(const std::string& group_id, const v1::Runbook& runbook,
                          std::uint64_t generation) {
  drill::ReadinessReport report = drills_->CheckReadiness(runbook);
  v1::CheckReadinessResponse result;
  result.set_ready(report.Ready());
  for (const drill::CheckResult& c : report.checks) *result.add_checks() = CheckToProto(c);
  result.set_current_primary(report.arm.current_primary);
  result.set_current_secondary(report.arm.current_secondary);
  std::vector<Waiter> waiters;
  {
    absl::MutexLock lock(&mu_);
    Readiness& r = readiness_[group_id];
    // Reused only when nothing changed while it ran (a pause, a decision, an operation).
    if (r.generation == generation) {
      r.result = result;
      r.at = clock_.Now();
    }
    r.running = false;
    waiters.swap(r.waiters);
    waiting_ -= static_cast<int>(waiters.size());
  }
  metrics_.IncrementCounter("foghorn_api_readiness_checks_total", {});
  for (const Waiter& w : waiters) {
    *w.resp = result;
    finish_(w.reactor, absl::OkStatus());
  }
}

void SharedReadiness::Abandon() {
  std::vector<Waiter> waiters;
  {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    for (auto& [id, r] : readiness_) {
      for (Waiter& w : r.waiters) waiters.push_back(w);
      r.waiters.clear();
    }
    waiting_ = 0;
  }
  for (const Waiter& w : waiters) {
    finish_(w.reactor, absl::UnavailableError("the agent is shutting down"));
  }
}

void SharedReadiness::Shutdown() { pool_.Shutdown(); }

}  // namespace foghorn::api
