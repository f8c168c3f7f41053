// foghornd: the on-call agent. Loads the agent config and its runbooks, wires the real
// implementations together (the only place that does), and runs until SIGTERM/SIGINT; SIGHUP
// reloads the runbooks. docs/operations.md describes running it.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "foghorn_version.h"
#include "orchestrator/agent/agent.h"
#include "orchestrator/agent/agent_config.h"
#include "orchestrator/agent/agent_steps.h"
#include "orchestrator/agent/arm_readiness_checks.h"
#include "orchestrator/agent/arm_state_reader.h"
#include "orchestrator/agent/config_check.h"
#include "orchestrator/agent/metrics_server.h"
#include "orchestrator/agent/probe_metrics.h"
#include "orchestrator/api/api_server.h"
#include "orchestrator/api/status_page.h"
#include "orchestrator/arm/arm_client.h"
#include "orchestrator/arm/credentials.h"
#include "orchestrator/common/clock.h"
#include "orchestrator/common/durations.h"
#include "orchestrator/common/files.h"
#include "orchestrator/common/host_port.h"
#include "orchestrator/common/log.h"
#include "orchestrator/common/metrics.h"
#include "orchestrator/common/sleeper.h"
#include "orchestrator/common/state_dir.h"
#include "orchestrator/common/thread_executor.h"
#include "orchestrator/common/worker_pool.h"
#include "orchestrator/coord/coordinator.h"
#include "orchestrator/daemon/agent_coordination.h"
#include "orchestrator/daemon/agent_knowledge.h"
#include "orchestrator/daemon/azure_signal_adapter.h"
#include "orchestrator/daemon/drill_progress.h"
#include "orchestrator/daemon/systemd_notify.h"
#include "orchestrator/drill/drill_launcher.h"
#include "orchestrator/drill/drill_runner.h"
#include "orchestrator/drill/drill_schedule.h"
#include "orchestrator/drill/listener.h"
#include "orchestrator/drill/report.h"
#include "orchestrator/executor/metered_http_transport.h"
#include "orchestrator/executor/system_step_runner.h"
#include "orchestrator/executor/webhook_notifier.h"
#include "orchestrator/http/curl_http_transport.h"
#include "orchestrator/journal/fault_injecting_journal.h"
#include "orchestrator/journal/sqlite_journal.h"
#include "probes/azure_signal_reader.h"
#include "probes/health_tracker.h"
#include "probes/probe_scheduler.h"
#include "probes/system_prober.h"
#include "runbooks/loader.h"

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

// Files holding secrets named by the config (API tokens, the ARM token), for a permission check.
std::vector<std::string> SecretFiles(const v1::AgentConfig& config) {
  std::vector<std::string> out;
  for (const auto& t : config.api().tokens()) {
    if (!t.token_file().empty()) out.push_back(t.token_file());
  }
  if (!config.arm().credentials().token_file().empty()) {
    out.push_back(config.arm().credentials().token_file());
  }
  return out;
}

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

// The agent config's `etcd` block as the coordinator's options; INVALID_ARGUMENT naming the field.
absl::StatusOr<coord::CoordinatorOptions> CoordinatorOptionsFrom(
    const v1::CoordinationSettings& c) {
  coord::CoordinatorOptions o;
  o.agent_name = c.agent_name();
  o.vantage = c.vantage();
  o.vantages.assign(c.vantages().begin(), c.vantages().end());
  if (o.agent_name.empty() || o.agent_name.find('/') != std::string::npos) {
    return absl::InvalidArgumentError("etcd.agent_name: required, without '/'");
  }
  if (o.vantages.empty()) return absl::InvalidArgumentError("etcd.vantages: required");
  if (std::find(o.vantages.begin(), o.vantages.end(), o.vantage) == o.vantages.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("etcd.vantage: \"", o.vantage, "\" is not one of etcd.vantages"));
  }
  o.etcd.endpoints.assign(c.endpoints().begin(), c.endpoints().end());
  o.etcd.tls.ca_file = c.tls().ca_file();
  o.etcd.tls.cert_file = c.tls().cert_file();
  o.etcd.tls.key_file = c.tls().key_file();
  o.etcd.username = c.username();
  o.etcd.password_file = c.password_file();
  o.etcd.password_env = c.password_env();
  if (c.has_dial_timeout()) o.etcd.dial_timeout = common::FromProtoDuration(c.dial_timeout());
  if (c.has_request_timeout()) {
    o.etcd.request_timeout = common::FromProtoDuration(c.request_timeout());
  }
  o.etcd.key_prefix = c.key_prefix().empty() ? "/foghorn" : c.key_prefix();
  if (c.has_session_ttl()) o.etcd.session_ttl = common::FromProtoDuration(c.session_ttl());
  if (absl::Status s = coord::ValidateEtcdOptions(o.etcd); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("etcd: ", s.message()));
  }
  return o;
}

