// A drill as an operation kind on the journaled executor: its stage list and abort rules, the
// resume decisions taken from the journaled steps alone (PlanResume), and what a drill interrupted
// by a restart does when it is resumed: fail back exactly once through the idempotent client after
// a failover, follow a journaled ARM operation instead of posting, and end as aborted without any
// ARM call before the failover. The interrupted states are the journals a killed agent leaves
// (tests/e2e/crash_e2e_test.py kills the real foghornd mid-drill).
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orchestrator/drill/drill_launcher.h"
#include "orchestrator/drill/drill_runner.h"
#include "orchestrator/journal/fault_injecting_journal.h"
#include "orchestrator/journal/sqlite_journal.h"
#include "tests/orchestrator/drill/drill_fakes.h"
#include "tests/testing/capturing_log_sink.h"
#include "tests/testing/fake_sleeper.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace foghorn::drill {
namespace {

using namespace ::foghorn::drill::testing;  // NOLINT
using ::foghorn::testing::FakeArm;
using ::foghorn::testing::FakeSleeper;
using ::foghorn::testing::IsOk;
using ::foghorn::testing::StatusIs;
using journal::StepState;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using Action = ResumePlan::Action;

// Counts what reaches ARM, and whether a failover request resumed a journaled operation.
class CountingArm final : public executor::FailoverActuator {
 public:
  explicit CountingArm(FakeArm& inner) : inner_(inner) {}
  absl::StatusOr<arm::FailoverResult> Failover(const arm::FailoverRequest& req) override {
    failovers.push_back(req.target.server + (req.resume_operation.has_value() ? ":resume" : ""));
    return inner_.Failover(req);
  }
  absl::StatusOr<arm::FailoverGroup> Get(const arm::FailoverGroupId& id) override {
    ++gets;
    return inner_.Get(id);
  }
  std::vector<std::string> failovers;
  int gets = 0;

