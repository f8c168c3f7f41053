// Mass outage: N failover groups whose primaries all live in one region of the (in-process)
// emulator; the region is lost (control and data plane) and the agent fails every group over.
// Measured from the emulator's request log (also written to <dir>/requests.jsonl): the time from
// the first to the last failover POST, with the real agent, journal (SQLite, synchronous=FULL),
// probes (TCP every --probe_interval_ms, spread over the interval, + ARM-state every 30 s; epoll),
// ARM client (libcurl over HTTPS, client-side throttle on) and pools wired as foghornd wires them.
// Planned grace is 0, so every group's first POST is a planned failover; with its primary region
// down ARM accepts it and fails it after --operation_ms (PlannedFailoverTimedOut): the
// long-running operation a worker thread holds while it polls.
//
//   agent_mass_outage_bench [--groups=200] [--arm_throttling] [--pool=elastic|fixed]
//                           [--journal=batched|sync]
//
// --pool=fixed --journal=sync reproduces the wiring before the mass-outage changes (a fixed pool of
// 4 operation threads; one commit per decision and audit record on the caller's thread). The
// journal's read connection and group commit of operation writes have no switch: "before" is
// slightly better than the old code was.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "nlohmann/json.hpp"
#include "orchestrator/agent/agent.h"
#include "orchestrator/agent/arm_state_reader.h"
#include "orchestrator/arm/arm_client.h"
#include "orchestrator/arm/credentials.h"
#include "orchestrator/common/sleeper.h"
#include "orchestrator/common/thread_executor.h"
#include "orchestrator/common/worker_pool.h"
#include "orchestrator/http/curl_http_transport.h"
#include "orchestrator/journal/sqlite_journal.h"
#include "probes/system_prober.h"
#include "runbooks/loader.h"
#include "tools/armsim/armsim_server.h"

ABSL_FLAG(int, groups, 200, "failover groups, all with their primary in East US");
ABSL_FLAG(bool, arm_throttling, false,
          "the emulator enforces ARM's per-subscription buckets (reads 250 + 25/s, writes 200 + "
          "10/s)");
ABSL_FLAG(std::string, pool, "elastic",
          "operation pool: elastic (4 threads growing to 1024, as foghornd) or fixed (4 threads)");
ABSL_FLAG(std::string, journal, "batched",
          "decisions and audit: batched (background writer) or sync (one fsync per record on the "
          "caller's thread)");
ABSL_FLAG(int, operation_ms, 2000, "how long ARM takes to fail a planned failover");
ABSL_FLAG(int, probe_interval_ms, 250,
          "TCP probe interval (timeout 4/5 of it; unhealthy after one failure)");
ABSL_FLAG(int, settle_s, 15, "seconds between start-up and the outage (ARM buckets refill)");
ABSL_FLAG(int, timeout_s, 400, "give up waiting for the last POST after this long");
ABSL_FLAG(bool, debug_log, false, "log at debug level to <dir>/agent.log");
ABSL_FLAG(std::string, dir, "", "work dir on a real disk (default: <temp>/foghorn-mass-bench)");

namespace foghorn {
namespace {

constexpr char kSub[] = "00000000-1111-2222-3333-444444444444";
constexpr char kRg[] = "rg-foghorn";

class NoSteps final : public executor::StepRunner {
 public:
  absl::Status Run(const v1::Step&, const journal::OperationRecord&) override {
    return absl::OkStatus();
  }
};

// A server's SQL endpoint as the TCP probes see it: accepts and closes connections until Down(),
// then refuses them. (The emulator's own data plane re-resolves every listener on each change,
// which costs more CPU with hundreds of groups than the agent under test; it is off here.)
class Endpoint {
 public:
  Endpoint() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 || listen(fd_, 4096) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      std::perror("endpoint");
      std::exit(1);
    }
    address_ = absl::StrCat("127.0.0.1:", ntohs(addr.sin_port));
    thread_ = std::thread([this] {
      while (!down_) {
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0) continue;
        int c = accept(fd_, nullptr, nullptr);
        if (c >= 0) close(c);
      }
    });
  }
  ~Endpoint() { Down(); }
  void Down() {
    if (down_.exchange(true)) return;
    thread_.join();
    close(fd_);  // connects are refused from now on
  }
  const std::string& address() const { return address_; }

 private:
  int fd_ = -1;
  std::string address_;
  std::atomic<bool> down_{false};
  std::thread thread_;
};

class Forward final : public probes::VerdictSink {
 public:
  void OnVerdictChange(const probes::VerdictEvent& e) override {
    if (agent) agent->OnVerdictChange(e);
  }
  agent::Agent* agent = nullptr;
};

