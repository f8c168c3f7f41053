#include "orchestrator/common/metrics.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace foghorn::common {
namespace {

using ::testing::HasSubstr;

TEST(MetricsRegistryTest, CountersAddUpPerLabelSet) {
  MetricsRegistry m;
  m.IncrementCounter("foghorn_arm_calls_total", {{"status", "200"}});
  m.IncrementCounter("foghorn_arm_calls_total", {{"status", "200"}});
  m.IncrementCounter("foghorn_arm_calls_total", {{"status", "429"}});
  EXPECT_EQ(m.Value("foghorn_arm_calls_total", {{"status", "200"}}), 2);
  EXPECT_EQ(m.Value("foghorn_arm_calls_total", {{"status", "429"}}), 1);
  EXPECT_EQ(m.Value("foghorn_arm_calls_total", {{"status", "500"}}), 0);
}

TEST(MetricsRegistryTest, RendersTheTextExpositionFormat) {
  MetricsRegistry m;
  m.Describe("foghorn_groups", "Failover groups watched.");
  m.SetGauge("foghorn_groups", {}, 3);
  m.IncrementCounter("foghorn_decisions_total", {{"action", "hold"}, {"group", "a\"b"}});
  std::string text = m.Render();
  EXPECT_THAT(text, HasSubstr("# HELP foghorn_groups Failover groups watched.\n"
                              "# TYPE foghorn_groups gauge\nfoghorn_groups 3\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE foghorn_decisions_total counter\n"
                              "foghorn_decisions_total{action=\"hold\",group=\"a\\\"b\"} 1\n"));
}

TEST(MetricsRegistryTest, HistogramBucketsAreCumulative) {
  MetricsRegistry m;
  const std::vector<double> buckets = {0.001, 0.01};
  m.Observe("lat", {}, 0.0005, buckets);
  m.Observe("lat", {}, 0.005, buckets);
  m.Observe("lat", {}, 5, buckets);
  std::string text = m.Render();
  EXPECT_THAT(text, HasSubstr("lat_bucket{le=\"0.001\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("lat_bucket{le=\"0.01\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("lat_bucket{le=\"+Inf\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("lat_count 3\n"));
  EXPECT_EQ(m.Count("lat"), 3u);
}

TEST(MetricsRegistryDeathTest, UsingOneNameAsTwoKindsAborts) {
  MetricsRegistry m;
  m.IncrementCounter("x");
  EXPECT_DEATH(m.SetGauge("x", {}, 1), "two kinds");
}

}  // namespace
}  // namespace foghorn::common
