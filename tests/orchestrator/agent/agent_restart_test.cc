// What the agent must not forget or get wrong across restarts, reloads, cancels and clock steps:
// resumed operations re-decide, pauses/approvals/outage clocks survive, a cancel or a veto is not
// a failed planned attempt, and failovers foghorn did not make (or whose checks failed) start
// the cooldown. The control loop runs under the fake clock; the journal is real SQLite and is
// reopened by each "restart" (a new agent, tracker and scheduler on the same journal file).
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orchestrator/agent/agent.h"
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
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Pre/post steps: pass, or answer `result`; with `gate` set, each step waits for it.
class ScriptedSteps final : public executor::StepRunner {
 public:
  absl::Status Run(const v1::Step&, const journal::OperationRecord&) override {
    if (gate != nullptr) {
      entered.Notify();
      gate->WaitForNotification();
    }
    return result;
  }
  absl::Status result;
  absl::Notification* gate = nullptr;
  absl::Notification entered;
};

class Forwarder final : public probes::VerdictSink {
 public:
  void OnVerdictChange(const probes::VerdictEvent& e) override {
    if (target != nullptr) target->OnVerdictChange(e);
  }
  probes::VerdictSink* target = nullptr;
};

constexpr char kGroup[] = "sub/rg/fog";

constexpr char kRunbook[] = R"(
group: {subscription_id: sub, resource_group: rg, name: fog, primary_server: srv-a, secondary_server: srv-b}
probes:
  - {name: a-tcp, target: primary, interval: 5s, timeout: 1s, unhealthy_threshold: 2, healthy_threshold: 1, tcp: {address: "127.0.0.1:1"}}
  - {name: b-tcp, target: secondary, interval: 5s, timeout: 1s, unhealthy_threshold: 2, healthy_threshold: 1, tcp: {address: "127.0.0.1:2"}}
  - {name: lag, target: primary, interval: 5s, timeout: 1s, metric_kind: replication_lag_seconds, exec: {argv: [lag], metric_from_stdout: true}}
health_rules:
  - {target: primary, probes: [a-tcp]}
  - {target: secondary, probes: [b-tcp]}
policy:
  confirm_after: 10s
  planned_grace: 30s
  data_loss_grace: 2m
  data_loss_budget: 10m
  approval_mode: MODE
  cooldown: COOLDOWN
)";

class AgentRestartTest : public ::testing::Test {
 protected:
  static v1::Runbook MakeRunbook(const std::string& mode = "automatic",
                                 const std::string& cooldown = "1h",
                                 const std::string& extra = "") {
    std::string text = std::string(kRunbook) + extra;
    text.replace(text.find("MODE"), 4, mode);
    text.replace(text.find("COOLDOWN"), 8, cooldown);
    runbooks::LoadResult loaded = runbooks::LoadRunbookSources({{"test.yaml", text}});
    EXPECT_TRUE(loaded.ok()) << loaded.status().ToString();
    return loaded.runbooks.at(0).runbook;
  }

  // Starts an agent (a fresh tracker, scheduler and runner) on the journal file.
  void Boot(const v1::Runbook& runbook = MakeRunbook(), Agent::Options options = {}) {
    auto j = journal::SqliteJournal::Open(dir_.File("journal.db"), clock_);
    ASSERT_THAT(j, IsOk());
    journal_ = std::move(j).value();
    tracker_ = std::make_unique<probes::HealthTracker>(clock_, &forward_);
    runner_ = std::make_unique<executor::OperationRunner>(*journal_, arm_, steps_, notifier_,
                                                          Logger(), metrics_);
    scheduler_ = std::make_unique<probes::ProbeScheduler>(loop_, prober_, tracker_.get());
    agent_ =
        std::make_unique<Agent>(Agent::Deps{clock_, loop_, workers_, *journal_, arm_, *runner_,
                                            *scheduler_, *tracker_, notifier_, Logger(), metrics_},
                                options);
    forward_.target = agent_.get();
    ASSERT_THAT(agent_->SetRunbooks({runbook}), IsOk());
    ASSERT_THAT(agent_->Start(), IsOk());
  }
  // The process goes away: everything in memory is lost; the journal file stays.
  void Restart(const v1::Runbook& runbook = MakeRunbook(), Agent::Options options = {}) {
    Shutdown();
    Boot(runbook, options);
  }
  void Shutdown() {
    forward_.target = nullptr;
    if (agent_) agent_->Stop();
    workers_.WaitIdle();
    agent_.reset();
    scheduler_.reset();
    runner_.reset();
    tracker_.reset();
    journal_.reset();
  }
  void TearDown() override {
    if (steps_.gate != nullptr && !steps_.gate->HasBeenNotified()) steps_.gate->Notify();
    Shutdown();
    workers_.Shutdown();
  }
  common::Logger Logger() { return common::Logger(sink_, nullptr, clock_, {}); }