std::string Topology(int groups) {
  nlohmann::json dbs = nlohmann::json::array();
  nlohmann::json fogs = nlohmann::json::array();
  for (int i = 0; i < groups; ++i) {
    dbs.push_back(absl::StrCat("db", i));
    fogs.push_back({{"name", absl::StrCat("fog-", i)},
                    {"primaryServer", "sql-east"},
                    {"partnerServer", "sql-west"},
                    {"databases", {absl::StrCat("db", i)}},
                    {"readWriteEndpoint", {{"failoverPolicy", "Manual"}}},
                    {"replicationLagSeconds", 1}});
  }
  nlohmann::json topo = {
      {"subscriptions",
       {{{"id", kSub},
         {"resourceGroups",
          {{{"name", kRg},
            {"servers",
             {{{"name", "sql-east"}, {"location", "East US"}, {"databases", dbs}},
              {{"name", "sql-west"},
               {"location", "West US"},
               {"databases", nlohmann::json::array()}}}}}}}}}},
      {"failoverGroups", fogs}};
  return topo.dump();
}

// Probes of different groups are spread evenly over the interval (as jitter would spread them),
// so the emulator's listeners never see every group connect at the same instant.
std::string Runbook(int i, int groups, const std::string& east, const std::string& west,
                    int interval_ms) {
  const int offset_ms = i * interval_ms / groups;
  return absl::StrCat(
      R"(
group: {subscription_id: )",
      kSub, ", resource_group: ", kRg, ", name: fog-", i,
      R"(, primary_server: sql-east, secondary_server: sql-west}
probes:
  - {name: east, target: primary, interval: )",
      interval_ms, "ms, timeout: ", interval_ms * 4 / 5, "ms, initial_delay: ", offset_ms,
      R"(ms, unhealthy_threshold: 1, healthy_threshold: 1, tcp: {address: ")", east,
      R"("}}
  - {name: west, target: secondary, interval: )",
      interval_ms, "ms, timeout: ", interval_ms * 4 / 5, "ms, initial_delay: ", offset_ms,
      R"(ms, unhealthy_threshold: 1, healthy_threshold: 1, tcp: {address: ")", west,
      R"("}}
  - {name: arm, target: primary, interval: 30s, timeout: 10s, jitter: 5s, arm_state: {expect_role: primary}}
health_rules:
  - {target: primary, probes: [east, arm], quorum: any}
  - {target: secondary, probes: [west]}
policy: {confirm_after: 0s, planned_grace: 0s, data_loss_grace: 1h, data_loss_budget: 2h,
         approval_mode: automatic, cooldown: 1h}
)");
}

bool IsFailoverRoute(const std::string& route) {
  return route == "failover" || route == "forceFailoverAllowDataLoss" ||
         route == "tryPlannedBeforeForcedFailover";
}

