// Every readiness check passes on a healthy fixture and fails (or warns) on its own broken one.
#include "orchestrator/drill/readiness.h"

#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orchestrator/journal/sqlite_journal.h"
#include "tests/orchestrator/drill/drill_fakes.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace foghorn::drill {
namespace {

using namespace ::foghorn::drill::testing;  // NOLINT
using ::foghorn::testing::FakeArm;
using ::testing::HasSubstr;

class DrillReadinessTest : public ::testing::Test {
 protected:
  DrillReadinessTest() : arm_(ArmOptions(clock_)) {
    auto j = journal::SqliteJournal::Open(tmp_.File("journal.db"), clock_);
    EXPECT_TRUE(j.ok());
    journal_ = *std::move(j);
    knowledge_.groups[GroupIdOf()] = AgentGroupInfo{};
  }

  ReadinessReport Run() {
    ReadinessChecker checker({clock_, arm_, dialer_, &knowledge_, journal_.get()}, {});
    return checker.Run(runbook_);
  }

  // By value: callers often pass a temporary report.
  CheckResult Check(const ReadinessReport& r, std::string_view name) {
    const CheckResult* c = r.Find(name);
    EXPECT_NE(c, nullptr) << name;
    return c != nullptr ? *c : CheckResult{};
  }