 private:
  FakeArm& inner_;
};

journal::StepRecord S(const std::string& name, StepState state) {
  journal::StepRecord s;
  s.name = name;
  s.state = state;
  return s;
}

// --- The stage list, as data.

TEST(DrillStagesTest, TheStagesRunInOrderEachWithItsAbortRule) {
  std::vector<std::string> names;
  std::vector<AbortRule> rules;
  for (const DrillStage& s : DrillStages()) {
    names.emplace_back(s.name);
    rules.push_back(s.on_abort);
  }
  EXPECT_THAT(names, ElementsAre(kStepPreflight, kStepFailover, kStepVerifyFailover, kStepHold,
                                 kStepFailback, kStepVerifyFailback));
  // Before the failover nothing needs undoing; from the failover POST until the fail back is
  // verified, the partner may hold the primary role.
  EXPECT_THAT(rules,
              ElementsAre(AbortRule::kEndAborted, AbortRule::kFailBack, AbortRule::kFailBack,
                          AbortRule::kFailBack, AbortRule::kFailBack, AbortRule::kEndFailed));
  EXPECT_FALSE(FindDrillStage(kStepHold)->fail_back_only);
  EXPECT_TRUE(FindDrillStage(kStepFailback)->fail_back_only);
  EXPECT_TRUE(FindDrillStage(kStepVerifyFailback)->fail_back_only);
  EXPECT_EQ(FindDrillStage(kStepAbortFailback), nullptr);
}

// --- Resume decisions, from the journaled steps alone.

struct ResumeCase {
  std::string name;
  std::vector<journal::StepRecord> steps;
  bool fail_back;
  Action action;
  std::string open_step;  // "" when none
  std::string interrupted_at;
  v1::DrillOutcome outcome;
};

class PlanResumeTest : public ::testing::TestWithParam<ResumeCase> {};

TEST_P(PlanResumeTest, DecidesFromTheJournaledSteps) {
  const ResumeCase& c = GetParam();
  ResumePlan p = PlanResume(c.steps, c.fail_back);
  EXPECT_EQ(p.action, c.action);
  EXPECT_EQ(p.open_step.has_value() ? p.open_step->name : "", c.open_step);
  EXPECT_EQ(p.interrupted_at, c.interrupted_at);
  if (c.action != Action::kFailBack) {
    EXPECT_EQ(p.outcome, c.outcome);
  }
}

const StepState kI = StepState::kIntent;
const StepState kD = StepState::kDone;
const StepState kF = StepState::kFailed;

INSTANTIATE_TEST_SUITE_P(
    Table, PlanResumeTest,
    ::testing::Values(
        ResumeCase{"NoStepYet", {}, true, Action::kEndAborted, "", "", v1::DRILL_OUTCOME_ABORTED},
        ResumeCase{"PreflightOpen",
                   {S(kStepPreflight, kI)},
                   true,
                   Action::kEndAborted,
                   kStepPreflight,
                   kStepPreflight,
                   v1::DRILL_OUTCOME_ABORTED},
        ResumeCase{"PreflightDone",
                   {S(kStepPreflight, kD)},
                   true,
                   Action::kEndAborted,
                   "",
                   kStepPreflight,
                   v1::DRILL_OUTCOME_ABORTED},
        ResumeCase{"FailoverOpen",
                   {S(kStepPreflight, kD), S(kStepFailover, kI)},
                   true,
                   Action::kFailBack,
                   kStepFailover,
                   kStepFailover,
                   v1::DRILL_OUTCOME_FAILED},
        ResumeCase{"FailoverFailed",
                   {S(kStepPreflight, kD), S(kStepFailover, kF)},
                   true,
                   Action::kFailBack,
                   "",
                   kStepFailover,
                   v1::DRILL_OUTCOME_FAILED},
        ResumeCase{"HoldOpen",
                   {S(kStepPreflight, kD), S(kStepFailover, kD), S(kStepVerifyFailover, kD),
                    S(kStepHold, kI)},
                   true,
                   Action::kFailBack,
                   kStepHold,
                   kStepHold,
                   v1::DRILL_OUTCOME_FAILED},
        ResumeCase{"HoldDoneWithoutFailBackIsComplete",
                   {S(kStepPreflight, kD), S(kStepFailover, kD), S(kStepVerifyFailover, kD),
                    S(kStepHold, kD)},
                   false,
                   Action::kEnd,
                   "",
                   kStepHold,
                   v1::DRILL_OUTCOME_PASSED},
        ResumeCase{"FailbackOpen",
                   {S(kStepPreflight, kD), S(kStepFailover, kD), S(kStepVerifyFailover, kD),
                    S(kStepHold, kD), S(kStepFailback, kI)},
                   true,
                   Action::kFailBack,
                   kStepFailback,
                   kStepFailback,
                   v1::DRILL_OUTCOME_FAILED},
        ResumeCase{"VerifyFailbackOpen",
                   {S(kStepPreflight, kD), S(kStepFailover, kD), S(kStepVerifyFailover, kD),
                    S(kStepHold, kD), S(kStepFailback, kD), S(kStepVerifyFailback, kI)},
                   true,
                   Action::kEnd,
                   kStepVerifyFailback,
                   kStepVerifyFailback,
                   v1::DRILL_OUTCOME_FAILED},
        ResumeCase{"EveryStageDone",
                   {S(kStepPreflight, kD), S(kStepFailover, kD), S(kStepVerifyFailover, kD),
                    S(kStepHold, kD), S(kStepFailback, kD), S(kStepVerifyFailback, kD)},
                   true,
                   Action::kEnd,
                   "",
                   kStepVerifyFailback,
                   v1::DRILL_OUTCOME_PASSED},
        ResumeCase{"AbortFailbackOpen",
                   {S(kStepPreflight, kD), S(kStepFailover, kD), S(kStepVerifyFailover, kF),
                    S(kStepAbortFailback, kI)},
                   true,
                   Action::kFailBack,
                   kStepAbortFailback,
                   kStepAbortFailback,
                   v1::DRILL_OUTCOME_FAILED},
        ResumeCase{"AbortFailbackDone",
                   {S(kStepPreflight, kD), S(kStepFailover, kD), S(kStepVerifyFailover, kF),
                    S(kStepAbortFailback, kD)},
                   true,
                   Action::kEnd,
                   "",
                   kStepAbortFailback,
                   v1::DRILL_OUTCOME_FAILED}),
    [](const ::testing::TestParamInfo<ResumeCase>& info) { return info.param.name; });

// --- Resuming against the fake ARM and a real journal.

class DrillResumeTest : public ::testing::Test {
 protected:
  DrillResumeTest() : arm_(ArmOptions(clock_)), sleeper_(clock_), store_(tmp_.File("reports")) {
    auto j = journal::SqliteJournal::Open(tmp_.File("journal.db"), clock_);
    EXPECT_TRUE(j.ok());
    journal_ = *std::move(j);
    common::Logger logger(sink_, std::make_shared<common::Redactor>(), clock_, {});
    executor_ = std::make_unique<DrillExecutor>(*journal_, counting_, logger);
    DrillRunner::Deps deps{clock_, sleeper_, counting_, dialer_, *journal_, executor_->runner(),
                           logger, nullptr,  {},        {},      &store_,   {},
                           {}};
    deps.on_end = [this](const std::string&, const std::string& id) { ended_.push_back(id); };
    runner_ = std::make_unique<DrillRunner>(deps, DrillRunner::Options{});
  }