  void Run(absl::Duration total) {
    for (absl::Duration t; t < total; t += absl::Seconds(1)) {
      loop_.Advance(absl::Seconds(1));
      workers_.WaitIdle();
      loop_.RunUntilIdle();
    }
  }
  decision::Decision Last() { return *agent_->Group(kGroup)->last_decision; }
  // Advances until an automatic operation is launched, then (the clock standing still) lets its
  // worker reach the gated pre step. Returns the operation's id, empty if it never got there.
  std::string AdvanceUntilInPreStep() {
    for (int i = 0; i < 120 && agent_->Group(kGroup)->in_flight_operation.empty(); ++i) {
      loop_.Advance(absl::Seconds(1));
      loop_.RunUntilIdle();
    }
    if (!steps_.entered.WaitForNotificationWithTimeout(absl::Seconds(30))) return "";
    return agent_->Group(kGroup)->in_flight_operation;
  }
  std::vector<journal::OperationRecord> Operations() { return *journal_->ListOperations("", 0); }
  void PrimaryRegionDown() {
    prober_.Set("a-tcp", probes::ProbeOutcome::kFailure);
    prober_.Set("lag", probes::ProbeOutcome::kFailure);
    arm_.SetRegionDown(true);
  }
  // Journals an operation as a previous run would have left it: running, pre steps only.
  std::string JournalInterrupted(const std::string& kind, const std::string& request_id,
                                 const std::string& requested_by) {
    auto j = journal::SqliteJournal::Open(dir_.File("journal.db"), clock_);
    EXPECT_THAT(j, IsOk());
    journal::OperationRecord op;
    op.group_id = kGroup;
    op.kind = kind;
    op.target_server = "srv-b";
    op.request_id = request_id;
    op.requested_by = requested_by;
    op.state = journal::OperationState::kRunning;
    auto created = (*j)->CreateOperation(op);
    EXPECT_THAT(created, IsOk());
    auto step = (*j)->BeginStep(created->operation.id, "pre:notify", "");
    EXPECT_THAT(step, IsOk());
    EXPECT_THAT((*j)->EndStep(step->id, journal::StepState::kDone, "ok"), IsOk());
    return created->operation.id;
  }

  foghorn::testing::TempDir dir_;
  common::FakeClock clock_;
  common::ManualExecutor loop_{clock_};
  common::WorkerPool workers_{2};
  TableProber prober_;
  FakeArm arm_;
  ScriptedSteps steps_;
  executor::NullNotifier notifier_;
  common::MetricsRegistry metrics_;
  std::shared_ptr<foghorn::testing::CapturingLogSink> sink_ =
      std::make_shared<foghorn::testing::CapturingLogSink>();
  Forwarder forward_;
  std::unique_ptr<journal::SqliteJournal> journal_;
  std::unique_ptr<probes::HealthTracker> tracker_;
  std::unique_ptr<executor::OperationRunner> runner_;
  std::unique_ptr<probes::ProbeScheduler> scheduler_;
  std::unique_ptr<Agent> agent_;
};

// --- Resume re-decides ---------------------------------------------------------------------

