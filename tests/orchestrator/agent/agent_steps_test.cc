// Runbook steps only the agent can run, through the whole agent as foghornd wires it: an approval
// gate holds an automatic failover until a person answers through Agent::Approve (the control
// API's ApproveDecision), times out, is rejected or cancelled; a probe assertion reads the live
// health tracker; and a runbook with a step the agent cannot run is refused at load.
#include "orchestrator/agent/agent_steps.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/orchestrator/agent/gated_agent.h"

namespace foghorn::agent::testing {
namespace {

using ::foghorn::testing::IsOk;
using ::foghorn::testing::StatusIs;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kApprovalGate[] = R"(pre_steps:
  - name: confirm-with-payments-lead
    timeout: 10m
    approval: {message: "Payments lead must confirm the settlement batch is paused."}
)";

using AgentStepsTest = GatedAgentTest;

TEST_F(AgentStepsTest, AnApprovalGatedFailoverWaitsForApproveAndThenFailsOver) {
  ASSERT_THAT(Load("automatic", kApprovalGate), IsOk());
  PrimaryDown();
  Advance(
      absl::Seconds(90));  // past confirm + planned grace: the automatic planned failover starts
  ASSERT_TRUE(AwaitApprovalStep());
  Advance(absl::Minutes(5));  // waiting means waiting
  EXPECT_THAT(arm_.Accepted(), IsEmpty());
  auto pending = agent_->step_gates().Pending(kGroup);
  ASSERT_TRUE(pending.has_value());
  EXPECT_EQ(pending->step, "confirm-with-payments-lead");
  EXPECT_THAT(notifier_.Sent(),
              Contains(Field(&executor::Notification::event, "step_needs_approval")));

  ASSERT_THAT(agent_->Approve(kGroup, true, false, "alice", "batch paused"), IsOk());
  Settle();
  EXPECT_THAT(arm_.Accepted(), ElementsAre(arm::FailoverKind::kPlanned));
  auto ops = Operations();
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].state, journal::OperationState::kSucceeded);
  EXPECT_EQ(Steps(ops[0].id)[0].name, "pre:confirm-with-payments-lead");
  EXPECT_EQ(Steps(ops[0].id)[0].state, journal::StepState::kDone);
  EXPECT_THAT(Audit(),
              Contains(::testing::AllOf(Field(&journal::AuditRecord::action, "ApproveStep"),
                                        Field(&journal::AuditRecord::actor, "alice"))));
}

TEST_F(AgentStepsTest, AnApprovalNobodyAnswersTimesOutAndNeverCallsArm) {
  // approve_forced: once the planned attempt is over the ladder's forced failover waits for an
  // approval of the engine's own, so no second operation starts behind this one.
  ASSERT_THAT(Load("approve_forced", kApprovalGate), IsOk());
  PrimaryDown();
  Advance(absl::Seconds(90));
  ASSERT_TRUE(AwaitApprovalStep());
  Advance(absl::Minutes(11));  // the step's timeout is 10m
  Settle();
  EXPECT_THAT(arm_.Accepted(), IsEmpty());
  auto ops = Operations();
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].state, journal::OperationState::kAborted);
  EXPECT_THAT(ops[0].outcome, HasSubstr("nobody answered"));
  auto steps = Steps(ops[0].id);
  ASSERT_EQ(steps.size(), 1u);  // no arm: step at all
  EXPECT_EQ(steps[0].state, journal::StepState::kFailed);
  EXPECT_THAT(steps[0].detail, HasSubstr("DEADLINE_EXCEEDED"));
  EXPECT_FALSE(agent_->step_gates().Pending(kGroup).has_value());
}

TEST_F(AgentStepsTest, ARejectedApprovalStepStopsTheFailover) {
  ASSERT_THAT(Load("approve_forced", kApprovalGate), IsOk());
  PrimaryDown();
  Advance(absl::Seconds(90));
  ASSERT_TRUE(AwaitApprovalStep());
  ASSERT_THAT(agent_->Approve(kGroup, false, false, "bob", "batch still running"), IsOk());
  Settle();
  EXPECT_THAT(arm_.Accepted(), IsEmpty());
  auto ops = Operations();
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].state, journal::OperationState::kAborted);
  EXPECT_THAT(ops[0].outcome, HasSubstr("rejected by bob: batch still running"));
  EXPECT_THAT(Audit(), Contains(Field(&journal::AuditRecord::action, "RejectStep")));
}

