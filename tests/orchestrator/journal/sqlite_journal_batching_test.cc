// How SqliteJournal shares its fsyncs. Decisions and audit records are queued and committed in
// batches, yet every read sees what was written before it and nothing accepted is lost on an
// orderly shutdown. Synchronous writes (operations, steps) from concurrent threads share
// transactions (group commit), yet each returns only once durable and a failing one undoes only
// itself.
#include <sqlite3.h>

#include <filesystem>
#include <string>
#include <thread>
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
using ::testing::SizeIs;

DecisionRecord Decision(int i, const std::string& group = "g") {
  return {0, group, absl::InfinitePast(), "CONFIRMED_DOWN", "planned", "", absl::StrCat("d", i)};
}

AuditRecord AuditOf(int i) {
  return {0, absl::InfinitePast(), "agent", "StartFailover", "g", absl::StrCat("a", i), "ok"};
}

class SqliteJournalBatchingTest : public ::testing::Test {
 protected:
  std::unique_ptr<SqliteJournal> OpenJournal(SqliteJournal::Options options) {
    auto j = SqliteJournal::Open(path(), clock_, std::move(options));
    EXPECT_THAT(j, IsOk());
    return std::move(j).value();
  }
  // Options whose batches are deterministic: no writer thread, so records are committed only by
  // Flush(), the reads, the destructor, or a write that finds the queue full.
  static SqliteJournal::Options Manual(std::size_t max_batch, std::size_t max_queued = 100000) {
    SqliteJournal::Options o;
    o.background_writer = false;
    o.max_batch = max_batch;
    o.max_queued = max_queued;
    return o;
  }
  // Runs SQL on a second connection, as an operator's sqlite3 shell would.
  void Sql(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path().c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
    sqlite3_close(db);
  }
  std::string path() { return dir_.File("journal.db"); }

  foghorn::testing::TempDir dir_;
  common::FakeClock clock_;
};

std::vector<std::string> Summaries(const std::vector<DecisionRecord>& ds) {
  std::vector<std::string> out;
  for (const auto& d : ds) out.push_back(d.summary);
  return out;
}

std::vector<std::string> Expected(int n, const std::string& prefix) {
  std::vector<std::string> out;
  for (int i = n - 1; i >= 0; --i) out.push_back(absl::StrCat(prefix, i));  // newest first
  return out;
}

TEST_F(SqliteJournalBatchingTest, ManyRecordsAreCommittedInFewTransactions) {
  auto j = OpenJournal(Manual(/*max_batch=*/100));
  for (int i = 0; i < 1000; ++i) ASSERT_THAT(j->RecordDecision(Decision(i)), IsOk());
  EXPECT_EQ(j->writer_stats().queued, 1000u);
  EXPECT_EQ(j->writer_stats().batches, 0u);
  ASSERT_THAT(j->Flush(), IsOk());
  SqliteJournal::WriterStats stats = j->writer_stats();
  EXPECT_EQ(stats.committed, 1000u);
  EXPECT_EQ(stats.batches, 10u);  // one transaction (one fsync) per 100 records, not per record
  EXPECT_EQ(stats.queued, 0u);
  EXPECT_EQ(Summaries(*j->Decisions("g", 0)), Expected(1000, "d"));
}

TEST_F(SqliteJournalBatchingTest, TheBackgroundWriterKeepsTheOrderOfEveryRecord) {
  SqliteJournal::Options o;
  o.max_batch = 7;  // many batch boundaries
  auto j = OpenJournal(o);
  for (int i = 0; i < 300; ++i) {
    ASSERT_THAT(j->RecordDecision(Decision(i, i % 2 == 0 ? "g" : "h")), IsOk());
    ASSERT_THAT(j->Audit(AuditOf(i)), IsOk());
  }
  auto g = j->Decisions("g", 0);
  ASSERT_THAT(g, IsOk());
  ASSERT_THAT(*g, SizeIs(150));
  for (size_t k = 0; k < g->size(); ++k) {
    EXPECT_EQ((*g)[k].summary, absl::StrCat("d", 298 - 2 * k));
    if (k > 0) {
      EXPECT_LT((*g)[k].id, (*g)[k - 1].id);
    }
  }
  auto trail = j->AuditTrail(0);
  ASSERT_THAT(trail, IsOk());
  std::vector<std::string> details;
  for (const auto& a : *trail) details.push_back(a.detail);
  EXPECT_EQ(details, Expected(300, "a"));
  EXPECT_EQ(j->writer_stats().committed, 600u);
}

