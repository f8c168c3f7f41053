// Continuous readiness (issue 16): the readiness checks of every watched group, run on a
// schedule rather than only on request or before a drill (as Route 53 ARC evaluates its plans).
// Each group is checked once per interval, the groups spread evenly over it, on the read workers
// (the checks are ARM reads and TCP dials: never on the control loop). The checks come from
// ReadinessSources: in foghornd the drill preflight's checks (drill::ReadinessChecker, adapted in
// main.cc: arm_access, group_roles, replication_state, databases, failover_policy, listeners,
// no_operation_in_flight, not_paused) and ArmReadinessChecks (arm_readiness_checks.h:
// failover_permission, secondary_link, sku_parity).
//
// Results: the gauge foghorn_readiness{group,check} (1 passing: ok, warn or unknown; 0 failing),
// Get() for GetGroup, and a notification "readiness_regressed" when a check that passed on the
// previous run fails now.
#ifndef FOGHORN_ORCHESTRATOR_AGENT_READINESS_SCHEDULER_H_
#define FOGHORN_ORCHESTRATOR_AGENT_READINESS_SCHEDULER_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "foghorn/v1/runbook.pb.h"
#include "orchestrator/common/clock.h"
#include "orchestrator/common/executor.h"
#include "orchestrator/common/log.h"
#include "orchestrator/common/metrics.h"
#include "orchestrator/common/worker_pool.h"
#include "orchestrator/executor/notifier.h"

namespace foghorn::agent {

enum class ReadinessState {
  kOk,
  // Passing, with something a person should look at (e.g. an Automatic failover policy).
  kWarn,
  // Failing: a failover would not work, or not as planned.
  kFailing,
  // Not checked, or the answer could not be had (e.g. the endpoint does not serve the read):
  // never counted as failing.
  kUnknown,
};
// "ok", "warn", "failing", "unknown".
std::string ReadinessStateName(ReadinessState s);

struct ReadinessCheck {
  std::string name;  // stable: "failover_permission", "failover_policy", ...
  ReadinessState state = ReadinessState::kUnknown;
  std::string detail;  // what was found, one line
};

struct GroupReadiness {
  absl::Time checked_at = absl::InfinitePast();  // on the agent's clock
  std::vector<ReadinessCheck> checks;
};

// One source of checks. Check() blocks (ARM reads, dials); it is called on a read worker, for one
// group at a time per group, possibly for several groups at once: implementations are
// thread-safe. A check a source cannot run is returned kUnknown with the reason, never dropped.
class ReadinessSource {
 public:
  virtual ~ReadinessSource() = default;
  virtual std::vector<ReadinessCheck> Check(const v1::Runbook& runbook) = 0;
};

// A source from a function (main.cc adapts the drill's ReadinessChecker with one).
class FunctionReadinessSource final : public ReadinessSource {
 public:
  explicit FunctionReadinessSource(
      std::function<std::vector<ReadinessCheck>(const v1::Runbook&)> fn)
      : fn_(std::move(fn)) {}
  std::vector<ReadinessCheck> Check(const v1::Runbook& runbook) override { return fn_(runbook); }

 private:
  std::function<std::vector<ReadinessCheck>(const v1::Runbook&)> fn_;
};

class ReadinessScheduler {
 public:
  struct Deps {
    const common::Clock& clock;
    common::Executor& loop;        // timers only
    common::WorkerPool& workers;   // runs the checks (foghornd: the read workers)
    executor::Notifier& notifier;  // "readiness_regressed"
    common::MetricsRegistry& metrics;
    common::Logger logger;
    std::vector<ReadinessSource*> sources;
  };
  struct Options {
    absl::Duration interval = absl::Minutes(5);
    // Added before every group's first run after SetRunbooks (foghornd: 30 s, so roles are read
    // and probes have settled first).
    absl::Duration initial_delay = absl::ZeroDuration();
  };

  // Everything in `deps` must outlive the scheduler; `workers` must be idle or shut down before
  // it is destroyed (a run in progress uses it).
  ReadinessScheduler(Deps deps, Options options);
  ~ReadinessScheduler();
  ReadinessScheduler(const ReadinessScheduler&) = delete;
  ReadinessScheduler& operator=(const ReadinessScheduler&) = delete;

  // Replaces the groups checked (start-up and SIGHUP, with the agent's runbooks): group i of n
  // (by group id) first runs initial_delay + i * interval / n from now, then every interval. A
  // group that stays keeps its last results (and so its regression baseline). Thread-safe.
  void SetRunbooks(const std::vector<v1::Runbook>& runbooks);

  // Cancels the timers; runs in progress finish, their results are still recorded. Idempotent.
  void Stop();

  // The last results of a group; nullopt before its first run or for an unknown group.
  // Thread-safe; never blocks on I/O.
  std::optional<GroupReadiness> Get(const std::string& group_id) const;

  // Runs the checks of every group now, on the caller's thread (tests, and `foghornd --check`
  // style callers). Results are recorded as a scheduled run's would be.
  void RunAllNow();

 private:
  struct Entry {
    v1::Runbook runbook;
    common::TimerId timer = 0;
    bool running = false;
    std::optional<GroupReadiness> last;
  };

  void Fire(const std::string& group_id);
  void RunChecks(const std::string& group_id, const v1::Runbook& runbook);
  void Record(const std::string& group_id, GroupReadiness result);

  Deps deps_;
  const Options options_;
  mutable absl::Mutex mu_;
  std::map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace foghorn::agent

#endif  // FOGHORN_ORCHESTRATOR_AGENT_READINESS_SCHEDULER_H_
