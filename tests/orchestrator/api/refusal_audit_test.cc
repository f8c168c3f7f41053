// The refused-call auditor: a few rows per caller and window, then one summary row with the
// count; a full queue sheds with RESOURCE_EXHAUSTED; shutdown writes what was counted.
#include "orchestrator/api/refusal_audit.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orchestrator/common/fake_clock.h"
#include "orchestrator/journal/fault_injecting_journal.h"
#include "orchestrator/journal/sqlite_journal.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace foghorn::api {
namespace {

using ::foghorn::testing::IsOk;
using ::foghorn::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::SizeIs;

class RefusalAuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto j = journal::SqliteJournal::Open(dir_.File("journal.db"), clock_);
    ASSERT_THAT(j, IsOk());
    journal_ = std::move(j).value();
  }
  common::Logger logger() { return common::Logger(nullptr, nullptr, clock_, {}); }
  std::vector<journal::AuditRecord> Rows(const std::string& actor) {
    std::vector<journal::AuditRecord> out;
    absl::StatusOr<std::vector<journal::AuditRecord>> trail = journal_->AuditTrail(0);
    if (!trail.ok()) return out;
    for (const journal::AuditRecord& a : *trail) {
      if (a.actor == actor) out.push_back(a);
    }
    return out;
  }

  foghorn::testing::TempDir dir_;
  common::FakeClock clock_;
  common::MetricsRegistry metrics_;
  std::unique_ptr<journal::SqliteJournal> journal_;
};

const absl::Status kRefusal = absl::UnauthenticatedError("no token");

RefusalAuditor::Caller Named(const std::string& name) { return {name, true}; }
RefusalAuditor::Caller From(const std::string& address) { return {address, false}; }

TEST_F(RefusalAuditTest, EachCallerGetsAFewRowsPerWindowAndOneSummaryWithTheCount) {
  RefusalAuditor::Options o;
  o.burst = 3;
  RefusalAuditor a(*journal_, clock_, logger(), metrics_, o);
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(a.Refused(Named("mallory"), "RequestFailover", "g", kRefusal).ok());
  }
  ASSERT_TRUE(a.Refused(Named("eve"), "RequestFailover", "g", kRefusal).ok());
  ASSERT_TRUE(a.Refused(Named("mallory"), "PauseAutomation", "g", kRefusal).ok());
  a.Flush();
  EXPECT_THAT(Rows("mallory"), SizeIs(4));  // 3 RequestFailover + 1 PauseAutomation
  EXPECT_THAT(Rows("eve"), SizeIs(1));
  // Still inside the window: nothing more.
  clock_.Advance(absl::Seconds(30));
  a.Flush();
  EXPECT_THAT(Rows("mallory"), SizeIs(4));
  clock_.Advance(absl::Seconds(31));
  a.Flush();
  std::vector<journal::AuditRecord> rows = Rows("mallory");
  ASSERT_THAT(rows, SizeIs(5));
  EXPECT_EQ(rows.front().action, "RequestFailover");
  EXPECT_THAT(rows.front().detail, HasSubstr("refused 47 more times"));
  EXPECT_THAT(rows.front().outcome, HasSubstr("UNAUTHENTICATED"));
  // A new window starts afresh.
  ASSERT_TRUE(a.Refused(Named("mallory"), "RequestFailover", "g", kRefusal).ok());
  a.Flush();
  EXPECT_THAT(Rows("mallory"), SizeIs(6));
}

TEST_F(RefusalAuditTest, ARefusalAfterTheWindowWritesThePreviousCountFirst) {
  RefusalAuditor::Options o;
  o.burst = 1;
  o.flush_interval = absl::Hours(1);  // only explicit flushes close windows
  RefusalAuditor a(*journal_, clock_, logger(), metrics_, o);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(a.Refused(Named("m"), "Cancel", "op", kRefusal).ok());
  clock_.Advance(absl::Minutes(2));
  ASSERT_TRUE(a.Refused(Named("m"), "Cancel", "op", kRefusal).ok());
  a.Flush();
  std::vector<journal::AuditRecord> rows = Rows("m");
  ASSERT_THAT(rows, SizeIs(3));  // first, summary of 3, the new window's first
  EXPECT_THAT(rows[1].detail, HasSubstr("refused 3 more times"));
}

