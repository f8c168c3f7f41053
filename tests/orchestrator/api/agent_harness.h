// A real agent in process for the control API's tests, the Node client test and the benchmark:
// scripted probes (TableProber), the shared fake ARM (tests/testing/fake_arm.h: every group of
// the harness, every accepted failover recorded, failovers held on demand), a real SQLite
// journal, the real decision engine and operation runner, under a FakeClock driven by Run(). The
// API server (optional) is wired to the agent's events. Nothing here sleeps: drills wait on the
// shared FakeSleeper, closed until the test (or Shutdown) opens it.
#ifndef FOGHORN_TESTS_ORCHESTRATOR_API_AGENT_HARNESS_H_
#define FOGHORN_TESTS_ORCHESTRATOR_API_AGENT_HARNESS_H_

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "orchestrator/agent/agent.h"
#include "orchestrator/api/api_server.h"
#include "orchestrator/common/fake_clock.h"
#include "orchestrator/common/manual_executor.h"
#include "orchestrator/common/worker_pool.h"
#include "orchestrator/daemon/drill_progress.h"
#include "orchestrator/drill/drill_launcher.h"
#include "orchestrator/drill/drill_runner.h"
#include "orchestrator/journal/sqlite_journal.h"
#include "probes/health_tracker.h"
#include "probes/probe_scheduler.h"
#include "tests/testing/fake_arm.h"
#include "tests/testing/fake_sleeper.h"
#include "tests/testing/table_prober.h"

namespace foghorn::testing {

// Matches a grpc::Status with the given code (and shows the message on failure).
MATCHER_P(GrpcCode, code, "") {
  *result_listener << "status " << arg.error_code() << " " << arg.error_message();
  return arg.error_code() == code;
}

// Every dial succeeds.
class OkDialer final : public drill::ListenerDialer {
 public:
  absl::Status Dial(const std::string&, absl::Duration) override { return absl::OkStatus(); }
};

struct HarnessOptions {
  // Groups "sub/rg/fog" (index 0) and "sub/rg/fog-<i>" for i >= 1.
  int groups = 1;
  // The runbooks' approval_mode: automatic, approve_all, observe_only, ...
  std::string approval_mode = "automatic";
  // Pre and post steps in each runbook (names only; they succeed).
  bool with_steps = true;
  // Starts the API server with these settings (listen defaults to 127.0.0.1:0).
  bool start_api = true;
  v1::ApiSettings api;
  api::ApiServer::Options api_options;
  // Wires a DrillRunner (FakeArm, the closed FakeSleeper, OkDialer, reports in <dir>/reports,
  // pausing the group during a drill) behind the API's drill methods.
  bool with_drills = true;
  // Every ARM read of the drill runner (readiness checks) first waits this long in real time, as
  // a slow ARM would make it: the checks then hold their threads the way they do in production.
  absl::Duration readiness_arm_latency = absl::ZeroDuration();
  // Continuous readiness with this source (every 5m; the first group runs at start-up).
  agent::ReadinessSource* readiness_source = nullptr;
};

// Delays every Get by `latency` (real time), then asks `inner`.
class SlowReads final : public executor::FailoverActuator {
 public:
  SlowReads(executor::FailoverActuator& inner, absl::Duration latency)
      : inner_(inner), latency_(latency) {}
  absl::StatusOr<arm::FailoverResult> Failover(const arm::FailoverRequest& req) override {
    return inner_.Failover(req);
  }
  absl::StatusOr<arm::FailoverGroup> Get(const arm::FailoverGroupId& id) override;
  // Gets answered so far.
  int reads() const { return reads_.load(); }

 private:
  executor::FailoverActuator& inner_;
  const absl::Duration latency_;
  std::atomic<int> reads_{0};
};

class AgentHarness {
 public:
  // Builds everything in `dir` (which must exist), starts the agent and lets 20 s of fake time
  // pass so every probe has a verdict.
  static absl::StatusOr<std::unique_ptr<AgentHarness>> Create(const std::string& dir,
                                                              HarnessOptions options);
  ~AgentHarness();

  // The id of group `i`.
  static std::string GroupId(int i);
  static std::string GroupName(int i);
  // The runbook text of group `i`.
  static std::string RunbookText(int i, const std::string& approval_mode, bool with_steps);

  // Advances fake time in 1 s steps, letting operations on the worker pool finish at each step.
  void Run(absl::Duration total);
  // Runs tasks the control loop has due now, without moving time.
  void RunDue();

  agent::Agent& agent() { return *agent_; }
  journal::SqliteJournal& journal() { return *journal_; }
  FakeArm& arm() { return arm_; }
  TableProber& prober() { return prober_; }
  common::FakeClock& clock() { return clock_; }
  common::WorkerPool& workers() { return workers_; }
  common::MetricsRegistry& metrics() { return metrics_; }
  api::ApiServer* server() { return server_.get(); }
  drill::DrillLauncher* drills() { return launcher_.get(); }
  // The drills' sleeper: closed, so a drill waiting (its hold, a verification poll) blocks until
  // the test opens it; time does not move while it waits. Shutdown opens it.
  FakeSleeper& sleeper() { return sleeper_; }
  // The ARM the drill runner reads through (readiness checks).
  SlowReads& readiness_arm() { return *readiness_arm_; }
  int port() const { return server_ ? server_->port() : 0; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port()); }

  // Stops the API server first, then the agent.
  void Shutdown();

 private:
  AgentHarness() = default;
  class Forward;

  common::FakeClock clock_;
  common::ManualExecutor loop_{clock_};
  common::WorkerPool workers_{2};
  TableProber prober_;
  FakeArm arm_;
  std::unique_ptr<executor::StepRunner> steps_;
  executor::NullNotifier notifier_;
  common::MetricsRegistry metrics_;
  std::unique_ptr<Forward> forward_;
  std::unique_ptr<probes::HealthTracker> tracker_;
  std::unique_ptr<journal::SqliteJournal> journal_;
  std::unique_ptr<executor::OperationRunner> runner_;
  std::unique_ptr<probes::ProbeScheduler> scheduler_;
  std::unique_ptr<agent::ReadinessScheduler> readiness_;
  std::unique_ptr<agent::Agent> agent_;
  std::atomic<api::ApiServer*> events_to_{nullptr};
  FakeSleeper sleeper_;
  OkDialer dialer_;
  std::unique_ptr<SlowReads> readiness_arm_;
  std::unique_ptr<executor::OperationRunner> drill_executor_;
  std::unique_ptr<drill::GroupKnowledge> knowledge_;
  std::unique_ptr<drill::ReportStore> reports_;
  std::unique_ptr<drill::DrillRunner> drill_runner_;
  std::unique_ptr<drill::DrillLauncher> launcher_;
  std::unique_ptr<api::ApiServer> server_;
  bool shut_down_ = false;
};

}  // namespace foghorn::testing

#endif  // FOGHORN_TESTS_ORCHESTRATOR_API_AGENT_HARNESS_H_
