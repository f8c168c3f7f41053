// Upgrades keep the journal. Each file in tests/fixtures/journal/ was written by the journal code
// of an earlier day (journal_fixture_writer; the README there says when): today's code opens a
// copy of it with every operation, step, decision, audit record and control-state entry intact,
// and a running operation still resumable. A journal from a newer release is refused with an error
// that names both versions, and left byte for byte as it was.
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orchestrator/common/fake_clock.h"
#include "orchestrator/journal/sqlite_journal.h"
#include "tests/orchestrator/journal/journal_fixture.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace foghorn::journal {
namespace {

using ::foghorn::testing::IsOk;
using ::foghorn::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::SizeIs;

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string FixturePath(const std::string& name) {
  return foghorn::testing::FixturesDir() + "/journal/" + name;
}

class JournalUpgradeTest : public ::testing::TestWithParam<const char*> {
 protected:
  // A copy of the fixture in this test's temp dir: the file in the tree is never opened for write.
  std::string CopyOfFixture() {
    const std::string copy = dir_.File("journal.db");
    std::filesystem::copy_file(FixturePath(GetParam()), copy);
    return copy;
  }

  foghorn::testing::TempDir dir_;
  common::FakeClock clock_{fixture::At(100000)};
};

TEST_P(JournalUpgradeTest, EveryOperationAndStepIsIntact) {
  const std::string before = ReadBytes(FixturePath(GetParam()));
  ASSERT_FALSE(before.empty()) << FixturePath(GetParam());
  auto j = SqliteJournal::Open(CopyOfFixture(), clock_);
  ASSERT_THAT(j, IsOk());

  const std::vector<fixture::Operation> expected = fixture::Operations();
  auto all = (*j)->ListOperations("", 0);
  ASSERT_THAT(all, IsOk());
  EXPECT_THAT(*all, SizeIs(expected.size()));
  for (const fixture::Operation& want : expected) {
    SCOPED_TRACE(want.record.id);
    auto op = (*j)->GetOperation(want.record.id);
    ASSERT_THAT(op, IsOk());
    EXPECT_EQ(op->group_id, want.record.group_id);
    EXPECT_EQ(op->request_id, want.record.request_id);
    EXPECT_EQ(op->kind, want.record.kind);
    EXPECT_EQ(op->target_server, want.record.target_server);
    EXPECT_EQ(op->requested_by, want.record.requested_by);
    EXPECT_EQ(op->reason, want.record.reason);
    EXPECT_EQ(op->state, want.final_state);
    EXPECT_EQ(op->outcome, want.outcome);
    EXPECT_EQ(op->arm_operation_url, want.arm_operation_url);
    EXPECT_EQ(op->created_at, fixture::At(want.created_s));
    EXPECT_EQ(op->updated_at, fixture::At(want.updated_s));
    if (!want.record.request_id.empty()) {
      auto by_request = (*j)->FindByRequestId(want.record.request_id);
      ASSERT_THAT(by_request, IsOk());
      ASSERT_TRUE(by_request->has_value());
      EXPECT_EQ((*by_request)->id, want.record.id);
    }

    auto steps = (*j)->Steps(want.record.id);
    ASSERT_THAT(steps, IsOk());
    ASSERT_THAT(*steps, SizeIs(want.steps.size()));
    for (size_t i = 0; i < want.steps.size(); ++i) {
      const fixture::Step& ws = want.steps[i];
      const StepRecord& s = (*steps)[i];
      SCOPED_TRACE(ws.name);
      EXPECT_EQ(s.seq, static_cast<int>(i) + 1);
      EXPECT_EQ(s.name, ws.name);
      EXPECT_EQ(s.state, ws.end);
      EXPECT_EQ(s.detail, ws.end == StepState::kIntent ? ws.begin_detail : ws.end_detail);
      EXPECT_EQ(s.started_at, fixture::At(ws.begin_s));
      EXPECT_EQ(s.finished_at,
                ws.end == StepState::kIntent ? absl::InfinitePast() : fixture::At(ws.end_s));
    }
  }

  // The operation the agent was running when the old release stopped is resumed by the new one.
  auto unfinished = (*j)->UnfinishedOperations();
  ASSERT_THAT(unfinished, IsOk());
  ASSERT_THAT(*unfinished, SizeIs(1));
  EXPECT_EQ(unfinished->front().id, "op-20260101T020000-running");
  auto last = (*j)->LastSucceededFailover(fixture::kOrders);
  ASSERT_THAT(last, IsOk());
  EXPECT_EQ(*last, fixture::At(121));
  // The journal accepts new work in the new schema.
  auto steps = (*j)->Steps("op-20260101T020000-running");
  ASSERT_THAT(steps, IsOk());
  EXPECT_THAT((*j)->EndStep(steps->back().id, StepState::kDone, "resumed"), IsOk());
  // The file in the tree was only copied.
  EXPECT_TRUE(ReadBytes(FixturePath(GetParam())) == before) << "the fixture in the tree changed";
}

TEST_P(JournalUpgradeTest, EveryDecisionAuditRecordAndControlStateIsIntact) {
  auto j = SqliteJournal::Open(CopyOfFixture(), clock_);
  ASSERT_THAT(j, IsOk());

  const std::vector<DecisionRecord> decisions = fixture::Decisions();
  for (const char* group : {fixture::kOrders, fixture::kCatalog}) {
    std::vector<DecisionRecord> want;  // newest first, as Decisions() returns them
    for (auto it = decisions.rbegin(); it != decisions.rend(); ++it) {
      if (it->group_id == group) want.push_back(*it);
    }
    auto got = (*j)->Decisions(group, 0);
    ASSERT_THAT(got, IsOk());
    ASSERT_THAT(*got, SizeIs(want.size())) << group;
    for (size_t i = 0; i < want.size(); ++i) {
      SCOPED_TRACE(want[i].summary);
      EXPECT_EQ((*got)[i].group_id, want[i].group_id);
      EXPECT_EQ((*got)[i].at, want[i].at);
      EXPECT_EQ((*got)[i].state, want[i].state);
      EXPECT_EQ((*got)[i].action, want[i].action);
      EXPECT_EQ((*got)[i].reasons_json, want[i].reasons_json);
      EXPECT_EQ((*got)[i].summary, want[i].summary);
    }
  }

  const std::vector<AuditRecord> audit = fixture::AuditRecords();
  auto trail = (*j)->AuditTrail(0);
  ASSERT_THAT(trail, IsOk());
  ASSERT_THAT(*trail, SizeIs(audit.size()));
  for (size_t i = 0; i < audit.size(); ++i) {
    const AuditRecord& want = audit[audit.size() - 1 - i];  // newest first
    const AuditRecord& got = (*trail)[i];
    SCOPED_TRACE(want.action);
    EXPECT_EQ(got.at, want.at);
    EXPECT_EQ(got.actor, want.actor);
    EXPECT_EQ(got.action, want.action);
    EXPECT_EQ(got.target, want.target);
    EXPECT_EQ(got.detail, want.detail);
    EXPECT_EQ(got.outcome, want.outcome);
    EXPECT_EQ(got.refusal, want.refusal);
  }

  auto control = (*j)->ControlState();
  ASSERT_THAT(control, IsOk());
  EXPECT_EQ(*control, fixture::ControlState());
}

// One entry per fixture file; a new schema version adds its file and keeps the old ones.
INSTANTIATE_TEST_SUITE_P(Fixtures, JournalUpgradeTest, ::testing::Values("schema-v2.db"));

TEST(JournalNewerSchemaTest, IsRefusedWithAClearErrorAndLeftByteForByteUnchanged) {
  foghorn::testing::TempDir dir;
  common::FakeClock clock;
  const std::string path = dir.File("journal.db");
  std::filesystem::copy_file(FixturePath("schema-v2.db"), path);
  {
    // What a later release might write: a higher version, a table this one does not know, and
    // an index and a table of today's schema dropped (today's Open would create both).
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    int rc = sqlite3_exec(db,
                          "UPDATE meta SET value = '3' WHERE key = 'schema_version';"
                          "CREATE TABLE vantages(name TEXT PRIMARY KEY);"
                          "DROP INDEX audit_by_refusal; DROP TABLE control_state;",
                          nullptr, nullptr, &err);
    std::string msg = err ? err : "";
    sqlite3_free(err);
    sqlite3_close(db);
    ASSERT_EQ(rc, SQLITE_OK) << msg;
  }
  const std::string before = ReadBytes(path);
  ASSERT_FALSE(before.empty());

  EXPECT_THAT(SqliteJournal::Open(path, clock),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr(path), HasSubstr("written by a newer foghorn"),
                             HasSubstr("schema version 3"), HasSubstr("knows up to 2"),
                             HasSubstr("left unchanged"))));
  // Refused again on a second try (a restart loop), and still never written.
  EXPECT_THAT(SqliteJournal::Open(path, clock), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_TRUE(ReadBytes(path) == before) << path << " was written to";
  EXPECT_FALSE(std::filesystem::exists(path + "-wal") &&
               std::filesystem::file_size(path + "-wal") > 0);
}

}  // namespace
}  // namespace foghorn::journal
