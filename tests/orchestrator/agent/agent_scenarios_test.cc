// The agent scenarios of tests/e2e/agent_e2e_test.py that test the agent's own logic (flapping,
// a dead secondary, observe-only, waiting for a person), moved in process (issue 14): the whole
// agent as foghornd wires it (gated_agent.h) under a FakeClock, so minutes of policy time pass in
// milliseconds. Each keeps every assertion its end-to-end scenario made: "no mutating ARM
// request" is "no Failover call at all" on the fake ARM (the agent sends no other mutation), and
// the journaled decisions are read from the same SQLite journal foghornd writes. What needs real
// processes stays end to end: the CLI's approve against foghornd, the emulator's planned-failover
// timeout and data loss, signals.
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/orchestrator/agent/gated_agent.h"

namespace foghorn::agent::testing {
namespace {

using ::foghorn::testing::IsOk;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::IsEmpty;

using AgentScenariosTest = GatedAgentTest;

std::vector<journal::DecisionRecord> Decisions(journal::SqliteJournal& j) {
  auto d = j.Decisions(kGroup, 0);
  EXPECT_THAT(d, IsOk());
  return d.ok() ? *d : std::vector<journal::DecisionRecord>{};
}

bool AnyDecision(journal::SqliteJournal& j, const std::string& state,
                 const std::string& summary_part) {
  for (const journal::DecisionRecord& d : Decisions(j)) {
    if (d.state == state &&
        absl::AsciiStrToLower(d.summary).find(summary_part) != std::string::npos) {
      return true;
    }
  }
  return false;
}

// From agent_e2e test_flapping_below_the_thresholds_never_fails_over: the primary's probe is down
// for less than unhealthy_threshold (2) x interval (5 s), then up again, twelve times.
TEST_F(AgentScenariosTest, FlappingBelowTheThresholdsNeverFailsOverNorCallsArm) {
  ASSERT_THAT(Load(), IsOk());
  for (int i = 0; i < 12; ++i) {
    prober_.Set("a-tcp", probes::ProbeOutcome::kFailure);
    Run(absl::Seconds(5));  // one failed probe: below the threshold of two
    prober_.Set("a-tcp", probes::ProbeOutcome::kSuccess);
    Run(absl::Seconds(10));
  }
  EXPECT_EQ(arm_.FailoverCalls(), 0);
  EXPECT_THAT(Operations(), IsEmpty());
  EXPECT_EQ(arm_.Primary("fog"), "srv-a");
}

// From agent_e2e test_holds_when_the_secondary_is_down_too.
TEST_F(AgentScenariosTest, HoldsWhenTheSecondaryIsDownTooAndNeverCallsArm) {
  ASSERT_THAT(Load(), IsOk());
  prober_.Set("b-tcp", probes::ProbeOutcome::kFailure);
  PrimaryDown();
  Run(absl::Minutes(1));  // confirmed down (10 s), then the planned grace (30 s) passes
  EXPECT_TRUE(AnyDecision(*journal_, "HOLD", "secondary"));
  Run(absl::Minutes(5));  // far past the planned (30 s) and data-loss (2 m) graces
  EXPECT_EQ(arm_.FailoverCalls(), 0);
  EXPECT_THAT(Operations(), IsEmpty());
  EXPECT_EQ(arm_.Primary("fog"), "srv-a");
}

// From agent_e2e test_observe_only_records_decisions_and_never_mutates: a region outage (the
// primary and its lag probe fail, ARM cannot reach the primary) under observe_only.
TEST_F(AgentScenariosTest, ObserveOnlyJournalsItsHoldAndNeverCallsArm) {
  ASSERT_THAT(Load("observe_only"), IsOk());
  prober_.Set("lag", probes::ProbeOutcome::kFailure);
  arm_.SetRegionDown(true);
  PrimaryDown();
  Run(absl::Minutes(1));
  EXPECT_TRUE(AnyDecision(*journal_, "HOLD", "observe"));
  Run(absl::Minutes(5));  // past the data-loss grace too
  EXPECT_EQ(arm_.FailoverCalls(), 0);
  EXPECT_THAT(Operations(), IsEmpty());
  EXPECT_EQ(arm_.Primary("fog"), "srv-a");
}

// From agent_e2e test_approval_mode_waits_then_proceeds_when_approved_through_the_cli: waiting
// means waiting, for as long as nobody answers. (Approving through the CLI, and the audit row's
// actor, stay end to end.)
TEST_F(AgentScenariosTest, ApprovalModeWaitsWithoutCallingArmUntilApproved) {
  ASSERT_THAT(Load("approve_all"), IsOk());
  PrimaryDown();
  Run(absl::Minutes(1));
  EXPECT_TRUE(AnyDecision(*journal_, "WAIT_APPROVAL", ""));
  Run(absl::Minutes(1));  // still within the data-loss grace: what is approved is planned
  EXPECT_EQ(arm_.FailoverCalls(), 0);
  EXPECT_THAT(Operations(), IsEmpty());
  ASSERT_THAT(agent_->Approve(kGroup, true, false, "local", "region confirmed lost"), IsOk());
  Run(absl::Seconds(5));
  EXPECT_THAT(arm_.Accepted(), ElementsAre(arm::FailoverKind::kPlanned));
  EXPECT_EQ(arm_.Primary("fog"), "srv-b");
  EXPECT_THAT(Audit(), Contains(::testing::AllOf(Field(&journal::AuditRecord::action, "Approve"),
                                                 Field(&journal::AuditRecord::actor, "local"))));
}

// From agent_e2e test_the_shipped_approval_gated_runbook_fails_over_once_a_person_approves: under
// approve_forced the planned failover starts on its own and waits at the runbook's approval step;
// while it waits the operation is running and ARM is never called. (The shipped runbook, its veto
// hook and the CLI's approve stay end to end.)
TEST_F(AgentScenariosTest, AnOperationWaitingAtAnApprovalStepStaysRunningAndNeverCallsArm) {
  ASSERT_THAT(Load("approve_forced", R"(pre_steps:
  - {name: veto-if-batch-running, exec: {argv: ["true"]}}
  - name: confirm-with-payments-lead
    timeout: 30m
    approval: {message: "Payments lead must confirm the settlement batch is paused."}
)"),
              IsOk());
  PrimaryDown();
  Advance(absl::Seconds(90));
  ASSERT_TRUE(AwaitApprovalStep());
  Advance(absl::Minutes(5));
  EXPECT_EQ(arm_.FailoverCalls(), 0);
  auto ops = Operations();
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].kind, "planned");
  EXPECT_EQ(ops[0].state, journal::OperationState::kRunning);
  ASSERT_THAT(agent_->Approve(kGroup, true, false, "local", "settlement batch paused"), IsOk());
  Settle();
  EXPECT_THAT(arm_.Accepted(), ElementsAre(arm::FailoverKind::kPlanned));
  ops = Operations();
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].state, journal::OperationState::kSucceeded);
  std::vector<std::string> done;
  for (const journal::StepRecord& s : Steps(ops[0].id)) {
    if (s.state == journal::StepState::kDone) done.push_back(s.name);
  }
  EXPECT_THAT(
      done, ::testing::IsSupersetOf({"pre:veto-if-batch-running", "pre:confirm-with-payments-lead",
                                     "arm:failover", "verify:roles"}));
}

}  // namespace
}  // namespace foghorn::agent::testing
