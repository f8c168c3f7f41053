// Continuous readiness (issue 16): the scheduler runs each group's checks once per interval,
// spread over it, on the workers; exports foghorn_readiness{group,check}; notifies
// "readiness_regressed" when a passing check fails. And the ARM checks it adds (permission,
// secondary link, SKU parity) over scripted reads. FakeClock and ManualExecutor; no sleeps.
#include "orchestrator/agent/readiness_scheduler.h"

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orchestrator/agent/agent.h"
#include "orchestrator/agent/agent_config.h"
#include "orchestrator/agent/arm_readiness_checks.h"
#include "orchestrator/common/durations.h"
#include "orchestrator/common/fake_clock.h"
#include "orchestrator/common/manual_executor.h"
#include "tests/testing/capturing_log_sink.h"
#include "tests/testing/status_matchers.h"

namespace foghorn::agent {
namespace {

using ::foghorn::testing::IsOk;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

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

// Answers every group with the checks the test set, and records which groups it checked when.
class FakeSource final : public ReadinessSource {
 public:
  explicit FakeSource(const common::Clock& clock) : clock_(clock) {}
  std::vector<ReadinessCheck> Check(const v1::Runbook& runbook) override {
    absl::MutexLock lock(&mu_);
    runs_.emplace_back(GroupId(runbook.group()), clock_.Now());
    return checks_;
  }
  void Set(std::vector<ReadinessCheck> checks) {
    absl::MutexLock lock(&mu_);
    checks_ = std::move(checks);
  }
  std::vector<std::pair<std::string, absl::Time>> runs() {
    absl::MutexLock lock(&mu_);
    return runs_;
  }

 private:
  const common::Clock& clock_;
  absl::Mutex mu_;
  std::vector<ReadinessCheck> checks_ ABSL_GUARDED_BY(mu_);
  std::vector<std::pair<std::string, absl::Time>> runs_ ABSL_GUARDED_BY(mu_);
};

v1::Runbook Group(const std::string& name) {
  v1::Runbook rb;
  v1::FailoverGroupRef* g = rb.mutable_group();
  g->set_subscription_id("sub");
  g->set_resource_group("rg");
  g->set_name(name);
  g->set_primary_server("srv-a");
  g->set_secondary_server("srv-b");
  g->add_databases("db1");
  return rb;
}

class ReadinessSchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    scheduler_ = std::make_unique<ReadinessScheduler>(
        ReadinessScheduler::Deps{clock_,
                                 loop_,
                                 workers_,
                                 notifier_,
                                 metrics_,
                                 common::Logger(sink_, nullptr, clock_, {}),
                                 {&source_}},
        ReadinessScheduler::Options{absl::Minutes(3)});
  }
  void TearDown() override {
    scheduler_->Stop();
    workers_.Shutdown();
  }
  void Run(absl::Duration total) {
    for (absl::Duration t; t < total; t += absl::Seconds(1)) {
      loop_.Advance(absl::Seconds(1));
      workers_.WaitIdle();
      loop_.RunUntilIdle();
    }
  }

  common::FakeClock clock_;
  common::ManualExecutor loop_{clock_};
  common::WorkerPool workers_{1};
  RecordingNotifier notifier_;
  common::MetricsRegistry metrics_;
  std::shared_ptr<foghorn::testing::CapturingLogSink> sink_ =
      std::make_shared<foghorn::testing::CapturingLogSink>();
  FakeSource source_{clock_};
  std::unique_ptr<ReadinessScheduler> scheduler_;
};