TEST_F(SqliteJournalBatchingTest, AReadCommitsWhatWasWrittenBeforeIt) {
  auto j = OpenJournal(Manual(/*max_batch=*/256));
  ASSERT_THAT(j->RecordDecision(Decision(0)), IsOk());
  ASSERT_THAT(j->Audit(AuditOf(0)), IsOk());
  EXPECT_EQ(j->writer_stats().committed, 0u);  // accepted, not yet written
  EXPECT_THAT(*j->Decisions("g", 0), SizeIs(1));
  EXPECT_EQ(j->writer_stats().committed, 2u);
  ASSERT_THAT(j->Audit(AuditOf(1)), IsOk());
  auto trail = j->AuditTrail(0);
  ASSERT_THAT(trail, IsOk());
  ASSERT_THAT(*trail, SizeIs(2));
  EXPECT_EQ((*trail)[0].detail, "a1");
}

TEST_F(SqliteJournalBatchingTest, RecordsAreStampedWhenAcceptedNotWhenCommitted) {
  auto j = OpenJournal(Manual(/*max_batch=*/256));
  const absl::Time accepted = clock_.WallNow();
  ASSERT_THAT(j->RecordDecision(Decision(0)), IsOk());
  clock_.Advance(absl::Minutes(5));
  auto ds = j->Decisions("g", 0);
  ASSERT_THAT(ds, IsOk());
  ASSERT_THAT(*ds, SizeIs(1));
  EXPECT_EQ((*ds)[0].at, accepted);
  EXPECT_EQ((*ds)[0].reasons_json, "[]");
}

TEST_F(SqliteJournalBatchingTest, DestructionCommitsEverythingQueued) {
  for (bool background : {false, true}) {
    SCOPED_TRACE(background ? "background writer" : "no writer thread");
    std::filesystem::remove(path());
    {
      SqliteJournal::Options o = Manual(/*max_batch=*/64);
      o.background_writer = background;
      auto j = OpenJournal(o);
      for (int i = 0; i < 500; ++i) {
        ASSERT_THAT(j->RecordDecision(Decision(i)), IsOk());
        ASSERT_THAT(j->Audit(AuditOf(i)), IsOk());
      }
      if (!background) {
        EXPECT_EQ(j->writer_stats().committed, 0u);
      }
    }
    auto j = OpenJournal(Manual(/*max_batch=*/64));
    EXPECT_EQ(Summaries(*j->Decisions("g", 0)), Expected(500, "d"));
    EXPECT_THAT(*j->AuditTrail(0), SizeIs(500));
  }
}

TEST_F(SqliteJournalBatchingTest, AFullQueueIsCommittedByTheWriterThatFindsItFull) {
  auto j = OpenJournal(Manual(/*max_batch=*/4, /*max_queued=*/10));
  for (int i = 0; i < 25; ++i) {
    ASSERT_THAT(j->RecordDecision(Decision(i)), IsOk());
    EXPECT_LE(j->writer_stats().queued, 10u);  // memory stays bounded
  }
  EXPECT_GE(j->writer_stats().committed, 15u);
  EXPECT_EQ(j->writer_stats().refused, 0u);  // nothing accepted was dropped
  EXPECT_EQ(Summaries(*j->Decisions("g", 0)), Expected(25, "d"));
}

TEST_F(SqliteJournalBatchingTest, AFailedBatchStaysQueuedInOrderUntilItCommits) {
  auto j = OpenJournal(Manual(/*max_batch=*/3));
  // A write the database refuses, as a full disk would (the trigger stands in for the fault).
  Sql("CREATE TRIGGER refuse BEFORE INSERT ON decisions WHEN NEW.summary = 'd4' "
      "BEGIN SELECT RAISE(ABORT, 'injected'); END;");
  for (int i = 0; i < 8; ++i) ASSERT_THAT(j->RecordDecision(Decision(i)), IsOk());
  EXPECT_FALSE(j->Flush().ok());
  SqliteJournal::WriterStats stats = j->writer_stats();
  EXPECT_EQ(stats.committed, 3u);  // d0..d2; the batch d3..d5 failed as a whole
  EXPECT_EQ(stats.failed_batches, 1u);
  EXPECT_EQ(stats.queued, 5u);
  EXPECT_FALSE(j->Decisions("g", 0).ok());  // never a silently partial answer

  Sql("DROP TRIGGER refuse;");
  EXPECT_EQ(Summaries(*j->Decisions("g", 0)), Expected(8, "d"));
}