TEST_F(AgentRestartTest, AForcedOperationInterruptedInPreStepsIsAbandonedOnceThePrimaryRecovered) {
  prober_.SetMetric("lag", 3);
  const std::string id = JournalInterrupted("forced", "auto/sub/rg/fog/1/forced", "agent");
  Boot();  // the primary answers: the engine would not force anything now
  Run(absl::Seconds(40));
  auto op = journal_->GetOperation(id);
  ASSERT_THAT(op, IsOk());
  EXPECT_EQ(op->state, journal::OperationState::kAborted);
  EXPECT_THAT(op->outcome, HasSubstr("abandoned after a restart"));
  EXPECT_THAT(op->outcome, HasSubstr("would not start a forced failover"));
  EXPECT_THAT(arm_.Accepted(), IsEmpty());
}

TEST_F(AgentRestartTest, AnInterruptedOperationWaitsForFreshVerdictsBeforeDeciding) {
  prober_.SetMetric("lag", 3);
  const std::string id = JournalInterrupted("planned", "req-7", "carol");
  Boot();
  // Nothing is sent before both sides have a verdict.
  EXPECT_THAT(arm_.Accepted(), IsEmpty());
  EXPECT_EQ(agent_->Group(kGroup)->in_flight_operation, id);
  Run(absl::Seconds(15));
  // A person's planned failover with both sides healthy and no hold still goes.
  EXPECT_THAT(arm_.Accepted(), ElementsAre(arm::FailoverKind::kPlanned));
  EXPECT_EQ(journal_->GetOperation(id)->state, journal::OperationState::kSucceeded);
}

TEST_F(AgentRestartTest, AnInterruptedOperationOlderThanTheLimitIsAbandoned) {
  prober_.SetMetric("lag", 3);
  const std::string id = JournalInterrupted("planned", "req-8", "carol");
  clock_.Advance(absl::Hours(3));  // the agent stayed down for three hours
  Boot();
  Run(absl::Seconds(15));
  auto op = journal_->GetOperation(id);
  EXPECT_EQ(op->state, journal::OperationState::kAborted);
  EXPECT_THAT(op->outcome, HasSubstr("older than the resume limit"));
  EXPECT_THAT(arm_.Accepted(), IsEmpty());
}

TEST_F(AgentRestartTest, AnInterruptedOperationIsAbandonedWhenAPauseWasRestored) {
  prober_.SetMetric("lag", 3);
  Boot();
  Run(absl::Seconds(10));
  ASSERT_THAT(agent_->Pause(kGroup, absl::InfiniteFuture(), "maintenance", "bob"), IsOk());
  Shutdown();
  const std::string id = JournalInterrupted("planned", "req-9", "carol");
  Boot();
  Run(absl::Seconds(15));
  EXPECT_EQ(journal_->GetOperation(id)->state, journal::OperationState::kAborted);
  EXPECT_THAT(journal_->GetOperation(id)->outcome, HasSubstr("paused"));
  EXPECT_THAT(arm_.Accepted(), IsEmpty());
}

TEST_F(AgentRestartTest, AnAbandonedOperationDoesNotBlockALaterFreshDecisionInTheSameOutage) {
  prober_.SetMetric("lag", 3);
  // A previous run saw the outage begin and journaled its planned failover, then died.
  const std::int64_t began_us = absl::ToUnixMicros(clock_.WallNow());
  const std::string request_id = "auto/sub/rg/fog/" + std::to_string(began_us) + "/planned";
  const std::string id = JournalInterrupted("planned", request_id, "agent");
  {
    auto j = journal::SqliteJournal::Open(dir_.File("journal.db"), clock_);
    ASSERT_THAT(j, IsOk());
    ASSERT_THAT((*j)->PutControlState(
                    {{"group/sub/rg/fog", "{\"outage\":{\"began_us\":" + std::to_string(began_us) +
                                              ",\"seen_us\":" + std::to_string(began_us) + "}}"}}),
                IsOk());
  }
  Agent::Options options;
  options.resume_verdict_wait = absl::ZeroDuration();    // no time for fresh verdicts: abandoned
  prober_.Set("a-tcp", probes::ProbeOutcome::kFailure);  // the outage goes on
  Boot(MakeRunbook(), options);
  Run(absl::Seconds(1));
  EXPECT_EQ(journal_->GetOperation(id)->state, journal::OperationState::kAborted);
  EXPECT_THAT(journal_->GetOperation(id)->outcome, HasSubstr("no fresh verdict"));
  // Later in the same outage the engine decides the planned failover afresh: it runs.
  Run(absl::Seconds(60));
  EXPECT_THAT(arm_.Accepted(), ElementsAre(arm::FailoverKind::kPlanned)) << Last().summary;
  auto ops = Operations();
  ASSERT_EQ(ops.size(), 2u);
  EXPECT_EQ(ops[0].request_id, request_id + "/after-" + id);
}

