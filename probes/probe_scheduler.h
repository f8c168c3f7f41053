// The probe scheduler: decides when each probe runs (interval, jitter, initial delay), enforces
// timeouts, feeds outcomes through each probe's state machine, keeps a bounded history per probe
// and emits a ProbeEvent for every attempt. All timing runs on an injected Executor, so tests
// drive it with ManualExecutor + FakeClock; the I/O happens in a Prober.
#ifndef FOGHORN_PROBES_PROBE_SCHEDULER_H_
#define FOGHORN_PROBES_PROBE_SCHEDULER_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "foghorn/v1/probe.pb.h"
#include "orchestrator/common/executor.h"
#include "probes/probe_config.h"
#include "probes/probe_result.h"
#include "probes/probe_state.h"
#include "probes/prober.h"

namespace foghorn::probes {

// A probe's current state and recent results, for status views and drill reports.
struct ProbeStatus {
  std::string probe_id;
  ProbeState state = ProbeState::kUnknown;
  absl::Time failure_streak_start = absl::InfinitePast();
  // Oldest first; at most Options::history_size entries.
  std::vector<ProbeResult> history;
};

// Scheduling rules:
// - The first attempt is due at AddProbe time + initial_delay + U[0, jitter].
// - Each next attempt is due one interval + U[0, jitter] after the previous one was due
//   (fixed rate, so a slow loop does not drift); if that time has already passed it runs now.
// - An attempt without a result after `timeout` is a failure ("timeout"); a late result from
//   the Prober is discarded. An attempt still running when the next is due skips that slot.
// Thread-safety: AddProbe/RemoveProbe/Status are thread-safe. Events are delivered to `sink` on
// the executor, one at a time. `executor`, `prober` and `sink` must outlive the scheduler; stop
// the prober (so it calls back no more) and the executor before destroying the scheduler, or
// destroy it from a task on the executor.
class ProbeScheduler {
 public:
  struct Options {
    // Results kept per probe.
    size_t history_size = 32;
    // Seed of the jitter generator (deterministic for tests).
    std::uint64_t seed = 0x5eed;
  };

  ProbeScheduler(common::Executor& executor, Prober& prober, ProbeEventSink* sink, Options options);
  ProbeScheduler(common::Executor& executor, Prober& prober, ProbeEventSink* sink)
      : ProbeScheduler(executor, prober, sink, Options()) {}
  ~ProbeScheduler();

  ProbeScheduler(const ProbeScheduler&) = delete;
  ProbeScheduler& operator=(const ProbeScheduler&) = delete;

  // The id a probe gets: "<group>/<spec.name>".
  static std::string ProbeId(const std::string& group, const std::string& name);

  // Starts probing. kInvalidArgument for a bad spec (see ValidateProbeSpec), kAlreadyExists if
  // the id is taken.
  absl::Status AddProbe(const std::string& group, const v1::ProbeSpec& spec, ProbeContext context);

  // Stops a probe; an attempt in flight is forgotten. kNotFound if unknown.
  absl::Status RemoveProbe(const std::string& probe_id);

  // The probe's state and history, or nullopt if unknown.
  std::optional<ProbeStatus> Status(const std::string& probe_id) const;

  size_t size() const;

 private:
  struct Config {
    std::string id;
    std::string group;
    v1::ProbeSpec spec;
    ProbeContext context;
    ProbeTiming timing;
  };
  struct Probe {
    Probe(std::shared_ptr<const Config> c, const ProbeTiming& t)
        : config(std::move(c)), machine(t.unhealthy_threshold, t.healthy_threshold) {}
    std::shared_ptr<const Config> config;
    ProbeStateMachine machine;
    std::deque<ProbeResult> history;
    common::TimerId next_timer = 0;
    common::TimerId timeout_timer = 0;
    absl::Time next_due = absl::InfinitePast();
    std::uint64_t attempt = 0;
    bool in_flight = false;
    absl::Time scheduled = absl::InfinitePast();
    absl::Time started = absl::InfinitePast();
  };

  absl::Duration Jitter(absl::Duration max) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ScheduleNext(std::uint64_t key, Probe& p, absl::Time due) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RunAttempt(std::uint64_t key);
  void Finish(std::uint64_t key, std::uint64_t attempt, ProbeResult result, bool from_timeout);

  common::Executor& executor_;
  Prober& prober_;
  ProbeEventSink* sink_;
  const Options options_;
  // Tasks and prober callbacks hold a weak reference; expired means the scheduler is gone.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);

  mutable absl::Mutex mu_;
  std::mt19937_64 rng_ ABSL_GUARDED_BY(mu_);
  std::uint64_t next_key_ ABSL_GUARDED_BY(mu_) = 1;
  absl::flat_hash_map<std::string, std::uint64_t> keys_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::uint64_t, std::unique_ptr<Probe>> probes_ ABSL_GUARDED_BY(mu_);
};

}  // namespace foghorn::probes

#endif  // FOGHORN_PROBES_PROBE_SCHEDULER_H_
