// A whole agent for the tests of runbook steps only the agent can run (approval gates, probe
// assertions) and of the gates failovers people request pass: scripted probes (TableProber) ->
// health tracker -> decision engine -> the real OperationRunner and SystemStepRunner, wired to
// the agent exactly as foghornd wires them (AgentStepHooks) -> a fake ARM; a real SQLite
// journal; the control loop on a FakeClock with a ManualExecutor. Nothing sleeps: a test that
// needs an operation to be waiting at a gate waits for that (StepGates::AwaitPending/Waiting).
#ifndef FOGHORN_TESTS_ORCHESTRATOR_AGENT_GATED_AGENT_H_
#define FOGHORN_TESTS_ORCHESTRATOR_AGENT_GATED_AGENT_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "orchestrator/agent/agent.h"
#include "orchestrator/agent/agent_steps.h"
#include "orchestrator/common/fake_clock.h"
#include "orchestrator/common/manual_executor.h"
#include "orchestrator/executor/system_step_runner.h"
#include "orchestrator/journal/sqlite_journal.h"
#include "runbooks/loader.h"
#include "tests/testing/capturing_log_sink.h"
#include "tests/testing/fake_arm.h"
#include "tests/testing/fake_sleeper.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/table_prober.h"
#include "tests/testing/temp_dir.h"

namespace foghorn::agent::testing {

// Keeps every notification.
class RecordingNotifier final : public executor::Notifier {
 public:
  void Notify(executor::Notification n) override {
    absl::MutexLock lock(&mu_);
    sent_.push_back(std::move(n));
  }
  std::vector<executor::Notification> Sent() {
    absl::MutexLock lock(&mu_);
    return sent_;
  }

 private:
  absl::Mutex mu_;
  std::vector<executor::Notification> sent_ ABSL_GUARDED_BY(mu_);
};

// Webhooks and waits are not what these tests are about (waits return at once: FakeSleeper).
class NoHttp final : public http::HttpTransport {
 public:
  absl::StatusOr<http::HttpResponse> Send(const http::HttpRequest&) override {
    return absl::UnavailableError("no network in this test");
  }
};

class ForwardingSink final : public probes::VerdictSink {
 public:
  void OnVerdictChange(const probes::VerdictEvent& e) override {
    if (target != nullptr) target->OnVerdictChange(e);
  }
  probes::VerdictSink* target = nullptr;
};

// srv-a primary, srv-b secondary; `canary` watches the secondary's side but votes in no rule, so
// a test can move it without changing any verdict.
inline constexpr char kGroup[] = "sub/rg/fog";
inline constexpr char kRunbook[] = R"(
group:
  subscription_id: sub
  resource_group: rg
  name: fog
  primary_server: srv-a
  secondary_server: srv-b
probes:
  - {name: a-tcp, target: primary, interval: 5s, timeout: 1s, unhealthy_threshold: 2, healthy_threshold: 1, tcp: {address: "127.0.0.1:1"}}
  - {name: b-tcp, target: secondary, interval: 5s, timeout: 1s, unhealthy_threshold: 2, healthy_threshold: 1, tcp: {address: "127.0.0.1:2"}}
  - {name: canary, target: secondary, interval: 5s, timeout: 1s, unhealthy_threshold: 1, healthy_threshold: 1, tcp: {address: "127.0.0.1:3"}}
  - {name: lag, target: primary, interval: 5s, timeout: 1s, metric_kind: replication_lag_seconds, exec: {argv: [lag], metric_from_stdout: true}}
health_rules:
  - {target: primary, probes: [a-tcp]}
  - {target: secondary, probes: [b-tcp]}
policy:
  confirm_after: 10s
  planned_grace: 30s
  data_loss_grace: 2m
  data_loss_budget: 10m
  approval_mode: APPROVAL_MODE
  cooldown: 1h
)";

