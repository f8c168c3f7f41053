// Detection-to-action overhead, measured end to end in one process with the real agent, journal
// (SQLite, synchronous=FULL), ARM client (libcurl over HTTPS) and emulator: for each run, the time
// from the probe result that turns the primary UNHEALTHY to the failover POST arriving at the
// emulator. Policy graces are zero so the figure is foghorn's own overhead.
//   agent_detection_bench [runs]        (default 100)
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "orchestrator/agent/agent.h"
#include "orchestrator/arm/arm_client.h"
#include "orchestrator/arm/credentials.h"
#include "orchestrator/common/sleeper.h"
#include "orchestrator/common/thread_executor.h"
#include "orchestrator/http/curl_http_transport.h"
#include "orchestrator/journal/sqlite_journal.h"
#include "runbooks/loader.h"
#include "tools/armsim/armsim_server.h"

namespace foghorn {
namespace {

// Healthy until `fail` is set, then failing; answers at once on the scheduler's thread.
class FlipProber final : public probes::Prober {
 public:
  void Start(const v1::ProbeSpec& spec, const probes::ProbeContext&, absl::Duration,
             Callback done) override {
    probes::ProbeResult r;
    r.outcome = fail.load() && spec.name() == "east" ? probes::ProbeOutcome::kFailure
                                                     : probes::ProbeOutcome::kSuccess;
    if (spec.name() == "lag") r.metric = 1.0;
    std::move(done)(std::move(r));
  }
  std::atomic<bool> fail{false};
};

class NoSteps final : public executor::StepRunner {
 public:
  absl::Status Run(const v1::Step&, const journal::OperationRecord&) override {
    return absl::OkStatus();
  }
};

class Forward final : public probes::VerdictSink {
 public:
  void OnVerdictChange(const probes::VerdictEvent& e) override {
    if (agent) agent->OnVerdictChange(e);
  }
  agent::Agent* agent = nullptr;
};

constexpr char kRunbook[] = R"(
group: {subscription_id: 00000000-1111-2222-3333-444444444444, resource_group: rg-foghorn,
        name: fog-orders, primary_server: sql-east, secondary_server: sql-west}
probes:
  - {name: east, target: primary, interval: 20ms, timeout: 10ms, unhealthy_threshold: 1, healthy_threshold: 1, tcp: {address: "127.0.0.1:1"}}
  - {name: west, target: secondary, interval: 20ms, timeout: 10ms, unhealthy_threshold: 1, healthy_threshold: 1, tcp: {address: "127.0.0.1:1"}}
  - {name: lag, target: primary, interval: 20ms, timeout: 10ms, metric_kind: replication_lag_seconds, exec: {argv: [x], metric_from_stdout: true}}
health_rules:
  - {target: primary, probes: [east]}
  - {target: secondary, probes: [west]}
policy: {confirm_after: 0s, planned_grace: 0s, data_loss_grace: 1h, data_loss_budget: 2h,
         approval_mode: automatic, cooldown: 1h}
)";

// One run: returns the overhead, or a negative duration on failure.
absl::Duration RunOnce(const v1::Runbook& runbook, const std::string& dir) {
  armsim::ArmSimOptions sim_options;
  sim_options.topology_path = FOGHORN_SOURCE_DIR "/tools/armsim/examples/topology.json";
  sim_options.cert_dir = dir;
  sim_options.operation_duration = absl::Milliseconds(50);
  sim_options.data_plane = false;
  auto sim = armsim::ArmSimServer::Start(sim_options);
  if (!sim.ok()) {
    std::fprintf(stderr, "armsim: %s\n", sim.status().ToString().c_str());
    return absl::Seconds(-1);
  }
  common::RealClock clock;
  auto sink = common::MakeSpdlogSink(dir + "/agent.log");
  common::Logger logger(*sink, nullptr, clock, {common::LogLevel::kWarn, common::LogFormat::kJson});
  common::MetricsRegistry metrics;
  http::CurlHttpTransport::Options topts;
  topts.ca_file = (*sim)->ca_cert_path();
  http::CurlHttpTransport transport(topts);
  arm::StaticTokenCredential::Options copts;
  copts.token = "bench";
  arm::StaticTokenCredential credential(clock, copts, nullptr);
  common::RealSleeper sleeper;
  arm::ArmClientOptions aopts;
  aopts.endpoint = (*sim)->base_url();
  aopts.lro.default_interval = absl::Milliseconds(20);
  arm::ArmClient client(transport, credential, clock, sleeper, logger, aopts);
  executor::ArmClientActuator actuator(client);
  std::filesystem::remove(dir + "/journal.db");
  auto journal = journal::SqliteJournal::Open(dir + "/journal.db", clock);
  NoSteps steps;
  executor::NullNotifier notifier;
  executor::OperationRunner runner(**journal, actuator, steps, notifier, logger, metrics);
  common::ThreadExecutor loop(clock);
  common::WorkerPool workers(4);
  FlipProber prober;
  Forward forward;
  probes::HealthTracker tracker(clock, &forward);
  auto scheduler = std::make_unique<probes::ProbeScheduler>(loop, prober, &tracker);
  absl::Notification crossed;
  std::atomic<int64_t> crossed_at_ns{0};
  agent::Agent::Deps deps{clock,      loop,    workers,  **journal, actuator, runner,
                          *scheduler, tracker, notifier, logger,    metrics};
  deps.events = [&](const agent::AgentEvent& e) {
    const auto* v = std::get_if<agent::VerdictChanged>(&e.detail);
    if (v != nullptr && v->target == v1::PROBE_TARGET_PRIMARY &&
        v->verdict == v1::VERDICT_UNHEALTHY && !crossed.HasBeenNotified()) {
      crossed_at_ns = absl::ToUnixNanos(e.at);
      crossed.Notify();
    }
  };
  agent::Agent agent(deps, {});
  forward.agent = &agent;
  absl::Duration result = absl::Seconds(-1);
  if (agent.SetRunbooks({runbook}).ok() && agent.Start().ok()) {
    // Let roles be read and the group settle as HEALTHY.
    absl::Time settle = absl::Now() + absl::Milliseconds(300);
    while (absl::Now() < settle) absl::SleepFor(absl::Milliseconds(10));
    prober.fail = true;
    if (crossed.WaitForNotificationWithTimeout(absl::Seconds(5))) {
      absl::Time deadline = absl::Now() + absl::Seconds(10);
      while (absl::Now() < deadline && result < absl::ZeroDuration()) {
        for (const auto& r : (*sim)->RequestLog()) {
          if (r.route == "failover" && r.accepted_operation) {
            result = r.time - absl::FromUnixNanos(crossed_at_ns.load());
          }
        }
        absl::SleepFor(absl::Milliseconds(2));
      }
    }
  }
  agent.Stop();
  workers.Shutdown();
  loop.Shutdown();
  scheduler.reset();
  (*sim)->Shutdown();
  return result;
}

}  // namespace
}  // namespace foghorn