TEST_F(AgentStepsTest, CancellingTheOperationEndsItsApprovalWait) {
  ASSERT_THAT(Load("automatic", kApprovalGate), IsOk());
  PrimaryDown();
  Advance(absl::Seconds(90));
  ASSERT_TRUE(AwaitApprovalStep());
  const std::string op = agent_->step_gates().Pending(kGroup)->operation_id;
  ASSERT_THAT(agent_->CancelOperation(op, "dave", "investigating"), IsOk());
  Advance(absl::Seconds(2));  // the wait looks at the cancel every second
  Settle();
  EXPECT_THAT(arm_.Accepted(), IsEmpty());
  auto record = journal_->GetOperation(op);
  ASSERT_THAT(record, IsOk());
  EXPECT_EQ(record->state, journal::OperationState::kCancelled);
}

TEST_F(AgentStepsTest, StoppingTheAgentEndsTheWaitAndLeavesTheOperationToResume) {
  ASSERT_THAT(Load("automatic", kApprovalGate), IsOk());
  PrimaryDown();
  Advance(absl::Seconds(90));
  ASSERT_TRUE(AwaitApprovalStep());
  agent_->Stop();
  Settle();  // returns: shutdown never waits for a person
  EXPECT_THAT(arm_.Accepted(), IsEmpty());
  auto ops = Operations();
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].state, journal::OperationState::kRunning);  // the next start resumes it
}

TEST_F(AgentStepsTest, ApproveIsRefusedWhenNeitherAStepNorTheEngineWaits) {
  ASSERT_THAT(Load("automatic", kApprovalGate), IsOk());
  EXPECT_THAT(agent_->Approve(kGroup, true, false, "alice", "nothing waits"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(AgentStepsTest, AProbeAssertionWaitsUntilTheProbeReachesTheExpectedState) {
  prober_.Set("canary", probes::ProbeOutcome::kFailure);
  ASSERT_THAT(Load("automatic", R"(pre_steps:
  - {name: canary-up, timeout: 5m, probe_assert: {probe: canary, expect: healthy}}
)"),
              IsOk());
  PrimaryDown();
  Advance(absl::Seconds(90));
  ASSERT_TRUE(agent_->step_gates().AwaitWaiting(1, absl::Seconds(30)));
  Advance(absl::Minutes(1));
  EXPECT_THAT(arm_.Accepted(), IsEmpty());
  prober_.Set("canary", probes::ProbeOutcome::kSuccess);
  Advance(absl::Seconds(10));  // the next probe result, then the next look
  Settle();
  EXPECT_THAT(arm_.Accepted(), ElementsAre(arm::FailoverKind::kPlanned));
}

TEST_F(AgentStepsTest, AProbeAssertionNotMetWithinItsTimeoutVetoesTheFailover) {
  prober_.Set("canary", probes::ProbeOutcome::kFailure);
  // approve_forced: no automatic forced failover follows the vetoed planned one.
  ASSERT_THAT(Load("approve_forced", R"(pre_steps:
  - {name: canary-up, timeout: 1m, probe_assert: {probe: canary, expect: healthy}}
)"),
              IsOk());
  PrimaryDown();
  Advance(absl::Seconds(90));
  ASSERT_TRUE(agent_->step_gates().AwaitWaiting(1, absl::Seconds(30)));
  Advance(absl::Minutes(2));
  Settle();
  EXPECT_THAT(arm_.Accepted(), IsEmpty());
  auto ops = Operations();
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].state, journal::OperationState::kAborted);
  EXPECT_THAT(
      ops[0].outcome,
      HasSubstr("probe canary of sub/rg/fog is VERDICT_UNHEALTHY, expected VERDICT_HEALTHY"));
}

TEST_F(AgentStepsTest, APassingProbeAssertionAfterTheFailoverLetsItSucceed) {
  ASSERT_THAT(Load("automatic", R"(post_steps:
  - {name: new-primary-up, probe_assert: {probe: b-tcp, expect: healthy}}
)"),
              IsOk());
  PrimaryDown();
  Run(absl::Minutes(1));
  EXPECT_THAT(arm_.Accepted(), ElementsAre(arm::FailoverKind::kPlanned));
  auto ops = Operations();
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].state, journal::OperationState::kSucceeded);
  EXPECT_EQ(Steps(ops[0].id).back().name, "post:new-primary-up");
  EXPECT_EQ(Steps(ops[0].id).back().state, journal::StepState::kDone);
}

