#include "orchestrator/executor/operation_runner.h"

#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orchestrator/common/fake_clock.h"
#include "orchestrator/journal/fault_injecting_journal.h"
#include "orchestrator/journal/sqlite_journal.h"
#include "tests/testing/capturing_log_sink.h"
#include "tests/testing/fake_arm.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace foghorn::executor {
namespace {

using ::foghorn::testing::FakeArm;
using ::foghorn::testing::IsOk;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// ARM as the runner sees it: the plan's group on srv-a (primary) and srv-b.
FakeArm::Options ArmOptions() {
  FakeArm::Options o;
  o.group = "fog-1";
  return o;
}

class ScriptedSteps final : public StepRunner {
 public:
  absl::Status Run(const v1::Step& step, const journal::OperationRecord&) override {
    ran.push_back(step.name());
    if (on_run) on_run(step.name());
    auto it = results.find(step.name());
    return it == results.end() ? absl::OkStatus() : it->second;
  }
  std::vector<std::string> ran;
  std::map<std::string, absl::Status> results;
  std::function<void(const std::string&)> on_run;
};

v1::Step MakeStep(const std::string& name, v1::OnFailure on_failure = v1::ON_FAILURE_ABORT) {
  v1::Step s;
  s.set_name(name);
  s.set_on_failure(on_failure);
  return s;
}

class OperationRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    plan_.group_id = "sub/rg/fog-1";
    plan_.target = {"sub", "rg", "srv-b", "fog-1"};
    plan_.kind = arm::FailoverKind::kForcedAllowDataLoss;
    plan_.pre_steps = {MakeStep("notify-oncall"), MakeStep("veto-hook")};
    plan_.post_steps = {MakeStep("announce", v1::ON_FAILURE_CONTINUE)};
  }
  std::unique_ptr<journal::SqliteJournal> OpenJournal() {
    auto j = journal::SqliteJournal::Open(dir_.File("journal.db"), clock_);
    EXPECT_THAT(j, IsOk());
    return std::move(j).value();
  }
  journal::OperationRecord NewOp(journal::Journal& j) {
    journal::OperationRecord op;
    op.group_id = plan_.group_id;
    op.kind = OperationKindName(plan_.kind);
    op.target_server = "srv-b";
    op.reason = "primary confirmed down";
    return j.CreateOperation(op)->operation;
  }
  OperationRunner Runner(journal::Journal& j) {
    return OperationRunner(j, arm_, steps_, notifier_, common::Logger(sink_, nullptr, clock_, {}),
                           metrics_);
  }
  std::vector<std::string> StepNames(journal::Journal& j, const std::string& op_id) {
    std::vector<std::string> names;
    auto steps = j.Steps(op_id);
    EXPECT_THAT(steps, IsOk());
    for (const auto& s : steps.value()) {
      names.push_back(s.name + "=" + journal::StepStateName(s.state));
    }
    return names;
  }

  foghorn::testing::TempDir dir_;
  common::FakeClock clock_;
  FakeArm arm_{ArmOptions()};
  ScriptedSteps steps_;
  NullNotifier notifier_;
  common::MetricsRegistry metrics_;
  std::shared_ptr<foghorn::testing::CapturingLogSink> sink_ =
      std::make_shared<foghorn::testing::CapturingLogSink>();
  FailoverPlan plan_;
};

TEST_F(OperationRunnerTest, RunsPreStepsFailoverVerificationAndPostStepsInOrder) {
  auto j = OpenJournal();
  auto op = NewOp(*j);
  auto done = Runner(*j).Run(op, plan_);
  ASSERT_THAT(done, IsOk());
  EXPECT_EQ(done->state, journal::OperationState::kSucceeded);
  EXPECT_THAT(StepNames(*j, op.id), ElementsAre("pre:notify-oncall=done", "pre:veto-hook=done",
                                                "arm:forceFailoverAllowDataLoss=done",
                                                "verify:roles=done", "post:announce=done"));
  EXPECT_EQ(arm_.Accepted().size(), 1u);
  EXPECT_EQ(done->arm_operation_url, "https://arm/op/1");
  EXPECT_EQ(
      metrics_.Value("foghorn_operations_total", {{"kind", "forced"}, {"outcome", "succeeded"}}),
      1);
}