// --- Nothing is forgotten ------------------------------------------------------------------

TEST_F(AgentRestartTest, APauseSurvivesARestart) {
  prober_.SetMetric("lag", 3);
  Boot();
  Run(absl::Seconds(10));
  ASSERT_THAT(agent_->Pause(kGroup, absl::InfiniteFuture(), "maintenance", "bob"), IsOk());
  Restart();
  PrimaryRegionDown();
  Run(absl::Minutes(5));
  EXPECT_THAT(arm_.Accepted(), IsEmpty());
  EXPECT_TRUE(Last().HasReason(decision::ReasonCode::kPaused)) << Last().summary;
  EXPECT_THAT(agent_->Group(kGroup)->pause_reason, HasSubstr("maintenance"));
}

TEST_F(AgentRestartTest, AnApprovalSurvivesARestart) {
  prober_.SetMetric("lag", 3);
  Boot(MakeRunbook("approve_all"));
  Run(absl::Seconds(10));
  prober_.Set("a-tcp", probes::ProbeOutcome::kFailure);
  Run(absl::Seconds(60));
  ASSERT_EQ(Last().stage, decision::Stage::kWaitApproval) << Last().summary;
  ASSERT_THAT(agent_->Approve(kGroup, true, false, "alice", "go"), IsOk());
  steps_.result = absl::OkStatus();
  // The agent dies before it acts on the approval.
  Restart(MakeRunbook("approve_all"));
  Run(absl::Seconds(30));
  EXPECT_THAT(arm_.Accepted(), ElementsAre(arm::FailoverKind::kPlanned)) << Last().summary;
}

TEST_F(AgentRestartTest, ARestartDoesNotRestartTheOutageClock) {
  prober_.SetMetric("lag", 3);
  Boot();
  Run(absl::Seconds(10));
  const absl::Time outage = clock_.Now();
  PrimaryRegionDown();
  Run(absl::Seconds(90));  // the planned attempt failed; the data-loss grace (2m) runs
  ASSERT_THAT(arm_.Accepted(), IsEmpty());
  Restart();
  Run(absl::Seconds(60));
  // Forced about 2 minutes after the outage began, not 2 minutes after the restart.
  EXPECT_THAT(arm_.Accepted(), ElementsAre(arm::FailoverKind::kForcedAllowDataLoss))
      << Last().summary;
  EXPECT_LT(clock_.Now() - outage, absl::Minutes(3));
}

TEST_F(AgentRestartTest, FrequentReloadsDoNotPreventAForcedFailover) {
  prober_.SetMetric("lag", 3);
  Boot();
  Run(absl::Seconds(10));
  PrimaryRegionDown();
  // A reload every 20 s: a changed policy (probes kept), the same runbook, and a changed probe
  // (probes re-registered: their failure streak starts again, the agent's outage does not).
  for (int i = 0; i < 12; ++i) {
    Run(absl::Seconds(20));
    v1::Runbook rb = MakeRunbook("automatic", i % 3 == 0 ? "2h" : "1h");
    if (i % 3 == 2) rb.mutable_probes(0)->mutable_interval()->set_seconds(4 + i % 2);
    ASSERT_THAT(agent_->SetRunbooks({rb}), IsOk());
  }
  EXPECT_THAT(arm_.Accepted(), ElementsAre(arm::FailoverKind::kForcedAllowDataLoss))
      << Last().summary;
}

