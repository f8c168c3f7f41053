// The azure_metric, resource_health and replication_link probes through the whole chain foghornd
// wires (SystemProber -> CachingAzureSignalReader -> daemon::ArmAzureSignalReader on a worker
// pool -> arm::AzureSignals -> ArmClient -> curl) against foghorn-armsim's signal model, on the
// emulator's FakeClock: lag from Azure Monitor, Resource Health after a region outage, a
// SUSPENDED link, and one ARM read for many probes on one resource.
#include <memory>
#include <string>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orchestrator/arm/arm_client.h"
#include "orchestrator/arm/azure_signals.h"
#include "orchestrator/arm/credentials.h"
#include "orchestrator/common/fake_clock.h"
#include "orchestrator/common/log.h"
#include "orchestrator/common/sleeper.h"
#include "orchestrator/common/worker_pool.h"
#include "orchestrator/daemon/azure_signal_adapter.h"
#include "orchestrator/http/curl_http_transport.h"
#include "probes/azure_signal_reader.h"
#include "probes/system_prober.h"
#include "tests/testing/capturing_log_sink.h"
#include "tests/testing/temp_dir.h"
#include "tools/armsim/armsim_server.h"

namespace foghorn::probes {
namespace {

using ::testing::HasSubstr;

constexpr char kSub[] = "00000000-1111-2222-3333-444444444444";
constexpr char kRg[] = "rg-foghorn";

class AzureSignalArmSimTest : public ::testing::Test {
 protected:
  void SetUp() override {
    armsim::ArmSimOptions o;
    o.topology_path = foghorn::testing::SourceDir() + "/tools/armsim/examples/topology.json";
    o.cert_dir = dir_.path();
    o.tls = false;
    o.data_plane = false;
    o.threads = 4;
    o.clock = &sim_clock_;
    o.signals.metrics_ingestion_delay = absl::Seconds(90);
    o.signals.health_down_delay = absl::Seconds(60);
    auto sim = armsim::ArmSimServer::Start(o);
    ASSERT_TRUE(sim.ok()) << sim.status();
    sim_ = std::move(*sim);
    transport_ = std::make_unique<http::CurlHttpTransport>(http::CurlHttpTransport::Options{});
    credential_ = std::make_unique<arm::StaticTokenCredential>(
        real_clock_, arm::StaticTokenCredential::Options{"armsim-test-token", "", absl::Hours(1)},
        std::make_shared<common::Redactor>());
    arm::ArmClientOptions ao;
    ao.endpoint = sim_->base_url();
    ao.backoff.initial = absl::Milliseconds(5);
    ao.backoff.max = absl::Milliseconds(20);
    ao.read_deadline = absl::Seconds(10);
    common::Logger logger(std::make_shared<foghorn::testing::CapturingLogSink>(),
                          std::make_shared<common::Redactor>(), real_clock_,
                          {common::LogLevel::kWarn, common::LogFormat::kJson});
    client_ = std::make_unique<arm::ArmClient>(*transport_, *credential_, real_clock_, sleeper_,
                                               logger, ao);
    signals_ = std::make_unique<arm::AzureSignals>(*client_);
    // The adapter and the cache judge time by the emulator's clock, as foghornd's share one.
    adapter_ = std::make_unique<daemon::ArmAzureSignalReader>(*signals_, workers_, sim_clock_);
    cache_ = std::make_unique<CachingAzureSignalReader>(*adapter_, sim_clock_, absl::Seconds(30));
    SystemProber::Options po;
    po.azure_signals = cache_.get();
    po.clock = &sim_clock_;
    auto p = SystemProber::Create(po);
    ASSERT_TRUE(p.ok()) << p.status();
    prober_ = std::move(*p);
  }
  void TearDown() override {
    if (prober_) prober_->Shutdown();
    workers_.Shutdown();
  }

  ProbeResult Run(const v1::ProbeSpec& spec, const std::string& server) {
    ProbeContext context;
    context.failover_group = {kSub, kRg, server, "fog-orders"};
    absl::Notification done;
    ProbeResult result;
    prober_->Start(spec, context, absl::Seconds(10), [&](ProbeResult r) {
      result = std::move(r);
      done.Notify();
    });
    EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
    return result;
  }

  int Requests(const std::string& route) const {
    int n = 0;
    for (const auto& r : sim_->RequestLog()) n += r.route == route ? 1 : 0;
    return n;
  }