TEST_F(OperationRunnerTest, AVetoingPreStepAbortsBeforeAnyArmCall) {
  auto j = OpenJournal();
  auto op = NewOp(*j);
  steps_.results["veto-hook"] = absl::FailedPreconditionError("hook exited 3");
  auto done = Runner(*j).Run(op, plan_);
  ASSERT_THAT(done, IsOk());
  EXPECT_EQ(done->state, journal::OperationState::kAborted);
  EXPECT_THAT(done->outcome, HasSubstr("veto-hook"));
  EXPECT_EQ(arm_.FailoverCalls(), 0);
  EXPECT_EQ(arm_.Primary("fog-1"), "srv-a");
}

TEST_F(OperationRunnerTest, APreStepMarkedContinueDoesNotStopTheFailover) {
  auto j = OpenJournal();
  auto op = NewOp(*j);
  plan_.pre_steps = {MakeStep("best-effort", v1::ON_FAILURE_CONTINUE)};
  steps_.results["best-effort"] = absl::UnavailableError("webhook down");
  auto done = Runner(*j).Run(op, plan_);
  ASSERT_THAT(done, IsOk());
  EXPECT_EQ(done->state, journal::OperationState::kSucceeded);
  EXPECT_THAT(StepNames(*j, op.id)[0], "pre:best-effort=failed");
}

TEST_F(OperationRunnerTest, AnArmFailureFailsTheOperationWithArmsReason) {
  auto j = OpenJournal();
  auto op = NewOp(*j);
  arm_.FailFailovers(absl::FailedPreconditionError("PlannedFailoverTimedOut: primary unreachable"));
  auto done = Runner(*j).Run(op, plan_);
  ASSERT_THAT(done, IsOk());
  EXPECT_EQ(done->state, journal::OperationState::kFailed);
  EXPECT_THAT(done->outcome, HasSubstr("PlannedFailoverTimedOut"));
  EXPECT_THAT(StepNames(*j, op.id).back(), "arm:forceFailoverAllowDataLoss=failed");
}

TEST_F(OperationRunnerTest, ACancelBeforeTheArmStepEndsTheOperationWithoutArm) {
  auto j = OpenJournal();
  auto op = NewOp(*j);
  plan_.cancel_gate = std::make_shared<CancelGate>();
  // Cancelled while the first pre step runs.
  steps_.on_run = [&](const std::string&) { ASSERT_THAT(plan_.cancel_gate->Cancel(), IsOk()); };
  auto done = Runner(*j).Run(op, plan_);
  ASSERT_THAT(done, IsOk());
  EXPECT_EQ(done->state, journal::OperationState::kCancelled);
  EXPECT_THAT(done->outcome, HasSubstr("veto-hook"));
  EXPECT_EQ(arm_.FailoverCalls(), 0);
  EXPECT_THAT(steps_.ran, ElementsAre("notify-oncall"));
}

