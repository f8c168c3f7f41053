// The drill state machine against fakes: a passing drill fails over and back, a failed gate fails
// back, an aborted drill leaves the original primary, and a dry run touches nothing.
#include "orchestrator/drill/drill_runner.h"

#include <filesystem>
#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orchestrator/common/durations.h"
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
using ::testing::Each;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

std::vector<std::string> StepNames(const DrillReport& r) {
  std::vector<std::string> out;
  for (const v1::DrillStep& s : r.steps()) out.push_back(s.name());
  return out;
}

class DrillRunnerTest : public ::testing::Test {
 protected:
  DrillRunnerTest() : arm_(ArmOptions(clock_)), sleeper_(clock_), store_(tmp_.File("reports")) {
    auto j = journal::SqliteJournal::Open(tmp_.File("journal.db"), clock_);
    EXPECT_TRUE(j.ok());
    journal_ = *std::move(j);
    knowledge_.groups[GroupIdOf()] = AgentGroupInfo{};
  }

  DrillRunner& runner() {
    if (!runner_) {
      common::Logger logger(sink_, std::make_shared<common::Redactor>(), clock_, {});
      executor_ = std::make_unique<DrillExecutor>(*journal_, arm_, logger);
      DrillRunner::Deps deps{clock_, sleeper_, arm_, dialer_, *journal_, executor_->runner(),
                             logger, nullptr,  {},   {},      nullptr,   {},
                             {}};
      deps.knowledge = &knowledge_;
      deps.reports = &store_;
      deps.run_command =
          [this](const std::vector<std::string>& argv,
                 const std::map<std::string, std::string>& env, absl::Duration,
                 const std::vector<std::string>&) -> absl::StatusOr<executor::CommandResult> {
        hook_calls_.push_back(env.at("FOGHORN_DRILL_PHASE") + ":" +
                              env.at("FOGHORN_PRIMARY_SERVER"));
        executor::CommandResult r;
        r.exit_code = hook_exit_codes_.empty() ? 0 : hook_exit_codes_.front();
        if (!hook_exit_codes_.empty()) hook_exit_codes_.erase(hook_exit_codes_.begin());
        r.stdout_text = r.exit_code == 0 ? "ok" : failed_hook_stdout_;
        (void)argv;
        return r;
      };
      deps.sampler_factory = [this]() -> std::unique_ptr<ListenerSampler> {
        return std::make_unique<ScriptedSampler>(samples_);
      };
      deps.on_begin = [this](const std::string&, const std::string&) { ++begins_; };
      deps.on_end = [this](const std::string&, const std::string&) { ++ends_; };
      runner_ = std::make_unique<DrillRunner>(deps, DrillRunner::Options{});
    }
    return *runner_;
  }

  std::vector<journal::OperationRecord> Operations() {
    auto ops = journal_->ListOperations("", 0);
    EXPECT_TRUE(ops.ok());
    return ops.ok() ? *ops : std::vector<journal::OperationRecord>{};
  }

  ::foghorn::testing::TempDir tmp_;
  common::FakeClock clock_;
  FakeArm arm_;
  FakeDialer dialer_;
  FakeKnowledge knowledge_;
  FakeSleeper sleeper_;
  ReportStore store_;
  std::unique_ptr<journal::SqliteJournal> journal_;
  std::shared_ptr<::foghorn::testing::CapturingLogSink> sink_ =
      std::make_shared<::foghorn::testing::CapturingLogSink>();
  std::vector<ListenerSample> samples_;
  std::vector<int> hook_exit_codes_;
  std::string failed_hook_stdout_ = "write not readable";
  std::vector<std::string> hook_calls_;
  int begins_ = 0;
  int ends_ = 0;
  v1::Runbook runbook_ = HealthyRunbook();
  std::unique_ptr<DrillExecutor> executor_;
  std::unique_ptr<DrillRunner> runner_;
};

