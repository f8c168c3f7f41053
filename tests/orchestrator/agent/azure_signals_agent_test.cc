// The agent's side of Azure's own signals (issue 16), under the fake clock: the data-loss reason
// names where its lag sample came from; a secondary whose replication_link probe fails is held
// as not ready; an external failover is recorded with the Activity Log's caller, and without it
// when the log cannot be read.
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orchestrator/agent/agent.h"
#include "orchestrator/agent/failover_caller.h"
#include "orchestrator/common/fake_clock.h"
#include "orchestrator/common/manual_executor.h"
#include "orchestrator/journal/sqlite_journal.h"
#include "runbooks/loader.h"
#include "tests/testing/capturing_log_sink.h"
#include "tests/testing/fake_arm.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace foghorn::agent {
namespace {

using ::foghorn::testing::FakeArm;
using ::foghorn::testing::IsOk;
using ::testing::Contains;
using ::testing::HasSubstr;

class NoSteps final : public executor::StepRunner {
 public:
  absl::Status Run(const v1::Step&, const journal::OperationRecord&) override {
    return absl::OkStatus();
  }
};

class ForwardingSink final : public probes::VerdictSink {
 public:
  void OnVerdictChange(const probes::VerdictEvent& e) override {
    if (target != nullptr) target->OnVerdictChange(e);
  }
  probes::VerdictSink* target = nullptr;
};

// Answers every attempt at once from a table by probe name (success by default), with a detail
// and a metric per probe.
class DetailProber final : public probes::Prober {
 public:
  void Start(const v1::ProbeSpec& spec, const probes::ProbeContext&, absl::Duration,
             Callback done) override {
    probes::ProbeResult r;
    {
      absl::MutexLock lock(&mu_);
      auto it = outcomes_.find(spec.name());
      r.outcome = it == outcomes_.end() ? probes::ProbeOutcome::kSuccess : it->second.first;
      if (it != outcomes_.end()) r.detail = it->second.second;
      if (auto m = metrics_.find(spec.name()); m != metrics_.end()) r.metric = m->second;
    }
    std::move(done)(std::move(r));
  }
  void Set(const std::string& name, probes::ProbeOutcome o, const std::string& detail = "") {
    absl::MutexLock lock(&mu_);
    outcomes_[name] = {o, detail};
  }
  void SetMetric(const std::string& name, double v) {
    absl::MutexLock lock(&mu_);
    metrics_[name] = v;
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, std::pair<probes::ProbeOutcome, std::string>> outcomes_
      ABSL_GUARDED_BY(mu_);
  std::map<std::string, double> metrics_ ABSL_GUARDED_BY(mu_);
};

class RecordingNotifier final : public executor::Notifier {
 public:
  void Notify(executor::Notification n) override {
    absl::MutexLock lock(&mu_);
    sent_.push_back(std::move(n));
  }
  std::vector<executor::Notification> Sent(const std::string& event) {
    absl::MutexLock lock(&mu_);
    std::vector<executor::Notification> out;
    for (const auto& n : sent_) {
      if (n.event == event) out.push_back(n);
    }
    return out;
  }

 private:
  absl::Mutex mu_;
  std::vector<executor::Notification> sent_ ABSL_GUARDED_BY(mu_);
};

class FakeCallers final : public FailoverCallerReader {
 public:
  absl::StatusOr<std::string> LastFailoverCaller(const arm::FailoverGroupId& group,
                                                 absl::Time since) override {
    absl::MutexLock lock(&mu_);
    asked_server_ = group.server;
    asked_since_ = since;
    return answer_;
  }
  void Answer(absl::StatusOr<std::string> a) {
    absl::MutexLock lock(&mu_);
    answer_ = std::move(a);
  }
  std::string asked_server() {
    absl::MutexLock lock(&mu_);
    return asked_server_;
  }