TEST_F(OperationRunnerTest, ACancelIsIgnoredOnceTheArmStepHasBegun) {
  auto j = OpenJournal();
  auto op = NewOp(*j);
  ASSERT_THAT(j->UpdateOperation(op.id, journal::OperationState::kRunning, ""), IsOk());
  ASSERT_THAT(j->BeginStep(op.id, "arm:forceFailoverAllowDataLoss", "srv-b"), IsOk());
  plan_.cancel_gate = std::make_shared<CancelGate>();
  auto done = Runner(*j).Run(op, plan_);
  ASSERT_THAT(done, IsOk());
  EXPECT_EQ(done->state, journal::OperationState::kSucceeded);
  EXPECT_EQ(arm_.Primary("fog-1"), "srv-b");
  // A resumed ARM step closes the gate: a later cancel is refused.
  EXPECT_EQ(plan_.cancel_gate->Cancel().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(OperationRunnerTest, ACancelAcknowledgedBeforeTheArmStepMeansNoPost) {
  auto j = OpenJournal();
  auto op = NewOp(*j);
  plan_.cancel_gate = std::make_shared<CancelGate>();
  // The cancel arrives while the last pre step runs, i.e. after every earlier cancel check.
  steps_.on_run = [&](const std::string& name) {
    if (name == plan_.pre_steps.back().name()) {
      ASSERT_THAT(plan_.cancel_gate->Cancel(), IsOk());
    }
  };
  auto done = Runner(*j).Run(op, plan_);
  ASSERT_THAT(done, IsOk());
  EXPECT_EQ(done->state, journal::OperationState::kCancelled);
  EXPECT_EQ(arm_.FailoverCalls(), 0);
}

TEST_F(OperationRunnerTest, ACancelAfterTheArmStepBeganIsRefused) {
  auto j = OpenJournal();
  auto op = NewOp(*j);
  plan_.cancel_gate = std::make_shared<CancelGate>();
  absl::Status cancel_during_arm;
  arm_.OnFailover([&] { cancel_during_arm = plan_.cancel_gate->Cancel(); });
  auto done = Runner(*j).Run(op, plan_);
  ASSERT_THAT(done, IsOk());
  EXPECT_EQ(done->state, journal::OperationState::kSucceeded);
  EXPECT_EQ(cancel_during_arm.code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(OperationRunnerTest, AFinishedOperationIsReturnedUntouched) {
  auto j = OpenJournal();
  auto op = NewOp(*j);
  ASSERT_THAT(Runner(*j).Run(op, plan_), IsOk());
  auto again = Runner(*j).Run(op, plan_);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(arm_.FailoverCalls(), 1);
}

// Crash-and-resume at every journal write: the first run "crashes" right after write N (the
// journal refuses every later write, as if the process died), a second runner on the reopened
// journal resumes, and every run ends with exactly one role change and one accepted POST.
TEST_F(OperationRunnerTest, ResumesToExactlyOneFailoverAfterACrashAtEveryJournalWrite) {
  // Count the writes of a clean run first.
  int total_writes = 0;
  {
    foghorn::testing::TempDir dir;
    auto base = journal::SqliteJournal::Open(dir.File("j.db"), clock_);
    ASSERT_THAT(base, IsOk());
    journal::FaultInjectingJournal counting(std::move(base).value(), {});
    FakeArm arm(ArmOptions());
    auto op = NewOp(counting);
    OperationRunner runner(counting, arm, steps_, notifier_,
                           common::Logger(sink_, nullptr, clock_, {}), metrics_);
    ASSERT_THAT(runner.Run(op, plan_), IsOk());
    total_writes = counting.writes();
  }
  ASSERT_GT(total_writes, 8);

  for (int crash_at = 2; crash_at <= total_writes; ++crash_at) {
    SCOPED_TRACE(::testing::Message() << "crash after write " << crash_at);
    foghorn::testing::TempDir dir;
    FakeArm arm(ArmOptions());
    std::string op_id;
    {
      auto base = journal::SqliteJournal::Open(dir.File("j.db"), clock_);
      ASSERT_THAT(base, IsOk());
      journal::FaultInjectingJournal::Options crash;
      crash.crash_after_write = crash_at;
      journal::FaultInjectingJournal crashing(std::move(base).value(), crash);
      auto op = NewOp(crashing);  // write 1
      op_id = op.id;
      OperationRunner runner(crashing, arm, steps_, notifier_,
                             common::Logger(sink_, nullptr, clock_, {}), metrics_);
      (void)runner.Run(op, plan_);
    }
    auto reopened = journal::SqliteJournal::Open(dir.File("j.db"), clock_);
    ASSERT_THAT(reopened, IsOk());
    auto unfinished = (*reopened)->UnfinishedOperations();
    ASSERT_THAT(unfinished, IsOk());
    OperationRunner runner(**reopened, arm, steps_, notifier_,
                           common::Logger(sink_, nullptr, clock_, {}), metrics_);
    for (const auto& op : *unfinished) ASSERT_THAT(runner.Run(op, plan_), IsOk());
    auto final_op = (*reopened)->GetOperation(op_id);
    ASSERT_THAT(final_op, IsOk());
    EXPECT_EQ(final_op->state, journal::OperationState::kSucceeded);
    EXPECT_EQ(arm.Accepted().size(), 1u);
    EXPECT_EQ(arm.Primary("fog-1"), "srv-b");
  }
}

TEST(OperationRefCodingTest, RoundTripsAsyncAndLocationOnlyReferences) {
  arm::OperationRef async{"https://a/op", "https://a/loc"};
  EXPECT_EQ(DecodeOperationRef(EncodeOperationRef(async)).async_operation_url, "https://a/op");
  arm::OperationRef loc{"", "https://a/loc"};
  EXPECT_EQ(DecodeOperationRef(EncodeOperationRef(loc)).location_url, "https://a/loc");
}

}  // namespace
}  // namespace foghorn::executor