  // What a killed agent leaves: a running drill operation whose steps stop at `steps` (the last
  // one may be open, state kIntent), the ARM URL of its last accepted POST when given.
  journal::OperationRecord Interrupted(const std::vector<std::pair<std::string, StepState>>& steps,
                                       const std::string& url = "") {
    journal::OperationRecord op;
    op.group_id = GroupIdOf();
    op.request_id = "req-7";
    op.kind = kDrillOperationKind;
    op.target_server = kWest;
    op.requested_by = "alice";
    op.reason = "quarterly drill";
    op.state = journal::OperationState::kRunning;
    auto created = journal_->CreateOperation(op);
    EXPECT_THAT(created, IsOk());
    op = created->operation;
    for (const auto& [name, state] : steps) {
      const bool preflight = name == kStepPreflight;
      auto s = journal_->BeginStep(
          op.id, name, preflight ? "readiness checks [drill drill-fog-orders-7]" : "intent");
      EXPECT_THAT(s, IsOk());
      if (state != StepState::kIntent) {
        EXPECT_THAT(journal_->EndStep(s->id, state,
                                      preflight ? "all readiness checks pass [drill "
                                                  "drill-fog-orders-7]"
                                                : "outcome"),
                    IsOk());
      }
    }
    if (!url.empty()) {
      EXPECT_THAT(journal_->SetArmOperationUrl(op.id, url), IsOk());
    }
    return op;
  }

  std::vector<std::string> JournalSteps(const std::string& op_id) {
    std::vector<std::string> out;
    auto steps = journal_->Steps(op_id);
    EXPECT_THAT(steps, IsOk());
    for (const journal::StepRecord& s : *steps) {
      out.push_back(s.name + ":" + journal::StepStateName(s.state));
    }
    return out;
  }

  journal::OperationRecord Op(const std::string& id) {
    auto op = journal_->GetOperation(id);
    EXPECT_THAT(op, IsOk());
    return *op;
  }

