// What a caller sends never grows a journal row without bound: audit fields, decision summaries
// and step details are cut at the journal to their documented sizes (journal.h), at a UTF-8
// boundary and with a marker saying how much went.
#include <string>

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
using ::testing::EndsWith;
using ::testing::SizeIs;
using ::testing::StartsWith;

constexpr std::size_t kFourMegabytes = 4 * 1024 * 1024;

// `bytes` bytes of "é" (2 bytes each) after one "x", so every even cut splits a sequence.
std::string Accented(std::size_t bytes) {
  std::string s = "x";
  while (s.size() + 2 <= bytes) s += "\xC3\xA9";
  return s;
}

// The marker for a field of `original` bytes stored as `stored`.
std::string MarkerFor(const std::string& original, const std::string& stored) {
  const std::size_t kept = stored.find("\xE2\x80\xA6[truncated ");
  return absl::StrCat("\xE2\x80\xA6[truncated ", original.size() - kept, " bytes]");
}

class SqliteJournalBoundsTest : public ::testing::Test {
 protected:
  std::unique_ptr<SqliteJournal> OpenJournal() {
    auto j = SqliteJournal::Open(dir_.File("journal.db"), clock_);
    EXPECT_THAT(j, IsOk());
    return std::move(j).value();
  }
  // Checks that `stored` is `original` cut to at most `bound` bytes: a prefix that ends on a
  // whole character, and the marker.
  static void ExpectCut(const std::string& original, const std::string& stored, std::size_t bound) {
    EXPECT_LE(stored.size(), bound);
    EXPECT_GE(stored.size(), bound - 2);  // at most one "é" given back
    const std::size_t kept = stored.find("\xE2\x80\xA6[truncated ");
    ASSERT_NE(kept, std::string::npos);
    EXPECT_EQ(stored.substr(0, kept), original.substr(0, kept));
    EXPECT_EQ(kept % 2, 1u) << "split a two-byte character";
    EXPECT_EQ(stored.substr(kept), MarkerFor(original, stored));
  }
  foghorn::testing::TempDir dir_;
  common::FakeClock clock_;
};