TEST_F(AgentRestartTest, AWallClockStepDoesNotShortenTheDataLossGrace) {
  prober_.SetMetric("lag", 3);
  Boot();
  Run(absl::Seconds(10));
  PrimaryRegionDown();
  Run(absl::Seconds(45));
  clock_.StepWall(absl::Minutes(30));  // NTP (or a person) steps the wall clock
  Run(absl::Seconds(30));
  EXPECT_THAT(arm_.Accepted(), IsEmpty()) << Last().summary;
  EXPECT_FALSE(Last().HasReason(decision::ReasonCode::kDataLossGraceElapsed));
  Run(absl::Seconds(60));
  EXPECT_THAT(arm_.Accepted(), ElementsAre(arm::FailoverKind::kForcedAllowDataLoss));
  // The journal keeps wall time for people.
  auto decisions = journal_->Decisions(kGroup, 1);
  ASSERT_THAT(decisions, IsOk());
  EXPECT_GE(decisions->front().at, clock_.Now() + absl::Minutes(29));
  EXPECT_GE(Operations().front().created_at, clock_.Now() + absl::Minutes(29));
}

TEST_F(AgentRestartTest, ADrillsPauseAndResumeNeverClearAnOperatorsPause) {
  prober_.SetMetric("lag", 3);
  Boot();
  Run(absl::Seconds(10));
  ASSERT_THAT(agent_->Pause(kGroup, absl::InfiniteFuture(), "patching", "bob"), IsOk());
  ASSERT_THAT(
      agent_->Pause(kGroup, absl::InfiniteFuture(), "drill d-1", "drill", PauseOwner::kDrill),
      IsOk());
  ASSERT_THAT(agent_->Resume(kGroup, "drill", PauseOwner::kDrill), IsOk());
  prober_.Set("a-tcp", probes::ProbeOutcome::kFailure);
  Run(absl::Seconds(80));
  EXPECT_THAT(arm_.Accepted(), IsEmpty());
  EXPECT_TRUE(Last().HasReason(decision::ReasonCode::kPaused));
  EXPECT_THAT(agent_->Group(kGroup)->pause_reason, HasSubstr("patching"));
}

// --- Cancels and vetoes are not failed attempts --------------------------------------------

TEST_F(AgentRestartTest, ACancelledAutomaticPlannedFailoverHoldsInsteadOfEscalatingToForced) {
  prober_.SetMetric("lag", 3);
  absl::Notification gate;
  steps_.gate = &gate;
  Boot(MakeRunbook("automatic", "1h", "pre_steps:\n  - {name: page, wait: {duration: 1m}}\n"));
  Run(absl::Seconds(10));
  prober_.Set("a-tcp", probes::ProbeOutcome::kFailure);
  const std::string op_id = AdvanceUntilInPreStep();
  ASSERT_FALSE(op_id.empty());
  ASSERT_THAT(agent_->CancelOperation(op_id, "dave", "investigating"), IsOk());
  gate.Notify();
  Run(absl::Minutes(5));  // far past the data-loss grace
  EXPECT_THAT(arm_.Accepted(), IsEmpty()) << Last().summary;
  EXPECT_EQ(journal_->GetOperation(op_id)->state, journal::OperationState::kCancelled);
  EXPECT_TRUE(Last().HasReason(decision::ReasonCode::kOperatorCancelled)) << Last().summary;
  EXPECT_FALSE(Last().HasReason(decision::ReasonCode::kPlannedAttemptFailed));
  // The hold survives a restart, and a person's resume lifts it.
  steps_.gate = nullptr;
  Restart(MakeRunbook("automatic", "1h", "pre_steps:\n  - {name: page, wait: {duration: 1m}}\n"));
  Run(absl::Seconds(30));
  EXPECT_THAT(arm_.Accepted(), IsEmpty());
  EXPECT_TRUE(Last().HasReason(decision::ReasonCode::kOperatorCancelled)) << Last().summary;
  ASSERT_THAT(agent_->Resume(kGroup, "dave"), IsOk());
  Run(absl::Seconds(10));
  EXPECT_FALSE(arm_.Accepted().empty()) << Last().summary;
}

