// The drill report: JSON round trip, the HTML page's timeline marks and escaping, and the store.
#include "orchestrator/drill/report.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace foghorn::drill {
namespace {

using ::foghorn::testing::IsOk;
using ::foghorn::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

int Count(const std::string& haystack, const std::string& needle) {
  int n = 0;
  for (size_t p = haystack.find(needle); p != std::string::npos; p = haystack.find(needle, p + 1)) {
    ++n;
  }
  return n;
}

DrillReport Sample(const std::string& id, absl::Time start, const std::string& group = "g") {
  DrillReport r;
  r.drill_id = id;
  r.group_id = group;
  r.group_name = "fog-orders";
  r.outcome = "passed";
  r.summary = "ok <b>";
  r.original_primary = "sql-east";
  r.partner = "sql-west";
  r.final_primary = "sql-east";
  r.started_at = start;
  r.finished_at = start + absl::Minutes(12);
  r.checks.push_back({"failover_policy", CheckStatus::kWarn, "Automatic", "set Manual"});
  r.steps.push_back({"preflight", "done", "", start, start + absl::Seconds(1)});
  r.steps.push_back({"failover", "done", "", start + absl::Seconds(1), start + absl::Seconds(40)});
  r.steps.push_back({"failback", "done", "", start + absl::Minutes(11), start + absl::Minutes(12)});
  r.role_changes.push_back({start + absl::Seconds(40), "sql-west", "sql-east", "failover"});
  r.role_changes.push_back({start + absl::Minutes(12), "sql-east", "sql-west", "failback"});
  DirectionMetrics d;
  d.name = "failover";
  d.completed = true;
  d.started_at = start + absl::Seconds(1);
  d.roles_swapped_at = start + absl::Seconds(40);
  d.rto = absl::Milliseconds(41500);
  d.posts_accepted = 1;
  r.directions.push_back(d);
  r.samples.push_back({start, true, ""});
  r.samples.push_back({start + absl::Seconds(2), false, "refused"});
  r.probes.push_back({"rw-listener", {{start + absl::Seconds(3), "failure"}}});
  r.fixes.push_back("failover_policy: set Manual");
  return r;
}

TEST(DrillReportTest, JsonRoundTripsEveryFigure) {
  const absl::Time t = absl::FromUnixMillis(1767225600123);
  DrillReport r = Sample("drill-1", t);
  auto back = ReportFromJson(ReportToJson(r));
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->drill_id, "drill-1");
  EXPECT_EQ(back->started_at, t);
  ASSERT_EQ(back->directions.size(), 1u);
  ASSERT_TRUE(back->directions[0].rto.has_value());
  EXPECT_EQ(*back->directions[0].rto, absl::Milliseconds(41500));
  EXPECT_EQ(back->directions[0].posts_accepted, 1);
  ASSERT_EQ(back->checks.size(), 1u);
  EXPECT_EQ(back->checks[0].status, CheckStatus::kWarn);
  EXPECT_EQ(back->role_changes.size(), 2u);
  EXPECT_EQ(back->samples.size(), 2u);
  EXPECT_FALSE(back->samples[1].ok);
  EXPECT_EQ(back->probes[0].points[0].outcome, "failure");
  EXPECT_EQ(back->fixes.size(), 1u);
}

TEST(DrillReportTest, JsonThatIsNotAReportIsRejected) {
  EXPECT_THAT(ReportFromJson("{\"x\":1}"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ReportFromJson("not json"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(DrillReportTest, HtmlTimelineHasAMarkPerStepAndRoleChange) {
  std::string html = RenderReportHtml(Sample("drill-1", absl::FromUnixSeconds(1767225600)));
  EXPECT_THAT(html, HasSubstr("<svg id=\"timeline\""));
  EXPECT_EQ(Count(html, "class=\"step-mark\""), 3);
  EXPECT_EQ(Count(html, "class=\"role-mark\""), 2);
  EXPECT_THAT(html, HasSubstr("data-step=\"failover\""));
  EXPECT_THAT(html, HasSubstr("41.500 s"));
}

TEST(DrillReportTest, HtmlIsSelfContainedAndEscaped) {
  std::string html = RenderReportHtml(Sample("drill-1", absl::FromUnixSeconds(1767225600)));
  EXPECT_THAT(html, HasSubstr("ok &lt;b&gt;"));
  EXPECT_THAT(html, Not(HasSubstr("ok <b>")));
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("src=")));
  EXPECT_THAT(html, Not(HasSubstr("<link")));
}

TEST(DrillReportTest, StoreListsNewestFirstAndFiltersByGroup) {
  ::foghorn::testing::TempDir tmp;
  ReportStore store(ReportStore::DirFor(tmp.path()));
  const absl::Time t = absl::FromUnixSeconds(1767225600);
  ASSERT_THAT(store.Save(Sample("drill-a", t, "g1")), IsOk());
  ASSERT_THAT(store.Save(Sample("drill-b", t + absl::Hours(1), "g1")), IsOk());
  ASSERT_THAT(store.Save(Sample("drill-c", t + absl::Hours(2), "g2")), IsOk());
  auto all = store.List("", 0);
  ASSERT_THAT(all, IsOk());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].drill_id, "drill-c");
  EXPECT_EQ((*all)[2].drill_id, "drill-a");
  auto g1 = store.List("g1", 1);
  ASSERT_THAT(g1, IsOk());
  ASSERT_EQ(g1->size(), 1u);
  EXPECT_EQ((*g1)[0].drill_id, "drill-b");
}

TEST(DrillReportTest, StoreReadRejectsUnknownAndPathLikeIds) {
  ::foghorn::testing::TempDir tmp;
  ReportStore store(tmp.path());
  EXPECT_THAT(store.Read("nope"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store.Read("../etc/passwd"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(store.Read(std::string("x\0/../../etc/passwd", 20)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(store.Read("a\nb"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(store.Read(std::string(200, 'a')), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(store.Read(".hidden"), StatusIs(absl::StatusCode::kInvalidArgument));
  auto none = ReportStore(tmp.File("missing")).List("", 0);
  ASSERT_THAT(none, IsOk());
  EXPECT_TRUE(none->empty());
}

}  // namespace
}  // namespace foghorn::drill