TEST_F(SqliteJournalBoundsTest, CutsEveryAuditFieldToItsBound) {
  auto j = OpenJournal();
  AuditRecord a;
  a.actor = Accented(1000);
  a.action = Accented(1000);
  a.target = Accented(1000);
  a.detail = Accented(10'000);
  a.outcome = Accented(10'000);
  ASSERT_THAT(j->Audit(a), IsOk());
  auto trail = j->AuditTrail(0);
  ASSERT_THAT(trail, IsOk());
  ASSERT_THAT(*trail, SizeIs(1));
  const AuditRecord& stored = (*trail)[0];
  ExpectCut(a.actor, stored.actor, kMaxAuditActorBytes);
  ExpectCut(a.action, stored.action, kMaxAuditActionBytes);
  ExpectCut(a.target, stored.target, kMaxAuditTargetBytes);
  ExpectCut(a.detail, stored.detail, kMaxAuditDetailBytes);
  ExpectCut(a.outcome, stored.outcome, kMaxAuditOutcomeBytes);
}

TEST_F(SqliteJournalBoundsTest, StoresAFourMegabyteAuditDetailAsFourKilobytes) {
  auto j = OpenJournal();
  AuditRecord a;
  a.actor = "viewer-1";
  a.action = "RequestFailover";
  a.detail = std::string(kFourMegabytes, 'd');
  ASSERT_THAT(j->Audit(a), IsOk());
  auto trail = j->AuditTrail(0);
  ASSERT_THAT(trail, IsOk());
  ASSERT_THAT(*trail, SizeIs(1));
  const std::string& detail = (*trail)[0].detail;
  EXPECT_EQ(detail.size(), kMaxAuditDetailBytes);
  EXPECT_THAT(detail, StartsWith(std::string(4000, 'd')));
  EXPECT_THAT(detail, EndsWith(absl::StrCat("[truncated ", kFourMegabytes - 4068, " bytes]")));
}

TEST_F(SqliteJournalBoundsTest, StoresFieldsAtTheirBoundUnchanged) {
  auto j = OpenJournal();
  AuditRecord a;
  a.actor = std::string(kMaxAuditActorBytes, 'a');
  a.action = std::string(kMaxAuditActionBytes, 'b');
  a.target = std::string(kMaxAuditTargetBytes, 'c');
  a.detail = std::string(kMaxAuditDetailBytes, 'd');
  a.outcome = std::string(kMaxAuditOutcomeBytes, 'e');
  ASSERT_THAT(j->Audit(a), IsOk());
  DecisionRecord d;
  d.group_id = "g";
  d.state = "HEALTHY";
  d.action = "none";
  d.summary = std::string(kMaxDecisionSummaryBytes, 's');
  ASSERT_THAT(j->RecordDecision(d), IsOk());
  const AuditRecord stored = (*j->AuditTrail(0))[0];
  EXPECT_EQ(stored.actor, a.actor);
  EXPECT_EQ(stored.action, a.action);
  EXPECT_EQ(stored.target, a.target);
  EXPECT_EQ(stored.detail, a.detail);
  EXPECT_EQ(stored.outcome, a.outcome);
  EXPECT_EQ((*j->Decisions("g", 0))[0].summary, d.summary);
}

TEST_F(SqliteJournalBoundsTest, CutsADecisionSummary) {
  auto j = OpenJournal();
  DecisionRecord d;
  d.group_id = "g";
  d.state = "CONFIRMED_DOWN";
  d.action = "forced";
  d.summary = Accented(kFourMegabytes);
  ASSERT_THAT(j->RecordDecision(d), IsOk());
  auto ds = j->Decisions("g", 0);
  ASSERT_THAT(ds, IsOk());
  ASSERT_THAT(*ds, SizeIs(1));
  ExpectCut(d.summary, (*ds)[0].summary, kMaxDecisionSummaryBytes);
  EXPECT_EQ((*ds)[0].state, "CONFIRMED_DOWN");
}

TEST_F(SqliteJournalBoundsTest, CutsStepDetailsWhenTheStepBeginsAndWhenItEnds) {
  auto j = OpenJournal();
  OperationRecord op;
  op.group_id = "g";
  op.kind = "planned";
  auto created = j->CreateOperation(op);
  ASSERT_THAT(created, IsOk());
  const std::string big = Accented(kFourMegabytes);
  auto step = j->BeginStep(created->operation.id, "pre:hook", big);
  ASSERT_THAT(step, IsOk());
  auto steps = j->Steps(created->operation.id);
  ASSERT_THAT(steps, IsOk());
  ASSERT_THAT(*steps, SizeIs(1));
  ExpectCut(big, (*steps)[0].detail, kMaxStepDetailBytes);

  ASSERT_THAT(j->EndStep(step->id, StepState::kFailed, big), IsOk());
  steps = j->Steps(created->operation.id);
  ASSERT_THAT(steps, IsOk());
  ExpectCut(big, (*steps)[0].detail, kMaxStepDetailBytes);
  EXPECT_EQ((*steps)[0].state, StepState::kFailed);
}

TEST_F(SqliteJournalBoundsTest, KeepsAStepDetailAtTheBoundUnchanged) {
  auto j = OpenJournal();
  OperationRecord op;
  op.group_id = "g";
  op.kind = "planned";
  const std::string id = j->CreateOperation(op)->operation.id;
  const std::string detail(kMaxStepDetailBytes, 'x');
  auto step = j->BeginStep(id, "arm:failover", detail);
  ASSERT_THAT(step, IsOk());
  EXPECT_EQ(step->detail, detail);
  ASSERT_THAT(j->EndStep(step->id, StepState::kDone, ""), IsOk());
  EXPECT_EQ((*j->Steps(id))[0].detail, "");
}

}  // namespace
}  // namespace foghorn::journal