  foghorn::testing::TempDir dir_;
  common::FakeClock sim_clock_{absl::FromUnixSeconds(1767225600)};
  common::RealClock real_clock_;
  common::RealSleeper sleeper_;
  common::WorkerPool workers_{2};
  std::unique_ptr<armsim::ArmSimServer> sim_;
  std::unique_ptr<http::CurlHttpTransport> transport_;
  std::unique_ptr<arm::TokenCredential> credential_;
  std::unique_ptr<arm::ArmClient> client_;
  std::unique_ptr<arm::AzureSignals> signals_;
  std::unique_ptr<daemon::ArmAzureSignalReader> adapter_;
  std::unique_ptr<CachingAzureSignalReader> cache_;
  std::unique_ptr<SystemProber> prober_;
};

v1::ProbeSpec LagProbe() {
  v1::ProbeSpec spec;
  spec.set_name("lag");
  spec.set_metric_kind(v1::METRIC_KIND_REPLICATION_LAG_SECONDS);
  spec.mutable_azure_metric()->set_database("orders");
  return spec;
}

TEST_F(AzureSignalArmSimTest, LagComesFromAzureMonitorWithItsPublishingDelayAdded) {
  // No minute is published yet: the probe abstains.
  EXPECT_EQ(Run(LagProbe(), "sql-east").outcome, ProbeOutcome::kUnknown);
  ASSERT_TRUE(sim_->SetReplicationLag("fog-orders", absl::Seconds(30)).ok());
  for (int i = 0; i < 60; ++i) {  // 5 minutes of writes, 5 s apart
    ASSERT_TRUE(sim_->RecordWrites("fog-orders", 1).ok());
    sim_clock_.Advance(absl::Seconds(5));
  }
  ProbeResult r = Run(LagProbe(), "sql-east");
  ASSERT_EQ(r.outcome, ProbeOutcome::kSuccess) << r.detail;
  ASSERT_TRUE(r.metric.has_value());
  // A value of 20-30 s, published 90 s after its minute ended: 110-180 s old, so the reported
  // lag is at least 130 s and at most 30 + 180 s.
  EXPECT_GE(*r.metric, 130.0) << r.detail;
  EXPECT_LE(*r.metric, 210.0) << r.detail;
  // The secondary's database has no lag of its own: UNKNOWN, never a failure.
  EXPECT_EQ(Run(LagProbe(), "sql-west").outcome, ProbeOutcome::kUnknown);
}

TEST_F(AzureSignalArmSimTest, ResourceHealthFailsOnceAzureSaysUnavailable) {
  v1::ProbeSpec health;
  health.set_name("health");
  health.mutable_resource_health();
  EXPECT_EQ(Run(health, "sql-east").outcome, ProbeOutcome::kSuccess);
  sim_->SetRegionDown("eastus", {});
  sim_clock_.Advance(absl::Seconds(61));  // past the down delay and the cache's ttl
  ProbeResult r = Run(health, "sql-east");
  EXPECT_EQ(r.outcome, ProbeOutcome::kFailure);
  EXPECT_THAT(r.detail, HasSubstr("Unavailable (Unplanned)"));
  EXPECT_EQ(Run(health, "sql-west").outcome, ProbeOutcome::kSuccess);
}

TEST_F(AzureSignalArmSimTest, ASuspendedLinkMakesTheSecondaryNotReady) {
  v1::ProbeSpec link;
  link.set_name("link");
  link.mutable_replication_link()->set_database("orders");
  link.mutable_replication_link()->set_expect_role(v1::ROLE_SECONDARY);
  ProbeResult ok = Run(link, "sql-west");
  EXPECT_EQ(ok.outcome, ProbeOutcome::kSuccess) << ok.detail;
  armsim::RegionOutage data_only;
  data_only.control_plane = false;
  sim_->SetRegionDown("eastus", data_only);
  sim_clock_.Advance(absl::Seconds(31));
  ProbeResult r = Run(link, "sql-west");
  EXPECT_EQ(r.outcome, ProbeOutcome::kFailure);
  EXPECT_THAT(r.detail, HasSubstr("not ready: SUSPENDED"));
}

TEST_F(AzureSignalArmSimTest, ManyProbesOnOneResourceCostOneArmReadPerTtl) {
  v1::ProbeSpec health;
  health.set_name("health");
  health.mutable_resource_health();
  for (int i = 0; i < 20; ++i) EXPECT_EQ(Run(health, "sql-east").outcome, ProbeOutcome::kSuccess);
  EXPECT_EQ(Requests("resourceHealth"), 1);
  sim_clock_.Advance(absl::Seconds(30));
  EXPECT_EQ(Run(health, "sql-east").outcome, ProbeOutcome::kSuccess);
  EXPECT_EQ(Requests("resourceHealth"), 2);
  EXPECT_EQ(cache_->inner_reads(), 2);
}

}  // namespace
}  // namespace foghorn::probes