TEST_F(AgentRestartTest, AVetoedPlannedFailoverIsNotAFailedPlannedAttempt) {
  prober_.SetMetric("lag", 3);
  steps_.result = absl::FailedPreconditionError("hook vetoed: replica lag check failed");
  Boot(MakeRunbook("automatic", "1h",
                   "pre_steps:\n  - {name: check, exec: {argv: [/bin/false]}}\n"));
  Run(absl::Seconds(10));
  prober_.Set("a-tcp", probes::ProbeOutcome::kFailure);
  Run(absl::Seconds(60));
  auto ops = Operations();
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].state, journal::OperationState::kAborted);
  EXPECT_FALSE(Last().HasReason(decision::ReasonCode::kPlannedAttemptFailed)) << Last().summary;
}

TEST_F(AgentRestartTest, AResumeAfterACancelLetsThePlannedFailoverGoWithinTheGrace) {
  prober_.SetMetric("lag", 3);
  absl::Notification gate;
  steps_.gate = &gate;
  Boot(MakeRunbook("automatic", "1h", "pre_steps:\n  - {name: page, wait: {duration: 1m}}\n"));
  Run(absl::Seconds(10));
  prober_.Set("a-tcp", probes::ProbeOutcome::kFailure);
  const std::string op_id = AdvanceUntilInPreStep();
  ASSERT_FALSE(op_id.empty());
  ASSERT_THAT(agent_->CancelOperation(op_id, "dave", "checking first"), IsOk());
  steps_.gate = nullptr;
  gate.Notify();
  Run(absl::Seconds(5));
  ASSERT_THAT(agent_->Resume(kGroup, "dave"), IsOk());
  Run(absl::Seconds(10));  // well within the data-loss grace: the planned failover, not forced
  EXPECT_THAT(arm_.Accepted(), ElementsAre(arm::FailoverKind::kPlanned)) << Last().summary;
}

TEST_F(AgentRestartTest, AnAcknowledgedCancelSurvivesACrashBeforeTheRunnerSawIt) {
  prober_.SetMetric("lag", 3);
  const std::string id = JournalInterrupted("planned", "req-c", "carol");
  {
    // What CancelOperation journals before it answers OK.
    auto j = journal::SqliteJournal::Open(dir_.File("journal.db"), clock_);
    ASSERT_THAT(j, IsOk());
    ASSERT_THAT((*j)->PutControlState({{"cancel/" + id, R"({"who":"dave","why":"no"})"}}), IsOk());
  }
  Boot();
  Run(absl::Seconds(20));
  auto op = journal_->GetOperation(id);
  EXPECT_EQ(op->state, journal::OperationState::kCancelled);
  EXPECT_THAT(op->outcome, HasSubstr("cancelled by dave"));
  EXPECT_THAT(arm_.Accepted(), IsEmpty());
  EXPECT_EQ(journal_->ControlState()->count("cancel/" + id), 0u);  // the marker is cleared
}

TEST_F(AgentRestartTest, ACancelIsJournaledBeforeItIsAcknowledged) {
  prober_.SetMetric("lag", 3);
  absl::Notification gate;
  steps_.gate = &gate;
  Boot(MakeRunbook("automatic", "1h", "pre_steps:\n  - {name: page, wait: {duration: 1m}}\n"));
  Run(absl::Seconds(10));
  FailoverRequest req;
  req.group_id = kGroup;
  req.kind = v1::FAILOVER_KIND_PLANNED;
  req.requested_by = "carol";
  req.reason = "patching";
  auto started = agent_->RequestFailover(req);
  ASSERT_THAT(started, IsOk());
  ASSERT_TRUE(steps_.entered.WaitForNotificationWithTimeout(absl::Seconds(30)));
  ASSERT_THAT(agent_->CancelOperation(started->operation.id, "dave", "wrong group"), IsOk());
  EXPECT_EQ(journal_->ControlState()->count("cancel/" + started->operation.id), 1u);
  steps_.gate = nullptr;
  gate.Notify();
  Run(absl::Seconds(5));
  EXPECT_EQ(journal_->GetOperation(started->operation.id)->state,
            journal::OperationState::kCancelled);
  EXPECT_THAT(arm_.Accepted(), IsEmpty());
}