TEST_F(SqliteJournalBatchingTest, AFullQueueThatCannotBeCommittedRefusesTheRecord) {
  auto j = OpenJournal(Manual(/*max_batch=*/2, /*max_queued=*/2));
  Sql("CREATE TRIGGER refuse BEFORE INSERT ON decisions "
      "BEGIN SELECT RAISE(ABORT, 'injected'); END;");
  ASSERT_THAT(j->RecordDecision(Decision(0)), IsOk());
  ASSERT_THAT(j->RecordDecision(Decision(1)), IsOk());
  EXPECT_THAT(j->RecordDecision(Decision(2)), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(j->writer_stats().refused, 1u);
  EXPECT_EQ(j->writer_stats().queued, 2u);
  Sql("DROP TRIGGER refuse;");
  EXPECT_EQ(Summaries(*j->Decisions("g", 0)), (std::vector<std::string>{"d1", "d0"}));
}

TEST_F(SqliteJournalBatchingTest, MalformedRecordsAreRefusedAtOnce) {
  auto j = OpenJournal(Manual(/*max_batch=*/8));
  EXPECT_THAT(j->RecordDecision(Decision(0, "")), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(j->Audit({0, absl::InfinitePast(), "", "Pause", "g", "", ""}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(j->writer_stats().queued, 0u);
}

TEST_F(SqliteJournalBatchingTest, OperationsAndStepsStayDurableWhenTheCallReturns) {
  // The synchronous half: an operation and its step intent are in the database file before the
  // call returns, whatever the decision queue holds.
  auto j = OpenJournal(Manual(/*max_batch=*/8));
  ASSERT_THAT(j->RecordDecision(Decision(0)), IsOk());
  OperationRecord op;
  op.group_id = "g";
  op.kind = "planned";
  auto created = j->CreateOperation(op);
  ASSERT_THAT(created, IsOk());
  ASSERT_THAT(j->BeginStep(created->operation.id, "arm:failover", ""), IsOk());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path().c_str(), &db), SQLITE_OK);
  auto count = [&](const char* sql) {
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, sql, -1, &st, nullptr);
    int n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    return n;
  };
  EXPECT_EQ(count("SELECT COUNT(*) FROM operations"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM steps"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM decisions"), 0);  // still queued
  sqlite3_close(db);
}

TEST_F(SqliteJournalBatchingTest, ConcurrentSynchronousWritesShareTransactionsAndKeepTheirOrder) {
  auto j = OpenJournal(SqliteJournal::Options{});
  constexpr int kThreads = 16;
  constexpr int kSteps = 10;
  std::vector<std::string> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      OperationRecord op;
      op.group_id = absl::StrCat("g", t);
      op.kind = "planned";
      auto created = j->CreateOperation(op);
      ASSERT_THAT(created, IsOk());
      ids[t] = created->operation.id;
      for (int i = 0; i < kSteps; ++i) {
        auto step = j->BeginStep(ids[t], absl::StrCat("step", i), "");
        ASSERT_THAT(step, IsOk());
        ASSERT_THAT(j->EndStep(step->id, StepState::kDone, ""), IsOk());
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int t = 0; t < kThreads; ++t) {
    auto steps = j->Steps(ids[t]);
    ASSERT_THAT(steps, IsOk());
    ASSERT_THAT(*steps, SizeIs(kSteps));
    for (int i = 0; i < kSteps; ++i) {
      EXPECT_EQ((*steps)[i].seq, i + 1);
      EXPECT_EQ((*steps)[i].name, absl::StrCat("step", i));
      EXPECT_EQ((*steps)[i].state, StepState::kDone);
    }
  }
  SqliteJournal::WriterStats stats = j->writer_stats();
  EXPECT_EQ(stats.sync_writes, static_cast<std::uint64_t>(kThreads * (1 + 2 * kSteps)));
  // Sixteen threads writing at once: writes that arrive during a commit share the next one.
  EXPECT_LT(stats.sync_transactions, stats.sync_writes);
}

TEST_F(SqliteJournalBatchingTest, AFailingSynchronousWriteUndoesOnlyItself) {
  auto j = OpenJournal(SqliteJournal::Options{});
  constexpr int kThreads = 16;
  std::vector<absl::Status> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      if (t % 2 == 0) {
        OperationRecord op;
        op.group_id = absl::StrCat("g", t);
        op.kind = "planned";
        results[t] = j->CreateOperation(op).status();
      } else {
        results[t] =
            j->UpdateOperation(absl::StrCat("op-unknown-", t), OperationState::kFailed, "");
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int t = 0; t < kThreads; ++t) {
    if (t % 2 == 0) {
      EXPECT_THAT(results[t], IsOk()) << t;
    } else {
      EXPECT_THAT(results[t], StatusIs(absl::StatusCode::kNotFound)) << t;
    }
  }
  EXPECT_THAT(*j->ListOperations("", 0), SizeIs(kThreads / 2));
}

}  // namespace
}  // namespace foghorn::journal