 private:
  absl::Mutex mu_;
  absl::StatusOr<std::string> answer_ ABSL_GUARDED_BY(mu_) = absl::NotFoundError("none");
  std::string asked_server_ ABSL_GUARDED_BY(mu_);
  absl::Time asked_since_ ABSL_GUARDED_BY(mu_);
};

constexpr char kGroup[] = "sub/rg/fog";

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
  - {name: lag, target: primary, interval: 5s, timeout: 1s, metric_kind: replication_lag_seconds, LAG_KIND}
  - {name: b-link, target: secondary, interval: 5s, timeout: 1s, unhealthy_threshold: 1, healthy_threshold: 1, replication_link: {database: db1}}
health_rules:
  - {target: primary, probes: [a-tcp]}
  - {target: secondary, probes: [b-tcp]}
policy:
  confirm_after: 10s
  planned_grace: 30s
  data_loss_grace: 2m
  data_loss_budget: 10m
  approval_mode: automatic
  cooldown: 1h
)";

class AzureSignalsAgentTest : public ::testing::Test {
 protected:
  void Load(const std::string& lag_kind = "exec: {argv: [lag], metric_from_stdout: true}",
            bool with_callers = true) {
    std::string text = kRunbook;
    text.replace(text.find("LAG_KIND"), 8, lag_kind);
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
    deps.events = [this](const AgentEvent& e) {
      absl::MutexLock lock(&events_mu_);
      events_.push_back(e);
    };
    if (with_callers) deps.failover_callers = &callers_;
    agent_ = std::make_unique<Agent>(std::move(deps), Agent::Options{});
    forward_.target = agent_.get();
    ASSERT_THAT(agent_->SetRunbooks({loaded.runbooks[0].runbook}), IsOk());
    prober_.SetMetric("lag", 3);
    Run(absl::Seconds(10));
    ASSERT_THAT(agent_->Start(), IsOk());
    Run(absl::Seconds(10));
  }
  void TearDown() override {
    forward_.target = nullptr;
    if (agent_) agent_->Stop();
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
  std::vector<ExternalFailoverNoticed> ExternalEvents() {
    absl::MutexLock lock(&events_mu_);
    std::vector<ExternalFailoverNoticed> out;
    for (const AgentEvent& e : events_) {
      if (auto* x = std::get_if<ExternalFailoverNoticed>(&e.detail)) out.push_back(*x);
    }
    return out;
  }
  // Every journaled decision's reasons, concatenated.
  std::string AllReasons() {
    absl::StatusOr<std::vector<journal::DecisionRecord>> decisions = journal_->Decisions(kGroup, 0);
    EXPECT_THAT(decisions, IsOk());
    std::string out;
    if (!decisions.ok()) return out;
    for (const journal::DecisionRecord& d : *decisions) out += d.reasons_json;
    return out;
  }
  std::string ExternalAuditDetail() {
    absl::StatusOr<std::vector<journal::AuditRecord>> trail = journal_->AuditTrail(0);
    EXPECT_THAT(trail, IsOk());
    if (!trail.ok()) return "";
    for (const journal::AuditRecord& a : *trail) {
      if (a.action == "ExternalFailover") return a.detail;
    }
    return "";
  }

  foghorn::testing::TempDir dir_;
  common::FakeClock clock_;
  common::ManualExecutor loop_{clock_};
  common::WorkerPool workers_{2};
  DetailProber prober_;
  FakeArm arm_;
  NoSteps steps_;
  RecordingNotifier notifier_;
  FakeCallers callers_;
  common::MetricsRegistry metrics_;
  std::shared_ptr<foghorn::testing::CapturingLogSink> sink_ =
      std::make_shared<foghorn::testing::CapturingLogSink>();
  ForwardingSink forward_;
  probes::HealthTracker tracker_{clock_, &forward_};
  std::unique_ptr<journal::SqliteJournal> journal_;
  std::unique_ptr<executor::OperationRunner> runner_;
  std::unique_ptr<probes::ProbeScheduler> scheduler_;
  std::unique_ptr<Agent> agent_;
  absl::Mutex events_mu_;
  std::vector<AgentEvent> events_ ABSL_GUARDED_BY(events_mu_);
};

TEST_F(AzureSignalsAgentTest, TheDataLossReasonNamesTheExecProbeThatSampledTheLag) {
  Load();
  prober_.Set("a-tcp", probes::ProbeOutcome::kFailure);
  prober_.Set("lag", probes::ProbeOutcome::kFailure);  // the primary's lag probe goes too
  arm_.SetRegionDown(true);
  Run(absl::Minutes(3));
  ASSERT_TRUE(agent_->Group(kGroup)->last_decision.has_value());
  EXPECT_THAT(AllReasons(), HasSubstr("(exec probe lag, sample "));
}

TEST_F(AzureSignalsAgentTest, TheDataLossReasonNamesTheAzureMetric) {
  Load("azure_metric: {database: db1}");
  prober_.Set("a-tcp", probes::ProbeOutcome::kFailure);
  prober_.Set("lag", probes::ProbeOutcome::kUnknown);
  arm_.SetRegionDown(true);
  Run(absl::Minutes(3));
  EXPECT_THAT(AllReasons(), HasSubstr("(azure_metric replication_lag_seconds, sample "));
}

TEST_F(AzureSignalsAgentTest, ASecondaryWhoseLinkIsSuspendedIsNotAFailoverTarget) {
  Load();
  // The link was suspended before the primary went down: the secondary was left behind.
  prober_.Set("b-link", probes::ProbeOutcome::kFailure,
              "not ready: SUSPENDED (link to srv-a/db1, GEO)");
  Run(absl::Seconds(30));
  prober_.Set("a-tcp", probes::ProbeOutcome::kFailure);
  arm_.SetRegionDown(true);
  Run(absl::Minutes(4));
  EXPECT_TRUE(arm_.Accepted().empty());
  decision::Decision d = Last();
  EXPECT_EQ(d.stage, decision::Stage::kHold) << d.summary;
  ASSERT_TRUE(d.HasReason(decision::ReasonCode::kSecondaryNotReady)) << d.summary;
  EXPECT_THAT(d.summary, HasSubstr("secondary srv-b is not a failover target: replication link "
                                   "(probe b-link, database db1) not ready: SUSPENDED"));
  // The link catches up: the hold lifts and the failover goes ahead.
  prober_.Set("b-link", probes::ProbeOutcome::kSuccess, "CATCH_UP");
  Run(absl::Seconds(30));
  EXPECT_FALSE(Last().HasReason(decision::ReasonCode::kSecondaryNotReady)) << Last().summary;
  EXPECT_FALSE(arm_.Accepted().empty());
}

TEST_F(AzureSignalsAgentTest, ALinkSuspendedByThePrimarysOutageDoesNotHoldTheForcedFailover) {
  Load();
  Run(absl::Seconds(10));
  // The primary's region goes down; the link reads SUSPENDED from then on (it broke with it).
  prober_.Set("a-tcp", probes::ProbeOutcome::kFailure);
  arm_.SetRegionDown(true);
  Run(absl::Seconds(20));
  prober_.Set("b-link", probes::ProbeOutcome::kFailure,
              "not ready: SUSPENDED (link to srv-a/db1, GEO)");
  Run(absl::Minutes(4));
  EXPECT_FALSE(Last().HasReason(decision::ReasonCode::kSecondaryNotReady)) << Last().summary;
  EXPECT_THAT(arm_.Accepted(), Contains(arm::FailoverKind::kForcedAllowDataLoss)) << Last().summary;
}

TEST_F(AzureSignalsAgentTest, AnExternalFailoverIsRecordedWithTheActivityLogCaller) {
  Load();
  callers_.Answer(std::string("Microsoft.Sql"));
  arm_.ExternalFailover("fog");
  Run(absl::Seconds(40));                       // the next role refresh notices it
  EXPECT_EQ(callers_.asked_server(), "srv-b");  // the log of the group on the new primary
  std::vector<ExternalFailoverNoticed> ev = ExternalEvents();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].caller, "Microsoft.Sql");
  EXPECT_THAT(ExternalAuditDetail(), HasSubstr("srv-a -> srv-b, by Microsoft.Sql"));
  std::vector<executor::Notification> n = notifier_.Sent("external_failover");
  ASSERT_EQ(n.size(), 1u);
  EXPECT_THAT(n[0].summary, HasSubstr("by Microsoft.Sql"));
  EXPECT_THAT(n[0].details_json, HasSubstr("\"caller\":\"Microsoft.Sql\""));
}