TEST_F(AgentStepsTest, AReloadWithAStepTheAgentCannotRunKeepsTheRunningSet) {
  ASSERT_THAT(Load("automatic"), IsOk());
  v1::Runbook with_bad_step = runbook_;
  v1::Step* step = with_bad_step.add_post_steps();
  step->set_name("verify");
  step->mutable_probe_assert()->set_probe("nope");
  step->mutable_probe_assert()->set_expect(v1::VERDICT_HEALTHY);
  absl::Status s = agent_->SetRunbooks({with_bad_step});
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(s.message(), HasSubstr("post_steps[0] (verify)"));
  EXPECT_EQ(agent_->Group(kGroup)->runbook.post_steps_size(), 0);
}

// --- CheckRunbookSteps on its own (what `foghornd --check` runs) ---

absl::Status FoghorndCheck(const v1::Runbook& rb) {
  Agent* none = nullptr;
  const executor::SystemStepRunner::Hooks hooks = AgentStepHooks(&none);
  return CheckRunbookSteps(rb, [&hooks](const v1::Step& step) {
    return executor::SystemStepRunner::Supports(hooks, step);
  });
}

TEST(CheckRunbookStepsTest, TheShippedApprovalGatedExampleRunsInFoghornd) {
  auto rb = runbooks::LoadRunbookFile(foghorn::testing::SourceDir() +
                                      "/runbooks/examples/approval-gated.yaml");
  ASSERT_THAT(rb, IsOk());
  EXPECT_THAT(FoghorndCheck(*rb), IsOk());
}

TEST(CheckRunbookStepsTest, RefusesProbeAssertionsTheAgentCannotAnswer) {
  v1::Runbook rb;
  rb.mutable_group()->set_name("fog");
  v1::ProbeSpec* p = rb.add_probes();
  p->set_name("sql");
  p->set_target(v1::PROBE_TARGET_PRIMARY);
  v1::Step* step = rb.add_post_steps();
  step->set_name("verify");
  step->mutable_probe_assert()->set_probe("sql");
  step->mutable_probe_assert()->set_expect(v1::VERDICT_HEALTHY);
  EXPECT_THAT(FoghorndCheck(rb), IsOk());

  step->mutable_probe_assert()->set_probe("nope");
  EXPECT_THAT(FoghorndCheck(rb), StatusIs(absl::StatusCode::kInvalidArgument));
  step->mutable_probe_assert()->set_probe("sql");
  p->set_target(v1::PROBE_TARGET_UNSPECIFIED);
  EXPECT_THAT(FoghorndCheck(rb), StatusIs(absl::StatusCode::kInvalidArgument));
  p->set_target(v1::PROBE_TARGET_PRIMARY);
  step->mutable_probe_assert()->set_expect(v1::VERDICT_UNKNOWN);
  EXPECT_THAT(FoghorndCheck(rb), StatusIs(absl::StatusCode::kInvalidArgument));
  step->mutable_probe_assert()->set_expect(v1::VERDICT_HEALTHY);
  // A step runner without the agent's hooks cannot run it (or an approval) at all.
  EXPECT_THAT(
      CheckRunbookSteps(
          rb, [](const v1::Step& s) { return executor::SystemStepRunner::Supports({}, s); }),
      StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(CheckRunbookStepsTest, RefusesAnApprovalGateThatWouldLetARejectionThrough) {
  v1::Runbook rb;
  v1::Step* step = rb.add_pre_steps();
  step->set_name("gate");
  step->mutable_approval();
  EXPECT_THAT(FoghorndCheck(rb), IsOk());
  step->set_on_failure(v1::ON_FAILURE_CONTINUE);
  absl::Status s = FoghorndCheck(rb);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(s.message(), HasSubstr("on_failure: continue"));
}

}  // namespace
}  // namespace foghorn::agent::testing
