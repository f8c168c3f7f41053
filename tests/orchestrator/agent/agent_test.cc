// The whole control loop under the fake clock: scripted probe results -> health tracker ->
// decision engine -> operation runner -> a fake ARM, with a real journal.
#include "orchestrator/agent/agent.h"

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orchestrator/common/fake_clock.h"
#include "orchestrator/common/manual_executor.h"
#include "orchestrator/journal/sqlite_journal.h"
#include "runbooks/loader.h"
#include "tests/testing/capturing_log_sink.h"
#include "tests/testing/fake_arm.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/table_prober.h"
#include "tests/testing/temp_dir.h"

namespace foghorn::agent {
namespace {

using ::foghorn::testing::FakeArm;
using ::foghorn::testing::IsOk;
using ::foghorn::testing::StatusIs;
using ::foghorn::testing::TableProber;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Runs steps at once, or, with a gate set, blocks each step until the test opens the gate.
class NoSteps final : public executor::StepRunner {
 public:
  absl::Status Run(const v1::Step&, const journal::OperationRecord&) override {
    if (gate != nullptr) {
      entered.Notify();
      gate->WaitForNotification();
    }
    return absl::OkStatus();
  }
  absl::Notification* gate = nullptr;
  absl::Notification entered;
};

class ForwardingSink final : public probes::VerdictSink {
 public:
  void OnVerdictChange(const probes::VerdictEvent& e) override {
    if (target != nullptr) target->OnVerdictChange(e);
  }
  probes::VerdictSink* target = nullptr;
};

constexpr char kRunbook[] = R"(
group:
  subscription_id: sub
  resource_group: rg
  name: fog
  primary_server: srv-a
  secondary_server: srv-b
probes:
  - {name: a-tcp, target: primary, interval: 5s, timeout: 1s, unhealthy_threshold: 2, healthy_threshold: 1, tcp: {address: "127.0.0.1:1"}}
  - {name: b-tcp, target: secondary, interval: 5s, timeout: 1s, unhealthy_threshold: 2, healthy_threshold: 1, tcp: {address: "127.0.0.1:2"}}
  - {name: lag, target: primary, interval: 5s, timeout: 1s, metric_kind: replication_lag_seconds, exec: {argv: [lag], metric_from_stdout: true}}
  - {name: rw, target: listener_read_write, interval: 5s, timeout: 1s, unhealthy_threshold: 1, healthy_threshold: 1, tcp: {address: "127.0.0.1:3"}}
health_rules:
  - {target: primary, probes: [a-tcp]}
  - {target: secondary, probes: [b-tcp]}
  - {target: listener_read_write, probes: [rw]}
policy:
  confirm_after: 10s
  planned_grace: 30s
  data_loss_grace: 2m
  data_loss_budget: 10m
  approval_mode: APPROVAL_MODE
  cooldown: 1h
)";

class AgentTest : public ::testing::Test {
 protected:
  void Load(const std::string& approval_mode = "automatic", const std::string& extra = "") {
    std::string text = std::string(kRunbook) + extra;
    text.replace(text.find("APPROVAL_MODE"), 13, approval_mode);
    runbooks::LoadResult loaded = runbooks::LoadRunbookSources({{"test.yaml", text}});
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    auto j = journal::SqliteJournal::Open(dir_.File("journal.db"), clock_);
    ASSERT_THAT(j, IsOk());
    journal_ = std::move(j).value();
    runner_ = std::make_unique<executor::OperationRunner>(*journal_, arm_, steps_, notifier_,
                                                          Logger(), metrics_);
    scheduler_ = std::make_unique<probes::ProbeScheduler>(loop_, prober_, &tracker_);
    Agent::Deps deps{clock_,      loop_,    workers_,  *journal_, arm_,    *runner_,
                     *scheduler_, tracker_, notifier_, Logger(),  metrics_};
    deps.coordination = coordination_;
    agent_ = std::make_unique<Agent>(std::move(deps), Agent::Options{});
    forward_.target = agent_.get();
    ASSERT_THAT(agent_->SetRunbooks({loaded.runbooks[0].runbook}), IsOk());
    prober_.SetMetric("lag", 3);
    Run(absl::Seconds(10));  // probes settle; nothing is evaluated before Start()
    EXPECT_THAT(journal_->Decisions("sub/rg/fog", 0)->size(), 0u);
    ASSERT_THAT(agent_->Start(), IsOk());
    Run(absl::Seconds(10));
  }
  void TearDown() override {
    if (agent_) agent_->Stop();
    workers_.Shutdown();
  }
  common::Logger Logger() { return common::Logger(sink_, nullptr, clock_, {}); }

  // Advances time in small steps, letting worker-pool operations finish at each step.
  void Run(absl::Duration total) {
    for (absl::Duration t; t < total; t += absl::Seconds(1)) {
      loop_.Advance(absl::Seconds(1));
      workers_.WaitIdle();
      loop_.RunUntilIdle();
    }
  }
  std::vector<journal::OperationRecord> Operations() { return *journal_->ListOperations("", 0); }

