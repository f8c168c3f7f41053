// The azure_metric, resource_health and replication_link probe kinds: their judgements
// (result_checks.h), the caching/coalescing AzureSignalReader decorator, and the SystemProber
// running them through a FakeAzureSignalReader (no network).
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orchestrator/common/fake_clock.h"
#include "probes/azure_signal_reader.h"
#include "probes/probe_config.h"
#include "probes/result_checks.h"
#include "probes/system_prober.h"

namespace foghorn::probes {
namespace {

using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1767225600);

v1::ProbeSpec LagSpec() {
  v1::ProbeSpec spec;
  spec.set_name("lag");
  spec.set_metric_kind(v1::METRIC_KIND_REPLICATION_LAG_SECONDS);
  spec.mutable_azure_metric()->set_database("orders");
  return spec;
}

// ---- judgements ----

TEST(AzureMetricJudgeTest, LagIsReportedWithTheAgeOfItsMinuteAdded) {
  v1::ProbeSpec spec = LagSpec();
  ProbeResult r = JudgeAzureMetric(
      spec, std::optional<MetricSample>(MetricSample{kNow - absl::Seconds(150), 4.0}), kNow);
  EXPECT_EQ(r.outcome, ProbeOutcome::kSuccess);
  ASSERT_TRUE(r.metric.has_value());
  EXPECT_DOUBLE_EQ(*r.metric, 154.0);
  EXPECT_THAT(r.detail, HasSubstr("replication_lag_seconds 4"));
  // Without the lag kind the value is reported as it is.
  spec.set_metric_kind(v1::METRIC_KIND_UNSPECIFIED);
  spec.mutable_azure_metric()->set_metric("availability");
  r = JudgeAzureMetric(
      spec, std::optional<MetricSample>(MetricSample{kNow - absl::Seconds(150), 100}), kNow);
  EXPECT_DOUBLE_EQ(*r.metric, 100.0);
}

TEST(AzureMetricJudgeTest, ThresholdsFailStaleOrMissingValuesAbstain) {
  v1::ProbeSpec spec = LagSpec();
  spec.mutable_azure_metric()->set_max_value(30);
  const auto at = [](absl::Duration age, double v) {
    return absl::StatusOr<std::optional<MetricSample>>(MetricSample{kNow - age, v});
  };
  EXPECT_EQ(JudgeAzureMetric(spec, at(absl::Minutes(2), 31), kNow).outcome, ProbeOutcome::kFailure);
  EXPECT_EQ(JudgeAzureMetric(spec, at(absl::Minutes(2), 30), kNow).outcome, ProbeOutcome::kSuccess);
  // Older than max_sample_age (default 5m): stale, UNKNOWN, whatever the value.
  ProbeResult stale = JudgeAzureMetric(spec, at(absl::Minutes(6), 99), kNow);
  EXPECT_EQ(stale.outcome, ProbeOutcome::kUnknown);
  EXPECT_THAT(stale.detail, HasSubstr("stale"));
  EXPECT_FALSE(stale.metric.has_value());
  spec.mutable_azure_metric()->mutable_max_sample_age()->set_seconds(600);
  EXPECT_EQ(JudgeAzureMetric(spec, at(absl::Minutes(6), 1), kNow).outcome, ProbeOutcome::kSuccess);
  EXPECT_EQ(JudgeAzureMetric(spec, std::optional<MetricSample>(), kNow).outcome,
            ProbeOutcome::kUnknown);
  spec.mutable_azure_metric()->set_min_value(5);
  EXPECT_EQ(JudgeAzureMetric(spec, at(absl::Minutes(2), 4), kNow).outcome, ProbeOutcome::kFailure);
}

TEST(AzureMetricJudgeTest, OnlyAMissingResourceIsTheTargetsFault) {
  v1::ProbeSpec spec = LagSpec();
  EXPECT_EQ(JudgeAzureMetric(spec, absl::NotFoundError("no db"), kNow).outcome,
            ProbeOutcome::kFailure);
  for (const absl::Status& s :
       {absl::UnavailableError("429"), absl::PermissionDeniedError("rbac"),
        absl::InvalidArgumentError("malformed"), absl::DeadlineExceededError("slow")}) {
    EXPECT_EQ(JudgeAzureMetric(spec, s, kNow).outcome, ProbeOutcome::kUnknown) << s;
  }
}

TEST(ResourceHealthJudgeTest, DownAndUnknownStatesAreConfigurable) {
  v1::ResourceHealthProbe spec;
  auto health = [](const std::string& state) {
    return absl::StatusOr<HealthStatus>(HealthStatus{state, "Unplanned", "outage", std::nullopt});
  };
  EXPECT_EQ(JudgeResourceHealth(spec, health("Available")).outcome, ProbeOutcome::kSuccess);
  EXPECT_EQ(JudgeResourceHealth(spec, health("Degraded")).outcome, ProbeOutcome::kSuccess);
  ProbeResult down = JudgeResourceHealth(spec, health("Unavailable"));
  EXPECT_EQ(down.outcome, ProbeOutcome::kFailure);
  EXPECT_THAT(down.detail, HasSubstr("Unavailable (Unplanned): outage"));
  EXPECT_EQ(JudgeResourceHealth(spec, health("Unknown")).outcome, ProbeOutcome::kUnknown);
  spec.add_down_states("degraded");
  spec.add_down_states("Unavailable");
  spec.add_unknown_states("Available");  // odd, but the runbook's word counts
  EXPECT_EQ(JudgeResourceHealth(spec, health("Degraded")).outcome, ProbeOutcome::kFailure);
  EXPECT_EQ(JudgeResourceHealth(spec, health("Available")).outcome, ProbeOutcome::kUnknown);
  EXPECT_EQ(JudgeResourceHealth(spec, health("Unknown")).outcome, ProbeOutcome::kSuccess);
  EXPECT_EQ(JudgeResourceHealth(spec, absl::UnavailableError("x")).outcome, ProbeOutcome::kUnknown);
}

LinkStatus Link(const std::string& state, const std::string& partner = "sql-east") {
  LinkStatus l;
  l.role = v1::ROLE_SECONDARY;
  l.partner_role = v1::ROLE_PRIMARY;
  l.partner_server = partner;
  l.partner_database = "orders";
  l.replication_state = state;
  l.link_type = "GEO";
  return l;
}

TEST(ReplicationLinkJudgeTest, SeedingOrSuspendedSecondaryIsNotReady) {
  v1::ReplicationLinkProbe spec;
  using Links = std::vector<LinkStatus>;
  EXPECT_EQ(JudgeReplicationLink(spec, Links{Link("CATCH_UP")}).outcome, ProbeOutcome::kSuccess);
  LinkStatus seeding = Link("SEEDING");
  seeding.percent_complete = 40;
  ProbeResult r = JudgeReplicationLink(spec, Links{seeding});
  EXPECT_EQ(r.outcome, ProbeOutcome::kFailure);
  EXPECT_THAT(r.detail, HasSubstr("not ready: SEEDING 40%"));
  // Even a runbook that lists SUSPENDED as expected cannot make it ready.
  spec.add_expect_states("SUSPENDED");
  spec.add_expect_states("CATCH_UP");
  EXPECT_EQ(JudgeReplicationLink(spec, Links{Link("SUSPENDED")}).outcome, ProbeOutcome::kFailure);
  EXPECT_EQ(JudgeReplicationLink(spec, Links{Link("PENDING")}).outcome, ProbeOutcome::kFailure);
}

TEST(ReplicationLinkJudgeTest, RoleAndPartnerAreChecked) {
  v1::ReplicationLinkProbe spec;
  using Links = std::vector<LinkStatus>;
  spec.set_expect_role(v1::ROLE_PRIMARY);
  EXPECT_THAT(JudgeReplicationLink(spec, Links{Link("CATCH_UP")}).detail,
              HasSubstr("role is ROLE_SECONDARY"));
  spec.set_expect_role(v1::ROLE_SECONDARY);
  spec.set_partner_server("SQL-EAST");
  EXPECT_EQ(JudgeReplicationLink(spec, Links{Link("SUSPENDED", "other"), Link("CATCH_UP")}).outcome,
            ProbeOutcome::kSuccess);
  EXPECT_EQ(JudgeReplicationLink(spec, Links{Link("CATCH_UP", "other")}).outcome,
            ProbeOutcome::kFailure);
  EXPECT_EQ(JudgeReplicationLink(spec, Links{}).outcome, ProbeOutcome::kFailure);
  EXPECT_EQ(JudgeReplicationLink(spec, absl::NotFoundError("no db")).outcome,
            ProbeOutcome::kFailure);
  EXPECT_EQ(JudgeReplicationLink(spec, absl::UnavailableError("region down")).outcome,
            ProbeOutcome::kUnknown);
}

// ---- validation ----

TEST(AzureProbeConfigTest, ProblemsNameTheField) {
  v1::ProbeSpec spec = LagSpec();
  EXPECT_TRUE(ValidateProbeSpec(spec).ok()) << ValidateProbeSpec(spec);
  spec.set_metric_kind(v1::METRIC_KIND_UNSPECIFIED);
  EXPECT_THAT(std::string(ValidateProbeSpec(spec).message()), HasSubstr("azure_metric.metric"));
  spec.mutable_azure_metric()->set_metric("availability");
  spec.mutable_azure_metric()->set_aggregation("median");
  EXPECT_THAT(std::string(ValidateProbeSpec(spec).message()),
              HasSubstr("azure_metric.aggregation"));
  spec.mutable_azure_metric()->set_aggregation("average");
  spec.mutable_azure_metric()->mutable_max_sample_age()->set_seconds(10);
  EXPECT_THAT(std::string(ValidateProbeSpec(spec).message()),
              HasSubstr("azure_metric.max_sample_age"));
  v1::ProbeSpec link;
  link.set_name("link");
  link.mutable_replication_link();
  EXPECT_THAT(std::string(ValidateProbeSpec(link).message()),
              HasSubstr("replication_link.database"));
  v1::ProbeSpec tds;
  tds.set_name("tds");
  tds.mutable_tcp()->set_tds_prelogin(true);
  EXPECT_TRUE(ValidateProbeSpec(tds).ok());
  tds.mutable_tcp()->set_expect("x");
  EXPECT_THAT(std::string(ValidateProbeSpec(tds).message()), HasSubstr("tcp.tds_prelogin"));
}

// ---- the caching reader ----

// Holds reads until the test answers them, to see coalescing.
class HeldReader final : public AzureSignalReader {
 public:
  void ReadMetric(const MetricRequest&, absl::Time,
                  Callback<std::optional<MetricSample>> done) override {
    metric_waiting.push_back(std::move(done));
  }
  void ReadHealth(const AzureResourceRef& r, absl::Time, Callback<HealthStatus> done) override {
    ++health_reads;
    std::move(done)(HealthStatus{"Available", "", r.Key(), std::nullopt});
  }
  void ReadLinks(const AzureResourceRef&, absl::Time,
                 Callback<std::vector<LinkStatus>> done) override {
    ++link_reads;
    std::move(done)(absl::UnavailableError("region down"));
  }
  std::vector<Callback<std::optional<MetricSample>>> metric_waiting;
  int health_reads = 0;
  int link_reads = 0;
};

TEST(CachingAzureSignalReaderTest, ManyGroupsOnOneResourceShareOneReadPerTtl) {
  common::FakeClock clock(kNow);
  HeldReader inner;
  CachingAzureSignalReader cache(inner, clock, absl::Seconds(30));
  const AzureResourceRef server{"sub", "rg", "sql-east", ""};
  int answered = 0;
  for (int group = 0; group < 100; ++group) {
    cache.ReadHealth(server, kNow, [&](absl::StatusOr<HealthStatus> h) {
      ASSERT_TRUE(h.ok());
      EXPECT_EQ(h->summary, "sub/rg/sql-east");
      ++answered;
    });
  }
  EXPECT_EQ(answered, 100);
  EXPECT_EQ(inner.health_reads, 1);
  clock.Advance(absl::Seconds(29));
  cache.ReadHealth(server, kNow, [](absl::StatusOr<HealthStatus>) {});
  EXPECT_EQ(inner.health_reads, 1);
  clock.Advance(absl::Seconds(1));
  cache.ReadHealth(server, kNow, [](absl::StatusOr<HealthStatus>) {});
  EXPECT_EQ(inner.health_reads, 2);
  // Another resource is its own key; failures are shared for the ttl as well.
  cache.ReadHealth({"sub", "rg", "sql-east", "orders"}, kNow, [](absl::StatusOr<HealthStatus>) {});
  EXPECT_EQ(inner.health_reads, 3);
  for (int i = 0; i < 3; ++i) {
    cache.ReadLinks({"sub", "rg", "sql-west", "orders"}, kNow,
                    [](absl::StatusOr<std::vector<LinkStatus>> l) {
                      EXPECT_EQ(l.status().code(), absl::StatusCode::kUnavailable);
                    });
  }
  EXPECT_EQ(inner.link_reads, 1);
  EXPECT_EQ(cache.inner_reads(), 4);
}

TEST(CachingAzureSignalReaderTest, RequestsDuringARunningReadWaitForIt) {
  common::FakeClock clock(kNow);
  HeldReader inner;
  CachingAzureSignalReader cache(inner, clock, absl::Seconds(30));
  MetricRequest req;
  req.database = {"sub", "rg", "sql-east", "orders"};
  req.metric = "replication_lag_seconds";
  req.aggregation = "Maximum";
  std::vector<double> got;
  for (int i = 0; i < 5; ++i) {
    cache.ReadMetric(req, kNow, [&](absl::StatusOr<std::optional<MetricSample>> s) {
      ASSERT_TRUE(s.ok() && s->has_value());
      got.push_back((*s)->value);
    });
  }
  ASSERT_EQ(inner.metric_waiting.size(), 1u);
  EXPECT_TRUE(got.empty());
  std::move(inner.metric_waiting[0])(std::optional<MetricSample>(MetricSample{kNow, 7}));
  EXPECT_EQ(got, std::vector<double>(5, 7.0));
  // A different aggregation is another read.
  req.aggregation = "Average";
  cache.ReadMetric(req, kNow, [](absl::StatusOr<std::optional<MetricSample>>) {});
  EXPECT_EQ(inner.metric_waiting.size(), 2u);
}

// ---- the prober ----

class AzureSignalProberTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SystemProber::Options options;
    options.azure_signals = &fake_;
    options.clock = &clock_;
    auto p = SystemProber::Create(options);
    ASSERT_TRUE(p.ok()) << p.status();
    prober_ = std::move(*p);
  }
  ProbeResult Run(const v1::ProbeSpec& spec, const std::string& server) {
    ProbeContext context;
    context.failover_group = {"sub", "rg", server, "fog-orders"};
    absl::Notification done;
    ProbeResult result;
    prober_->Start(spec, context, absl::Seconds(5), [&](ProbeResult r) {
      result = std::move(r);
      done.Notify();
    });
    EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
    return result;
  }
  common::FakeClock clock_{kNow};
  FakeAzureSignalReader fake_;
  std::unique_ptr<SystemProber> prober_;
};