  ::foghorn::testing::TempDir tmp_;
  common::FakeClock clock_;
  FakeArm arm_;
  CountingArm counting_{arm_};
  FakeDialer dialer_;
  FakeSleeper sleeper_;
  ReportStore store_;
  std::unique_ptr<journal::SqliteJournal> journal_;
  std::shared_ptr<::foghorn::testing::CapturingLogSink> sink_ =
      std::make_shared<::foghorn::testing::CapturingLogSink>();
  std::unique_ptr<DrillExecutor> executor_;
  std::unique_ptr<DrillRunner> runner_;
  std::vector<std::string> ended_;
  v1::Runbook runbook_ = HealthyRunbook();
};

TEST_F(DrillResumeTest, ADrillStoppedDuringTheHoldFailsBackOnceAndSaysItWasInterrupted) {
  arm_.SetPrimary(kWest);  // the drill's failover was carried out
  journal::OperationRecord op = Interrupted({{kStepPreflight, StepState::kDone},
                                             {kStepFailover, StepState::kDone},
                                             {kStepVerifyFailover, StepState::kDone},
                                             {kStepHold, StepState::kIntent}},
                                            "https://arm/op/1");
  auto r = runner_->Resume(runbook_, op);
  ASSERT_THAT(r, IsOk());
  // One fail back, posted fresh (the journaled URL was the failover's, and is not followed).
  EXPECT_THAT(counting_.failovers, ElementsAre(kEast));
  EXPECT_EQ(arm_.Accepted().size(), 1u);
  EXPECT_EQ(arm_.Primary(kGroup), kEast);
  EXPECT_EQ(r->outcome(), v1::DRILL_OUTCOME_FAILED);
  EXPECT_THAT(r->summary(), HasSubstr("interrupted by an agent restart during hold"));
  EXPECT_THAT(r->summary(), HasSubstr("recovered: failed back to sql-east"));
  EXPECT_EQ(r->drill_id(), "drill-fog-orders-7");
  EXPECT_EQ(r->final_primary(), kEast);
  EXPECT_EQ(r->requested_by(), "alice");
  EXPECT_THAT(JournalSteps(op.id),
              ElementsAre("preflight:done", "failover:done", "verify_failover:done", "hold:failed",
                          "abort_failback:done", "verify_failback:done"));
  journal::OperationRecord ended = Op(op.id);
  EXPECT_EQ(ended.state, journal::OperationState::kFailed);
  EXPECT_THAT(ended.outcome, HasSubstr("interrupted"));
  // Through the executor's observers, as a live drill.
  EXPECT_THAT(executor_->step_events,
              ElementsAre("hold:failed", "abort_failback:intent", "abort_failback:done",
                          "verify_failback:intent", "verify_failback:done"));
  EXPECT_THAT(executor_->operation_events, ElementsAre("drill:failed"));
  // Saved under the id the drill ran as; the drill's pause is given back.
  EXPECT_THAT(store_.Read("drill-fog-orders-7"), IsOk());
  EXPECT_THAT(ended_, ElementsAre("drill-fog-orders-7"));
}

TEST_F(DrillResumeTest, ADrillStoppedBeforeItsFailoverEndsAbortedWithoutAnyArmCall) {
  journal::OperationRecord op = Interrupted({{kStepPreflight, StepState::kDone}});
  auto r = runner_->Resume(runbook_, op);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(counting_.gets, 0);
  EXPECT_THAT(counting_.failovers, IsEmpty());
  EXPECT_EQ(r->outcome(), v1::DRILL_OUTCOME_ABORTED);
  EXPECT_THAT(r->summary(), HasSubstr("before the failover; nothing was changed"));
  EXPECT_EQ(Op(op.id).state, journal::OperationState::kAborted);
}

TEST_F(DrillResumeTest, AnOpenFailoverWithAJournaledOperationIsFollowedNeverPostedAgain) {
  arm_.SetPrimary(kWest);  // ARM accepted the POST and switched; the agent died while polling
  journal::OperationRecord op =
      Interrupted({{kStepPreflight, StepState::kDone}, {kStepFailover, StepState::kIntent}},
                  "https://arm/op/1");
  auto r = runner_->Resume(runbook_, op);
  ASSERT_THAT(r, IsOk());
  // The failover step follows the journaled operation; then one fail back.
  EXPECT_THAT(counting_.failovers, ElementsAre("sql-west:resume", kEast));
  EXPECT_EQ(arm_.Accepted().size(), 1u);
  EXPECT_EQ(arm_.Primary(kGroup), kEast);
  EXPECT_THAT(JournalSteps(op.id), ElementsAre("preflight:done", "failover:done",
                                               "abort_failback:done", "verify_failback:done"));
}

TEST_F(DrillResumeTest, AnOpenFailoverWhosePostArmAcceptedIsWaitedForNotPostedAgain) {
  // ARM accepted the failover's POST, but the agent died before it journaled the operation URL,
  // and ARM is still switching the roles: a re-read alone sees sql-east primary.
  arm_.InFlightFailover(kGroup, absl::Seconds(20));
  journal::OperationRecord op =
      Interrupted({{kStepPreflight, StepState::kDone}, {kStepFailover, StepState::kIntent}});
  auto r = runner_->Resume(runbook_, op);
  ASSERT_THAT(r, IsOk());
  // The failover step went through the idempotent client, which waited for ARM's own switch
  // (no second accepted POST); then the group was failed back once.
  EXPECT_THAT(counting_.failovers, ElementsAre(kWest, kEast));
  EXPECT_EQ(arm_.AcceptedTotal(), 2);  // the one in flight, and the fail back
  EXPECT_THAT(JournalSteps(op.id), ElementsAre("preflight:done", "failover:done",
                                               "abort_failback:done", "verify_failback:done"));
  EXPECT_EQ(r->outcome(), v1::DRILL_OUTCOME_FAILED);
  EXPECT_THAT(r->summary(), HasSubstr("recovered: failed back to sql-east"));
  // Nothing is left to land after the drill ended.
  clock_.Advance(absl::Minutes(10));
  EXPECT_EQ(arm_.Primary(kGroup), kEast);
}

TEST_F(DrillResumeTest, AnOpenFailoverWhoseTargetIsAlreadyPrimaryIsDoneWithoutAPost) {
  arm_.SetPrimary(kWest);  // the POST was accepted and carried out; its URL never journaled
  journal::OperationRecord op =
      Interrupted({{kStepPreflight, StepState::kDone}, {kStepFailover, StepState::kIntent}});
  auto r = runner_->Resume(runbook_, op);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(arm_.AcceptedTotal(), 1);  // the fail back only
  EXPECT_EQ(arm_.Primary(kGroup), kEast);
  EXPECT_THAT(JournalSteps(op.id), ElementsAre("preflight:done", "failover:done",
                                               "abort_failback:done", "verify_failback:done"));
}

TEST_F(DrillResumeTest, AnOpenFailoverArmNeverAcceptedIsCarriedOutOnceThenFailedBack) {
  // The agent died between the intent and the POST: the target is read (secondary), one POST
  // goes out through the idempotent client, and the abort rule fails the group back.
  journal::OperationRecord op =
      Interrupted({{kStepPreflight, StepState::kDone}, {kStepFailover, StepState::kIntent}});
  auto r = runner_->Resume(runbook_, op);
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(counting_.failovers, ElementsAre(kWest, kEast));
  EXPECT_EQ(arm_.AcceptedTotal(), 2);
  EXPECT_EQ(arm_.Primary(kGroup), kEast);
  EXPECT_EQ(r->outcome(), v1::DRILL_OUTCOME_FAILED);
  EXPECT_THAT(JournalSteps(op.id), ElementsAre("preflight:done", "failover:done",
                                               "abort_failback:done", "verify_failback:done"));
}

TEST_F(DrillResumeTest, AResumeThatFailsGivesTheDrillsPauseBack) {
  arm_.SetPrimary(kWest);
  journal::OperationRecord op = Interrupted({{kStepPreflight, StepState::kDone},
                                             {kStepFailover, StepState::kDone},
                                             {kStepVerifyFailover, StepState::kDone},
                                             {kStepHold, StepState::kIntent}});
  // The same journal, refusing the resume's first write (closing the open hold step).
  auto base = journal::SqliteJournal::Open(tmp_.File("journal.db"), clock_);
  ASSERT_THAT(base, IsOk());
  journal::FaultInjectingJournal faulty(*std::move(base), {1, 0, {}});
  common::Logger logger(sink_, std::make_shared<common::Redactor>(), clock_, {});
  DrillExecutor executor(faulty, counting_, logger);
  std::vector<std::string> begun;
  std::vector<std::string> ended;
  DrillRunner::Deps deps{clock_, sleeper_, counting_, dialer_, faulty,  executor.runner(),
                         logger, nullptr,  {},        {},      &store_, {},
                         {}};
  deps.on_begin = [&](const std::string& group, const std::string& id) {
    begun.push_back(group + " " + id);
  };
  deps.on_end = [&](const std::string& group, const std::string& id) {
    ended.push_back(group + " " + id);
  };
  DrillRunner runner(deps, DrillRunner::Options{});
  auto r = runner.Resume(runbook_, op);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("journal"));
  // The resume took the pause and, failing, gave it back; the drill stays unfinished for the
  // next start, and nothing was sent to ARM.
  EXPECT_THAT(begun, ElementsAre(GroupIdOf() + " drill-fog-orders-7"));
  EXPECT_THAT(ended, ElementsAre(GroupIdOf() + " drill-fog-orders-7"));
  EXPECT_EQ(Op(op.id).state, journal::OperationState::kRunning);
  EXPECT_THAT(counting_.failovers, IsEmpty());
}