  foghorn::testing::TempDir dir_;
  common::FakeClock clock_;
  common::ManualExecutor loop_{clock_};
  common::WorkerPool workers_{2};
  TableProber prober_;
  FakeArm arm_;
  NoSteps steps_;
  executor::NullNotifier notifier_;
  common::MetricsRegistry metrics_;
  std::shared_ptr<foghorn::testing::CapturingLogSink> sink_ =
      std::make_shared<foghorn::testing::CapturingLogSink>();
  ForwardingSink forward_;
  probes::HealthTracker tracker_{clock_, &forward_};
  std::unique_ptr<journal::SqliteJournal> journal_;
  std::unique_ptr<executor::OperationRunner> runner_;
  std::unique_ptr<probes::ProbeScheduler> scheduler_;
  std::unique_ptr<Agent> agent_;
  Coordination* coordination_ = nullptr;
};

TEST_F(AgentTest, StaysHealthyAndReadsRolesFromArm) {
  Load();
  auto g = agent_->Group("sub/rg/fog");
  ASSERT_THAT(g, IsOk());
  EXPECT_TRUE(g->roles_from_arm);
  EXPECT_EQ(g->roles.primary_server, "srv-a");
  ASSERT_TRUE(g->last_decision.has_value());
  EXPECT_EQ(g->last_decision->stage, decision::Stage::kHealthy);
  EXPECT_THAT(arm_.Accepted(), IsEmpty());
}

TEST_F(AgentTest, RegionOutageTriesPlannedThenForcesAfterTheDataLossGrace) {
  Load();
  const absl::Time outage = clock_.Now();
  prober_.Set("a-tcp", probes::ProbeOutcome::kFailure);
  prober_.Set("lag", probes::ProbeOutcome::kFailure);
  arm_.SetRegionDown(true);
  Run(absl::Minutes(4));
  EXPECT_EQ(arm_.Refused(arm::FailoverKind::kPlanned), 1);
  EXPECT_THAT(arm_.Accepted(), ElementsAre(arm::FailoverKind::kForcedAllowDataLoss));
  auto ops = Operations();
  ASSERT_EQ(ops.size(), 2u);
  EXPECT_EQ(ops[1].kind, "planned");
  EXPECT_EQ(ops[1].state, journal::OperationState::kFailed);
  EXPECT_EQ(ops[0].kind, "forced");
  EXPECT_EQ(ops[0].state, journal::OperationState::kSucceeded);
  EXPECT_GE(ops[0].created_at - outage, absl::Minutes(2));
  auto g = agent_->Group("sub/rg/fog");
  EXPECT_EQ(g->roles.primary_server, "srv-b");
  EXPECT_FALSE(journal_->Decisions("sub/rg/fog", 0)->empty());
}

TEST_F(AgentTest, PartialOutageWithAReachablePrimaryFailsOverPlanned) {
  Load();
  prober_.Set("a-tcp", probes::ProbeOutcome::kFailure);
  Run(absl::Minutes(2));
  EXPECT_THAT(arm_.Accepted(), ElementsAre(arm::FailoverKind::kPlanned));
  EXPECT_EQ(arm_.Refused(arm::FailoverKind::kPlanned), 0);
}

TEST_F(AgentTest, VerifiesTheReadWriteListenerAfterTheFailover) {
  Load();
  prober_.Set("a-tcp", probes::ProbeOutcome::kFailure);
  Run(absl::Minutes(2));
  auto ops = Operations();
  ASSERT_EQ(ops.size(), 1u);
  auto steps = journal_->Steps(ops[0].id);
  ASSERT_THAT(steps, IsOk());
  std::vector<std::string> names;
  for (const auto& s : *steps) names.push_back(s.name);
  EXPECT_THAT(names, ElementsAre("arm:failover", "verify:roles", "verify:listeners"));
}

TEST_F(AgentTest, AFailoverWhoseListenerStaysDownFailsVerification) {
  Load();
  prober_.Set("a-tcp", probes::ProbeOutcome::kFailure);
  prober_.Set("rw", probes::ProbeOutcome::kFailure);
  Run(absl::Minutes(2));
  auto ops = Operations();
  ASSERT_FALSE(ops.empty());
  EXPECT_EQ(ops.back().state, journal::OperationState::kFailed);
  EXPECT_THAT(ops.back().outcome, HasSubstr("read-write listener"));
  EXPECT_THAT(arm_.Accepted(), ElementsAre(arm::FailoverKind::kPlanned));
}

TEST_F(AgentTest, AFailedAutomaticFailoverIsNotRetriedWithinTheSameOutage) {
  Load();
  prober_.Set("a-tcp", probes::ProbeOutcome::kFailure);
  prober_.Set("lag", probes::ProbeOutcome::kFailure);
  arm_.SetRegionDown(true);
  arm_.FailFailovers(absl::UnavailableError("InternalServerError: try again later"),
                     arm::FailoverKind::kForcedAllowDataLoss);
  Run(absl::Minutes(10));
  auto ops = Operations();
  ASSERT_EQ(ops.size(), 2u);  // the planned attempt, then one forced attempt: never a third
  EXPECT_EQ(ops[0].kind, "forced");
  EXPECT_EQ(ops[0].state, journal::OperationState::kFailed);
  EXPECT_EQ(arm_.Refused(arm::FailoverKind::kForcedAllowDataLoss), 1);
  EXPECT_THAT(sink_->text(), HasSubstr("automatic failover not retried"));
}

TEST_F(AgentTest, FlappingBelowTheThresholdNeverFailsOver) {
  Load();
  for (int i = 0; i < 30; ++i) {
    prober_.Set("a-tcp", i % 2 ? probes::ProbeOutcome::kFailure : probes::ProbeOutcome::kSuccess);
    Run(absl::Seconds(5));
  }
  EXPECT_THAT(arm_.Accepted(), IsEmpty());
  EXPECT_THAT(Operations(), IsEmpty());
}

TEST_F(AgentTest, HoldsWhenTheSecondaryIsDownToo) {
  Load();
  prober_.Set("a-tcp", probes::ProbeOutcome::kFailure);
  prober_.Set("b-tcp", probes::ProbeOutcome::kFailure);
  Run(absl::Minutes(5));
  EXPECT_THAT(arm_.Accepted(), IsEmpty());
  auto g = agent_->Group("sub/rg/fog");
  ASSERT_TRUE(g->last_decision.has_value());
  EXPECT_TRUE(g->last_decision->HasReason(decision::ReasonCode::kSecondaryUnhealthy));
}

TEST_F(AgentTest, ObserveOnlyRecordsDecisionsButNeverCallsArm) {
  Load("observe_only");
  prober_.Set("a-tcp", probes::ProbeOutcome::kFailure);
  arm_.SetRegionDown(true);
  Run(absl::Minutes(5));
  EXPECT_THAT(arm_.Accepted(), IsEmpty());
  EXPECT_EQ(arm_.Refused(arm::FailoverKind::kPlanned), 0);
  EXPECT_THAT(Operations(), IsEmpty());
  auto decisions = journal_->Decisions("sub/rg/fog", 0);
  ASSERT_THAT(decisions, IsOk());
  EXPECT_GE(decisions->size(), 2u);
}

TEST_F(AgentTest, ApprovalModeWaitsThenProceedsOnApproval) {
  Load("approve_all");
  prober_.Set("a-tcp", probes::ProbeOutcome::kFailure);
  Run(absl::Minutes(2));
  EXPECT_THAT(arm_.Accepted(), IsEmpty());
  auto g = agent_->Group("sub/rg/fog");
  ASSERT_EQ(g->last_decision->stage, decision::Stage::kWaitApproval);
  EXPECT_THAT(agent_->Approve("sub/rg/fog", true, false, "alice", "go"), IsOk());
  Run(absl::Seconds(5));
  EXPECT_THAT(arm_.Accepted(), ElementsAre(arm::FailoverKind::kPlanned));
  auto trail = journal_->AuditTrail(0);
  ASSERT_THAT(trail, IsOk());
  EXPECT_EQ(trail->back().actor, "alice");
}

TEST_F(AgentTest, PausedGroupsTakeNoActionUntilResumed) {
  Load();
  ASSERT_THAT(agent_->Pause("sub/rg/fog", absl::InfiniteFuture(), "maintenance", "bob"), IsOk());
  prober_.Set("a-tcp", probes::ProbeOutcome::kFailure);
  Run(absl::Seconds(80));  // past the planned grace, within the data-loss grace
  EXPECT_THAT(arm_.Accepted(), IsEmpty());
  EXPECT_TRUE(agent_->Group("sub/rg/fog")->last_decision->HasReason(decision::ReasonCode::kPaused));
  ASSERT_THAT(agent_->Resume("sub/rg/fog", "bob"), IsOk());
  Run(absl::Seconds(5));
  EXPECT_THAT(arm_.Accepted(), ElementsAre(arm::FailoverKind::kPlanned))
      << agent_->Group("sub/rg/fog")->last_decision->summary;
}

TEST_F(AgentTest, RequestedFailoverIsIdempotentByRequestId) {
  Load();
  FailoverRequest req;
  req.group_id = "sub/rg/fog";
  req.kind = v1::FAILOVER_KIND_PLANNED;
  req.requested_by = "carol";
  req.reason = "drill";
  req.request_id = "req-1";
  auto first = agent_->RequestFailover(req);
  ASSERT_THAT(first, IsOk());
  EXPECT_TRUE(first->created);
  Run(absl::Seconds(2));
  auto second = agent_->RequestFailover(req);
  ASSERT_THAT(second, IsOk());
  EXPECT_FALSE(second->created);
  EXPECT_EQ(first->operation.id, second->operation.id);
  EXPECT_THAT(arm_.Accepted(), ElementsAre(arm::FailoverKind::kPlanned));
  FailoverRequest unknown;
  unknown.group_id = "nope";
  unknown.kind = v1::FAILOVER_KIND_PLANNED;
  EXPECT_THAT(agent_->RequestFailover(unknown), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(AgentTest, ADryRunTouchesNothing) {
  Load();
  FailoverRequest req;
  req.group_id = "sub/rg/fog";
  req.kind = v1::FAILOVER_KIND_PLANNED;
  req.dry_run = true;
  auto plan = agent_->RequestFailover(req);
  ASSERT_THAT(plan, IsOk());
  EXPECT_EQ(plan->kind, v1::FAILOVER_KIND_PLANNED);
  Run(absl::Seconds(5));
  EXPECT_THAT(arm_.Accepted(), IsEmpty());
  EXPECT_THAT(Operations(), IsEmpty());
}

TEST_F(AgentTest, ResumesAnUnfinishedOperationWithoutPostingAgain) {
  // A previous run journaled an operation, got its failover accepted, and died.
  {
    auto j = journal::SqliteJournal::Open(dir_.File("journal.db"), clock_);
    ASSERT_THAT(j, IsOk());
    journal::OperationRecord op;
    op.group_id = "sub/rg/fog";
    op.kind = "forced";
    op.target_server = "srv-b";
    auto created = (*j)->CreateOperation(op);
    ASSERT_THAT(created, IsOk());
    ASSERT_THAT((*j)->UpdateOperation(created->operation.id, journal::OperationState::kRunning, ""),
                IsOk());
    auto step = (*j)->BeginStep(created->operation.id, "arm:forceFailoverAllowDataLoss", "srv-b");
    ASSERT_THAT(step, IsOk());
  }
  arm_.ExternalFailover("fog");  // ARM carried the failover out
  Load();
  auto ops = Operations();
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].state, journal::OperationState::kSucceeded);
  EXPECT_THAT(arm_.Accepted(), IsEmpty());
}

// A drill is the drill launcher's to resume (it fails back what it failed over): the agent leaves
// the operation alone, never resumes it as a failover, and sends nothing.
TEST_F(AgentTest, AnInterruptedDrillIsLeftToTheDrillLauncherNotResumedAsAFailover) {
  std::string id;
  {
    auto j = journal::SqliteJournal::Open(dir_.File("journal.db"), clock_);
    ASSERT_THAT(j, IsOk());
    journal::OperationRecord op;
    op.group_id = "sub/rg/fog";
    op.kind = "drill";
    op.target_server = "srv-b";
    op.state = journal::OperationState::kRunning;
    auto created = (*j)->CreateOperation(op);
    ASSERT_THAT(created, IsOk());
    id = created->operation.id;
  }
  Load();
  auto op = journal_->GetOperation(id);
  ASSERT_THAT(op, IsOk());
  EXPECT_EQ(op->state, journal::OperationState::kRunning);
  EXPECT_THAT(arm_.Accepted(), IsEmpty());
  EXPECT_EQ(agent_->Group("sub/rg/fog")->roles.primary_server, "srv-a");
  EXPECT_TRUE(agent_->Group("sub/rg/fog")->in_flight_operation.empty());
}

TEST_F(AgentTest, CancelsAnOperationStillInItsPreStepsAndNeverCallsArm) {
  absl::Notification gate;
  steps_.gate = &gate;
  Load("automatic", "pre_steps:\n  - {name: wait-for-dba, wait: {duration: 1m}}\n");
  FailoverRequest req;
  req.group_id = "sub/rg/fog";
  req.kind = v1::FAILOVER_KIND_PLANNED;
  req.requested_by = "carol";
  auto started = agent_->RequestFailover(req);
  ASSERT_THAT(started, IsOk());
  ASSERT_TRUE(steps_.entered.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_THAT(agent_->CancelOperation(started->operation.id, "dave", "wrong group"), IsOk());
  gate.Notify();
  workers_.WaitIdle();
  auto op = journal_->GetOperation(started->operation.id);
  ASSERT_THAT(op, IsOk());
  EXPECT_EQ(op->state, journal::OperationState::kCancelled);
  EXPECT_THAT(arm_.Accepted(), IsEmpty());
  EXPECT_THAT(agent_->CancelOperation(started->operation.id, "dave", "again"),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(AgentTest, RefusesToCancelFinishedOrUnknownOperations) {
  Load();
  prober_.Set("a-tcp", probes::ProbeOutcome::kFailure);
  Run(absl::Minutes(2));
  auto ops = Operations();
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_THAT(agent_->CancelOperation(ops[0].id, "dave", "late"),
              StatusIs(absl::StatusCode::kNotFound));  // finished already
  EXPECT_THAT(agent_->CancelOperation("op-unknown", "dave", "?"),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(AgentTest, SnapshotsCarryEveryProbesStateAndHistory) {
  Load();
  auto g = agent_->Group("sub/rg/fog");
  ASSERT_THAT(g, IsOk());
  ASSERT_EQ(g->probes.size(), 4u);
  EXPECT_EQ(g->probes[0].probe_id, "sub/rg/fog/a-tcp");
  EXPECT_FALSE(g->probes[0].history.empty());
}

// `foghornd --check` loads runbooks with the loader; the agent refuses probes with
// probes::ValidateProbeSpec. Both apply probes::ProbeSpecProblems, so a probe is refused by both
// or by neither. Each case below used to pass one of them (or both).
TEST_F(AgentTest, RefusesExactlyTheProbesTheLoaderRefuses) {
  Load();
  struct Case {
    std::string probe;  // appended as probes[4]
    std::string field;  // the field both name
  };
  const std::vector<Case> cases = {
      // --check accepted these; the agent refused the runbook.
      {"{name: a/b, target: primary, tcp: {}}", "name"},
      {"{name: x, target: primary, exec: {argv: [\"\"]}}", "exec.argv"},
      {"{name: x, target: primary, "
       "http: {url: \"http://h/\", json_field: s, json_field_value: \"\"}}",
       "http.json_field_value"},
      {"{name: x, target: primary, tcp: {address: \"[::1:1433\"}}", "tcp.address"},
      // --check refused these; the agent ran them.
      {"{name: x, target: primary, http: {url: \"ftp://h/\"}}", "http.url"},
      {"{name: x, target: primary, jitter: 5s, tcp: {}}", "jitter"},
      {"{name: x, target: primary, exec: {argv: [x], inherit_env: [FOGHORN_ARM_TOKEN]}}",
       "exec.inherit_env[0]"},
      // Both accepted this one, reading "::1" as the host.
      {"{name: x, target: primary, tcp: {address: \"::1:1433\"}}", "tcp.address"},
  };
  auto load = [](const std::string& probe) {
    std::string text = kRunbook;
    text.replace(text.find("APPROVAL_MODE"), 13, "automatic");
    text.insert(text.find("health_rules:"), "  - " + probe + "\n");
    return runbooks::LoadRunbookSources({{"test.yaml", text}});
  };
  for (const Case& c : cases) {
    runbooks::LoadResult loaded = load(c.probe);
    ASSERT_EQ(loaded.runbooks.size(), 1u) << c.probe;
    ASSERT_EQ(loaded.diagnostics.size(), 1u) << c.probe << "\n" << loaded.status();
    EXPECT_EQ(loaded.diagnostics[0].field_path, "probes[4]." + c.field) << c.probe;
    EXPECT_THAT(agent_->SetRunbooks({loaded.runbooks[0].runbook}),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("field " + c.field)))
        << c.probe;
  }
  runbooks::LoadResult fine = load("{name: x, target: primary, tcp: {address: \"[::1]:1433\"}}");
  ASSERT_TRUE(fine.ok()) << fine.status();
  EXPECT_THAT(agent_->SetRunbooks({fine.runbooks[0].runbook}), IsOk());
}

TEST_F(AgentTest, RejectsABadRunbookSetAndKeepsTheOldOne) {
  Load();
  v1::Runbook bad = agent_->Group("sub/rg/fog")->runbook;
  bad.mutable_health_rules(0)->add_probes("missing-probe");
  EXPECT_THAT(agent_->SetRunbooks({bad}), StatusIs(absl::StatusCode::kInvalidArgument));
}

// --- Coordinated agents (issue 15): the agent's side of coordination, with a fake coordinator.

class FakeCoordination final : public Coordination {
 public:
  CoordinationFacts Facts(const std::string&, v1::ProbeTarget) override {
    absl::MutexLock lock(&mu_);
    return facts_;
  }
  void PublishVerdict(const std::string&, v1::ProbeTarget target, v1::Verdict verdict, absl::Time,
                      std::optional<double>) override {
    absl::MutexLock lock(&mu_);
    published_.emplace_back(target, verdict);
  }
  void SetGroups(const std::vector<std::string>& ids) override {
    absl::MutexLock lock(&mu_);
    groups_ = ids;
  }
  void SetBusy(const std::string&, bool busy) override {
    absl::MutexLock lock(&mu_);
    busy_ = busy;
  }
  absl::Status FenceBeforeArm(const journal::OperationRecord& op, bool) override {
    absl::MutexLock lock(&mu_);
    fenced_.push_back(op.id);
    return fence_;
  }
  absl::Status FinishIntent(const journal::OperationRecord& op, const std::string&) override {
    absl::MutexLock lock(&mu_);
    finished_.push_back(op);
    // As etcd would: the intent now reads finished.
    if (facts_.intent) {
      facts_.intent->finished = true;
      facts_.intent->state = journal::OperationStateName(op.state);
    }
    return absl::OkStatus();
  }
  std::optional<std::map<std::string, std::string>> SharedControls() override {
    absl::MutexLock lock(&mu_);
    if (!synced_) return std::nullopt;
    return shared_;
  }
  absl::Status PublishControls(const std::map<std::string, std::string>& batch) override {
    absl::MutexLock lock(&mu_);
    if (!publish_.ok()) return publish_;
    for (const auto& [key, value] : batch) {
      if (value.empty()) {
        shared_.erase(key);
      } else {
        shared_[key] = value;
      }
    }
    return absl::OkStatus();
  }
  // What another agent wrote (nullopt deletes), as the watch would deliver it.
  void SetShared(const std::string& key, std::optional<std::string> value) {
    absl::MutexLock lock(&mu_);
    synced_ = true;
    if (value) {
      shared_[key] = *value;
    } else {
      shared_.erase(key);
    }
  }
  std::optional<std::string> Shared(const std::string& key) {
    absl::MutexLock lock(&mu_);
    auto it = shared_.find(key);
    if (it == shared_.end()) return std::nullopt;
    return it->second;
  }
  void SetSynced() {
    absl::MutexLock lock(&mu_);
    synced_ = true;
  }
  void SetPublishError(absl::Status s) {
    absl::MutexLock lock(&mu_);
    publish_ = std::move(s);
  }
  std::vector<journal::OperationRecord> finished() {
    absl::MutexLock lock(&mu_);
    return finished_;
  }
  void Set(CoordinationFacts facts) {
    absl::MutexLock lock(&mu_);
    facts_ = std::move(facts);
  }
  void SetFence(absl::Status s) {
    absl::MutexLock lock(&mu_);
    fence_ = std::move(s);
  }
  std::vector<std::string> fenced() {
    absl::MutexLock lock(&mu_);
    return fenced_;
  }
  std::vector<std::string> groups() {
    absl::MutexLock lock(&mu_);
    return groups_;
  }
  bool published(v1::ProbeTarget target, v1::Verdict verdict) {
    absl::MutexLock lock(&mu_);
    return std::find(published_.begin(), published_.end(), std::make_pair(target, verdict)) !=
           published_.end();
  }
  bool busy() {
    absl::MutexLock lock(&mu_);
    return busy_;
  }

 private:
  absl::Mutex mu_;
  CoordinationFacts facts_;
  absl::Status fence_;
  absl::Status publish_;
  bool synced_ = false;
  std::map<std::string, std::string> shared_;
  std::vector<journal::OperationRecord> finished_;
  std::vector<std::string> fenced_;
  std::vector<std::string> groups_;
  std::vector<std::pair<v1::ProbeTarget, v1::Verdict>> published_;
  bool busy_ = false;
};

CoordinationFacts Coordinated(bool leader, decision::CoordinationView::Quorum quorum,
                              absl::Time since = absl::InfinitePast()) {
  CoordinationFacts f;
  f.view.leader = leader;
  f.view.leader_name = leader ? "agent-a" : "agent-b";
  f.view.primary_quorum = quorum;
  f.view.votes = "eu: down; us: down; ap: up";
  f.quorum_down_since = since;
  return f;
}

class AgentCoordinationTest : public AgentTest {
 protected:
  void SetUp() override { coordination_ = &fake_; }
  decision::Decision Last() { return *agent_->Group("sub/rg/fog")->last_decision; }
  FakeCoordination fake_;
};

TEST_F(AgentCoordinationTest, TheLeaderFailsOverOnceTheVantagesConfirmAndFencesFirst) {
  fake_.Set(Coordinated(true, decision::CoordinationView::Quorum::kNotConfirmed));
  Load();
  EXPECT_THAT(fake_.groups(), ElementsAre("sub/rg/fog"));
  prober_.Set("a-tcp", probes::ProbeOutcome::kFailure);
  Run(absl::Minutes(3));
  // This vantage sees the primary down, the others do not (yet): hold, naming the votes.
  EXPECT_THAT(arm_.Accepted(), IsEmpty());
  EXPECT_TRUE(Last().HasReason(decision::ReasonCode::kVantageDissent)) << Last().summary;
  EXPECT_TRUE(fake_.published(v1::PROBE_TARGET_PRIMARY, v1::VERDICT_UNHEALTHY));
  fake_.Set(Coordinated(true, decision::CoordinationView::Quorum::kConfirmedDown, clock_.Now()));
  agent_->OnCoordinationChange("sub/rg/fog");
  Run(absl::Minutes(2));
  EXPECT_THAT(arm_.Accepted(), ElementsAre(arm::FailoverKind::kPlanned));
  auto ops = Operations();
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_THAT(fake_.fenced(), ElementsAre(ops[0].id));
  EXPECT_FALSE(fake_.busy());
}

TEST_F(AgentCoordinationTest, AnAgentThatDoesNotLeadTheGroupOnlyObserves) {
  fake_.Set(Coordinated(false, decision::CoordinationView::Quorum::kConfirmedDown, clock_.Now()));
  Load();
  prober_.Set("a-tcp", probes::ProbeOutcome::kFailure);
  Run(absl::Minutes(4));
  EXPECT_THAT(arm_.Accepted(), IsEmpty());
  EXPECT_TRUE(Last().HasReason(decision::ReasonCode::kNotLeader)) << Last().summary;
  EXPECT_THAT(Last().summary, HasSubstr("agent-b"));
  EXPECT_THAT(fake_.fenced(), IsEmpty());
  // A person's request to this agent is refused too: ask the leader.
  FailoverRequest req;
  req.group_id = "sub/rg/fog";
  req.kind = v1::FAILOVER_KIND_PLANNED;
  req.requested_by = "carol";
  req.approver = true;
  req.override_holds = true;
  req.override_reason = "test";
  EXPECT_THAT(agent_->RequestFailover(req).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("leads this group")));
}

TEST_F(AgentCoordinationTest, LostCoordinationStartsNothing) {
  CoordinationFacts f =
      Coordinated(true, decision::CoordinationView::Quorum::kConfirmedDown, absl::InfinitePast());
  f.view.lost = true;
  f.view.lost_reason = "no etcd quorum";
  fake_.Set(f);
  Load();
  prober_.Set("a-tcp", probes::ProbeOutcome::kFailure);
  Run(absl::Minutes(4));
  EXPECT_THAT(arm_.Accepted(), IsEmpty());
  EXPECT_TRUE(Last().HasReason(decision::ReasonCode::kCoordinationLost)) << Last().summary;
}

TEST_F(AgentCoordinationTest, TooFewLiveVantagesHold) {
  fake_.Set(Coordinated(true, decision::CoordinationView::Quorum::kNoQuorum));
  Load();
  prober_.Set("a-tcp", probes::ProbeOutcome::kFailure);
  Run(absl::Minutes(4));
  EXPECT_THAT(arm_.Accepted(), IsEmpty());
  EXPECT_TRUE(Last().HasReason(decision::ReasonCode::kNoVantageQuorum)) << Last().summary;
}

TEST_F(AgentCoordinationTest, AFenceRefusalSendsNothingAndEndsTheOperation) {
  fake_.Set(Coordinated(true, decision::CoordinationView::Quorum::kConfirmedDown, clock_.Now()));
  fake_.SetFence(absl::FailedPreconditionError("no longer leader of sub/rg/fog (agent-b)"));
  Load();
  prober_.Set("a-tcp", probes::ProbeOutcome::kFailure);
  Run(absl::Minutes(2));
  EXPECT_THAT(arm_.Accepted(), IsEmpty());
  auto ops = Operations();
  ASSERT_FALSE(ops.empty());
  EXPECT_EQ(ops.back().state, journal::OperationState::kAborted);
  EXPECT_THAT(ops.back().outcome, HasSubstr("not sent to ARM"));
}

TEST_F(AgentCoordinationTest, TheQuorumsStartIsTheOutagesStart) {
  // Other vantages saw the primary down 3 minutes ago; this one sees it healthy: the quorum
  // rules, and the data-loss grace counts from the quorum's start.
  Load();
  fake_.Set(Coordinated(true, decision::CoordinationView::Quorum::kConfirmedDown,
                        clock_.Now() - absl::Minutes(3)));
  prober_.Set("lag", probes::ProbeOutcome::kFailure);
  arm_.SetRegionDown(true);
  agent_->OnCoordinationChange("");
  Run(absl::Seconds(30));
  // Well within 30 s of this vantage's view: the 2 min grace ran from the quorum's start.
  EXPECT_THAT(arm_.Accepted(), Contains(arm::FailoverKind::kForcedAllowDataLoss)) << Last().summary;
}

// --- Shared control state and intents (issue 15).

constexpr char kSharedPause[] = "pause/operator/sub/rg/fog";

TEST_F(AgentCoordinationTest, APauseGivenThroughAnotherAgentHoldsTheLeaderUntilResumedThere) {
  fake_.Set(Coordinated(true, decision::CoordinationView::Quorum::kConfirmedDown, clock_.Now()));
  fake_.SetShared(kSharedPause, R"({"reason":"db maintenance","who":"dora","until_resumed":true})");
  Load();
  prober_.Set("a-tcp", probes::ProbeOutcome::kFailure);
  Run(absl::Minutes(3));
  EXPECT_THAT(arm_.Accepted(), IsEmpty());
  EXPECT_TRUE(Last().HasReason(decision::ReasonCode::kPaused)) << Last().summary;
  // This agent's journal keeps its own record: a restart without etcd still holds.
  auto state = journal_->ControlState();
  ASSERT_THAT(state, IsOk());
  EXPECT_THAT(state->at(kSharedPause), HasSubstr("db maintenance"));
  // Resumed through the other agent: the leader acts.
  fake_.SetShared(kSharedPause, std::nullopt);
  agent_->OnCoordinationChange("");
  Run(absl::Seconds(10));
  // Past the data-loss grace by now (the outage began 3 minutes ago).
  EXPECT_THAT(arm_.Accepted(), ElementsAre(arm::FailoverKind::kForcedAllowDataLoss))
      << Last().summary;
}

TEST_F(AgentCoordinationTest, APauseGivenHereIsSharedAndOneEtcdCannotTakeIsRetried) {
  fake_.Set(Coordinated(false, decision::CoordinationView::Quorum::kNotConfirmed));
  fake_.SetSynced();
  Load();
  ASSERT_THAT(agent_->Pause("sub/rg/fog", absl::InfiniteFuture(), "change freeze", "bob"), IsOk());
  ASSERT_TRUE(fake_.Shared(kSharedPause).has_value());
  EXPECT_THAT(*fake_.Shared(kSharedPause), HasSubstr("change freeze"));
  ASSERT_THAT(agent_->Resume("sub/rg/fog", "bob"), IsOk());
  EXPECT_FALSE(fake_.Shared(kSharedPause).has_value());
  // etcd unreachable: the pause holds here, the caller is told it is not shared yet...
  fake_.SetPublishError(absl::UnavailableError("etcd: connection refused"));
  EXPECT_THAT(agent_->Pause("sub/rg/fog", absl::InfiniteFuture(), "freeze 2", "bob"),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("not yet shared")));
  EXPECT_NE(agent_->Group("sub/rg/fog")->paused_until, absl::InfinitePast());
  EXPECT_FALSE(fake_.Shared(kSharedPause).has_value());
  // ...and it is shared once etcd answers (the coordinator's resync notifies every group).
  fake_.SetPublishError(absl::OkStatus());
  agent_->OnCoordinationChange("");
  Run(absl::Seconds(10));  // past the retry's backoff (1 s, doubled per failed attempt)
  ASSERT_TRUE(fake_.Shared(kSharedPause).has_value());
  EXPECT_THAT(*fake_.Shared(kSharedPause), HasSubstr("freeze 2"));
}

TEST_F(AgentCoordinationTest, AnApprovalGivenToAnObserverIsShared) {
  // The observer: the ladder, seen with the lead, waits for approval, so it takes one.
  fake_.Set(Coordinated(false, decision::CoordinationView::Quorum::kConfirmedDown, clock_.Now()));
  fake_.SetSynced();
  Load("approve_all");
  prober_.Set("a-tcp", probes::ProbeOutcome::kFailure);
  Run(absl::Minutes(2));
  EXPECT_TRUE(Last().HasReason(decision::ReasonCode::kNotLeader)) << Last().summary;
  ASSERT_THAT(agent_->Approve("sub/rg/fog", true, false, "alice", "go"), IsOk());
  std::optional<std::string> approval = fake_.Shared("approval/sub/rg/fog");
  ASSERT_TRUE(approval.has_value());
  EXPECT_THAT(*approval, HasSubstr("alice"));
  Run(absl::Seconds(5));
  EXPECT_THAT(arm_.Accepted(), IsEmpty());  // an observer never acts on it
}

TEST_F(AgentCoordinationTest, TheLeaderUsesAnApprovalGivenThroughAnotherAgent) {
  fake_.Set(Coordinated(true, decision::CoordinationView::Quorum::kConfirmedDown, clock_.Now()));
  Load("approve_all");
  prober_.Set("a-tcp", probes::ProbeOutcome::kFailure);
  Run(absl::Minutes(1));
  EXPECT_EQ(Last().stage, decision::Stage::kWaitApproval) << Last().summary;
  const int64_t now_us = absl::ToUnixMicros(clock_.WallNow());
  fake_.SetShared("approval/sub/rg/fog",
                  absl::StrCat(R"({"kind":)", static_cast<int>(Last().intended),
                               R"(,"granted_us":)", now_us, R"(,"expires_us":)", now_us + 600000000,
                               R"(,"over_budget":false,"by":"alice"})"));
  agent_->OnCoordinationChange("");
  Run(absl::Seconds(5));
  EXPECT_THAT(arm_.Accepted(), ElementsAre(arm::FailoverKind::kPlanned)) << Last().summary;
  // Used: the approval is gone from the shared state too.
  Run(absl::Seconds(1));
  EXPECT_FALSE(fake_.Shared("approval/sub/rg/fog").has_value());
}

TEST_F(AgentCoordinationTest, TheLeadersRecordKeepsTheCooldownAcrossALeaderChange) {
  fake_.Set(Coordinated(true, decision::CoordinationView::Quorum::kConfirmedDown, clock_.Now()));
  const int64_t failed_over_us = absl::ToUnixMicros(clock_.WallNow() - absl::Minutes(10));
  fake_.SetShared("group/sub/rg/fog", absl::StrCat(R"({"last_failover_us":)", failed_over_us, "}"));
  Load();
  prober_.Set("a-tcp", probes::ProbeOutcome::kFailure);
  Run(absl::Minutes(4));
  EXPECT_THAT(arm_.Accepted(), IsEmpty());
  EXPECT_TRUE(Last().HasReason(decision::ReasonCode::kCooldown)) << Last().summary;
}

SharedIntent IntentOf(const std::string& agent, absl::Time written_at) {
  SharedIntent i;
  i.operation_id = "op-of-b";
  i.request_id = "auto/sub/rg/fog/123/forced";
  i.kind = "forced";
  i.target = "srv-b";
  i.requested_by = "agent";
  i.reason = "primary down";
  i.agent = agent;
  i.written_at = written_at;
  return i;
}

TEST_F(AgentCoordinationTest, ANewLeaderCarriesOnTheOldLeadersOperationOnce) {
  CoordinationFacts f =
      Coordinated(true, decision::CoordinationView::Quorum::kConfirmedDown, clock_.Now());
  f.intent = IntentOf("agent-b", clock_.Now() - absl::Seconds(20));
  fake_.Set(f);
  prober_.Set("a-tcp", probes::ProbeOutcome::kFailure);
  Load();
  Run(absl::Seconds(30));
  // Carried on with the old leader's request id and target, fenced first, well before this
  // agent's own ladder (data-loss grace 2m) would have decided a forced failover.
  EXPECT_THAT(arm_.Accepted(), ElementsAre(arm::FailoverKind::kForcedAllowDataLoss));
  auto ops = Operations();
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].request_id, "auto/sub/rg/fog/123/forced");
  EXPECT_EQ(ops[0].target_server, "srv-b");
  EXPECT_THAT(ops[0].reason, HasSubstr("carried on from agent agent-b"));
  EXPECT_THAT(fake_.fenced(), ElementsAre(ops[0].id));
  ASSERT_EQ(fake_.finished().size(), 1u);
  EXPECT_EQ(fake_.finished()[0].state, journal::OperationState::kSucceeded);
  // The intent still reads unfinished in this fake: never a second run.
  Run(absl::Minutes(5));
  EXPECT_EQ(arm_.Accepted().size(), 1u);
  EXPECT_EQ(Operations().size(), 1u);
}

TEST_F(AgentCoordinationTest, AnIntentIsNotCarriedOnWhenAFreshDecisionHolds) {
  // The old leader fenced, then died before its POST; meanwhile a person paused the group.
  CoordinationFacts f =
      Coordinated(true, decision::CoordinationView::Quorum::kConfirmedDown, clock_.Now());
  f.intent = IntentOf("agent-b", clock_.Now() - absl::Seconds(20));
  fake_.Set(f);
  fake_.SetShared(kSharedPause, R"({"reason":"investigating","who":"dora","until_resumed":true})");
  prober_.Set("a-tcp", probes::ProbeOutcome::kFailure);
  Load();
  Run(absl::Seconds(30));
  EXPECT_THAT(arm_.Accepted(), IsEmpty());
  EXPECT_THAT(Operations(), IsEmpty());
  ASSERT_EQ(fake_.finished().size(), 1u);
  EXPECT_EQ(fake_.finished()[0].state, journal::OperationState::kAborted);
  EXPECT_THAT(fake_.finished()[0].outcome, HasSubstr("a fresh decision holds: automation paused"));
}

TEST_F(AgentCoordinationTest, AnotherAgentsFailedAutomaticFailoverIsNotRetriedHere) {
  CoordinationFacts f =
      Coordinated(true, decision::CoordinationView::Quorum::kConfirmedDown, clock_.Now());
  fake_.Set(f);
  prober_.Set("a-tcp", probes::ProbeOutcome::kFailure);
  Load();
  Run(absl::Seconds(5));
  // The previous leader's automatic planned failover of this outage failed in ARM.
  const decision::Decision d = Last();
  ASSERT_TRUE(d.outage_began.has_value());
  SharedIntent i = IntentOf("agent-b", clock_.Now());
  i.kind = "planned";
  i.request_id = absl::StrCat("auto/sub/rg/fog/",
                              absl::ToUnixMicros(clock_.ToWall(*d.outage_began)), "/planned");
  i.finished = true;
  i.state = "failed";
  f.intent = i;
  fake_.Set(f);
  agent_->OnCoordinationChange("");
  Run(absl::Seconds(60));  // past the planned grace, within the data-loss grace
  EXPECT_THAT(arm_.Accepted(), IsEmpty()) << Last().summary;
}

TEST_F(AgentCoordinationTest, AnIntentWhoseTargetIsAlreadyPrimarySendsNoSecondPost) {
  arm_.SetPrimary("srv-b");  // the old leader's POST went through before it died
  CoordinationFacts f = Coordinated(true, decision::CoordinationView::Quorum::kNotConfirmed);
  f.intent = IntentOf("agent-b", clock_.Now() - absl::Seconds(20));
  fake_.Set(f);
  Load();
  Run(absl::Seconds(30));
  EXPECT_THAT(arm_.Accepted(), IsEmpty());
  auto ops = Operations();
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].state, journal::OperationState::kSucceeded);
}