TEST_F(DrillRunnerTest, APassingDrillFailsOverHoldsAndFailsBack) {
  const absl::Time start = clock_.Now();
  auto r = runner().Run(runbook_, {});
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->outcome(), v1::DRILL_OUTCOME_PASSED) << r->summary();
  EXPECT_THAT(arm_.FailoverTargets(), ElementsAre(kWest, kEast));
  EXPECT_THAT(StepNames(*r), ElementsAre(kStepPreflight, kStepFailover, kStepVerifyFailover,
                                         kStepHold, kStepFailback, kStepVerifyFailback));
  EXPECT_EQ(r->original_primary(), kEast);
  EXPECT_EQ(r->final_primary(), kEast);
  ASSERT_EQ(r->role_changes_size(), 2);
  EXPECT_EQ(r->role_changes(0).primary(), kWest);
  EXPECT_EQ(r->role_changes(1).primary(), kEast);
  ASSERT_EQ(r->directions_size(), 2);
  EXPECT_EQ(r->directions(0).posts_accepted(), 1);
  EXPECT_EQ(r->directions(1).data_lost_writes(), 0);
  // The hold ran on the injected clock.
  EXPECT_GE(clock_.Now() - start, absl::Seconds(600));
  EXPECT_EQ(begins_, 1);
  EXPECT_EQ(ends_, 1);
}

TEST_F(DrillRunnerTest, TheDrillIsJournaledAsOneOperationOfKindDrillWithItsSteps) {
  auto r = runner().Run(runbook_, {});
  ASSERT_THAT(r, IsOk());
  std::vector<journal::OperationRecord> ops = Operations();
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].kind, "drill");
  EXPECT_EQ(ops[0].id, r->operation_id());
  EXPECT_EQ(ops[0].state, journal::OperationState::kSucceeded);
  auto steps = journal_->Steps(ops[0].id);
  ASSERT_THAT(steps, IsOk());
  ASSERT_EQ(steps->size(), 6u);
  for (const journal::StepRecord& s : *steps) EXPECT_EQ(s.state, journal::StepState::kDone);
  EXPECT_EQ((*steps)[1].name, "failover");
}

TEST_F(DrillRunnerTest, TheReportIsSavedAndListed) {
  auto r = runner().Run(runbook_, {});
  ASSERT_THAT(r, IsOk());
  auto list = store_.List("", 0);
  ASSERT_THAT(list, IsOk());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].drill_id(), r->drill_id());
  EXPECT_EQ((*list)[0].outcome(), v1::DRILL_OUTCOME_PASSED);
  EXPECT_TRUE(std::filesystem::exists((*list)[0].html_path()));
  auto back = store_.Read(r->drill_id());
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->outcome(), v1::DRILL_OUTCOME_PASSED);
}

TEST_F(DrillRunnerTest, AFailedCheckHookFailsBackToTheOriginalPrimary) {
  runbook_.mutable_drill()->mutable_check_hook()->add_argv("/bin/check");
  hook_exit_codes_ = {1};
  auto r = runner().Run(runbook_, {});
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->outcome(), v1::DRILL_OUTCOME_FAILED);
  EXPECT_THAT(r->summary(), HasSubstr("check hook"));
  EXPECT_THAT(arm_.FailoverTargets(), ElementsAre(kWest, kEast));
  EXPECT_EQ(arm_.Primary(kGroup), kEast);
  EXPECT_EQ(r->final_primary(), kEast);
  EXPECT_THAT(StepNames(*r), ElementsAre(kStepPreflight, kStepFailover, kStepVerifyFailover,
                                         kStepAbortFailback, kStepVerifyFailback));
  EXPECT_THAT(hook_calls_, ElementsAre("failover:sql-west"));
  EXPECT_EQ(Operations()[0].state, journal::OperationState::kFailed);
}

TEST_F(DrillRunnerTest, AFailedCheckHooksOutputIsRedactedInTheReport) {
  runbook_.mutable_drill()->mutable_check_hook()->add_argv("/bin/check");
  hook_exit_codes_ = {1};
  failed_hook_stdout_ =
      "login failed: Server=tcp:x;Password=Hunter2Secret; token=abc123xyz "
      "https://u:pw@h.example/x?sig=SASSIG";
  auto r = runner().Run(runbook_, {});
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->outcome(), v1::DRILL_OUTCOME_FAILED);
  EXPECT_THAT(r->summary(), HasSubstr("login failed"));
  for (const char* secret : {"Hunter2Secret", "abc123xyz", "SASSIG", "u:pw"}) {
    EXPECT_THAT(r->summary(), Not(HasSubstr(secret)));
    for (const auto& step : r->steps()) EXPECT_THAT(step.detail(), Not(HasSubstr(secret)));
  }
}