TEST_F(AgentRestartTest, AWallClockStepBeforeARestartDoesNotMoveTheOutageStart) {
  prober_.SetMetric("lag", 3);
  Boot();
  Run(absl::Seconds(10));
  PrimaryRegionDown();
  Run(absl::Seconds(45));
  clock_.StepWall(absl::Minutes(30));
  Run(absl::Seconds(35));  // the outage is journaled again after the step
  Restart();
  Run(absl::Seconds(20));  // about 100 s into the outage: the 2 min grace has not passed
  EXPECT_THAT(arm_.Accepted(), IsEmpty()) << Last().summary;
  Run(absl::Seconds(40));
  EXPECT_THAT(arm_.Accepted(), ElementsAre(arm::FailoverKind::kForcedAllowDataLoss))
      << Last().summary;
}

TEST_F(AgentRestartTest, ADrillsRoleChangesAreNotExternalFailovers) {
  prober_.SetMetric("lag", 3);
  Boot();
  Run(absl::Seconds(10));
  ASSERT_THAT(
      agent_->Pause(kGroup, absl::InfiniteFuture(), "drill d-1", "drill", PauseOwner::kDrill),
      IsOk());
  arm_.ExternalFailover("fog");  // the drill's failover
  Run(absl::Seconds(40));
  arm_.ExternalFailover("fog");  // and its fail-back
  Run(absl::Seconds(40));
  ASSERT_THAT(agent_->Resume(kGroup, "drill", PauseOwner::kDrill), IsOk());
  auto trail = journal_->AuditTrail(0);
  ASSERT_THAT(trail, IsOk());
  for (const auto& a : *trail) {
    EXPECT_NE(a.action, "ExternalFailover") << a.detail << " at " << a.at;
  }
  EXPECT_FALSE(Last().HasReason(decision::ReasonCode::kCooldown));
}

TEST_F(AgentRestartTest, AnUnfinishedDrillHoldsItsGroupAfterARestartWithoutAPauseRecord) {
  // A failed drill resume released the drill's pause before this restart; the drill itself is
  // still unfinished in the journal: the group is held until the launcher resumes it.
  prober_.SetMetric("lag", 3);
  Boot();
  Run(absl::Seconds(10));
  journal::OperationRecord drill;
  drill.group_id = kGroup;
  drill.kind = "drill";
  drill.target_server = "srv-b";
  drill.state = journal::OperationState::kRunning;
  ASSERT_THAT(journal_->CreateOperation(drill), IsOk());
  Restart();
  prober_.Set("a-tcp", probes::ProbeOutcome::kFailure);
  Run(absl::Seconds(80));
  EXPECT_THAT(arm_.Accepted(), IsEmpty());
  EXPECT_TRUE(Last().HasReason(decision::ReasonCode::kPaused)) << Last().summary;
  EXPECT_THAT(agent_->Group(kGroup)->pause_reason, HasSubstr("unfinished drill"));
}