TEST_F(ReadinessSchedulerTest, SpreadsTheGroupsOverTheIntervalAndRepeatsEachOnce) {
  source_.Set({{"failover_policy", ReadinessState::kOk, "Manual"}});
  const absl::Time t0 = clock_.Now();
  scheduler_->SetRunbooks({Group("a"), Group("b"), Group("c")});
  loop_.RunUntilIdle();  // the first group is due at once
  workers_.WaitIdle();
  Run(absl::Minutes(6) - absl::Seconds(1));  // (nearly) two intervals of 3m
  std::vector<std::pair<std::string, absl::Time>> runs = source_.runs();
  ASSERT_EQ(runs.size(), 6u);
  // a at +0, b at +1m, c at +2m, then each again one interval later.
  EXPECT_EQ(runs[0].first, "sub/rg/a");
  EXPECT_EQ(runs[1].first, "sub/rg/b");
  EXPECT_EQ(runs[2].first, "sub/rg/c");
  EXPECT_EQ(runs[1].second - runs[0].second, absl::Minutes(1));
  EXPECT_EQ(runs[2].second - runs[1].second, absl::Minutes(1));
  EXPECT_EQ(runs[3].first, "sub/rg/a");
  EXPECT_EQ(runs[3].second - runs[0].second, absl::Minutes(3));
  EXPECT_EQ(runs[0].second, t0);
}

TEST_F(ReadinessSchedulerTest, ExportsOneGaugePerCheckAndKeepsTheResultsForGetGroup) {
  source_.Set({{"failover_policy", ReadinessState::kWarn, "Automatic races foghorn"},
               {"secondary_link", ReadinessState::kFailing, "SUSPENDED"},
               {"failover_permission", ReadinessState::kUnknown, "404: not checked"}});
  scheduler_->SetRunbooks({Group("a")});
  EXPECT_FALSE(scheduler_->Get("sub/rg/a").has_value());
  Run(absl::Seconds(2));
  auto g = [&](const std::string& check) {
    return metrics_.Value("foghorn_readiness", {{"group", "sub/rg/a"}, {"check", check}});
  };
  EXPECT_EQ(g("failover_policy"), 1);      // a warning passes
  EXPECT_EQ(g("failover_permission"), 1);  // unknown is never failing
  EXPECT_EQ(g("secondary_link"), 0);
  EXPECT_THAT(metrics_.Render(),
              HasSubstr("foghorn_readiness{check=\"secondary_link\",group=\"sub/rg/a\"} 0"));
  std::optional<GroupReadiness> r = scheduler_->Get("sub/rg/a");
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->checks.size(), 3u);
  EXPECT_EQ(r->checks[1].state, ReadinessState::kFailing);
  // A first run that finds a failing check is no regression: nothing was passing before.
  EXPECT_TRUE(notifier_.Sent().empty());
}

TEST_F(ReadinessSchedulerTest, ACheckThatStopsPassingIsNotifiedOnce) {
  source_.Set({{"failover_permission", ReadinessState::kOk, "allowed"},
               {"sku_parity", ReadinessState::kUnknown, "not served"}});
  scheduler_->SetRunbooks({Group("a")});
  Run(absl::Seconds(2));
  EXPECT_EQ(metrics_.Value("foghorn_readiness",
                           {{"group", "sub/rg/a"}, {"check", "failover_permission"}}),
            1);
  // The permission is removed; sku_parity turns failing from unknown (no regression).
  source_.Set({{"failover_permission", ReadinessState::kFailing, "may not failover/action"},
               {"sku_parity", ReadinessState::kFailing, "GP_Gen5_2 vs GP_Gen5_4"}});
  Run(absl::Minutes(3));
  std::vector<executor::Notification> sent = notifier_.Sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].event, "readiness_regressed");
  EXPECT_EQ(sent[0].group_id, "sub/rg/a");
  EXPECT_THAT(sent[0].summary, HasSubstr("failover_permission was ok, now failing: may not"));
  EXPECT_THAT(sent[0].details_json, HasSubstr("\"check\":\"failover_permission\""));
  EXPECT_EQ(metrics_.Value("foghorn_readiness",
                           {{"group", "sub/rg/a"}, {"check", "failover_permission"}}),
            0);
  // Still failing on the next run: no second notification.
  Run(absl::Minutes(3));
  EXPECT_EQ(notifier_.Sent().size(), 1u);
}