TEST_F(AzureSignalProberTest, EachKindReadsItsSignalForTheTargetServer) {
  MetricRequest req;
  req.database = {"sub", "rg", "sql-east", "orders"};
  req.metric = "replication_lag_seconds";
  req.aggregation = "Maximum";
  req.lookback = absl::Minutes(7);
  fake_.SetMetric(req, std::optional<MetricSample>(MetricSample{kNow - absl::Minutes(2), 3}));
  ProbeResult lag = Run(LagSpec(), "sql-east");
  EXPECT_EQ(lag.outcome, ProbeOutcome::kSuccess) << lag.detail;
  EXPECT_DOUBLE_EQ(lag.metric.value_or(-1), 123.0);

  v1::ProbeSpec health;
  health.set_name("health");
  health.mutable_resource_health();
  fake_.SetHealth({"sub", "rg", "sql-east", ""},
                  HealthStatus{"Unavailable", "Unplanned", "", std::nullopt});
  EXPECT_EQ(Run(health, "sql-east").outcome, ProbeOutcome::kFailure);

  v1::ProbeSpec link;
  link.set_name("link");
  link.mutable_replication_link()->set_database("orders");
  fake_.SetLinks({"sub", "rg", "sql-west", "orders"}, std::vector<LinkStatus>{Link("SUSPENDED")});
  ProbeResult l = Run(link, "sql-west");
  EXPECT_EQ(l.outcome, ProbeOutcome::kFailure);
  EXPECT_THAT(l.detail, HasSubstr("SUSPENDED"));
  EXPECT_EQ(fake_.reads(), 3);
}

TEST(AzureSignalProberNoReaderTest, WithoutAReaderTheProbeAbstains) {
  auto p = SystemProber::Create({});
  ASSERT_TRUE(p.ok());
  absl::Notification done;
  ProbeResult result;
  ProbeContext context;
  context.failover_group = {"sub", "rg", "sql-east", "fog"};
  (*p)->Start(LagSpec(), context, absl::Seconds(1), [&](ProbeResult r) {
    result = std::move(r);
    done.Notify();
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(result.outcome, ProbeOutcome::kUnknown);
}

}  // namespace
}  // namespace foghorn::probes