TEST_F(DrillResumeTest, AResumeRefusedForAnotherGroupLeavesItsPauseAlone) {
  journal::OperationRecord op = Interrupted({{kStepPreflight, StepState::kDone}});
  v1::Runbook other = runbook_;
  other.mutable_group()->set_name("fog-other");
  EXPECT_THAT(runner_->Resume(other, op), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ended_, IsEmpty());
}

TEST_F(DrillResumeTest, AnOpenFailBackGoesThroughTheIdempotentClientAndPostsNothingWhenDone) {
  // The fail back's POST completed before the agent died; its URL was never journaled.
  journal::OperationRecord op = Interrupted({{kStepPreflight, StepState::kDone},
                                             {kStepFailover, StepState::kDone},
                                             {kStepVerifyFailover, StepState::kDone},
                                             {kStepHold, StepState::kDone},
                                             {kStepFailback, StepState::kIntent}});
  auto r = runner_->Resume(runbook_, op);
  ASSERT_THAT(r, IsOk());
  // Asked once; the client found the original primary and sent nothing.
  EXPECT_THAT(counting_.failovers, ElementsAre(kEast));
  EXPECT_THAT(arm_.Accepted(), IsEmpty());
  EXPECT_EQ(r->final_primary(), kEast);
  EXPECT_THAT(JournalSteps(op.id), Contains("failback:done"));
  EXPECT_THAT(r->summary(), HasSubstr("had already failed back"));
}

