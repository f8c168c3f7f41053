// foghornd: the on-call agent. Loads the agent config and its runbooks, wires the real
// implementations together (the only place that does), and runs until SIGTERM/SIGINT; SIGHUP
// reloads the runbooks. docs/operations.md describes running it.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "orchestrator/agent/agent.h"
#include "orchestrator/agent/agent_config.h"
#include "orchestrator/agent/arm_state_reader.h"
#include "orchestrator/agent/metrics_server.h"
#include "orchestrator/arm/arm_client.h"
#include "orchestrator/arm/credentials.h"
#include "orchestrator/arm/curl_http_transport.h"
#include "orchestrator/arm/sleeper.h"
#include "orchestrator/common/clock.h"
#include "orchestrator/common/log.h"
#include "orchestrator/common/metrics.h"
#include "orchestrator/common/thread_executor.h"
#include "orchestrator/common/worker_pool.h"
#include "orchestrator/executor/system_step_runner.h"
#include "orchestrator/executor/webhook_notifier.h"
#include "orchestrator/journal/fault_injecting_journal.h"
#include "orchestrator/journal/sqlite_journal.h"
#include "probes/health_tracker.h"
#include "probes/probe_scheduler.h"
#include "probes/system_prober.h"
#include "runbooks/duration.h"
#include "runbooks/loader.h"
#ifdef FOGHORN_HAVE_API
#include "orchestrator/api/api_server.h"
#endif

ABSL_FLAG(std::string, config, "", "Path of the agent config (YAML). Required.");
ABSL_FLAG(bool, check, false, "Validate the config and runbooks, print the result, and exit.");
ABSL_FLAG(std::string, ready_file, "",
          "When set, write the control API and metrics ports here once serving (for scripts).");

namespace foghorn {
namespace {

// Forwards verdict changes to the agent, which is built after the tracker.
class VerdictForwarder final : public probes::VerdictSink {
 public:
  void OnVerdictChange(const probes::VerdictEvent& e) override {
    if (agent != nullptr) agent->OnVerdictChange(e);
  }
  agent::Agent* agent = nullptr;
};

absl::StatusOr<std::vector<v1::Runbook>> LoadRunbooks(const v1::AgentConfig& config) {
  auto files = agent::RunbookFiles(config);
  if (!files.ok()) return files.status();
  if (files->empty()) return absl::InvalidArgumentError("no runbook files found");
  runbooks::LoadResult loaded = runbooks::LoadRunbookFiles(*files);
  if (!loaded.ok()) return loaded.status();
  std::vector<v1::Runbook> out;
  for (auto& r : loaded.runbooks) out.push_back(std::move(r.runbook));
  return out;
}

int Fail(const std::string& what, const absl::Status& s) {
  std::fprintf(stderr, "foghornd: %s: %s\n", what.c_str(), std::string(s.message()).c_str());
  return 2;
}

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "foghornd --config agent.yaml [--check]\n"
      "The foghorn on-call agent: watches failover groups and fails them over per runbook.");
  absl::ParseCommandLine(argc, argv);
  const std::string config_path = absl::GetFlag(FLAGS_config);
  if (config_path.empty()) {
    std::fprintf(stderr, "foghornd: --config is required (see --help)\n");
    return 2;
  }
  absl::StatusOr<v1::AgentConfig> config = agent::LoadAgentConfig(config_path);
  if (!config.ok()) return Fail("invalid config", config.status());
  absl::StatusOr<std::vector<v1::Runbook>> runbook_set = LoadRunbooks(*config);
  if (!runbook_set.ok()) return Fail("invalid runbooks", runbook_set.status());
  if (absl::GetFlag(FLAGS_check)) {
    std::printf("ok: config %s, %zu runbook(s)\n", config_path.c_str(), runbook_set->size());
    return 0;
  }

  // Signals are handled by this thread only (sigwait below); block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  common::RealClock clock;
  auto redactor = std::make_shared<common::Redactor>();
  auto sink = common::MakeSpdlogSink(config->log().file());
  if (!sink.ok()) return Fail("logging", sink.status());
  common::Logger::Options log_options;
  log_options.min_level =
      common::ParseLogLevel(config->log().level()).value_or(common::LogLevel::kInfo);
  log_options.format =
      config->log().format() == "text" ? common::LogFormat::kText : common::LogFormat::kJson;
  common::Logger logger(*sink, redactor, clock, log_options);
  common::MetricsRegistry metrics;

