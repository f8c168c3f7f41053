// Retention: Prune deletes the audit records and decisions a RetentionPolicy no longer keeps (by
// age and by count, decisions per group), in bounded transactions, and never an operation, a step
// or the control state. Time is the FakeClock's and the `now` handed to Prune.
#include <sqlite3.h>

#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orchestrator/common/fake_clock.h"
#include "orchestrator/journal/sqlite_journal.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace foghorn::journal {
namespace {

using ::foghorn::testing::IsOk;
using ::foghorn::testing::StatusIs;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

// Nothing is pruned unless a test says so.
RetentionPolicy Unlimited() { return {absl::ZeroDuration(), 0, absl::ZeroDuration(), 0, 0}; }

class SqliteJournalRetentionTest : public ::testing::Test {
 protected:
  std::unique_ptr<SqliteJournal> OpenJournal(SqliteJournal::Options options = {}) {
    options.background_writer = false;  // batches are deterministic
    auto j = SqliteJournal::Open(dir_.File("journal.db"), clock_, std::move(options));
    EXPECT_THAT(j, IsOk());
    return std::move(j).value();
  }
  static void AddAudit(SqliteJournal& j, int i) {
    ASSERT_THAT(
        j.Audit({0, absl::InfinitePast(), "agent", "Pause", "g", absl::StrCat("a", i), "ok"}),
        IsOk());
  }
  static void AddDecision(SqliteJournal& j, const std::string& group, int i) {
    ASSERT_THAT(j.RecordDecision({0, group, absl::InfinitePast(), "HEALTHY", "none", "",
                                  absl::StrCat(group, "-", i)}),
                IsOk());
  }
  static std::vector<std::string> AuditDetails(SqliteJournal& j) {
    absl::StatusOr<std::vector<AuditRecord>> trail = j.AuditTrail(0);
    EXPECT_THAT(trail, IsOk());
    std::vector<std::string> out;
    if (!trail.ok()) return out;
    for (const AuditRecord& a : *trail) out.push_back(a.detail);
    return out;  // newest first
  }
  static std::vector<std::string> Summaries(SqliteJournal& j, const std::string& group) {
    absl::StatusOr<std::vector<DecisionRecord>> ds = j.Decisions(group, 0);
    EXPECT_THAT(ds, IsOk());
    std::vector<std::string> out;
    if (!ds.ok()) return out;
    for (const DecisionRecord& d : *ds) out.push_back(d.summary);
    return out;  // newest first
  }
  // The query plan SQLite picks for `sql` on the journal file, as one line.
  std::string QueryPlan(const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(dir_.File("journal.db").c_str(), &db), SQLITE_OK);
    std::string plan;
    sqlite3_exec(
        db, ("EXPLAIN QUERY PLAN " + sql).c_str(),
        +[](void* out, int n, char** values, char**) {
          for (int i = 0; i < n; ++i)
            absl::StrAppend(static_cast<std::string*>(out), " ", values[i] ? values[i] : "");
          return 0;
        },
        &plan, nullptr);
    sqlite3_close(db);
    return plan;
  }

  foghorn::testing::TempDir dir_;
  common::FakeClock clock_;
};