int Main(int argc, char** argv) {
  // Everything the agent creates (journal, reports, logs) is private to its user.
  umask(077);
  absl::SetProgramUsageMessage(
      "foghornd --config agent.yaml [--check]\n"
      "The foghorn on-call agent: watches failover groups and fails them over per runbook.");
  {
    // --help lists foghornd's own flags (abseil's default looks for a file named foghornd.cc);
    // --version prints the version and the commit it was built from.
    absl::FlagsUsageConfig usage;
    usage.contains_help_flags = [](absl::string_view file) {
      return file.find("orchestrator/daemon/") != absl::string_view::npos;
    };
    usage.contains_helpshort_flags = usage.contains_help_flags;
    usage.version_string = [] {
      return absl::StrCat("foghornd ", FOGHORN_VERSION, " (commit ", FOGHORN_GIT_COMMIT, ")\n");
    };
    absl::SetFlagsUsageConfig(usage);
  }
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
  // Approval steps (answered through the control API) and probe assertions are carried out by the
  // agent (built below). A runbook with a step this agent cannot carry out is refused here (and
  // by --check), not during an outage.
  agent::Agent* agent_ptr = nullptr;
  const executor::SystemStepRunner::Hooks step_hooks = agent::AgentStepHooks(&agent_ptr);
  for (const v1::Runbook& rb : *runbook_set) {
    absl::Status s = agent::CheckRunbookSteps(rb, [&step_hooks](const v1::Step& step) {
      return executor::SystemStepRunner::Supports(step_hooks, step);
    });
    if (!s.ok()) return Fail("invalid runbooks", s);
  }
  {
    // Validated before anything starts (and by --check); armed below once the agent runs.
    common::RealClock check_clock;
    auto schedules = drill::ParseDrillSchedules(*config, check_clock.Now());
    if (!schedules.ok()) return Fail("invalid config", schedules.status());
  }
  // Everything else that can be known before anything starts (listen rules, TLS and token files,
  // the state dir): start-up refuses here, before it probes, reads ARM or resumes an operation.
  if (absl::Status s = agent::CheckAgentConfig(config_path, *config); !s.ok()) {
    return Fail("invalid config", s);
  }
  std::optional<coord::CoordinatorOptions> coordination_options;
  if (config->has_etcd()) {
    absl::StatusOr<coord::CoordinatorOptions> o = CoordinatorOptionsFrom(config->etcd());
    if (!o.ok()) return Fail("invalid config", o.status());
    coordination_options = *std::move(o);
  }
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

  // Private (0700), ours, and writable by nobody else: whoever can write it can plant an
  // operation; whoever can read it reads the audit trail.
  if (absl::Status s = common::PrepareStateDir(config->state_dir()); !s.ok()) {
    return Fail("state dir", s);
  }
  for (const std::string& secret_file : SecretFiles(*config)) {
    if (absl::Status s = common::CheckSecretFileMode(secret_file); !s.ok()) {
      logger.Warn("secret file readable by others", {{"error", std::string(s.message())}});
    }
  }
  // Decisions and audit records are committed in batches off the caller's thread
  // (sqlite_journal.h).
  auto sqlite = journal::SqliteJournal::Open(
      config->state_dir() + "/journal.db", clock,
      {.logger = logger.With({{"component", "journal"}}), .metrics = &metrics});
  if (!sqlite.ok()) return Fail("journal", sqlite.status());
  for (const char* suffix : {"", "-wal", "-shm"}) {
    // An existing journal from an older release may still be 0644.
    (void)common::PrivateFile(config->state_dir() + "/journal.db" + suffix);
  }
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

  http::CurlHttpTransport::Options transport_options;
  transport_options.ca_file = config->arm().ca_file();
  http::CurlHttpTransport curl_transport(transport_options);
  // Every HTTP exchange (ARM, tokens, webhooks) is counted by target and status on /metrics.
  executor::MeteredHttpTransport transport(curl_transport, metrics, config->arm().endpoint());
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
  common::RealSleeper sleeper;
  arm::ArmClientOptions arm_options;
  arm_options.endpoint = config->arm().endpoint();
  arm_options.lro.default_interval = common::FromProtoDuration(config->arm().poll_interval());
  arm::ArmClient arm_client(transport, *credential, clock, sleeper,
                            logger.With({{"component", "arm"}}), arm_options);
  executor::ArmClientActuator actuator(arm_client);

  common::ThreadExecutor loop(clock);
  // Operations and hooks. Elastic: an operation holds its thread while it polls ARM, so one
  // group's failover must never wait for another's to finish (a region outage fails over many).
  common::WorkerPool workers({.threads = 4, .max_threads = 1024});
  common::WorkerPool read_workers(4);  // background ARM reads (role refresh, ARM-state probes)

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

  executor::SystemStepRunner steps(transport, sleeper, logger.With({{"component", "steps"}}),
                                   step_hooks);
  executor::OperationRunner runner(*journal, actuator, steps, *notifier,
                                   logger.With({{"component", "executor"}}), metrics);

  agent::ArmStateReader arm_reader(actuator, read_workers);
  probes::SystemProber::Options prober_options;
  prober_options.arm_reader = &arm_reader;
  // Azure's own signals (azure_metric, resource_health, replication_link probes) through the ARM
  // client on the read workers; probes and groups on one resource share one read per 30 s.
  arm::AzureSignals azure_signals(arm_client);
  daemon::ArmAzureSignalReader arm_signal_reader(azure_signals, read_workers, clock);
  probes::CachingAzureSignalReader signal_reader(arm_signal_reader, clock, absl::Seconds(30));
  prober_options.azure_signals = &signal_reader;
  prober_options.clock = &clock;
  auto prober = probes::SystemProber::Create(prober_options);
  if (!prober.ok()) return Fail("probes", prober.status());
  VerdictForwarder forwarder;
  probes::HealthTracker::Options tracker_options;
  tracker_options.impairment_fraction = config->impairment_fraction();
  probes::HealthTracker tracker(clock, &forwarder, tracker_options);
  agent::ProbeMetricsSink probe_metrics(tracker, metrics);
  auto scheduler = std::make_unique<probes::ProbeScheduler>(loop, **prober, &probe_metrics);

  std::unique_ptr<api::ApiServer> api_server;
  // Read by agent threads (events), written here: atomic.
  std::atomic<api::ApiServer*> api_ptr{nullptr};
  agent::Agent::Deps deps{
      clock,  loop,       workers, *journal,  actuator,
      runner, *scheduler, tracker, *notifier, logger.With({{"component", "agent"}}),
      metrics};
  // The status page keeps recent events for its live feed (built below, once the agent is).
  std::atomic<api::StatusPage*> status_ptr{nullptr};
  deps.events = [&api_ptr, &status_ptr](const agent::AgentEvent& e) {
    if (api::ApiServer* api = api_ptr.load()) api->Publish(e);
    if (api::StatusPage* page = status_ptr.load()) page->Publish(e);
  };
  deps.sleeper = &sleeper;
  deps.read_workers = &read_workers;
  // Who failed a group over (the Activity Log), asked when ARM shows a primary foghorn did not
  // make.
  agent::ArmFailoverCallerReader failover_callers(azure_signals);
  deps.failover_callers = &failover_callers;
  // Continuous readiness (docs/operations.md): the drill preflight's checks (once the launcher
  // below exists) and the ARM checks (permission, links, SKU parity), per group every
  // readiness.interval, on their own two threads so they never queue in front of role reads.
  std::atomic<drill::DrillLauncher*> readiness_drills{nullptr};
  agent::FunctionReadinessSource drill_readiness([&readiness_drills](const v1::Runbook& rb) {
    std::vector<agent::ReadinessCheck> out;
    drill::DrillLauncher* drills = readiness_drills.load();
    if (drills == nullptr) return out;
    const drill::ReadinessReport report = drills->CheckReadiness(rb);
    for (const drill::CheckResult& c : report.checks) {
      const agent::ReadinessState state =
          c.status == drill::CheckStatus::kPass   ? agent::ReadinessState::kOk
          : c.status == drill::CheckStatus::kWarn ? agent::ReadinessState::kWarn
          : c.status == drill::CheckStatus::kFail ? agent::ReadinessState::kFailing
                                                  : agent::ReadinessState::kUnknown;
      out.push_back({c.name, state, c.fix.empty() ? c.reason : c.reason + " (fix: " + c.fix + ")"});
    }
    return out;
  });
  agent::ArmReadinessReads readiness_reads(actuator, arm_client, azure_signals);
  agent::ArmReadinessChecks arm_readiness(readiness_reads);
  common::WorkerPool readiness_workers(2);
  std::unique_ptr<agent::ReadinessScheduler> readiness;
  if (!config->readiness().disabled()) {
    readiness = std::make_unique<agent::ReadinessScheduler>(
        agent::ReadinessScheduler::Deps{clock,
                                        loop,
                                        readiness_workers,
                                        *notifier,
                                        metrics,
                                        logger.With({{"component", "readiness"}}),
                                        {&drill_readiness, &arm_readiness}},
        agent::ReadinessScheduler::Options{
            common::FromProtoDuration(config->readiness().interval()), absl::Seconds(30)});
    deps.readiness = readiness.get();
  }
  // Coordination with other agents (etcd): leader-only action, the vantage quorum, fencing before
  // every ARM POST. Never a silent fallback to running alone: an etcd that cannot be reached at
  // start leaves the agent up, holding with COORDINATION_LOST until it can.
  std::unique_ptr<coord::Coordinator> coordinator;
  std::unique_ptr<daemon::AgentCoordination> coordination;
  std::atomic<agent::Agent*> coordinated_agent{nullptr};
  if (coordination_options) {
    coordination_options->impairment_fraction =
        config->impairment_fraction() > 0 ? config->impairment_fraction() : 0.8;
    coordinator = std::make_unique<coord::Coordinator>(
        *coordination_options, clock, logger.With({{"component", "coord"}}), &metrics);
    for (const v1::Runbook& rb : *runbook_set) {
      coordinator->SetVantageQuorum(agent::GroupId(rb.group()), rb.policy().vantage_quorum());
    }
    // Set before Start (the coordinator calls it from its thread; it only posts to the loop).
    coordinator->SetOnChange([&coordinated_agent](const std::string& group) {
      if (agent::Agent* a = coordinated_agent.load()) a->OnCoordinationChange(group);
    });
    if (absl::Status s = coordinator->Start(); !s.ok()) {
      logger.Error("coordination: etcd not reachable at start; holding until it is",
                   {{"error", s.ToString()}});
    }
    coordination = std::make_unique<daemon::AgentCoordination>(*coordinator, clock);
    deps.coordination = coordination.get();
  }
  agent::Agent agent(deps, agent::Agent::Options{});
  coordinated_agent = &agent;
  agent_ptr = &agent;
  forwarder.agent = agent_ptr;

  // From here on a start-up failure sets exit_code and falls through to the orderly shutdown below
  // (threads run and hold references into this frame: an early return would destroy what they
  // use while they run).
  int exit_code = 0;
  if (absl::Status s = agent.SetRunbooks(*runbook_set); !s.ok()) exit_code = Fail("runbooks", s);
  if (exit_code == 0) {
    if (absl::Status s = agent.Start(); !s.ok()) exit_code = Fail("start", s);
  }

  // Drills: an operation kind on the same journaled executor as failovers (their own
  // OperationRunner, whose observers publish the drill's steps on Watch), keeping the agent's own
  // automation off the group while the drill holds it (pause "drill <id>", resumed after).
  drill::TcpListenerDialer drill_dialer;
  executor::OperationRunner drill_executor(*journal, actuator, steps, *notifier,
                                           logger.With({{"component", "drill"}}), metrics);
  daemon::PublishDrillProgress(drill_executor, clock, [&](const agent::AgentEvent& e) {
    if (api::ApiServer* api = api_ptr.load()) api->Publish(e);
    if (api::StatusPage* page = status_ptr.load()) page->Publish(e);
  });
  daemon::AgentKnowledge drill_knowledge(agent, *scheduler);
  drill::ReportStore drill_reports(drill::ReportStore::DirFor(config->state_dir()));
  drill::DrillRunner drill_runner(
      drill::DrillRunner::Deps{
          clock, sleeper, actuator, drill_dialer, *journal, drill_executor,
          logger.With({{"component", "drill"}}), &drill_knowledge,
          [&]() -> std::unique_ptr<drill::ListenerSampler> {
            return std::make_unique<drill::ThreadListenerSampler>(
                drill_dialer, clock, absl::Milliseconds(200), absl::Seconds(1));
          },
          /*run_command=*/{}, &drill_reports,
          [&agent](const std::string& group, const std::string& drill_id) {
            absl::Status s = agent.Pause(group, absl::InfiniteFuture(), "drill " + drill_id,
                                         "drill", agent::PauseOwner::kDrill);
            (void)s;
          },
          [&agent](const std::string& group, const std::string&) {
            absl::Status s = agent.Resume(group, "drill", agent::PauseOwner::kDrill);
            (void)s;
          }},
      [&config] {
        drill::DrillRunner::Options o;
        o.arm_endpoint = config->arm().endpoint();
        return o;
      }());
  drill::DrillLauncher drill_launcher(drill::DrillLauncher::Deps{
      drill_runner, *journal, &drill_reports, clock, logger.With({{"component", "drill"}})});
  readiness_drills = &drill_launcher;
  // A drill a stopped agent left unfinished is resumed now (the agent left it alone and kept its
  // group paused): failed back if it had failed over, else ended as aborted.
  if (exit_code == 0) {
    absl::StatusOr<std::vector<std::string>> resumed =
        drill_launcher.ResumeUnfinished(*runbook_set);
    if (!resumed.ok()) {
      logger.Error("interrupted drills not resumed", {{"error", resumed.status().ToString()}});
    } else {
      for (const std::string& id : *resumed) {
        logger.Warn("resuming interrupted drill", {{"drill", id}});
      }
    }
  }

  // Scheduled drills: a timer per entry on the control loop hands each due drill to the worker
  // pool (Start reads the journal), which starts it on the launcher's own thread.
  std::vector<drill::ScheduledDrill> drill_schedules =
      drill::ParseDrillSchedules(*config, clock.Now())
          .value_or(std::vector<drill::ScheduledDrill>{});
  std::function<void(size_t, absl::Time)> arm_drill;
  auto run_scheduled = [&](size_t i) {
    const drill::ScheduledDrill& d = drill_schedules[i];
    const agent::GroupSnapshot* found = nullptr;
    absl::StatusOr<agent::GroupSnapshot> by_id = agent.Group(d.group);
    std::vector<agent::GroupSnapshot> all;
    if (by_id.ok()) {
      found = &*by_id;
    } else {
      all = agent.Groups();
      for (const agent::GroupSnapshot& g : all) {
        if (g.runbook.group().name() == d.group) found = &g;
      }
    }
    if (found == nullptr) {
      logger.Error("scheduled drill: unknown group", {{"group", d.group}});
      return;
    }
    drill::DrillRequest req;
    req.dry_run = d.dry_run;
    req.requested_by = "schedule";
    req.reason = d.reason;
    req.hold = d.hold;
    if (d.dry_run) {
      auto plan = drill_launcher.Plan(found->runbook, req);
      logger.Info("scheduled drill (dry run)",
                  {{"group", found->id},
                   {"summary", plan.ok() ? plan->summary() : plan.status().ToString()}});
      return;
    }
    auto started = drill_launcher.Start(found->runbook, req);
    if (started.ok()) {
      logger.Info("scheduled drill started", {{"group", found->id}, {"drill", started->drill_id}});
    } else {
      logger.Error("scheduled drill not started",
                   {{"group", found->id}, {"error", started.status().ToString()}});
    }
  };
  // `after`: the slot that just fired (a timer may fire a hair early; never run a slot twice).
  arm_drill = [&](size_t i, absl::Time after) {
    const absl::Time next = drill::NextDrillTime(drill_schedules[i], std::max(clock.Now(), after));
    logger.Info("next scheduled drill", {{"group", drill_schedules[i].group},
                                         {"at", absl::FormatTime(next, absl::UTCTimeZone())}});
    loop.ScheduleAt(next, [&, i, next] {
      workers.Submit([&, i] { run_scheduled(i); });
      arm_drill(i, next);
    });
  };
  if (exit_code == 0) {
    for (size_t i = 0; i < drill_schedules.size(); ++i) arm_drill(i, absl::InfinitePast());
  }

  // Journal retention: prune the audit trail and decisions at start and every hour, on the
  // operations pool (never the loop). The journal deletes in small transactions, so operations'
  // step writes interleave with it; a prune still running when the next is due skips that one.
  const journal::RetentionPolicy retention = agent::JournalRetention(*config);
  std::atomic<bool> pruning{false};
  auto prune = [&] {
    if (pruning.exchange(true)) return;
    absl::StatusOr<journal::PruneResult> pruned = journal->Prune(retention, clock.WallNow());
    pruning = false;
    if (!pruned.ok()) {
      logger.Error("journal prune failed", {{"error", pruned.status().ToString()}});
      return;
    }
    metrics.IncrementCounter("foghorn_journal_pruned_rows_total", {{"table", "audit"}},
                             static_cast<double>(pruned->audit_rows));
    metrics.IncrementCounter("foghorn_journal_pruned_rows_total", {{"table", "decisions"}},
                             static_cast<double>(pruned->decision_rows));
    logger.Info("journal pruned",
                {{"audit_rows", pruned->audit_rows}, {"decision_rows", pruned->decision_rows}});
  };
  std::function<void(absl::Duration)> arm_prune = [&](absl::Duration after) {
    loop.ScheduleAfter(after, [&] {
      workers.Submit(prune);
      arm_prune(absl::Hours(1));
    });
  };
  if (exit_code == 0) arm_prune(absl::ZeroDuration());

  // The status page (/status on the metrics listener): viewer tokens as the control API's.
  std::unique_ptr<api::StatusPage> status_page;
  agent::MetricsServer::Options metrics_options;
  // Without tokens the page would show every viewer's details to anyone who reaches the metrics
  // listener: it is served only on loopback then (docs/security.md).
  bool status_exposed_without_tokens = false;
  if (config->api().tokens().empty() && config->metrics().listen() != "off") {
    common::ParseHostPortOptions metrics_listen_options;
    metrics_listen_options.allow_port_zero = true;
    auto where = common::ParseHostPort(config->metrics().listen(), metrics_listen_options);
    status_exposed_without_tokens = !where.ok() || !common::IsLoopbackHost(where->host);
    if (status_exposed_without_tokens) {
      logger.Warn(
          "status page not served: the metrics listener is not loopback and the control API "
          "has no tokens",
          {{"listen", config->metrics().listen()}});
    }
  }
  if (exit_code == 0 && config->metrics().listen() != "off" && !status_exposed_without_tokens) {
    auto page = api::StatusPage::Create(
        config->api(), api::StatusPageDeps{agent, *journal, clock, &drill_launcher},
        api::StatusPage::Options{});
    if (page.ok()) {
      status_page = std::move(page).value();
      status_ptr = status_page.get();
      api::StatusPage* p = status_page.get();
      metrics_options.routes = {
          {"/status", [p](const agent::HttpGet& r) { return p->HandlePage(r); }},
          {"/status/", [p](const agent::HttpGet& r) { return p->HandlePage(r); }},
          {"/status/state.json", [p](const agent::HttpGet& r) { return p->HandleState(r); }},
          {"/status/events.json", [p](const agent::HttpGet& r) { return p->HandleEvents(r); }}};
    } else {
      exit_code = Fail("status page", page.status());
    }
  }
  std::unique_ptr<agent::MetricsServer> metrics_server;
  if (exit_code == 0 && config->metrics().listen() != "off") {
    auto m = agent::MetricsServer::Start(config->metrics().listen(), metrics,
                                         std::move(metrics_options));
    if (m.ok()) {
      metrics_server = std::move(m).value();
    } else {
      exit_code = Fail("metrics", m.status());
    }
  }
  int api_port = 0;
  if (exit_code == 0) {
    auto a =
        api::ApiServer::Start(config->api(), api::ApiServerDeps{agent, *journal, clock,
                                                                logger.With({{"component", "api"}}),
                                                                metrics, &drill_launcher});
    if (a.ok()) {
      api_server = std::move(a).value();
      api_ptr = api_server.get();
      api_port = api_server->port();
    } else {
      exit_code = Fail("control API", a.status());
    }
  }
  if (exit_code == 0) {
    logger.Info("foghornd started", {{"groups", static_cast<int>(runbook_set->size())},
                                     {"api_port", api_port},
                                     {"metrics_port", metrics_server ? metrics_server->port() : 0},
                                     {"arm_endpoint", config->arm().endpoint()}});
    if (const std::string ready = absl::GetFlag(FLAGS_ready_file); !ready.empty()) {
      const std::string line =
          absl::StrCat("{\"api_port\": ", api_port,
                       ", \"metrics_port\": ", metrics_server ? metrics_server->port() : 0,
                       ", \"pid\": ", static_cast<int>(getpid()), "}\n");
      if (absl::Status s = common::WriteFileAtomically(ready, line); !s.ok()) {
        logger.Warn("ready file not written", {{"error", std::string(s.message())}});
      }
    }
    // Type=notify: systemd counts the unit as started only now that the agent serves.
    if (absl::Status s = daemon::NotifyReady(
            absl::StrCat("watching ", runbook_set->size(), " failover group(s)"));
        !s.ok()) {
      logger.Warn("systemd readiness not sent", {{"error", std::string(s.message())}});
    }
  } else {
    logger.Error("start-up failed; shutting down in order", {{"exit_code", exit_code}});
  }

  while (exit_code == 0) {
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
  // operations finish their current steps, then stop the loop. The same after a failed start-up
  // (whatever did not start is skipped).
  daemon::NotifyStopping().IgnoreError();  // systemd: the stop is ours, not a crash
  api_ptr = nullptr;
  if (api_server) api_server->Shutdown();
  if (metrics_server) metrics_server->Shutdown();
  status_ptr = nullptr;
  if (readiness) readiness->Stop();
  readiness_workers.Shutdown();  // a readiness run in progress finishes (it may use the launcher)
  readiness_drills = nullptr;
  // A drill in its hold is cancelled and fails back before the agent stops.
  drill_launcher.Shutdown();
  agent.Stop();
  // Background ARM reads (role refresh, ARM-state probes) give up their retry backoffs now, so
  // they never hold up the exit; a running failover is not cut short (ArmClient).
  sleeper.Cancel();
  if (coordinator) coordinator->Stop();  // revokes the lease: other agents take the groups now
  (*prober)->Shutdown();
  read_workers.Shutdown();
  workers.Shutdown();
  loop.Shutdown();
  scheduler.reset();
  logger.Info("foghornd stopped", {{"exit_code", exit_code}});
  return exit_code;
}

}  // namespace
}  // namespace foghorn

int main(int argc, char** argv) { return foghorn::Main(argc, argv); }
