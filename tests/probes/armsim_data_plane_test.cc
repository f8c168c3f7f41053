// TCP probes against foghorn-armsim's SQL data plane, including region outages in refuse and
// black-hole modes, and the whole chain (scheduler on a real executor -> tracker) seeing a
// regional outage as the primary going down while the secondary stays healthy.
#include <memory>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orchestrator/common/thread_executor.h"
#include "probes/health_tracker.h"
#include "probes/probe_scheduler.h"
#include "probes/system_prober.h"
#include "tests/testing/temp_dir.h"
#include "tools/armsim/armsim_server.h"

namespace foghorn::probes {
namespace {

using ::testing::HasSubstr;

class ArmSimDataPlaneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    armsim::ArmSimOptions o;
    o.topology_path = foghorn::testing::SourceDir() + "/tools/armsim/examples/topology.json";
    o.cert_dir = dir_.path();
    o.tls = false;
    o.threads = 2;
    auto sim = armsim::ArmSimServer::Start(o);
    ASSERT_TRUE(sim.ok()) << sim.status();
    sim_ = std::move(*sim);
    auto p = SystemProber::Create({});
    ASSERT_TRUE(p.ok()) << p.status();
    prober_ = std::move(*p);
  }

  ProbeResult Run(const v1::ProbeSpec& spec, absl::Duration timeout = absl::Seconds(2)) {
    absl::Notification done;
    ProbeResult result;
    prober_->Start(spec, {}, timeout, [&](ProbeResult r) {
      result = std::move(r);
      done.Notify();
    });
    EXPECT_TRUE(done.WaitForNotificationWithTimeout(timeout + absl::Seconds(10)));
    return result;
  }

  static v1::ProbeSpec Tcp(const std::string& address, bool expect_pong) {
    v1::ProbeSpec spec;
    spec.set_name("sql");
    spec.mutable_tcp()->set_address(address);
    if (expect_pong) {
      spec.mutable_tcp()->set_send("PING\n");
      spec.mutable_tcp()->set_expect("PONG");
    }
    return spec;
  }

  foghorn::testing::TempDir dir_;
  std::unique_ptr<armsim::ArmSimServer> sim_;
  std::unique_ptr<SystemProber> prober_;
};

TEST_F(ArmSimDataPlaneTest, ProbesSeeTheServersAndListeners) {
  for (const std::string& address :
       {sim_->ServerEndpoint("sql-east"), sim_->ServerEndpoint("sql-west"),
        sim_->ReadWriteListener("fog-orders"), sim_->ReadOnlyListener("fog-orders")}) {
    ASSERT_FALSE(address.empty());
    EXPECT_EQ(Run(Tcp(address, false)).outcome, ProbeOutcome::kSuccess) << address;
    EXPECT_EQ(Run(Tcp(address, true)).outcome, ProbeOutcome::kSuccess) << address;
  }
}

TEST_F(ArmSimDataPlaneTest, ARefusingRegionOutageFailsTcpProbesOfThatRegionOnly) {
  armsim::RegionOutage outage;
  outage.control_plane = false;
  outage.mode = armsim::OutageMode::kRefuse;
  sim_->SetRegionDown("eastus", outage);
  std::string east = sim_->ServerEndpoint("sql-east");
  bool refused = false;
  // The data plane applies outages asynchronously; poll with a bounded deadline.
  for (absl::Time deadline = absl::Now() + absl::Seconds(10); absl::Now() < deadline;) {
    ProbeResult r = Run(Tcp(east, false));
    if (r.outcome == ProbeOutcome::kFailure) {
      EXPECT_THAT(r.detail, HasSubstr("refused"));
      refused = true;
      break;
    }
  }
  EXPECT_TRUE(refused);
  EXPECT_EQ(Run(Tcp(sim_->ServerEndpoint("sql-west"), false)).outcome, ProbeOutcome::kSuccess);
}