  std::error_code ec;
  std::filesystem::create_directories(config->state_dir(), ec);
  if (ec) {
    return Fail("state dir",
                absl::UnavailableError(absl::StrCat(config->state_dir(), ": ", ec.message())));
  }
  auto sqlite = journal::SqliteJournal::Open(config->state_dir() + "/journal.db", clock);
  if (!sqlite.ok()) return Fail("journal", sqlite.status());
  std::unique_ptr<journal::Journal> journal = std::move(sqlite).value();
  // Crash tests: die by SIGKILL right after the Nth durable journal write.
  if (const char* crash = std::getenv("FOGHORN_JOURNAL_CRASH_AFTER_WRITE")) {
    int n = 0;
    if (absl::SimpleAtoi(crash, &n) && n > 0) {
      journal::FaultInjectingJournal::Options o;
      o.crash_after_write = n;
      o.on_crash = [] { raise(SIGKILL); };
      journal = std::make_unique<journal::FaultInjectingJournal>(std::move(journal), o);
    }
  }

  arm::CurlHttpTransport::Options transport_options;
  transport_options.ca_file = config->arm().ca_file();
  arm::CurlHttpTransport transport(transport_options);
  arm::CredentialOptions cred_options;
  cred_options.redactor = redactor;
  cred_options.scope = arm::ScopeForEndpoint(config->arm().endpoint());
  cred_options.resource = arm::ResourceForEndpoint(config->arm().endpoint());
  if (!config->arm().credentials().authority_host().empty()) {
    cred_options.authority_host = config->arm().credentials().authority_host();
  }
  std::unique_ptr<arm::TokenCredential> credential;
  const v1::ArmCredentials& creds = config->arm().credentials();
  if (!creds.token_file().empty() || !creds.token_env().empty()) {
    arm::StaticTokenCredential::Options o;
    o.token_file = creds.token_file();
    if (!creds.token_env().empty()) {
      const char* v = std::getenv(creds.token_env().c_str());
      if (v == nullptr || *v == '\0') {
        return Fail("credentials",
                    absl::InvalidArgumentError(absl::StrCat(creds.token_env(), " is not set")));
      }
      o.token = v;
    }
    credential = std::make_unique<arm::StaticTokenCredential>(clock, o, redactor);
  } else {
    auto c = arm::MakeDefaultCredential(arm::ProcessEnvironment(), transport, clock, cred_options);
    if (!c.ok()) return Fail("credentials", c.status());
    credential = std::move(c).value();
  }
  arm::RealSleeper sleeper;
  arm::ArmClientOptions arm_options;
  arm_options.endpoint = config->arm().endpoint();
  arm_options.lro.default_interval = runbooks::FromProto(config->arm().poll_interval());
  arm::ArmClient arm_client(transport, *credential, clock, sleeper,
                            logger.With({{"component", "arm"}}), arm_options);
  executor::ArmClientActuator actuator(arm_client);

  common::ThreadExecutor loop(clock);
  common::WorkerPool workers(4);

  std::unique_ptr<executor::Notifier> notifier;
  if (config->webhooks().empty()) {
    notifier = std::make_unique<executor::NullNotifier>();
  } else {
    std::vector<executor::WebhookTarget> targets;
    for (const auto& w : config->webhooks()) {
      targets.push_back({w.url(), {w.headers().begin(), w.headers().end()}});
    }
    notifier = std::make_unique<executor::WebhookNotifier>(
        std::move(targets), transport, clock, logger.With({{"component", "notify"}}), metrics,
        executor::WebhookNotifier::Options{});
  }

  agent::Agent* agent_ptr = nullptr;
  executor::SystemStepRunner::Hooks hooks;
  executor::SystemStepRunner steps(transport, sleeper, logger.With({{"component", "steps"}}),
                                   hooks);
  executor::OperationRunner runner(*journal, actuator, steps, *notifier,
                                   logger.With({{"component", "executor"}}), metrics);