TEST_F(AgentRestartTest, ADrillsPauseOutlivesARestartOnlyWhileItsDrillIsUnfinished) {
  prober_.SetMetric("lag", 3);
  Boot();
  Run(absl::Seconds(10));
  ASSERT_THAT(
      agent_->Pause(kGroup, absl::InfiniteFuture(), "drill d-1", "drill", PauseOwner::kDrill),
      IsOk());
  journal::OperationRecord drill;
  drill.group_id = kGroup;
  drill.kind = "drill";
  drill.target_server = "srv-b";
  drill.state = journal::OperationState::kRunning;
  auto created = journal_->CreateOperation(drill);
  ASSERT_THAT(created, IsOk());
  // The drill is unfinished: its pause holds the group after the restart (the drill launcher
  // resumes the drill and ends the pause).
  Restart();
  Run(absl::Seconds(5));
  EXPECT_THAT(agent_->Group(kGroup)->pause_reason, HasSubstr("drill d-1"));
  prober_.Set("a-tcp", probes::ProbeOutcome::kFailure);
  Run(absl::Seconds(80));
  EXPECT_THAT(arm_.Accepted(), IsEmpty());
  EXPECT_TRUE(Last().HasReason(decision::ReasonCode::kPaused)) << Last().summary;
  // Once the drill has ended, a restart ends its pause.
  ASSERT_THAT(journal_->UpdateOperation(created->operation.id, journal::OperationState::kAborted,
                                        "interrupted"),
              IsOk());
  prober_.Set("a-tcp", probes::ProbeOutcome::kSuccess);
  Restart();
  Run(absl::Seconds(5));
  EXPECT_EQ(agent_->Group(kGroup)->paused_until, absl::InfinitePast());
}

// --- The cooldown --------------------------------------------------------------------------

TEST_F(AgentRestartTest, AFailoverFoghornDidNotMakeStartsTheCooldown) {
  prober_.SetMetric("lag", 3);
  Boot();
  Run(absl::Seconds(10));
  arm_.ExternalFailover("fog");  // someone fails over in the portal
  Run(absl::Seconds(40));        // the next role refresh notices it
  auto g = agent_->Group(kGroup);
  EXPECT_EQ(g->roles.primary_server, "srv-b");
  auto trail = journal_->AuditTrail(0);
  ASSERT_THAT(trail, IsOk());
  bool recorded = false;
  for (const auto& a : *trail) recorded |= a.action == "ExternalFailover";
  EXPECT_TRUE(recorded);
  // The new primary (srv-b, probed as "secondary") fails: within the cooldown, nothing moves.
  prober_.Set("b-tcp", probes::ProbeOutcome::kFailure);
  Run(absl::Minutes(4));
  EXPECT_THAT(arm_.Accepted(), IsEmpty());
  EXPECT_TRUE(Last().HasReason(decision::ReasonCode::kCooldown)) << Last().summary;
}

TEST_F(AgentRestartTest, AFailoverArmCompletedStartsTheCooldownEvenWhenAPostCheckFails) {
  prober_.SetMetric("lag", 3);
  v1::Runbook rb = MakeRunbook();
  // A read-write listener check that never turns healthy: verify:listeners fails after ARM
  // carried the failover out.
  v1::ProbeSpec* rw = rb.add_probes();
  *rw = rb.probes(0);
  rw->set_name("rw");
  rw->set_target(v1::PROBE_TARGET_LISTENER_READ_WRITE);
  rw->set_unhealthy_threshold(1);
  v1::HealthRule* rule = rb.add_health_rules();
  rule->set_target(v1::PROBE_TARGET_LISTENER_READ_WRITE);
  rule->add_probes("rw");
  prober_.Set("rw", probes::ProbeOutcome::kFailure);
  Boot(rb);
  Run(absl::Seconds(10));
  prober_.Set("a-tcp", probes::ProbeOutcome::kFailure);
  Run(absl::Seconds(60));
  ASSERT_THAT(arm_.Accepted(), ElementsAre(arm::FailoverKind::kPlanned));
  auto ops = Operations();
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].state, journal::OperationState::kFailed);
  // srv-b is primary now; it fails too, and srv-a is back: within the cooldown nothing moves.
  prober_.Set("a-tcp", probes::ProbeOutcome::kSuccess);
  prober_.Set("b-tcp", probes::ProbeOutcome::kFailure);
  Run(absl::Minutes(4));
  EXPECT_THAT(arm_.Accepted(), ElementsAre(arm::FailoverKind::kPlanned)) << Last().summary;
  EXPECT_TRUE(Last().HasReason(decision::ReasonCode::kCooldown)) << Last().summary;
}

}  // namespace
}  // namespace foghorn::agent