TEST_F(ArmSimDataPlaneTest, ABlackHoleOutageFailsProbesThatWaitForAReply) {
  armsim::RegionOutage outage;
  outage.control_plane = false;
  outage.mode = armsim::OutageMode::kBlackhole;
  sim_->SetRegionDown("eastus", outage);
  std::string east = sim_->ServerEndpoint("sql-east");
  bool failed = false;
  for (absl::Time deadline = absl::Now() + absl::Seconds(10); absl::Now() < deadline;) {
    ProbeResult r = Run(Tcp(east, true), absl::Milliseconds(300));
    if (r.outcome == ProbeOutcome::kFailure) {
      failed = true;
      break;
    }
  }
  EXPECT_TRUE(failed);
  sim_->SetRegionUp("eastus");
  bool back = false;
  for (absl::Time deadline = absl::Now() + absl::Seconds(10); absl::Now() < deadline;) {
    if (Run(Tcp(east, true)).outcome == ProbeOutcome::kSuccess) {
      back = true;
      break;
    }
  }
  EXPECT_TRUE(back);
}

// Collects verdicts; lets the test wait (bounded) for a condition.
class WaitingVerdictSink final : public VerdictSink {
 public:
  void OnVerdictChange(const VerdictEvent& e) override {
    absl::MutexLock lock(&mu_);
    events_.push_back(e);
  }
  // Waits until (group, target) has had `verdict` reported; returns that event.
  std::optional<VerdictEvent> WaitFor(v1::ProbeTarget target, v1::Verdict verdict) {
    absl::MutexLock lock(&mu_);
    std::optional<VerdictEvent> found;
    auto cond = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      for (const VerdictEvent& e : events_) {
        if (e.target == target && e.verdict == verdict) {
          found = e;
          return true;
        }
      }
      return false;
    };
    mu_.AwaitWithTimeout(absl::Condition(&cond), absl::Seconds(20));
    return found;
  }

 private:
  absl::Mutex mu_;
  std::vector<VerdictEvent> events_ ABSL_GUARDED_BY(mu_);
};

TEST_F(ArmSimDataPlaneTest, ARegionOutageTurnsThePrimaryUnhealthyAndLeavesTheSecondaryHealthy) {
  common::RealClock clock;
  WaitingVerdictSink verdicts;
  HealthTracker tracker(clock, &verdicts);
  auto executor = std::make_unique<common::ThreadExecutor>(clock);
  auto scheduler = std::make_unique<ProbeScheduler>(*executor, *prober_, &tracker);
  for (auto [name, server, target] :
       {std::tuple{"primary-sql", "sql-east", v1::PROBE_TARGET_PRIMARY},
        std::tuple{"secondary-sql", "sql-west", v1::PROBE_TARGET_SECONDARY}}) {
    v1::ProbeSpec spec = Tcp(sim_->ServerEndpoint(server), true);
    spec.set_name(name);
    spec.set_target(target);
    spec.mutable_interval()->set_nanos(100'000'000);
    spec.mutable_timeout()->set_nanos(50'000'000);
    spec.set_unhealthy_threshold(2);
    ASSERT_TRUE(scheduler->AddProbe("fog-orders", spec, {}).ok());
    v1::HealthRule rule;
    rule.set_target(target);
    rule.add_probes(name);
    ASSERT_TRUE(tracker.AddRule("fog-orders", rule).ok());
  }
  ASSERT_TRUE(verdicts.WaitFor(v1::PROBE_TARGET_PRIMARY, v1::VERDICT_HEALTHY).has_value());
  ASSERT_TRUE(verdicts.WaitFor(v1::PROBE_TARGET_SECONDARY, v1::VERDICT_HEALTHY).has_value());

  armsim::RegionOutage outage;
  outage.control_plane = false;
  outage.mode = armsim::OutageMode::kBlackhole;
  absl::Time outage_start = absl::Now();
  sim_->SetRegionDown("eastus", outage);
  std::optional<VerdictEvent> down =
      verdicts.WaitFor(v1::PROBE_TARGET_PRIMARY, v1::VERDICT_UNHEALTHY);
  ASSERT_TRUE(down.has_value());
  // The streak began with the first failed probe, before the verdict flipped.
  EXPECT_GE(down->failure_streak_start, outage_start - absl::Milliseconds(150));
  EXPECT_LT(down->failure_streak_start, down->at);
  EXPECT_EQ(tracker.Get("fog-orders", v1::PROBE_TARGET_SECONDARY)->verdict, v1::VERDICT_HEALTHY);

  prober_->Shutdown();
  executor->Shutdown();
  scheduler.reset();
}

}  // namespace
}  // namespace foghorn::probes