TEST_F(AgentCoordinationTest, AnOldIntentIsNotCarriedOnAndAnObserverNeverCarriesOne) {
  CoordinationFacts f = Coordinated(false, decision::CoordinationView::Quorum::kNotConfirmed);
  f.intent = IntentOf("agent-b", clock_.Now() - absl::Seconds(20));
  fake_.Set(f);
  Load();
  Run(absl::Seconds(30));
  EXPECT_THAT(arm_.Accepted(), IsEmpty());
  EXPECT_THAT(Operations(), IsEmpty());
  f.view.leader = true;
  f.intent = IntentOf("agent-b", clock_.Now() - absl::Hours(2));
  fake_.Set(f);
  agent_->OnCoordinationChange("");
  Run(absl::Seconds(30));
  EXPECT_THAT(arm_.Accepted(), IsEmpty());
  ASSERT_EQ(fake_.finished().size(), 1u);
  EXPECT_EQ(fake_.finished()[0].state, journal::OperationState::kAborted);
  EXPECT_THAT(fake_.finished()[0].outcome, HasSubstr("older than the resume limit"));
}

TEST_F(AgentCoordinationTest, AnObserverExplainsTheLeadersFailoverByItsIntent) {
  CoordinationFacts f = Coordinated(false, decision::CoordinationView::Quorum::kNotConfirmed);
  fake_.Set(f);
  Load();
  Run(absl::Seconds(5));
  // The leader (agent-b) fails the group over: its intent names the new primary.
  f.intent = IntentOf("agent-b", clock_.Now());
  f.intent->finished = true;
  fake_.Set(f);
  arm_.SetPrimary("srv-b");
  Run(absl::Minutes(2));  // a role refresh sees it
  auto g = agent_->Group("sub/rg/fog");
  EXPECT_EQ(g->roles.primary_server, "srv-b");
  EXPECT_EQ(metrics_.Value("foghorn_external_failovers_total", {{"group", "sub/rg/fog"}}), 0);
}

}  // namespace
}  // namespace foghorn::agent