TEST_F(SqliteJournalRetentionTest, DefaultsKeepAuditFor365DaysAndDecisionsFor90) {
  const RetentionPolicy p;
  EXPECT_EQ(p.audit_max_age, absl::Hours(24 * 365));
  EXPECT_EQ(p.audit_max_rows, 1'000'000);
  EXPECT_EQ(p.decisions_max_age, absl::Hours(24 * 90));
  EXPECT_EQ(p.decisions_max_rows_per_group, 10'000);
}

TEST_F(SqliteJournalRetentionTest, DeletesAuditRecordsOlderThanTheMaxAge) {
  auto j = OpenJournal();
  for (int i = 0; i < 3; ++i) AddAudit(*j, i);  // at day 0
  clock_.Advance(absl::Hours(24 * 10));
  for (int i = 3; i < 5; ++i) AddAudit(*j, i);  // at day 10
  RetentionPolicy p = Unlimited();
  p.audit_max_age = absl::Hours(24 * 5);
  auto pruned = j->Prune(p, clock_.WallNow());
  ASSERT_THAT(pruned, IsOk());
  EXPECT_EQ(pruned->audit_rows, 3);
  EXPECT_EQ(pruned->decision_rows, 0);
  EXPECT_THAT(AuditDetails(*j), ElementsAre("a4", "a3"));
}

TEST_F(SqliteJournalRetentionTest, KeepsARecordExactlyAtTheMaxAge) {
  auto j = OpenJournal();
  AddAudit(*j, 0);
  RetentionPolicy p = Unlimited();
  p.audit_max_age = absl::Hours(1);
  auto pruned = j->Prune(p, clock_.WallNow() + absl::Hours(1));
  ASSERT_THAT(pruned, IsOk());
  EXPECT_EQ(pruned->audit_rows, 0);
  EXPECT_EQ(j->writer_stats().prune_batches, 0u);  // nothing due: no write transaction at all
  pruned = j->Prune(p, clock_.WallNow() + absl::Hours(1) + absl::Microseconds(1));
  ASSERT_THAT(pruned, IsOk());
  EXPECT_EQ(pruned->audit_rows, 1);
}

TEST_F(SqliteJournalRetentionTest, KeepsOnlyTheNewestAuditRowsBeyondTheMaxCount) {
  auto j = OpenJournal();
  for (int i = 0; i < 10; ++i) AddAudit(*j, i);
  RetentionPolicy p = Unlimited();
  p.audit_max_rows = 4;
  auto pruned = j->Prune(p, clock_.WallNow());
  ASSERT_THAT(pruned, IsOk());
  EXPECT_EQ(pruned->audit_rows, 6);
  EXPECT_THAT(AuditDetails(*j), ElementsAre("a9", "a8", "a7", "a6"));
  // Nothing more to do: a second run deletes nothing.
  EXPECT_EQ(j->Prune(p, clock_.WallNow())->audit_rows, 0);
}

TEST_F(SqliteJournalRetentionTest, CountsRecordsAcceptedButNotYetCommitted) {
  auto j = OpenJournal();
  for (int i = 0; i < 20; ++i) AddAudit(*j, i);
  EXPECT_EQ(j->writer_stats().queued, 20u);
  RetentionPolicy p = Unlimited();
  p.audit_max_rows = 5;
  auto pruned = j->Prune(p, clock_.WallNow());
  ASSERT_THAT(pruned, IsOk());
  EXPECT_EQ(pruned->audit_rows, 15);
  EXPECT_THAT(AuditDetails(*j), SizeIs(5));
}

TEST_F(SqliteJournalRetentionTest, DeletesDecisionsOlderThanTheMaxAgeInEveryGroup) {
  auto j = OpenJournal();
  AddDecision(*j, "g", 0);
  AddDecision(*j, "h", 0);
  clock_.Advance(absl::Hours(24 * 100));
  AddDecision(*j, "g", 1);
  RetentionPolicy p = Unlimited();
  p.decisions_max_age = absl::Hours(24 * 90);
  auto pruned = j->Prune(p, clock_.WallNow());
  ASSERT_THAT(pruned, IsOk());
  EXPECT_EQ(pruned->decision_rows, 2);
  EXPECT_EQ(pruned->audit_rows, 0);
  EXPECT_THAT(Summaries(*j, "g"), ElementsAre("g-1"));
  EXPECT_THAT(Summaries(*j, "h"), ElementsAre());
}

TEST_F(SqliteJournalRetentionTest, KeepsTheNewestDecisionsOfEachGroupSeparately) {
  auto j = OpenJournal();
  // Interleaved, so one group's oldest are not the table's oldest.
  for (int i = 0; i < 6; ++i) {
    AddDecision(*j, "busy", i);
    if (i < 2) AddDecision(*j, "quiet", i);
  }
  for (int i = 6; i < 8; ++i) AddDecision(*j, "busy", i);
  RetentionPolicy p = Unlimited();
  p.decisions_max_rows_per_group = 3;
  auto pruned = j->Prune(p, clock_.WallNow());
  ASSERT_THAT(pruned, IsOk());
  EXPECT_EQ(pruned->decision_rows, 5);
  EXPECT_THAT(Summaries(*j, "busy"), ElementsAre("busy-7", "busy-6", "busy-5"));
  EXPECT_THAT(Summaries(*j, "quiet"), ElementsAre("quiet-1", "quiet-0"));  // under its limit
}

TEST_F(SqliteJournalRetentionTest, AppliesAgeAndCountTogether) {
  auto j = OpenJournal();
  for (int i = 0; i < 3; ++i) AddDecision(*j, "g", i);
  clock_.Advance(absl::Hours(24 * 2));
  for (int i = 3; i < 8; ++i) AddDecision(*j, "g", i);
  RetentionPolicy p = Unlimited();
  p.decisions_max_age = absl::Hours(24);
  p.decisions_max_rows_per_group = 2;
  auto pruned = j->Prune(p, clock_.WallNow());
  ASSERT_THAT(pruned, IsOk());
  EXPECT_EQ(pruned->decision_rows, 6);  // 3 by age, then 3 by count
  EXPECT_THAT(Summaries(*j, "g"), ElementsAre("g-7", "g-6"));
}

TEST_F(SqliteJournalRetentionTest, ZeroLimitsKeepEverything) {
  auto j = OpenJournal();
  for (int i = 0; i < 50; ++i) {
    AddAudit(*j, i);
    AddDecision(*j, "g", i);
  }
  clock_.Advance(absl::Hours(24 * 365 * 10));
  auto pruned = j->Prune(Unlimited(), clock_.WallNow());
  ASSERT_THAT(pruned, IsOk());
  EXPECT_EQ(pruned->audit_rows, 0);
  EXPECT_EQ(pruned->decision_rows, 0);
  EXPECT_THAT(AuditDetails(*j), SizeIs(50));
  EXPECT_THAT(Summaries(*j, "g"), SizeIs(50));
  EXPECT_EQ(j->writer_stats().prune_batches, 0u);  // nothing to do, no transaction
}

TEST_F(SqliteJournalRetentionTest, ZeroInOneDimensionLeavesTheOtherInForce) {
  auto j = OpenJournal();
  for (int i = 0; i < 10; ++i) AddAudit(*j, i);
  clock_.Advance(absl::Hours(24 * 1000));
  RetentionPolicy p = Unlimited();
  p.audit_max_rows = 7;  // age unlimited: the 1000-day-old records stay, but only 7 of them
  auto pruned = j->Prune(p, clock_.WallNow());
  ASSERT_THAT(pruned, IsOk());
  EXPECT_EQ(pruned->audit_rows, 3);
}

TEST_F(SqliteJournalRetentionTest, DeletesInTransactionsOfAtMostTheBatchSize) {
  SqliteJournal::Options o;
  o.max_prune_batch = 10;
  auto j = OpenJournal(o);
  for (int i = 0; i < 35; ++i) AddAudit(*j, i);
  ASSERT_THAT(j->Flush(), IsOk());
  const std::uint64_t sync_before = j->writer_stats().sync_transactions;
  RetentionPolicy p = Unlimited();
  p.audit_max_age = absl::Hours(1);
  auto pruned = j->Prune(p, clock_.WallNow() + absl::Hours(2));
  ASSERT_THAT(pruned, IsOk());
  EXPECT_EQ(pruned->audit_rows, 35);
  SqliteJournal::WriterStats stats = j->writer_stats();
  EXPECT_EQ(stats.prune_batches, 4u);  // 10 + 10 + 10 + 5
  EXPECT_EQ(stats.sync_transactions - sync_before, 4u);
  EXPECT_THAT(AuditDetails(*j), SizeIs(0));
}

TEST_F(SqliteJournalRetentionTest, StepWritesGoOnWhileAPruneRuns) {
  SqliteJournal::Options o;
  o.max_prune_batch = 50;
  auto j = OpenJournal(o);
  for (int i = 0; i < 5000; ++i) AddAudit(*j, i);
  ASSERT_THAT(j->Flush(), IsOk());
  OperationRecord op;
  op.group_id = "g";
  op.kind = "planned";
  const std::string id = j->CreateOperation(op)->operation.id;
  RetentionPolicy p = Unlimited();
  p.audit_max_rows = 1;
  absl::StatusOr<PruneResult> pruned;
  std::thread pruner([&] { pruned = j->Prune(p, clock_.WallNow()); });
  for (int i = 0; i < 20; ++i) {
    auto step = j->BeginStep(id, absl::StrCat("pre:", i), "");
    ASSERT_THAT(step, IsOk());
    ASSERT_THAT(j->EndStep(step->id, StepState::kDone, "ok"), IsOk());
  }
  pruner.join();
  ASSERT_THAT(pruned, IsOk());
  EXPECT_EQ(pruned->audit_rows, 4999);
  EXPECT_THAT(*j->Steps(id), SizeIs(20));
}

TEST_F(SqliteJournalRetentionTest, NeverTouchesOperationsStepsOrControlState) {
  auto j = OpenJournal();
  OperationRecord op;
  op.group_id = "g";
  op.kind = "forced";
  const std::string id = j->CreateOperation(op)->operation.id;
  auto step = j->BeginStep(id, "arm:failover", "posted");
  ASSERT_THAT(step, IsOk());
  ASSERT_THAT(j->EndStep(step->id, StepState::kDone, "accepted"), IsOk());
  ASSERT_THAT(j->UpdateOperation(id, OperationState::kSucceeded, "done"), IsOk());
  ASSERT_THAT(j->PutControlState({{"group/g", "{\"paused\":true}"}}), IsOk());
  AddAudit(*j, 0);
  AddDecision(*j, "g", 0);
  clock_.Advance(absl::Hours(24 * 365 * 5));

  RetentionPolicy p;  // the defaults, five years on: every audit record and decision goes
  auto pruned = j->Prune(p, clock_.WallNow());
  ASSERT_THAT(pruned, IsOk());
  EXPECT_EQ(pruned->audit_rows, 1);
  EXPECT_EQ(pruned->decision_rows, 1);
  auto kept = j->GetOperation(id);
  ASSERT_THAT(kept, IsOk());
  EXPECT_EQ(kept->state, OperationState::kSucceeded);
  EXPECT_THAT(*j->Steps(id), SizeIs(1));
  EXPECT_THAT(*j->ControlState(),
              Contains(std::pair<const std::string, std::string>("group/g", "{\"paused\":true}")));
  EXPECT_THAT(*j->LastSucceededFailover("g"), ::testing::Optional(::testing::_));
}

TEST_F(SqliteJournalRetentionTest, RefusesNegativeLimits) {
  auto j = OpenJournal();
  AddAudit(*j, 0);
  for (int field = 0; field < 4; ++field) {
    RetentionPolicy p = Unlimited();
    if (field == 0) p.audit_max_age = -absl::Hours(1);
    if (field == 1) p.audit_max_rows = -1;
    if (field == 2) p.decisions_max_age = -absl::Hours(1);
    if (field == 3) p.decisions_max_rows_per_group = -1;
    EXPECT_THAT(j->Prune(p, clock_.WallNow()), StatusIs(absl::StatusCode::kInvalidArgument))
        << field;
  }
  EXPECT_THAT(AuditDetails(*j), SizeIs(1));
}

TEST_F(SqliteJournalRetentionTest, TheDeletesWalkAnIndex) {
  auto j = OpenJournal();  // creates the schema, indexes included
  EXPECT_THAT(QueryPlan("SELECT id FROM audit WHERE at_us < 5 LIMIT 10"), HasSubstr("audit_by_at"));
  EXPECT_THAT(QueryPlan("SELECT id FROM decisions WHERE group_id = 'g' AND at_us < 5 LIMIT 10"),
              HasSubstr("decisions_by_group_at"));
  EXPECT_THAT(QueryPlan("SELECT id FROM decisions WHERE group_id = 'g' AND id <= 5 LIMIT 10"),
              HasSubstr("USING"));
  EXPECT_THAT(QueryPlan("SELECT group_id FROM decisions WHERE group_id > 'g' ORDER BY group_id "
                        "LIMIT 1"),
              HasSubstr("INDEX"));
}

}  // namespace
}  // namespace foghorn::journal