class GatedAgentTest : public ::testing::Test {
 protected:
  // Builds and starts the agent with kRunbook (approval mode and extra YAML, e.g. pre_steps),
  // lets 20 s pass so every probe has a verdict.
  absl::Status Load(const std::string& approval_mode = "automatic", const std::string& extra = "") {
    std::string text = std::string(kRunbook) + extra;
    text.replace(text.find("APPROVAL_MODE"), 13, approval_mode);
    runbooks::LoadResult loaded = runbooks::LoadRunbookSources({{"test.yaml", text}});
    if (!loaded.ok()) return loaded.status();
    auto j = journal::SqliteJournal::Open(dir_.File("journal.db"), clock_);
    if (!j.ok()) return j.status();
    journal_ = std::move(j).value();
    steps_ = std::make_unique<executor::SystemStepRunner>(http_, sleeper_, Logger(),
                                                          AgentStepHooks(&agent_ptr_));
    runner_ = std::make_unique<executor::OperationRunner>(*journal_, arm_, *steps_, notifier_,
                                                          Logger(), metrics_);
    scheduler_ = std::make_unique<probes::ProbeScheduler>(loop_, prober_, &tracker_);
    agent_ =
        std::make_unique<Agent>(Agent::Deps{clock_, loop_, workers_, *journal_, arm_, *runner_,
                                            *scheduler_, tracker_, notifier_, Logger(), metrics_},
                                Agent::Options{});
    agent_ptr_ = agent_.get();
    forward_.target = agent_.get();
    runbook_ = loaded.runbooks[0].runbook;
    if (absl::Status s = agent_->SetRunbooks({runbook_}); !s.ok()) return s;
    prober_.SetMetric("lag", 3);
    Run(absl::Seconds(10));
    if (absl::Status s = agent_->Start(); !s.ok()) return s;
    Run(absl::Seconds(10));
    return absl::OkStatus();
  }
  void TearDown() override {
    if (agent_) agent_->Stop();
    workers_.Shutdown();
  }
  common::Logger Logger() { return common::Logger(sink_, nullptr, clock_, {}); }

  // Advances time in 1 s steps, letting the worker pool finish at each step. Only while no
  // operation waits at a gate (WaitIdle would wait for it).
  void Run(absl::Duration total) {
    for (absl::Duration t; t < total; t += absl::Seconds(1)) {
      loop_.Advance(absl::Seconds(1));
      workers_.WaitIdle();
      loop_.RunUntilIdle();
    }
  }
  // Advances time in 1 s steps without waiting for the workers: for operations waiting at a gate.
  void Advance(absl::Duration total) {
    for (absl::Duration t; t < total; t += absl::Seconds(1)) {
      loop_.Advance(absl::Seconds(1));
      loop_.RunUntilIdle();
    }
  }
  // Waits for the operation to finish (no gate may still be waiting) and for what it posts.
  void Settle() {
    workers_.WaitIdle();
    loop_.RunUntilIdle();
  }
  // Takes the primary down; the automatic planned failover starts after confirm + planned grace.
  void PrimaryDown() { prober_.Set("a-tcp", probes::ProbeOutcome::kFailure); }
  bool AwaitApprovalStep() { return agent_->step_gates().AwaitPending(kGroup, absl::Seconds(30)); }
  std::vector<journal::OperationRecord> Operations() { return *journal_->ListOperations("", 0); }
  std::vector<journal::StepRecord> Steps(const std::string& op) { return *journal_->Steps(op); }
  std::vector<journal::AuditRecord> Audit() { return *journal_->AuditTrail(0); }

  foghorn::testing::TempDir dir_;
  common::FakeClock clock_;
  common::ManualExecutor loop_{clock_};
  common::WorkerPool workers_{2};
  foghorn::testing::TableProber prober_;
  // Every failover it is asked for succeeds and swaps the roles.
  foghorn::testing::FakeArm arm_;
  NoHttp http_;
  foghorn::testing::FakeSleeper sleeper_;
  RecordingNotifier notifier_;
  common::MetricsRegistry metrics_;
  std::shared_ptr<foghorn::testing::CapturingLogSink> sink_ =
      std::make_shared<foghorn::testing::CapturingLogSink>();
  ForwardingSink forward_;
  probes::HealthTracker tracker_{clock_, &forward_};
  std::unique_ptr<journal::SqliteJournal> journal_;
  std::unique_ptr<executor::SystemStepRunner> steps_;
  std::unique_ptr<executor::OperationRunner> runner_;
  std::unique_ptr<probes::ProbeScheduler> scheduler_;
  Agent* agent_ptr_ = nullptr;
  std::unique_ptr<Agent> agent_;
  v1::Runbook runbook_;
};

}  // namespace foghorn::agent::testing

#endif  // FOGHORN_TESTS_ORCHESTRATOR_AGENT_GATED_AGENT_H_
