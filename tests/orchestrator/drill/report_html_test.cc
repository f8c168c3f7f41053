// The drill report's HTML page: the timeline's marks, a self-contained page, and every text taken
// from the report escaped (element content and attribute values).
#include "orchestrator/drill/report_html.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/orchestrator/drill/report_sample.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace foghorn::drill {
namespace {

using ::foghorn::drill::testing::SampleReport;
using ::foghorn::testing::IsOk;
using ::testing::HasSubstr;
using ::testing::Not;

int Count(const std::string& haystack, const std::string& needle) {
  int n = 0;
  for (size_t p = haystack.find(needle); p != std::string::npos; p = haystack.find(needle, p + 1)) {
    ++n;
  }
  return n;
}

TEST(DrillReportHtmlTest, TheTimelineHasAMarkPerStepAndRoleChange) {
  std::string html = RenderReportHtml(SampleReport("drill-1", absl::FromUnixSeconds(1767225600)));
  EXPECT_THAT(html, HasSubstr("<svg id=\"timeline\""));
  EXPECT_EQ(Count(html, "class=\"step-mark\""), 3);
  EXPECT_EQ(Count(html, "class=\"role-mark\""), 2);
  EXPECT_THAT(html, HasSubstr("data-step=\"failover\""));
  EXPECT_THAT(html, HasSubstr("41.500 s"));
  EXPECT_THAT(html, HasSubstr("class=\"badge passed\""));
  EXPECT_THAT(html, HasSubstr("class=\"step-bar done\""));
  EXPECT_THAT(html, HasSubstr("class=\"probe failure\""));
  EXPECT_THAT(html, HasSubstr("class=\"st-warn\">warn<"));
}

TEST(DrillReportHtmlTest, ThePageIsSelfContainedAndEscaped) {
  std::string html = RenderReportHtml(SampleReport("drill-1", absl::FromUnixSeconds(1767225600)));
  EXPECT_THAT(html, HasSubstr("ok &lt;b&gt;"));
  EXPECT_THAT(html, Not(HasSubstr("ok <b>")));
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("src=")));
  EXPECT_THAT(html, Not(HasSubstr("<link")));
}

TEST(DrillReportHtmlTest, EveryTextFromTheReportIsEscaped) {
  // Hook output, listener errors and runbook text reach the report; none may become markup, in
  // element content or in an attribute value.
  const std::string evil = "<img src=x onerror='a(1)' data-x=\"y\">&amp;";
  DrillReport r = SampleReport(evil, absl::FromUnixSeconds(1767225600), evil);
  for (std::string* s : {r.mutable_operation_id(),
                         r.mutable_group_name(),
                         r.mutable_description(),
                         r.mutable_summary(),
                         r.mutable_original_primary(),
                         r.mutable_partner(),
                         r.mutable_final_primary(),
                         r.mutable_rw_listener(),
                         r.mutable_checks(0)->mutable_name(),
                         r.mutable_checks(0)->mutable_reason(),
                         r.mutable_checks(0)->mutable_fix(),
                         r.mutable_steps(0)->mutable_name(),
                         r.mutable_steps(0)->mutable_detail(),
                         r.mutable_role_changes(0)->mutable_primary(),
                         r.mutable_role_changes(0)->mutable_cause(),
                         r.mutable_directions(0)->mutable_name(),
                         r.mutable_directions(0)->mutable_from_server(),
                         r.mutable_directions(0)->mutable_to_server(),
                         r.mutable_directions(0)->mutable_data_loss_basis(),
                         r.mutable_samples(1)->mutable_detail(),
                         r.mutable_probes(0)->mutable_probe(),
                         r.mutable_fixes(0)}) {
    *s = evil;
  }
  const std::string html = RenderReportHtml(r);
  EXPECT_THAT(html, Not(HasSubstr("<img")));
  EXPECT_THAT(html, Not(HasSubstr("onerror='")));
  EXPECT_THAT(html, Not(HasSubstr("data-x=\"y\"")));
  const std::string escaped =
      "&lt;img src=x onerror=&#39;a(1)&#39; data-x=&quot;y&quot;&gt;&amp;amp;";
  // Each field above, plus the title, the drill row, the group row, the step-mark attribute and
  // title, the role-mark attribute, title and label, the direction's data-name...
  EXPECT_GE(Count(html, escaped), 25);
}

TEST(DrillReportHtmlTest, HtmlEscapeCoversTheFiveSpecialCharacters) {
  EXPECT_EQ(HtmlEscape("a&b<c>d\"e'f"), "a&amp;b&lt;c&gt;d&quot;e&#39;f");
  EXPECT_EQ(HtmlEscape("plain text"), "plain text");
}

TEST(DrillReportHtmlTest, AReportOfTheOldCodecRenders) {
  auto r = ReportFromJson(::foghorn::testing::ReadFileOrDie(::foghorn::testing::FixturesDir() +
                                                            "/drill/legacy-report-failed.json"));
  ASSERT_THAT(r, IsOk());
  const std::string html = RenderReportHtml(*r);
  EXPECT_THAT(html, HasSubstr("id=\"outcome\">failed<"));
  EXPECT_EQ(Count(html, "class=\"step-mark\""), 5);
  EXPECT_EQ(Count(html, "class=\"role-mark\""), 2);
  EXPECT_THAT(html, HasSubstr("31.350 s"));
  EXPECT_THAT(html, HasSubstr("not measured"));
  EXPECT_THAT(html, HasSubstr("orders &lt;DR&gt; drill &amp; &quot;hook&quot;"));
  EXPECT_THAT(html, HasSubstr("class=\"st-fail\">fail<"));
}

}  // namespace
}  // namespace foghorn::drill