TEST_F(ReadinessSchedulerTest, AGroupRemovedIsNoLongerChecked) {
  source_.Set({{"x", ReadinessState::kOk, ""}});
  scheduler_->SetRunbooks({Group("a"), Group("b")});
  Run(absl::Minutes(3));
  const size_t before = source_.runs().size();
  scheduler_->SetRunbooks({Group("b")});
  Run(absl::Minutes(3));
  std::vector<std::pair<std::string, absl::Time>> runs = source_.runs();
  for (size_t i = before; i < runs.size(); ++i) EXPECT_EQ(runs[i].first, "sub/rg/b");
  EXPECT_GT(runs.size(), before);
  EXPECT_FALSE(scheduler_->Get("sub/rg/a").has_value());
}

TEST(ReadinessConfigTest, TheIntervalDefaultsToFiveMinutesAndMustBeAtLeastOne) {
  auto c = ParseAgentConfig("agent.yaml", "state_dir: s\nrunbooks: [rb]\n", "/etc/foghorn");
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(common::FromProtoDuration(c->readiness().interval()), absl::Minutes(5));
  auto bad = ParseAgentConfig("agent.yaml",
                              "state_dir: s\nrunbooks: [rb]\nreadiness: {interval: 10s}\n", "/x");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()),
              HasSubstr("readiness.interval: must be at least 1m"));
}

// ---- the ARM checks ----

class FakeReads final : public ReadinessReads {
 public:
  absl::StatusOr<arm::FailoverGroup> Group(const arm::FailoverGroupId& id) override {
    arm::FailoverGroup g;
    g.replication_role =
        id.server == primary ? arm::ReplicationRole::kPrimary : arm::ReplicationRole::kSecondary;
    return g;
  }
  absl::StatusOr<std::vector<arm::ReplicationLink>> Links(const arm::DatabaseId& db) override {
    auto it = links.find(db.ShortName());
    if (it == links.end()) return absl::NotFoundError("no database " + db.ShortName());
    return it->second;
  }
  absl::StatusOr<std::string> Read(const std::string&, const std::string&,
                                   const std::string& path) override {
    for (const auto& [needle, body] : bodies) {
      if (absl::StrContains(path, needle)) return body;
    }
    return absl::NotFoundError("404 for " + path);
  }

  std::string primary = "srv-a";
  std::map<std::string, absl::StatusOr<std::vector<arm::ReplicationLink>>> links;
  std::vector<std::pair<std::string, absl::StatusOr<std::string>>> bodies;
};

arm::ReplicationLink Link(const std::string& partner, const std::string& state,
                          const std::string& type) {
  arm::ReplicationLink l;
  l.partner_server = partner;
  l.replication_state = state;
  l.link_type = type;
  return l;
}

const ReadinessCheck& Find(const std::vector<ReadinessCheck>& checks, const std::string& name) {
  for (const ReadinessCheck& c : checks) {
    if (c.name == name) return c;
  }
  static const ReadinessCheck kNone;
  ADD_FAILURE() << "no check " << name;
  return kNone;
}