TEST_F(AzureSignalsAgentTest, AnExternalFailoverIsRecordedWhenTheActivityLogCannotBeRead) {
  Load();
  callers_.Answer(absl::PermissionDeniedError("no Microsoft.Insights/eventtypes read"));
  arm_.ExternalFailover("fog");
  Run(absl::Seconds(40));
  std::vector<ExternalFailoverNoticed> ev = ExternalEvents();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].caller, "");
  EXPECT_THAT(ev[0].caller_note, HasSubstr("no Microsoft.Insights/eventtypes read"));
  EXPECT_THAT(ExternalAuditDetail(), HasSubstr("caller unknown (activity log: "));
  ASSERT_EQ(notifier_.Sent("external_failover").size(), 1u);
  // The cooldown started all the same.
  EXPECT_NE(agent_->Group(kGroup)->view.last_failover_at, absl::InfinitePast());
}

TEST_F(AzureSignalsAgentTest, WithoutAnActivityLogReaderTheCallerIsUnknown) {
  Load(/*lag_kind=*/"exec: {argv: [lag], metric_from_stdout: true}", /*with_callers=*/false);
  arm_.ExternalFailover("fog");
  Run(absl::Seconds(40));
  EXPECT_THAT(ExternalAuditDetail(), HasSubstr("caller unknown"));
  ASSERT_EQ(ExternalEvents().size(), 1u);
}

TEST(FailoverCallerTest, TheNewestSucceededFailoverNamesTheCaller) {
  auto ev = [](std::string op, std::string status, std::string caller) {
    arm::ActivityLogEvent e;
    e.operation_name = std::move(op);
    e.status = std::move(status);
    e.caller = std::move(caller);
    return e;
  };
  std::vector<arm::ActivityLogEvent> log = {
      ev("Microsoft.Sql/servers/failoverGroups/write", "Succeeded", "alice@example.com"),
      ev("Microsoft.Sql/servers/failoverGroups/forceFailoverAllowDataLoss/action", "Started",
         "bob@example.com"),
      ev("Microsoft.Sql/servers/failoverGroups/failover/action", "Succeeded", "Microsoft.Sql"),
  };
  EXPECT_EQ(*FailoverCallerOf(log), "Microsoft.Sql");
  log.pop_back();
  EXPECT_EQ(*FailoverCallerOf(log), "bob@example.com");
  log.pop_back();
  EXPECT_EQ(FailoverCallerOf(log).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(IsFailoverOperation(
      "microsoft.sql/servers/failovergroups/tryPlannedBeforeForcedFailover/action"));
  EXPECT_FALSE(IsFailoverOperation("Microsoft.Sql/servers/failoverGroups/delete"));
}

}  // namespace
}  // namespace foghorn::agent