int main(int argc, char** argv) {
  int runs = argc > 1 ? std::atoi(argv[1]) : 100;
  std::string dir = std::filesystem::temp_directory_path().string() + "/foghorn-detect-bench";
  std::filesystem::create_directories(dir);
  auto loaded = foghorn::runbooks::LoadRunbookSources({{"bench.yaml", foghorn::kRunbook}});
  if (!loaded.ok()) {
    std::fprintf(stderr, "%s\n", loaded.status().ToString().c_str());
    return 1;
  }
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    absl::Duration d = foghorn::RunOnce(loaded.runbooks[0].runbook, dir);
    if (d < absl::ZeroDuration()) {
      std::fprintf(stderr, "run %d failed\n", i);
      continue;
    }
    ms.push_back(absl::ToDoubleMilliseconds(d));
  }
  std::filesystem::remove_all(dir);
  if (ms.empty()) return 1;
  std::sort(ms.begin(), ms.end());
  auto pct = [&](double p) {
    return ms[std::min(ms.size() - 1, static_cast<size_t>(p * ms.size()))];
  };
  std::printf(
      "detection-to-action overhead over %zu runs: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, "
      "max %.2f ms\n",
      ms.size(), pct(0.5), pct(0.9), pct(0.99), ms.back());
  return 0;
}
