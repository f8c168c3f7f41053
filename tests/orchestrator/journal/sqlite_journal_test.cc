#include "orchestrator/journal/sqlite_journal.h"

#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orchestrator/common/fake_clock.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace foghorn::journal {
namespace {

using ::foghorn::testing::IsOk;
using ::foghorn::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

class SqliteJournalTest : public ::testing::Test {
 protected:
  std::unique_ptr<SqliteJournal> OpenJournal() {
    auto j = SqliteJournal::Open(dir_.File("journal.db"), clock_);
    EXPECT_THAT(j, IsOk());
    return std::move(j).value();
  }
  OperationRecord Failover(const std::string& request_id = "") {
    OperationRecord op;
    op.group_id = "sub/rg/fog-1";
    op.kind = "forced";
    op.target_server = "srv-b";
    op.request_id = request_id;
    op.requested_by = "agent";
    op.reason = "primary down";
    return op;
  }
  foghorn::testing::TempDir dir_;
  common::FakeClock clock_;
};

TEST_F(SqliteJournalTest, CreatesOperationsWithIdsAndTimes) {
  auto j = OpenJournal();
  auto created = j->CreateOperation(Failover());
  ASSERT_THAT(created, IsOk());
  EXPECT_TRUE(created->created);
  EXPECT_THAT(created->operation.id, HasSubstr("op-"));
  EXPECT_EQ(created->operation.created_at, clock_.Now());
  auto read = j->GetOperation(created->operation.id);
  ASSERT_THAT(read, IsOk());
  EXPECT_EQ(read->reason, "primary down");
  EXPECT_EQ(read->target_server, "srv-b");
  EXPECT_EQ(read->state, OperationState::kPending);
}

TEST_F(SqliteJournalTest, ARepeatedRequestIdMapsToTheSameOperation) {
  auto j = OpenJournal();
  auto first = j->CreateOperation(Failover("req-1"));
  auto second = j->CreateOperation(Failover("req-1"));
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT(second, IsOk());
  EXPECT_FALSE(second->created);
  EXPECT_EQ(first->operation.id, second->operation.id);
  EXPECT_THAT(*j->ListOperations("", 0), SizeIs(1));
}

TEST_F(SqliteJournalTest, RejectsOperationsWithoutGroupOrKind) {
  auto j = OpenJournal();
  OperationRecord op;
  EXPECT_THAT(j->CreateOperation(op), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(SqliteJournalTest, StepsRecordIntentBeforeAndOutcomeAfter) {
  auto j = OpenJournal();
  auto op = j->CreateOperation(Failover())->operation;
  auto s1 = j->BeginStep(op.id, "pre:notify", "webhook");
  ASSERT_THAT(s1, IsOk());
  clock_.Advance(absl::Seconds(2));
  ASSERT_THAT(j->EndStep(s1->id, StepState::kDone, "200"), IsOk());
  auto s2 = j->BeginStep(op.id, "arm:forceFailoverAllowDataLoss", "");
  ASSERT_THAT(s2, IsOk());
  auto steps = j->Steps(op.id);
  ASSERT_THAT(steps, IsOk());
  ASSERT_THAT(*steps, SizeIs(2));
  EXPECT_EQ((*steps)[0].seq, 1);
  EXPECT_EQ((*steps)[0].state, StepState::kDone);
  EXPECT_EQ((*steps)[0].finished_at - (*steps)[0].started_at, absl::Seconds(2));
  EXPECT_EQ((*steps)[1].seq, 2);
  EXPECT_EQ((*steps)[1].state, StepState::kIntent);
  EXPECT_EQ((*steps)[1].finished_at, absl::InfinitePast());
}

TEST_F(SqliteJournalTest, AStepEndsOnlyOnce) {
  auto j = OpenJournal();
  auto op = j->CreateOperation(Failover())->operation;
  auto s = j->BeginStep(op.id, "wait", "");
  ASSERT_THAT(j->EndStep(s->id, StepState::kDone, ""), IsOk());
  EXPECT_THAT(j->EndStep(s->id, StepState::kFailed, ""), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(j->EndStep(s->id, StepState::kIntent, ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(SqliteJournalTest, FinishedOperationsNeverChange) {
  auto j = OpenJournal();
  auto op = j->CreateOperation(Failover())->operation;
  ASSERT_THAT(j->UpdateOperation(op.id, OperationState::kSucceeded, "roles swapped"), IsOk());
  EXPECT_THAT(j->UpdateOperation(op.id, OperationState::kFailed, "late"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(j->BeginStep(op.id, "late step", ""),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(j->GetOperation(op.id)->outcome, "roles swapped");
}

TEST_F(SqliteJournalTest, UnknownOperationsAreNotFound) {
  auto j = OpenJournal();
  EXPECT_THAT(j->GetOperation("op-nope"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(j->UpdateOperation("op-nope", OperationState::kFailed, ""),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(j->BeginStep("op-nope", "x", ""), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(SqliteJournalTest, UnfinishedOperationsAndArmUrlSurviveReopening) {
  std::string id;
  {
    auto j = OpenJournal();
    id = j->CreateOperation(Failover("req-9"))->operation.id;
    ASSERT_THAT(j->UpdateOperation(id, OperationState::kRunning, ""), IsOk());
    ASSERT_THAT(j->SetArmOperationUrl(id, "https://arm/op/1"), IsOk());
    auto done = j->CreateOperation(Failover("req-10"))->operation.id;
    ASSERT_THAT(j->UpdateOperation(done, OperationState::kSucceeded, ""), IsOk());
  }
  auto j = OpenJournal();
  auto unfinished = j->UnfinishedOperations();
  ASSERT_THAT(unfinished, IsOk());
  ASSERT_THAT(*unfinished, SizeIs(1));
  EXPECT_EQ((*unfinished)[0].id, id);
  EXPECT_EQ((*unfinished)[0].arm_operation_url, "https://arm/op/1");
  EXPECT_EQ((*j->FindByRequestId("req-9"))->id, id);
  EXPECT_FALSE(j->FindByRequestId("req-404")->has_value());
}

TEST_F(SqliteJournalTest, ListsOperationsNewestFirstPerGroup) {
  auto j = OpenJournal();
  auto a = j->CreateOperation(Failover())->operation;
  clock_.Advance(absl::Seconds(1));
  auto b = j->CreateOperation(Failover())->operation;
  OperationRecord other = Failover();
  other.group_id = "sub/rg/fog-2";
  ASSERT_THAT(j->CreateOperation(other), IsOk());
  auto ops = j->ListOperations("sub/rg/fog-1", 0);
  ASSERT_THAT(ops, IsOk());
  EXPECT_THAT(*ops,
              ElementsAre(Field(&OperationRecord::id, b.id), Field(&OperationRecord::id, a.id)));
  EXPECT_THAT(*j->ListOperations("", 1), SizeIs(1));
}

TEST_F(SqliteJournalTest, LastSucceededFailoverIgnoresDrillsAndFailures) {
  auto j = OpenJournal();
  EXPECT_FALSE(j->LastSucceededFailover("sub/rg/fog-1")->has_value());
  auto failed = j->CreateOperation(Failover())->operation;
  ASSERT_THAT(j->UpdateOperation(failed.id, OperationState::kFailed, ""), IsOk());
  OperationRecord drill = Failover();
  drill.kind = "drill";
  auto d = j->CreateOperation(drill)->operation;
  ASSERT_THAT(j->UpdateOperation(d.id, OperationState::kSucceeded, ""), IsOk());
  EXPECT_FALSE(j->LastSucceededFailover("sub/rg/fog-1")->has_value());
  clock_.Advance(absl::Minutes(3));
  auto ok = j->CreateOperation(Failover())->operation;
  ASSERT_THAT(j->UpdateOperation(ok.id, OperationState::kSucceeded, ""), IsOk());
  EXPECT_EQ(**j->LastSucceededFailover("sub/rg/fog-1"), clock_.Now());
}

TEST_F(SqliteJournalTest, DecisionsAndAuditAreKeptNewestFirst) {
  auto j = OpenJournal();
  ASSERT_THAT(
      j->RecordDecision({0, "g", absl::InfinitePast(), "SUSPECT", "none", "", "one probe failing"}),
      IsOk());
  clock_.Advance(absl::Seconds(30));
  ASSERT_THAT(j->RecordDecision({0, "g", absl::InfinitePast(), "CONFIRMED_DOWN", "hold",
                                 R"(["secondary_unhealthy"])", "secondary down"}),
              IsOk());
  auto ds = j->Decisions("g", 0);
  ASSERT_THAT(ds, IsOk());
  ASSERT_THAT(*ds, SizeIs(2));
  EXPECT_EQ((*ds)[0].state, "CONFIRMED_DOWN");
  EXPECT_EQ((*ds)[0].reasons_json, R"(["secondary_unhealthy"])");
  EXPECT_EQ((*ds)[1].reasons_json, "[]");
  EXPECT_THAT(*j->Decisions("other", 0), IsEmpty());

  ASSERT_THAT(j->Audit({0, absl::InfinitePast(), "alice", "Pause", "g", "maintenance", "ok"}),
              IsOk());
  EXPECT_THAT(j->Audit({0, absl::InfinitePast(), "", "Pause", "g", "", ""}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  auto trail = j->AuditTrail(10);
  ASSERT_THAT(trail, IsOk());
  ASSERT_THAT(*trail, SizeIs(1));
  EXPECT_EQ((*trail)[0].actor, "alice");
  EXPECT_EQ((*trail)[0].at, clock_.Now());
}

TEST_F(SqliteJournalTest, AFileThatIsNotAJournalIsRefused) {
  std::string path = dir_.Write("garbage.db", std::string(4096, 'x'));
  EXPECT_THAT(SqliteJournal::Open(path, clock_), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(SqliteJournal::Open(dir_.File("missing-dir/j.db"), clock_),
              StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace foghorn::journal