TEST_F(DrillResumeTest, AnOpenFailBackStillNeededIsCarriedOutOnce) {
  arm_.SetPrimary(kWest);
  journal::OperationRecord op = Interrupted({{kStepPreflight, StepState::kDone},
                                             {kStepFailover, StepState::kDone},
                                             {kStepVerifyFailover, StepState::kDone},
                                             {kStepHold, StepState::kDone},
                                             {kStepFailback, StepState::kIntent}});
  ASSERT_THAT(runner_->Resume(runbook_, op), IsOk());
  EXPECT_THAT(counting_.failovers, ElementsAre(kEast));
  EXPECT_EQ(arm_.Accepted().size(), 1u);
  EXPECT_EQ(arm_.Primary(kGroup), kEast);
}

TEST_F(DrillResumeTest, ADrillWhoseStagesAllRanEndsPassedWithANote) {
  journal::OperationRecord op = Interrupted({{kStepPreflight, StepState::kDone},
                                             {kStepFailover, StepState::kDone},
                                             {kStepVerifyFailover, StepState::kDone},
                                             {kStepHold, StepState::kDone},
                                             {kStepFailback, StepState::kDone},
                                             {kStepVerifyFailback, StepState::kDone}});
  auto r = runner_->Resume(runbook_, op);
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(counting_.failovers, IsEmpty());
  EXPECT_EQ(r->outcome(), v1::DRILL_OUTCOME_PASSED);
  EXPECT_THAT(r->summary(), HasSubstr("the agent restarted"));
  EXPECT_EQ(Op(op.id).state, journal::OperationState::kSucceeded);
}