TEST_F(DrillRunnerTest, TheCheckHookRunsAfterEachDirection) {
  runbook_.mutable_drill()->mutable_check_hook()->add_argv("/bin/check");
  auto r = runner().Run(runbook_, {});
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->outcome(), v1::DRILL_OUTCOME_PASSED);
  EXPECT_THAT(hook_calls_, ElementsAre("failover:sql-west", "failback:sql-east"));
}

TEST_F(DrillRunnerTest, AnUnhealthyVerifyProbeFailsTheGateAndFailsBack) {
  probes::ProbeStatus st;
  st.probe_id = GroupIdOf() + "/rw-listener";
  st.state = probes::ProbeState::kUnhealthy;
  knowledge_.probes[st.probe_id] = st;
  auto r = runner().Run(runbook_, {});
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->outcome(), v1::DRILL_OUTCOME_FAILED);
  EXPECT_THAT(r->summary(), HasSubstr("rw-listener"));
  EXPECT_EQ(arm_.Primary(kGroup), kEast);
  EXPECT_THAT(arm_.FailoverTargets(), ElementsAre(kWest, kEast));
  // Verification polled until verify_timeout on the injected clock, not longer.
  EXPECT_LT(sleeper_.total(), absl::Seconds(120));
}

TEST_F(DrillRunnerTest, VerificationPollsAtTheRunbooksVerifyPollInterval) {
  probes::ProbeStatus st;
  st.probe_id = GroupIdOf() + "/rw-listener";
  st.state = probes::ProbeState::kUnhealthy;
  knowledge_.probes[st.probe_id] = st;
  runbook_.mutable_drill()->mutable_verify_poll_interval()->set_seconds(5);
  auto r = runner().Run(runbook_, {});
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->outcome(), v1::DRILL_OUTCOME_FAILED);
  // The only waits were verification's, each the runbook's interval (not the 2 s default), until
  // the 60 s verify_timeout.
  const std::vector<absl::Duration> sleeps = sleeper_.sleeps();
  EXPECT_THAT(sleeps, Each(absl::Seconds(5)));
  EXPECT_EQ(sleeps.size(), 12u);
}

TEST_F(DrillRunnerTest, AVerifyProbeNeedsASuccessAfterTheSwitch) {
  probes::ProbeStatus st;
  st.probe_id = GroupIdOf() + "/rw-listener";
  st.state = probes::ProbeState::kHealthy;
  probes::ProbeResult stale;
  stale.outcome = probes::ProbeOutcome::kSuccess;
  stale.finished = clock_.Now() - absl::Minutes(5);
  st.history = {stale};
  knowledge_.probes[st.probe_id] = st;
  auto r = runner().Run(runbook_, {});
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->outcome(), v1::DRILL_OUTCOME_FAILED);
  EXPECT_THAT(r->summary(), HasSubstr("no success since the switch"));
  EXPECT_EQ(arm_.Primary(kGroup), kEast);
}

TEST_F(DrillRunnerTest, AFailedPreflightAbortsWithoutAnyFailover) {
  arm_.SetReplicationState("SUSPENDED");
  auto r = runner().Run(runbook_, {});
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->outcome(), v1::DRILL_OUTCOME_ABORTED);
  EXPECT_EQ(arm_.FailoverCalls(), 0);
  EXPECT_EQ(arm_.Primary(kGroup), kEast);
  EXPECT_THAT(StepNames(*r), ElementsAre(kStepPreflight));
  EXPECT_EQ(Operations()[0].state, journal::OperationState::kAborted);
  EXPECT_EQ(begins_, 0);
  EXPECT_FALSE(r->fixes().empty());
}

TEST_F(DrillRunnerTest, AFailoverThatChangedNothingIsNotFailedBack) {
  arm_.QueueFailoverError(absl::FailedPreconditionError("PlannedFailoverTimedOut"), false);
  auto r = runner().Run(runbook_, {});
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->outcome(), v1::DRILL_OUTCOME_FAILED);
  EXPECT_THAT(arm_.FailoverTargets(), ElementsAre(kWest));
  EXPECT_EQ(r->final_primary(), kEast);
  EXPECT_THAT(r->summary(), HasSubstr("PlannedFailoverTimedOut"));
}

TEST_F(DrillRunnerTest, AnAmbiguousFailoverThatSwitchedAnywayIsFailedBack) {
  arm_.QueueFailoverError(absl::UnavailableError("connection reset"), true);
  auto r = runner().Run(runbook_, {});
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->outcome(), v1::DRILL_OUTCOME_FAILED);
  EXPECT_THAT(arm_.FailoverTargets(), ElementsAre(kWest, kEast));
  EXPECT_EQ(arm_.Primary(kGroup), kEast);
  EXPECT_EQ(StepNames(*r).back(), kStepVerifyFailback);
}