TEST(ArmReadinessChecksTest, AllPassOnAHealthyGroupWithPermissionAndEqualSizes) {
  FakeReads reads;
  reads.links["srv-b/db1"] =
      std::vector<arm::ReplicationLink>{Link("srv-a", "CATCH_UP", "STANDBY")};
  reads.bodies = {
      {"Microsoft.Authorization/permissions", std::string(R"({"value":[{"actions":["*"]}]})")},
      {"/databases/db1", std::string(R"({"sku":{"name":"GP_Gen5","capacity":2},
          "properties":{"currentServiceObjectiveName":"GP_Gen5_2"}})")}};
  ArmReadinessChecks checks(reads);
  std::vector<ReadinessCheck> r = checks.Check(Group("a"));
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(Find(r, "failover_permission").state, ReadinessState::kOk);
  EXPECT_EQ(Find(r, "secondary_link").state, ReadinessState::kOk);
  EXPECT_THAT(Find(r, "secondary_link").detail, HasSubstr("db1: CATCH_UP, STANDBY"));
  EXPECT_EQ(Find(r, "sku_parity").state, ReadinessState::kOk);
}

TEST(ArmReadinessChecksTest, ARemovedPermissionASuspendedLinkAndASmallerSecondaryFail) {
  FakeReads reads;
  reads.links["srv-b/db1"] = std::vector<arm::ReplicationLink>{Link("srv-a", "SUSPENDED", "GEO")};
  reads.bodies = {{"Microsoft.Authorization/permissions",
                   std::string(R"({"value":[{"actions":["Microsoft.Sql/*"],
           "notActions":["Microsoft.Sql/servers/failoverGroups/forceFailoverAllowDataLoss/action"]}]})")},
                  {"srv-a/databases/db1",
                   std::string(R"({"properties":{"currentServiceObjectiveName":"GP_Gen5_4"}})")},
                  {"srv-b/databases/db1",
                   std::string(R"({"properties":{"currentServiceObjectiveName":"GP_Gen5_2"}})")}};
  std::vector<ReadinessCheck> r = ArmReadinessChecks(reads).Check(Group("a"));
  EXPECT_EQ(Find(r, "failover_permission").state, ReadinessState::kFailing);
  EXPECT_THAT(Find(r, "failover_permission").detail, HasSubstr("forceFailoverAllowDataLoss"));
  EXPECT_EQ(Find(r, "secondary_link").state, ReadinessState::kFailing);
  EXPECT_THAT(Find(r, "secondary_link").detail, HasSubstr("db1: SUSPENDED, GEO"));
  EXPECT_EQ(Find(r, "sku_parity").state, ReadinessState::kFailing);
  EXPECT_THAT(Find(r, "sku_parity").detail,
              HasSubstr("db1: GP_Gen5_4 on srv-a, GP_Gen5_2 on srv-b"));
}

TEST(ArmReadinessChecksTest, ReadsTheEndpointDoesNotServeAreUnknownNeverFailing) {
  FakeReads reads;  // 404 for permissions and databases
  reads.links["srv-b/db1"] = std::vector<arm::ReplicationLink>{Link("srv-a", "CATCH_UP", "GEO")};
  std::vector<ReadinessCheck> r = ArmReadinessChecks(reads).Check(Group("a"));
  EXPECT_EQ(Find(r, "failover_permission").state, ReadinessState::kUnknown);
  EXPECT_THAT(Find(r, "failover_permission").detail, HasSubstr("(404): permission not checked"));
  EXPECT_EQ(Find(r, "sku_parity").state, ReadinessState::kUnknown);
  EXPECT_THAT(Find(r, "sku_parity").detail, HasSubstr("parity not checked"));
}

TEST(ArmReadinessChecksTest, AfterAFailoverTheChecksFollowTheCurrentSecondary) {
  FakeReads reads;
  reads.primary = "srv-b";
  reads.links["srv-a/db1"] = std::vector<arm::ReplicationLink>{Link("srv-b", "SEEDING", "GEO")};
  std::vector<ReadinessCheck> r = ArmReadinessChecks(reads).Check(Group("a"));
  EXPECT_EQ(Find(r, "secondary_link").state, ReadinessState::kFailing);
  EXPECT_THAT(Find(r, "secondary_link").detail,
              HasSubstr("secondary srv-a not ready: db1: SEEDING"));
}

TEST(PermissionsTest, WildcardsAndNotActions) {
  auto p = ParsePermissions(
      R"({"value":[{"actions":["microsoft.sql/servers/*/read"]},
                   {"actions":["Microsoft.Sql/servers/failoverGroups/*"],"notActions":["*/forceFailoverAllowDataLoss/action"]}]})");
  ASSERT_THAT(p, IsOk());
  EXPECT_TRUE(PermissionAllows(*p, "Microsoft.Sql/servers/failoverGroups/failover/action"));
  EXPECT_FALSE(PermissionAllows(
      *p, "Microsoft.Sql/servers/failoverGroups/forceFailoverAllowDataLoss/action"));
  EXPECT_TRUE(PermissionAllows(*p, "Microsoft.Sql/servers/databases/read"));
  EXPECT_FALSE(ParsePermissions("{\"value\": 3}").ok());
  EXPECT_FALSE(ParsePermissions("not json").ok());
  EXPECT_FALSE(ParseDatabaseSku("[]").ok());
}

}  // namespace
}  // namespace foghorn::agent