TEST_F(DrillResumeTest, OnlyAnUnfinishedDrillOfTheRunbooksGroupIsResumed) {
  journal::OperationRecord op = Interrupted({{kStepPreflight, StepState::kDone}});
  v1::Runbook other = runbook_;
  other.mutable_group()->set_name("fog-other");
  EXPECT_THAT(runner_->Resume(other, op), StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_THAT(runner_->Resume(runbook_, op), IsOk());
  EXPECT_THAT(runner_->Resume(runbook_, op), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(DrillResumeTest, APassingDrillRunsItsStagesThroughTheExecutor) {
  DrillRequest req;
  req.drill_id = "drill-fog-orders-1";
  auto r = runner_->Run(runbook_, req);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->outcome(), v1::DRILL_OUTCOME_PASSED) << r->summary();
  EXPECT_THAT(executor_->step_events,
              ElementsAre("preflight:intent", "preflight:done", "failover:intent", "failover:done",
                          "verify_failover:intent", "verify_failover:done", "hold:intent",
                          "hold:done", "failback:intent", "failback:done", "verify_failback:intent",
                          "verify_failback:done"));
  EXPECT_THAT(executor_->operation_events, ElementsAre("drill:succeeded"));
  // The drill id rides on the journal, for a resume.
  EXPECT_THAT(runner_->ResumedDrillId(Op(r->operation_id())), IsOk());
  EXPECT_EQ(*runner_->ResumedDrillId(Op(r->operation_id())), "drill-fog-orders-1");
}

TEST_F(DrillResumeTest, TheLauncherResumesUnfinishedDrillsAtStartUp) {
  arm_.SetPrimary(kWest);
  journal::OperationRecord op = Interrupted({{kStepPreflight, StepState::kDone},
                                             {kStepFailover, StepState::kDone},
                                             {kStepVerifyFailover, StepState::kDone},
                                             {kStepHold, StepState::kIntent}});
  // A failover operation is the agent's, not the launcher's.
  journal::OperationRecord failover;
  failover.group_id = GroupIdOf();
  failover.kind = "planned";
  failover.state = journal::OperationState::kRunning;
  ASSERT_THAT(journal_->CreateOperation(failover), IsOk());
  common::Logger logger(sink_, std::make_shared<common::Redactor>(), clock_, {});
  DrillLauncher launcher({*runner_, *journal_, &store_, clock_, logger});
  auto resumed = launcher.ResumeUnfinished({runbook_});
  ASSERT_THAT(resumed, IsOk());
  EXPECT_THAT(*resumed, ElementsAre("drill-fog-orders-7"));
  ASSERT_TRUE(launcher.AwaitIdle(absl::Seconds(30)));
  std::optional<DrillLauncher::Info> info = launcher.Find("drill-fog-orders-7");
  ASSERT_TRUE(info.has_value());
  ASSERT_TRUE(info->report.has_value());
  EXPECT_EQ(info->report->outcome(), v1::DRILL_OUTCOME_FAILED);
  EXPECT_EQ(info->request_id, "req-7");
  EXPECT_EQ(arm_.Primary(kGroup), kEast);
  EXPECT_EQ(Op(op.id).state, journal::OperationState::kFailed);
  auto unfinished = journal_->UnfinishedOperations();
  ASSERT_THAT(unfinished, IsOk());
  ASSERT_EQ(unfinished->size(), 1u);
  EXPECT_EQ((*unfinished)[0].kind, "planned");
}

TEST_F(DrillResumeTest, ADrillOfAGroupNoRunbookNamesIsLeftUnfinished) {
  journal::OperationRecord op = Interrupted({{kStepPreflight, StepState::kDone}});
  v1::Runbook other = runbook_;
  other.mutable_group()->set_name("fog-other");
  common::Logger logger(sink_, std::make_shared<common::Redactor>(), clock_, {});
  DrillLauncher launcher({*runner_, *journal_, &store_, clock_, logger});
  auto resumed = launcher.ResumeUnfinished({other});
  ASSERT_THAT(resumed, IsOk());
  EXPECT_THAT(*resumed, IsEmpty());
  EXPECT_EQ(Op(op.id).state, journal::OperationState::kRunning);
}

}  // namespace
}  // namespace foghorn::drill