TEST_F(RefusalAuditTest, CallersWithoutATokenShareOneKeyWhateverTheirAddress) {
  RefusalAuditor::Options o;
  o.burst = 2;
  RefusalAuditor a(*journal_, clock_, logger(), metrics_, o);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(a.Refused(From("10.0.0." + std::to_string(i % 250)), "RequestFailover",
                          std::string(1 << 20, 't'), kRefusal)
                    .ok());
  }
  // A real caller's refusal is never folded into the flood.
  ASSERT_TRUE(a.Refused(Named("viewer-bot"), "ApproveDecision", "g", kRefusal).ok());
  a.Flush();
  std::vector<journal::AuditRecord> all = *journal_->AuditTrail(0);
  ASSERT_THAT(all, SizeIs(3));
  for (const journal::AuditRecord& r : all) {
    EXPECT_LE(r.target.size(), 100u);
    EXPECT_TRUE(r.refusal);
  }
  EXPECT_THAT(Rows("unauthenticated@10.0.0.0"), SizeIs(1));
  EXPECT_THAT(Rows("unauthenticated@10.0.0.1"), SizeIs(1));
  EXPECT_THAT(Rows("viewer-bot"), SizeIs(1));
  a.Shutdown();
  std::vector<journal::AuditRecord> summary = Rows("unauthenticated");
  ASSERT_THAT(summary, SizeIs(1));
  EXPECT_THAT(summary.front().detail, HasSubstr("refused 998 more times"));
  EXPECT_THAT(summary.front().detail, HasSubstr("from 10.0.0."));
  EXPECT_THAT(summary.front().detail, HasSubstr("and others"));
}

TEST_F(RefusalAuditTest, AllKeysTogetherGetAtMostTheGlobalNumberOfRowsPerWindow) {
  RefusalAuditor::Options o;
  o.burst = 5;
  o.max_rows_per_window = 10;
  RefusalAuditor a(*journal_, clock_, logger(), metrics_, o);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(a.Refused(Named("token-" + std::to_string(i)), "M", "t", kRefusal).ok());
  }
  a.Flush();
  EXPECT_THAT(*journal_->AuditTrail(0), SizeIs(10));
  clock_.Advance(absl::Minutes(1) + absl::Seconds(1));
  a.Flush();
  // Ten summaries of one refusal each.
  EXPECT_THAT(*journal_->AuditTrail(0), SizeIs(20));
  EXPECT_THAT(Rows("token-19").front().detail, HasSubstr("refused 1 more time "));
}

TEST_F(RefusalAuditTest, AFullQueueShedsWithResourceExhaustedAndLosesNoCount) {
  // The writer blocks inside its first journal write until released.
  absl::Notification entered;
  absl::Notification release;
  journal::FaultInjectingJournal::Options fo;
  fo.crash_after_write = 1;
  fo.on_crash = [&] {
    entered.Notify();
    release.WaitForNotification();
  };
  auto base = journal::SqliteJournal::Open(dir_.File("blocked.db"), clock_);
  ASSERT_THAT(base, IsOk());
  journal::SqliteJournal* raw = base->get();
  journal::FaultInjectingJournal blocked(std::move(base).value(), fo);
  RefusalAuditor::Options o;
  o.queue_capacity = 2;
  o.burst = 100;
  RefusalAuditor a(blocked, clock_, logger(), metrics_, o);
  ASSERT_TRUE(a.Refused(Named("first"), "M", "t", kRefusal).ok());
  entered.WaitForNotification();
  ASSERT_TRUE(a.Refused(Named("m"), "M", "t", kRefusal).ok());
  ASSERT_TRUE(a.Refused(Named("m"), "M", "t", kRefusal).ok());
  EXPECT_THAT(a.Refused(Named("m"), "M", "t", kRefusal),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("retry later")));
  release.Notify();
  a.Flush();
  EXPECT_THAT(*raw->AuditTrail(0), SizeIs(3));
  // Room again: accepted.
  EXPECT_TRUE(a.Refused(Named("m"), "M", "t", kRefusal).ok());
  // The shed refusal was counted: it is in the summary at shutdown.
  a.Shutdown();
  std::vector<journal::AuditRecord> all = *raw->AuditTrail(0);
  ASSERT_FALSE(all.empty());
  EXPECT_THAT(all.front().detail, HasSubstr("refused 1 more time "));
}

}  // namespace
}  // namespace foghorn::api
