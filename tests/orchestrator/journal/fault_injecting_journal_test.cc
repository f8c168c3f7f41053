#include "orchestrator/journal/fault_injecting_journal.h"

#include "gtest/gtest.h"
#include "orchestrator/common/fake_clock.h"
#include "orchestrator/journal/sqlite_journal.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace foghorn::journal {
namespace {

using ::foghorn::testing::IsOk;
using ::foghorn::testing::StatusIs;

OperationRecord Op() {
  OperationRecord op;
  op.group_id = "g";
  op.kind = "planned";
  return op;
}

TEST(FaultInjectingJournalTest, TheFailingWriteReachesNothing) {
  foghorn::testing::TempDir dir;
  common::FakeClock clock;
  auto base = SqliteJournal::Open(dir.File("j.db"), clock);
  ASSERT_THAT(base, IsOk());
  FaultInjectingJournal::Options options;
  options.fail_write = 2;
  FaultInjectingJournal j(std::move(base).value(), options);
  auto op = j.CreateOperation(Op());
  ASSERT_THAT(op, IsOk());
  EXPECT_THAT(j.BeginStep(op->operation.id, "arm:failover", ""),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_TRUE(j.Steps(op->operation.id)->empty());
  EXPECT_THAT(j.BeginStep(op->operation.id, "arm:failover", ""), IsOk());
  EXPECT_EQ(j.writes(), 3);
}

TEST(FaultInjectingJournalTest, CrashesRightAfterTheChosenWriteCommits) {
  foghorn::testing::TempDir dir;
  common::FakeClock clock;
  int crashes = 0;
  std::string id;
  {
    auto base = SqliteJournal::Open(dir.File("j.db"), clock);
    ASSERT_THAT(base, IsOk());
    FaultInjectingJournal::Options options;
    options.crash_after_write = 1;
    options.on_crash = [&] { ++crashes; };
    FaultInjectingJournal j(std::move(base).value(), options);
    id = j.CreateOperation(Op())->operation.id;
    EXPECT_EQ(crashes, 1);
  }
  auto reopened = SqliteJournal::Open(dir.File("j.db"), clock);
  ASSERT_THAT(reopened, IsOk());
  EXPECT_THAT((*reopened)->GetOperation(id), IsOk());
}

TEST(FaultInjectingJournalTest, ForwardsPruneWithoutCountingItAsAWrite) {
  foghorn::testing::TempDir dir;
  common::FakeClock clock;
  auto base = SqliteJournal::Open(dir.File("j.db"), clock);
  ASSERT_THAT(base, IsOk());
  FaultInjectingJournal::Options options;
  options.fail_write = 2;
  FaultInjectingJournal j(std::move(base).value(), options);
  ASSERT_THAT(j.Audit({0, absl::InfinitePast(), "agent", "Pause", "g", "", "ok"}), IsOk());
  RetentionPolicy keep_none;
  keep_none.audit_max_rows = 0;
  keep_none.audit_max_age = absl::Seconds(1);
  auto pruned = j.Prune(keep_none, clock.WallNow() + absl::Hours(1));
  ASSERT_THAT(pruned, IsOk());
  EXPECT_EQ(pruned->audit_rows, 1);
  EXPECT_EQ(j.writes(), 1);  // the crash tests' write indices do not move
  EXPECT_THAT(j.CreateOperation(Op()), StatusIs(absl::StatusCode::kUnavailable));  // write 2
}

TEST(FaultInjectingJournalTest, ACrashedJournalRefusesToPrune) {
  foghorn::testing::TempDir dir;
  common::FakeClock clock;
  auto base = SqliteJournal::Open(dir.File("j.db"), clock);
  ASSERT_THAT(base, IsOk());
  FaultInjectingJournal::Options options;
  options.crash_after_write = 1;  // no on_crash: the journal "dies"
  FaultInjectingJournal j(std::move(base).value(), options);
  ASSERT_THAT(j.CreateOperation(Op()), IsOk());
  EXPECT_THAT(j.Prune(RetentionPolicy{}, clock.WallNow()),
              StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace foghorn::journal