TEST_F(DrillRunnerTest, ACancelDuringTheHoldFailsBack) {
  std::atomic<bool> cancel{true};
  DrillRequest req;
  req.cancel = &cancel;
  auto r = runner().Run(runbook_, req);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->outcome(), v1::DRILL_OUTCOME_FAILED);
  EXPECT_EQ(arm_.Primary(kGroup), kEast);
  EXPECT_THAT(StepNames(*r), ElementsAre(kStepPreflight, kStepFailover, kStepVerifyFailover,
                                         kStepHold, kStepAbortFailback, kStepVerifyFailback));
}

TEST_F(DrillRunnerTest, WithoutFailBackTheGroupStaysOnThePartner) {
  runbook_.mutable_drill()->set_fail_back(false);
  auto r = runner().Run(runbook_, {});
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->outcome(), v1::DRILL_OUTCOME_PASSED);
  EXPECT_EQ(r->final_primary(), kWest);
  EXPECT_THAT(arm_.FailoverTargets(), ElementsAre(kWest));
}

TEST_F(DrillRunnerTest, ADryRunTouchesNothing) {
  DrillRequest req;
  req.dry_run = true;
  auto r = runner().Run(runbook_, req);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->outcome(), v1::DRILL_OUTCOME_PLANNED);
  EXPECT_EQ(arm_.FailoverCalls(), 0);
  EXPECT_TRUE(Operations().empty());
  EXPECT_FALSE(std::filesystem::exists(store_.dir()));
  EXPECT_EQ(begins_, 0);
  EXPECT_THAT(StepNames(*r), ElementsAre(kStepPreflight, kStepFailover, kStepVerifyFailover,
                                         kStepHold, kStepFailback, kStepVerifyFailback));
  for (const v1::DrillStep& s : r->steps()) EXPECT_EQ(s.state(), v1::DRILL_STEP_STATE_PLANNED);
  EXPECT_THAT(r->summary(), HasSubstr("sql-east to sql-west"));
}

TEST_F(DrillRunnerTest, ARepeatedRequestIdIsRefused) {
  DrillRequest req;
  req.request_id = "req-1";
  ASSERT_THAT(runner().Run(runbook_, req), IsOk());
  EXPECT_THAT(runner().Run(runbook_, req), StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_EQ(arm_.FailoverCalls(), 2);
}

TEST_F(DrillRunnerTest, TheRunbookReportPathReceivesTheJson) {
  runbook_.mutable_drill()->set_report_path(tmp_.File("out/drill.json"));
  ASSERT_THAT(runner().Run(runbook_, {}), IsOk());
  EXPECT_THAT(::foghorn::testing::ReadFileOrDie(tmp_.File("out/drill.json")),
              HasSubstr("\"outcome\": \"DRILL_OUTCOME_PASSED\""));
}

TEST_F(DrillRunnerTest, RtoIsMeasuredFromTheListenerSamples) {
  const absl::Time t0 = clock_.Now();
  google::protobuf::RepeatedPtrField<v1::DrillDirection> d;
  v1::DrillDirection* failover = d.Add();
  failover->set_completed(true);
  *failover->mutable_started_at() = ToTimestamp(t0);
  *failover->mutable_roles_swapped_at() = ToTimestamp(t0 + absl::Seconds(30));
  std::vector<ListenerSample> s;
  for (int i = 0; i <= 40; i += 5) {
    // Down from +10s to +35s (exclusive).
    bool ok = i < 10 || i >= 35;
    s.push_back({t0 + absl::Seconds(i), ok, ok ? "" : "refused"});
  }
  ComputeDirectionMetrics(s, &d);
  ASSERT_TRUE(d[0].has_rto());
  EXPECT_EQ(common::FromProtoDuration(d[0].rto()), absl::Seconds(35));
  EXPECT_EQ(FromTimestamp(d[0].rw_restored_at()), t0 + absl::Seconds(35));
  EXPECT_EQ(common::FromProtoDuration(d[0].listener_outage()), absl::Seconds(25));
  EXPECT_EQ(d[0].failed_samples(), 5);
}

}  // namespace
}  // namespace foghorn::drill