  ::foghorn::testing::TempDir tmp_;
  common::FakeClock clock_;
  FakeArm arm_;
  FakeDialer dialer_;
  FakeKnowledge knowledge_;
  std::unique_ptr<journal::SqliteJournal> journal_;
  v1::Runbook runbook_ = HealthyRunbook();
};

TEST_F(DrillReadinessTest, EveryCheckPassesOnAHealthyGroup) {
  ReadinessReport r = Run();
  ASSERT_EQ(r.checks.size(), 8u);
  for (const CheckResult& c : r.checks) {
    EXPECT_EQ(c.status, CheckStatus::kPass) << c.name << ": " << c.reason;
    EXPECT_TRUE(c.fix.empty()) << c.name;
  }
  EXPECT_TRUE(r.Ready());
  EXPECT_EQ(r.arm.current_primary, kEast);
  EXPECT_EQ(r.arm.current_secondary, kWest);
}

TEST_F(DrillReadinessTest, ArmAccessFailsWhenTheIdentityMayNotReadOneServer) {
  arm_.SetGetError(kWest, absl::PermissionDeniedError("AuthorizationFailed"));
  ReadinessReport r = Run();
  CheckResult c = Check(r, kCheckArmAccess);
  EXPECT_EQ(c.status, CheckStatus::kFail);
  EXPECT_THAT(c.reason, HasSubstr("sql-west"));
  EXPECT_THAT(c.fix, HasSubstr("grant the identity"));
  EXPECT_FALSE(r.Ready());
}

TEST_F(DrillReadinessTest, ArmAccessFailsWithACredentialHintWhenUnauthenticated) {
  arm_.SetGetError(kEast, absl::UnauthenticatedError("InvalidAuthenticationToken"));
  CheckResult c = Check(Run(), kCheckArmAccess);
  EXPECT_EQ(c.status, CheckStatus::kFail);
  EXPECT_THAT(c.fix, HasSubstr("tenant"));
}

TEST_F(DrillReadinessTest, TheCredentialHintNamesTheArmEndpointInUse) {
  arm_.SetGetError(kEast, absl::UnauthenticatedError("InvalidAuthenticationToken"));
  runbook_.mutable_group()->clear_arm_endpoint();
  ReadinessChecker checker({clock_, arm_, dialer_, &knowledge_, journal_.get()},
                           {absl::Seconds(3), "https://arm.sovereign.example"});
  CheckResult c = Check(checker.Run(runbook_), kCheckArmAccess);
  EXPECT_THAT(c.fix, HasSubstr("https://arm.sovereign.example"));
}

TEST_F(DrillReadinessTest, GroupRolesFailWhenTheGroupDoesNotExist) {
  arm_.DeleteGroup(kGroup);
  ReadinessReport r = Run();
  EXPECT_EQ(Check(r, kCheckArmAccess).status, CheckStatus::kPass);
  CheckResult c = Check(r, kCheckGroupRoles);
  EXPECT_EQ(c.status, CheckStatus::kFail);
  EXPECT_THAT(c.reason, HasSubstr("not found"));
}

TEST_F(DrillReadinessTest, GroupRolesFailWhenBothServersClaimPrimary) {
  arm_.SetBothPrimary(true);
  CheckResult c = Check(Run(), kCheckGroupRoles);
  EXPECT_EQ(c.status, CheckStatus::kFail);
  EXPECT_THAT(c.reason, HasSubstr("unexpected roles"));
}

TEST_F(DrillReadinessTest, GroupRolesFailWhenThePartnerIsNotTheRunbooksSecondary) {
  arm_.SetPartners(kEast, {"sql-north"});
  CheckResult c = Check(Run(), kCheckGroupRoles);
  EXPECT_EQ(c.status, CheckStatus::kFail);
  EXPECT_THAT(c.reason, HasSubstr("sql-north"));
}

TEST_F(DrillReadinessTest, GroupRolesFailWithMoreThanOnePartner) {
  arm_.SetPartners(kEast, {"sql-west", "sql-north"});
  CheckResult c = Check(Run(), kCheckGroupRoles);
  EXPECT_EQ(c.status, CheckStatus::kFail);
  EXPECT_THAT(c.reason, HasSubstr("2 partner servers"));
}

TEST_F(DrillReadinessTest, GroupRolesWarnWhenTheGroupRunsOnItsPartner) {
  arm_.SetPrimary(kWest);
  ReadinessReport r = Run();
  CheckResult c = Check(r, kCheckGroupRoles);
  EXPECT_EQ(c.status, CheckStatus::kWarn);
  EXPECT_TRUE(r.Ready());
  EXPECT_EQ(r.arm.current_primary, kWest);
}

TEST_F(DrillReadinessTest, ReplicationFailsWhenSuspended) {
  arm_.SetReplicationState("SUSPENDED");
  CheckResult c = Check(Run(), kCheckReplication);
  EXPECT_EQ(c.status, CheckStatus::kFail);
  EXPECT_THAT(c.reason, HasSubstr("SUSPENDED"));
}

TEST_F(DrillReadinessTest, ReplicationFailsWhileSeeding) {
  arm_.SetReplicationState("SEEDING");
  EXPECT_EQ(Check(Run(), kCheckReplication).status, CheckStatus::kFail);
}

TEST_F(DrillReadinessTest, DatabasesFailNamingTheOneMissingFromTheGroup) {
  arm_.SetDatabases({"/subscriptions/sub-1/resourceGroups/rg-1/servers/sql-east/databases/orders"});
  CheckResult c = Check(Run(), kCheckDatabases);
  EXPECT_EQ(c.status, CheckStatus::kFail);
  EXPECT_THAT(c.reason, HasSubstr("customers"));
}

TEST_F(DrillReadinessTest, FailoverPolicyWarnsOnAutomatic) {
  arm_.SetFailoverPolicy("Automatic");
  ReadinessReport r = Run();
  CheckResult c = Check(r, kCheckFailoverPolicy);
  EXPECT_EQ(c.status, CheckStatus::kWarn);
  EXPECT_THAT(c.fix, HasSubstr("Manual"));
  EXPECT_TRUE(r.Ready());
}

TEST_F(DrillReadinessTest, ListenersFailWhenTheReadWriteListenerDoesNotAnswer) {
  dialer_.down.insert(kRwListener);
  CheckResult c = Check(Run(), kCheckListeners);
  EXPECT_EQ(c.status, CheckStatus::kFail);
  EXPECT_THAT(c.reason, HasSubstr(kRwListener));
}

TEST_F(DrillReadinessTest, ListenersFailWhenTheReadWriteNameDoesNotResolve) {
  dialer_.unresolvable.insert(kRwListener);
  EXPECT_EQ(Check(Run(), kCheckListeners).status, CheckStatus::kFail);
}

TEST_F(DrillReadinessTest, ListenersOnlyWarnWhenTheReadOnlyListenerIsDown) {
  dialer_.down.insert(kRoListener);
  EXPECT_EQ(Check(Run(), kCheckListeners).status, CheckStatus::kWarn);
}

TEST_F(DrillReadinessTest, ListenersWarnWhenTheRunbookHasNoListenerProbe) {
  runbook_.clear_probes();
  EXPECT_EQ(Check(Run(), kCheckListeners).status, CheckStatus::kWarn);
}

TEST_F(DrillReadinessTest, NoOperationFailsWhileTheAgentRunsOne) {
  knowledge_.groups[GroupIdOf()].in_flight_operation = "op-42";
  CheckResult c = Check(Run(), kCheckNoOperation);
  EXPECT_EQ(c.status, CheckStatus::kFail);
  EXPECT_THAT(c.reason, HasSubstr("op-42"));
}

TEST_F(DrillReadinessTest, NoOperationFailsForAnUnfinishedJournalOperation) {
  journal::OperationRecord op;
  op.group_id = GroupIdOf();
  op.kind = "planned";
  op.target_server = kWest;
  op.state = journal::OperationState::kRunning;
  auto created = journal_->CreateOperation(op);
  ASSERT_TRUE(created.ok());
  CheckResult c = Check(Run(), kCheckNoOperation);
  EXPECT_EQ(c.status, CheckStatus::kFail);
  EXPECT_THAT(c.reason, HasSubstr(created->operation.id));
}

TEST_F(DrillReadinessTest, NotPausedFailsWhileAutomationIsPaused) {
  knowledge_.groups[GroupIdOf()].paused_until = clock_.Now() + absl::Hours(1);
  knowledge_.groups[GroupIdOf()].pause_reason = "patching";
  CheckResult c = Check(Run(), kCheckNotPaused);
  EXPECT_EQ(c.status, CheckStatus::kFail);
  EXPECT_THAT(c.reason, HasSubstr("patching"));
}

TEST_F(DrillReadinessTest, AgentChecksAreSkippedWithoutAgentState) {
  ReadinessChecker checker({clock_, arm_, dialer_, nullptr, nullptr}, {});
  ReadinessReport r = checker.Run(runbook_);
  EXPECT_EQ(Check(r, kCheckNoOperation).status, CheckStatus::kSkip);
  EXPECT_EQ(Check(r, kCheckNotPaused).status, CheckStatus::kSkip);
  EXPECT_TRUE(r.Ready());
}

}  // namespace
}  // namespace foghorn::drill
