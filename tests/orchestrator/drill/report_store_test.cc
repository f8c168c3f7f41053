// ReportStore: reports saved as protobuf JSON and HTML, listed newest first, read back, path-like
// ids refused, and reports written by the codec before the proto listed and read like new ones.
#include "orchestrator/drill/report_store.h"

#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/orchestrator/drill/report_sample.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace foghorn::drill {
namespace {

using ::foghorn::drill::testing::SampleReport;
using ::foghorn::testing::IsOk;
using ::foghorn::testing::ReadFileOrDie;
using ::foghorn::testing::StatusIs;
using ::testing::HasSubstr;

std::vector<std::string> Ids(const std::vector<v1::DrillReportSummary>& list) {
  std::vector<std::string> out;
  for (const v1::DrillReportSummary& s : list) out.push_back(s.drill_id());
  return out;
}

TEST(ReportStoreTest, SavesTheProtoJsonAndThePage) {
  ::foghorn::testing::TempDir tmp;
  ReportStore store(ReportStore::DirFor(tmp.path()));
  const absl::Time t = absl::FromUnixSeconds(1767225600);
  auto saved = store.Save(SampleReport("drill-a", t, "g1"));
  ASSERT_THAT(saved, IsOk());
  EXPECT_EQ(saved->drill_id(), "drill-a");
  EXPECT_EQ(saved->group_id(), "g1");
  EXPECT_EQ(saved->outcome(), v1::DRILL_OUTCOME_PASSED);
  EXPECT_EQ(FromTimestamp(saved->started_at()), t);
  EXPECT_EQ(saved->json_path(), tmp.path() + "/reports/drill-a.json");
  EXPECT_THAT(ReadFileOrDie(saved->json_path()), HasSubstr("\"DRILL_OUTCOME_PASSED\""));
  EXPECT_THAT(ReadFileOrDie(saved->html_path()), HasSubstr("<svg id=\"timeline\""));
  auto back = store.Read("drill-a");
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->samples_size(), 2);
}

TEST(ReportStoreTest, ListsNewestFirstAndFiltersByGroup) {
  ::foghorn::testing::TempDir tmp;
  ReportStore store(ReportStore::DirFor(tmp.path()));
  const absl::Time t = absl::FromUnixSeconds(1767225600);
  ASSERT_THAT(store.Save(SampleReport("drill-a", t, "g1")), IsOk());
  ASSERT_THAT(store.Save(SampleReport("drill-b", t + absl::Hours(1), "g1")), IsOk());
  ASSERT_THAT(store.Save(SampleReport("drill-c", t + absl::Hours(2), "g2")), IsOk());
  auto all = store.List("", 0);
  ASSERT_THAT(all, IsOk());
  EXPECT_THAT(Ids(*all), ::testing::ElementsAre("drill-c", "drill-b", "drill-a"));
  auto g1 = store.List("g1", 1);
  ASSERT_THAT(g1, IsOk());
  EXPECT_THAT(Ids(*g1), ::testing::ElementsAre("drill-b"));
}

TEST(ReportStoreTest, ReportsOfTheOldCodecAreListedAndReadBesideNewOnes) {
  ::foghorn::testing::TempDir tmp;
  ReportStore store(tmp.path());
  const std::string fixtures = ::foghorn::testing::FixturesDir() + "/drill/";
  tmp.Write("drill-fog-orders-20261202T181355.184Z.json",
            ReadFileOrDie(fixtures + "legacy-report-passed.json"));
  tmp.Write("drill-fog-orders-20260101T100000.250Z.json",
            ReadFileOrDie(fixtures + "legacy-report-failed.json"));
  ASSERT_THAT(
      store.Save(SampleReport("drill-new", absl::FromUnixSeconds(1780000000),
                              "00000000-1111-2222-3333-444444444444/rg-foghorn/fog-orders")),
      IsOk());
  tmp.Write("not-a-report.json", "{\"hello\": 1}");

  auto all = store.List("00000000-1111-2222-3333-444444444444/rg-foghorn/fog-orders", 0);
  ASSERT_THAT(all, IsOk());
  EXPECT_THAT(Ids(*all),
              ::testing::ElementsAre("drill-fog-orders-20261202T181355.184Z", "drill-new",
                                     "drill-fog-orders-20260101T100000.250Z"));
  EXPECT_EQ((*all)[0].outcome(), v1::DRILL_OUTCOME_PASSED);
  EXPECT_EQ((*all)[2].outcome(), v1::DRILL_OUTCOME_FAILED);
  EXPECT_TRUE((*all)[2].has_finished_at());

  auto old = store.Read("drill-fog-orders-20260101T100000.250Z");
  ASSERT_THAT(old, IsOk());
  EXPECT_EQ(old->outcome(), v1::DRILL_OUTCOME_FAILED);
  EXPECT_FALSE(old->directions(1).has_rto());
}

TEST(ReportStoreTest, ReadRefusesUnknownAndPathLikeIds) {
  ::foghorn::testing::TempDir tmp;
  ReportStore store(tmp.path());
  EXPECT_THAT(store.Read("nope"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store.Read("../etc/passwd"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(store.Read(std::string("x\0/../../etc/passwd", 20)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(store.Read("a\nb"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(store.Read(std::string(200, 'a')), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(store.Read(".hidden"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(store.Save(SampleReport("../up", absl::UnixEpoch())),
              StatusIs(absl::StatusCode::kInvalidArgument));
  auto none = ReportStore(tmp.File("missing")).List("", 0);
  ASSERT_THAT(none, IsOk());
  EXPECT_TRUE(none->empty());
}

}  // namespace
}  // namespace foghorn::drill