  agent::ArmStateReader arm_reader(actuator, workers);
  probes::SystemProber::Options prober_options;
  prober_options.arm_reader = &arm_reader;
  auto prober = probes::SystemProber::Create(prober_options);
  if (!prober.ok()) return Fail("probes", prober.status());
  VerdictForwarder forwarder;
  probes::HealthTracker::Options tracker_options;
  tracker_options.impairment_fraction = config->impairment_fraction();
  probes::HealthTracker tracker(clock, &forwarder, tracker_options);
  auto scheduler = std::make_unique<probes::ProbeScheduler>(loop, **prober, &tracker);

#ifdef FOGHORN_HAVE_API
  std::unique_ptr<api::ApiServer> api_server;
  // Read by agent threads (events), written here: atomic.
  std::atomic<api::ApiServer*> api_ptr{nullptr};
#endif
  agent::Agent::Deps deps{
      clock,  loop,       workers, *journal,  actuator,
      runner, *scheduler, tracker, *notifier, logger.With({{"component", "agent"}}),
      metrics};
#ifdef FOGHORN_HAVE_API
  deps.events = [&api_ptr](const agent::AgentEvent& e) {
    if (api::ApiServer* api = api_ptr.load()) api->Publish(e);
  };
#endif
  agent::Agent agent(deps, agent::Agent::Options{});
  agent_ptr = &agent;
  forwarder.agent = agent_ptr;

  if (absl::Status s = agent.SetRunbooks(*runbook_set); !s.ok()) return Fail("runbooks", s);
  if (absl::Status s = agent.Start(); !s.ok()) return Fail("start", s);

  std::unique_ptr<agent::MetricsServer> metrics_server;
  if (config->metrics().listen() != "off") {
    auto m = agent::MetricsServer::Start(config->metrics().listen(), metrics);
    if (!m.ok()) return Fail("metrics", m.status());
    metrics_server = std::move(m).value();
  }
  int api_port = 0;
#ifdef FOGHORN_HAVE_API
  {
    auto a = api::ApiServer::Start(
        config->api(),
        api::ApiServerDeps{agent, *journal, clock, logger.With({{"component", "api"}}), metrics});
    if (!a.ok()) return Fail("control API", a.status());
    api_server = std::move(a).value();
    api_ptr = api_server.get();
    api_port = api_server->port();
  }
#endif
  logger.Info("foghornd started", {{"groups", static_cast<int>(runbook_set->size())},
                                   {"api_port", api_port},
                                   {"metrics_port", metrics_server ? metrics_server->port() : 0},
                                   {"arm_endpoint", config->arm().endpoint()}});
  if (const std::string ready = absl::GetFlag(FLAGS_ready_file); !ready.empty()) {
    std::string tmp = ready + ".tmp";
    if (FILE* f = std::fopen(tmp.c_str(), "w")) {
      std::fprintf(f, "{\"api_port\": %d, \"metrics_port\": %d, \"pid\": %d}\n", api_port,
                   metrics_server ? metrics_server->port() : 0, static_cast<int>(getpid()));
      std::fclose(f);
      std::rename(tmp.c_str(), ready.c_str());
    }
  }

  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      auto reloaded_config = agent::LoadAgentConfig(config_path);
      absl::StatusOr<std::vector<v1::Runbook>> reloaded =
          reloaded_config.ok() ? LoadRunbooks(*reloaded_config)
                               : absl::StatusOr<std::vector<v1::Runbook>>(reloaded_config.status());
      absl::Status s = reloaded.ok() ? agent.SetRunbooks(*reloaded) : reloaded.status();
      if (s.ok()) {
        logger.Info("runbooks reloaded", {{"groups", static_cast<int>(reloaded->size())}});
      } else {
        logger.Error("runbook reload rejected; keeping the running set", {{"error", s.ToString()}});
      }
      continue;
    }
    logger.Info("shutting down", {{"signal", sig}});
    break;
  }
  // Reverse order of start-up: stop taking requests, stop deciding, stop probing, let running
  // operations finish their current steps, then stop the loop.
#ifdef FOGHORN_HAVE_API
  api_ptr = nullptr;
  if (api_server) api_server->Shutdown();
#endif
  if (metrics_server) metrics_server->Shutdown();
  agent.Stop();
  (*prober)->Shutdown();
  workers.Shutdown();
  loop.Shutdown();
  scheduler.reset();
  logger.Info("foghornd stopped");
  return 0;
}

}  // namespace
}  // namespace foghorn

int main(int argc, char** argv) { return foghorn::Main(argc, argv); }
