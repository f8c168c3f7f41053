// The journal's schema version: a journal written by an older release is migrated forward with its
// rows intact; one from a newer release is refused, never rewritten. And refused calls, marked in
// the audit trail, are kept under their own count limit.
#include <sqlite3.h>

#include <memory>
#include <string>
#include <vector>

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
using ::testing::HasSubstr;
using ::testing::SizeIs;

// Runs `sql` on the journal file behind the journal's back.
void Sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  std::string msg = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << msg;
}

std::string SchemaVersion(const std::string& path) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'schema_version'", -1, &st, nullptr);
  std::string out;
  if (sqlite3_step(st) == SQLITE_ROW)
    out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

class SqliteJournalSchemaTest : public ::testing::Test {
 protected:
  std::string path() const { return dir_.File("journal.db"); }
  absl::StatusOr<std::unique_ptr<SqliteJournal>> Open() {
    return SqliteJournal::Open(path(), clock_);
  }

  foghorn::testing::TempDir dir_;
  common::FakeClock clock_;
};

TEST_F(SqliteJournalSchemaTest, AJournalOfTheFirstReleaseIsMigratedWithItsRowsIntact) {
  {
    auto j = Open();
    ASSERT_THAT(j, IsOk());
    ASSERT_THAT((*j)->Audit({0, absl::InfinitePast(), "alice", "Pause", "g", "freeze", "ok"}),
                IsOk());
    OperationRecord op;
    op.id = "op-1";
    op.group_id = "g";
    op.request_id = "r-1";
    op.kind = "planned";
    ASSERT_THAT((*j)->CreateOperation(op), IsOk());
  }
  // What the first release wrote: no refusal column, schema version 1.
  Sql(path(),
      "DROP INDEX audit_by_refusal; ALTER TABLE audit DROP COLUMN refusal; "
      "UPDATE meta SET value = '1' WHERE key = 'schema_version';");
  auto j = Open();
  ASSERT_THAT(j, IsOk());
  EXPECT_EQ(SchemaVersion(path()), "2");
  auto trail = (*j)->AuditTrail(0);
  ASSERT_THAT(trail, IsOk());
  ASSERT_THAT(*trail, SizeIs(1));
  EXPECT_EQ(trail->front().actor, "alice");
  EXPECT_FALSE(trail->front().refusal);
  EXPECT_THAT((*j)->GetOperation("op-1"), IsOk());
  // New rows carry the mark.
  AuditRecord refused{0,         absl::InfinitePast(),        "mallory", "RequestFailover", "g",
                      "refused", "UNAUTHENTICATED: no token", true};
  ASSERT_THAT((*j)->Audit(refused), IsOk());
  trail = (*j)->AuditTrail(0);
  ASSERT_THAT(*trail, SizeIs(2));
  EXPECT_TRUE(trail->front().refusal);
}

TEST_F(SqliteJournalSchemaTest, AJournalOfANewerReleaseIsRefusedAndLeftAsItIs) {
  { ASSERT_THAT(Open(), IsOk()); }
  Sql(path(), "UPDATE meta SET value = '99' WHERE key = 'schema_version';");
  EXPECT_THAT(Open(), StatusIs(absl::StatusCode::kFailedPrecondition,
                               HasSubstr("written by a newer foghorn (schema version 99")));
  EXPECT_EQ(SchemaVersion(path()), "99");
}

TEST_F(SqliteJournalSchemaTest, RefusedCallsAreCountedApartSoTheyCannotPushActionsOut) {
  auto j = Open();
  ASSERT_THAT(j, IsOk());
  for (int i = 0; i < 3; ++i) {
    ASSERT_THAT((*j)->Audit({0, absl::InfinitePast(), "alice", "Approve", "g", "", "ok"}), IsOk());
  }
  for (int i = 0; i < 50; ++i) {
    ASSERT_THAT((*j)->Audit({0, absl::InfinitePast(), "unauthenticated@10.0.0.1", "Pause", "g",
                             "refused", "UNAUTHENTICATED", true}),
                IsOk());
  }
  RetentionPolicy p;
  p.audit_max_rows = 2;
  p.refusals_max_rows = 10;
  auto pruned = (*j)->Prune(p, clock_.WallNow());
  ASSERT_THAT(pruned, IsOk());
  EXPECT_EQ(pruned->audit_rows, 1 + 40);
  auto trail = (*j)->AuditTrail(0);
  int actions = 0;
  int refusals = 0;
  for (const AuditRecord& a : *trail) (a.refusal ? refusals : actions)++;
  EXPECT_EQ(actions, 2);
  EXPECT_EQ(refusals, 10);
}

}  // namespace
}  // namespace foghorn::journal