int Run() {
  const int groups = absl::GetFlag(FLAGS_groups);
  const bool elastic = absl::GetFlag(FLAGS_pool) == "elastic";
  const bool batched = absl::GetFlag(FLAGS_journal) == "batched";
  std::string dir = absl::GetFlag(FLAGS_dir);
  if (dir.empty()) {
    dir = std::filesystem::temp_directory_path().string() + "/foghorn-mass-bench";
  }
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);

  armsim::ArmSimOptions sim_options;
  sim_options.topology_json = Topology(groups);
  sim_options.cert_dir = dir;
  sim_options.operation_duration = absl::Milliseconds(absl::GetFlag(FLAGS_operation_ms));
  sim_options.throttling = absl::GetFlag(FLAGS_arm_throttling);
  // ARM's front end is not the subject: enough emulator threads for one connection per group.
  sim_options.threads = groups + 64;
  sim_options.data_plane = false;
  sim_options.request_log_path = dir + "/requests.jsonl";
  auto sim = armsim::ArmSimServer::Start(sim_options);
  if (!sim.ok()) {
    std::fprintf(stderr, "armsim: %s\n", sim.status().ToString().c_str());
    return 1;
  }
  Endpoint east_endpoint, west_endpoint;
  const std::string east = east_endpoint.address();
  const std::string west = west_endpoint.address();

  std::vector<runbooks::RunbookSource> sources;
  for (int i = 0; i < groups; ++i) {
    sources.push_back({absl::StrCat("fog-", i, ".yaml"),
                       Runbook(i, groups, east, west, absl::GetFlag(FLAGS_probe_interval_ms))});
  }
  auto loaded = runbooks::LoadRunbookSources(sources);
  if (!loaded.ok()) {
    std::fprintf(stderr, "runbooks: %s\n", loaded.status().ToString().c_str());
    return 1;
  }
  std::vector<v1::Runbook> runbook_set;
  for (auto& r : loaded.runbooks) runbook_set.push_back(std::move(r.runbook));

  common::RealClock clock;
  auto sink = common::MakeSpdlogSink(dir + "/agent.log");
  common::Logger logger(
      *sink, nullptr, clock,
      {absl::GetFlag(FLAGS_debug_log) ? common::LogLevel::kDebug : common::LogLevel::kWarn,
       common::LogFormat::kJson});
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
  aopts.lro.default_interval = absl::Seconds(1);  // foghornd's default poll_interval
  arm::ArmClient client(transport, credential, clock, sleeper, logger, aopts);
  executor::ArmClientActuator actuator(client);

  journal::SqliteJournal::Options jopts;
  if (!batched) {
    // Every record commits on the caller's thread: the queue holds one record, and the next
    // write commits it (one transaction and one fsync per record, as before batching).
    jopts.background_writer = false;
    jopts.max_queued = 1;
    jopts.max_batch = 1;
  }
  auto journal = journal::SqliteJournal::Open(dir + "/journal.db", clock, jopts);
  if (!journal.ok()) {
    std::fprintf(stderr, "journal: %s\n", journal.status().ToString().c_str());
    return 1;
  }
  NoSteps steps;
  executor::NullNotifier notifier;
  executor::OperationRunner runner(**journal, actuator, steps, notifier, logger, metrics);
  common::ThreadExecutor loop(clock);
  auto workers = elastic ? std::make_unique<common::WorkerPool>(
                               common::WorkerPool::Options{.threads = 4, .max_threads = 1024})
                         : std::make_unique<common::WorkerPool>(4);
  common::WorkerPool read_workers(4);
  agent::ArmStateReader arm_reader(actuator, read_workers);
  probes::SystemProber::Options prober_options;
  prober_options.arm_reader = &arm_reader;
  auto prober = probes::SystemProber::Create(prober_options);
  if (!prober.ok()) {
    std::fprintf(stderr, "prober: %s\n", prober.status().ToString().c_str());
    return 1;
  }
  Forward forward;
  probes::HealthTracker tracker(clock, &forward);
  auto scheduler = std::make_unique<probes::ProbeScheduler>(loop, **prober, &tracker);

  // Agent events arrive on the loop and worker threads; only note times here.
  absl::Mutex mu;
  std::map<std::string, absl::Time> healthy_at;
  std::vector<std::pair<std::string, absl::Time>> unhealthy_at;  // every change to UNHEALTHY
  agent::Agent::Deps deps{clock,      loop,    *workers, **journal, actuator, runner,
                          *scheduler, tracker, notifier, logger,    metrics};
  deps.events = [&](const agent::AgentEvent& e) {
    const auto* v = std::get_if<agent::VerdictChanged>(&e.detail);
    if (v == nullptr || v->target != v1::PROBE_TARGET_PRIMARY) return;
    absl::MutexLock lock(&mu);
    if (v->verdict == v1::VERDICT_UNHEALTHY) {
      unhealthy_at.push_back({e.group_id, e.at});
    } else if (v->verdict == v1::VERDICT_HEALTHY) {
      healthy_at.try_emplace(e.group_id, e.at);
    }
  };
  deps.sleeper = &sleeper;
  deps.read_workers = &read_workers;
  agent::Agent agent(deps, agent::Agent::Options{});
  forward.agent = &agent;

  int rc = 1;
  if (absl::Status s = agent.SetRunbooks(runbook_set); !s.ok()) {
    std::fprintf(stderr, "runbooks: %s\n", s.ToString().c_str());
  } else if (absl::Status s = agent.Start(); !s.ok()) {
    std::fprintf(stderr, "start: %s\n", s.ToString().c_str());
  } else {
    // Every primary seen healthy, then let ARM's buckets refill as they would in a running agent.
    absl::Time deadline = absl::Now() + absl::Seconds(60);
    for (;;) {
      {
        absl::MutexLock lock(&mu);
        if (static_cast<int>(healthy_at.size()) == groups) break;
      }
      if (absl::Now() > deadline) break;
      absl::SleepFor(absl::Milliseconds(50));
    }
    absl::SleepFor(absl::Seconds(absl::GetFlag(FLAGS_settle_s)));

    // How late the control loop runs a task posted to it: a busy or blocked loop delays every
    // verdict's evaluation.
    std::atomic<bool> ticking{true};
    std::atomic<int64_t> max_lag_us{0};
    std::function<void()> tick = [&] {
      const absl::Time due = absl::Now() + absl::Milliseconds(10);
      loop.ScheduleAt(due, [&, due] {
        const int64_t lag = absl::ToInt64Microseconds(absl::Now() - due);
        if (lag > max_lag_us.load()) max_lag_us = lag;
        if (ticking) tick();
      });
    };
    tick();
    const absl::Time down_at = absl::Now();
    (*sim)->SetRegionDown((*sim)->emulator().ServerRegion("sql-east"), armsim::RegionOutage{});
    east_endpoint.Down();
    std::map<std::string, absl::Time> first_post;
    int posts = 0, accepted = 0, throttled = 0;
    deadline = down_at + absl::Seconds(absl::GetFlag(FLAGS_timeout_s));
    while (absl::Now() < deadline) {
      first_post.clear();
      posts = accepted = throttled = 0;
      for (const auto& r : (*sim)->RequestLog()) {
        if (r.time < down_at || !IsFailoverRoute(r.route)) continue;
        ++posts;
        if (r.accepted_operation) ++accepted;
        if (r.status == 429) ++throttled;
        first_post.try_emplace(r.failover_group, r.time);
      }
      if (static_cast<int>(first_post.size()) == groups) break;
      absl::SleepFor(absl::Milliseconds(250));
    }
    ticking = false;
    std::vector<absl::Time> post_times, detect_times;
    std::vector<double> dispatch_ms;  // per group: primary UNHEALTHY -> its failover POST
    for (const auto& [g, t] : first_post) post_times.push_back(t);
    auto ms = [](absl::Duration d) { return absl::ToDoubleMilliseconds(d); };
    {
      absl::MutexLock lock(&mu);
      std::map<std::string, absl::Time> first;  // by group name
      for (const auto& [id, t] : unhealthy_at) {
        if (t >= down_at) first.try_emplace(id.substr(id.rfind('/') + 1), t);
      }
      for (const auto& [g, t] : first) {
        detect_times.push_back(t);
        if (auto it = first_post.find(g); it != first_post.end()) {
          dispatch_ms.push_back(ms(it->second - t));
        }
      }
    }
    std::sort(post_times.begin(), post_times.end());
    std::sort(detect_times.begin(), detect_times.end());
    std::sort(dispatch_ms.begin(), dispatch_ms.end());
    auto pct = [&](double p) {
      return dispatch_ms[std::min(
          dispatch_ms.size() - 1,
          static_cast<size_t>(p * static_cast<double>(dispatch_ms.size())))];
    };
    std::printf("groups %d, pool %s, journal %s, emulator throttling %s, operation %d ms\n", groups,
                elastic ? "elastic(4..1024)" : "fixed(4)", batched ? "batched" : "sync",
                absl::GetFlag(FLAGS_arm_throttling) ? "on" : "off",
                absl::GetFlag(FLAGS_operation_ms));
    if (!detect_times.empty()) {
      std::printf("primary UNHEALTHY: %zu groups, %.0f .. %.0f ms after the region went down\n",
                  detect_times.size(), ms(detect_times.front() - down_at),
                  ms(detect_times.back() - down_at));
    }
    if (post_times.empty()) {
      std::printf("no failover POST within %d s\n", absl::GetFlag(FLAGS_timeout_s));
    } else {
      std::printf(
          "failover POSTs: %zu groups (%d sent, %d accepted, %d answered 429); first %.0f ms, "
          "last %.0f ms after the region went down\n",
          post_times.size(), posts, accepted, throttled, ms(post_times.front() - down_at),
          ms(post_times.back() - down_at));
      std::printf("first to last failover POST: %.0f ms\n",
                  ms(post_times.back() - post_times.front()));
      if (!dispatch_ms.empty()) {
        std::printf(
            "per group, primary UNHEALTHY -> failover POST: p50 %.0f ms, p90 %.0f ms, max %.0f "
            "ms\n",
            pct(0.5), pct(0.9), dispatch_ms.back());
      }
      rc = static_cast<int>(post_times.size()) == groups ? 0 : 1;
    }
    int shown = 0;
    for (const agent::GroupSnapshot& g : agent.Groups()) {
      if (first_post.count(g.runbook.group().name()) || shown++ >= 3) continue;
      std::printf("no POST for %s: %s\n", g.runbook.group().name().c_str(),
                  g.last_decision ? g.last_decision->summary.c_str() : "no decision");
    }
    std::printf("control loop: a task ran at most %.1f ms late during the outage\n",
                static_cast<double>(max_lag_us.load()) / 1000);
    journal::SqliteJournal::WriterStats ws = (*journal)->writer_stats();
    std::printf(
        "journal: %llu decision/audit records in %llu transactions, %llu operation/step writes in "
        "%llu transactions so far\n",
        static_cast<unsigned long long>(ws.committed), static_cast<unsigned long long>(ws.batches),
        static_cast<unsigned long long>(ws.sync_writes),
        static_cast<unsigned long long>(ws.sync_transactions));
  }
  std::fflush(stdout);
  // No orderly shutdown: the ARM-state probe reads of the lost region queued on the read pool
  // would take minutes to drain (each retries its 503s until the read deadline), which is not
  // what this program measures.
  std::_Exit(rc);
}

}  // namespace
}  // namespace foghorn

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return foghorn::Run();
}
