#include "tests/orchestrator/api/agent_harness.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "orchestrator/common/status_macros.h"
#include "orchestrator/daemon/agent_knowledge.h"
#include "runbooks/loader.h"

namespace foghorn::testing {

absl::StatusOr<arm::FailoverGroup> SlowReads::Get(const arm::FailoverGroupId& id) {
  if (latency_ > absl::ZeroDuration()) absl::SleepFor(latency_);
  ++reads_;
  return inner_.Get(id);
}

namespace {

class NoopSteps final : public executor::StepRunner {
 public:
  absl::Status Run(const v1::Step&, const journal::OperationRecord&) override {
    return absl::OkStatus();
  }
};

class NullLogSink final : public common::LogSink {
 public:
  void Write(common::LogLevel, std::string_view) override {}
};

constexpr char kRunbookTemplate[] = R"(
group:
  subscription_id: sub
  resource_group: rg
  name: NAME
  primary_server: PRIMARY
  secondary_server: SECONDARY
probes:
  - {name: a-tcp, target: primary, interval: 5s, timeout: 1s, unhealthy_threshold: 2, healthy_threshold: 1, tcp: {address: "127.0.0.1:1"}}
  - {name: b-tcp, target: secondary, interval: 5s, timeout: 1s, unhealthy_threshold: 2, healthy_threshold: 1, tcp: {address: "127.0.0.1:2"}}
  - {name: lag, target: primary, interval: 5s, timeout: 1s, metric_kind: replication_lag_seconds, exec: {argv: [lag], metric_from_stdout: true}}
health_rules:
  - {target: primary, probes: [a-tcp]}
  - {target: secondary, probes: [b-tcp]}
policy:
  confirm_after: 10s
  planned_grace: 30s
  data_loss_grace: 2m
  data_loss_budget: 10m
  approval_mode: APPROVAL_MODE
  cooldown: 1h
)";

constexpr char kSteps[] = R"(pre_steps:
  - name: announce
    notify: {url: "https://hooks.example/foghorn"}
post_steps:
  - name: settle
    wait: {duration: 1s}
)";

}  // namespace

class AgentHarness::Forward final : public probes::VerdictSink {
 public:
  void OnVerdictChange(const probes::VerdictEvent& e) override {
    if (target != nullptr) target->OnVerdictChange(e);
  }
  probes::VerdictSink* target = nullptr;
};

std::string AgentHarness::GroupName(int i) { return i == 0 ? "fog" : absl::StrCat("fog-", i); }

std::string AgentHarness::GroupId(int i) { return "sub/rg/" + GroupName(i); }

std::string AgentHarness::RunbookText(int i, const std::string& approval_mode, bool with_steps) {
  const std::string suffix = i == 0 ? "" : absl::StrCat("-", i);
  std::string text = absl::StrReplaceAll(kRunbookTemplate, {{"NAME", GroupName(i)},
                                                            {"PRIMARY", "srv-a" + suffix},
                                                            {"SECONDARY", "srv-b" + suffix},
                                                            {"APPROVAL_MODE", approval_mode}});
  if (with_steps) text += kSteps;
  return text;
}

absl::StatusOr<std::unique_ptr<AgentHarness>> AgentHarness::Create(const std::string& dir,
                                                                   HarnessOptions options) {
  std::unique_ptr<AgentHarness> h(new AgentHarness());
  // The fake ARM starts with group 0 ("fog": srv-a primary, srv-b secondary, in sub/rg); the
  // others are added with the servers their runbooks name.
  for (int i = 1; i < options.groups; ++i) {
    h->arm_.AddGroup(GroupName(i), absl::StrCat("srv-a-", i), absl::StrCat("srv-b-", i));
  }
  h->sleeper_.Close();
  std::vector<runbooks::RunbookSource> sources;
  for (int i = 0; i < options.groups; ++i) {
    sources.push_back({absl::StrCat("group", i, ".yaml"),
                       RunbookText(i, options.approval_mode, options.with_steps)});
  }
  runbooks::LoadResult loaded = runbooks::LoadRunbookSources(sources);
  RETURN_IF_ERROR(loaded.status());
  std::vector<v1::Runbook> runbooks;
  for (const auto& r : loaded.runbooks) runbooks.push_back(r.runbook);

  auto logger = [&h] {
    return common::Logger(std::make_shared<NullLogSink>(), nullptr, h->clock_, {});
  };
  h->steps_ = std::make_unique<NoopSteps>();
  h->forward_ = std::make_unique<Forward>();
  h->tracker_ = std::make_unique<probes::HealthTracker>(h->clock_, h->forward_.get());
  ASSIGN_OR_RETURN(h->journal_, journal::SqliteJournal::Open(dir + "/journal.db", h->clock_));
  h->runner_ = std::make_unique<executor::OperationRunner>(*h->journal_, h->arm_, *h->steps_,
                                                           h->notifier_, logger(), h->metrics_);
  h->scheduler_ = std::make_unique<probes::ProbeScheduler>(h->loop_, h->prober_, h->tracker_.get());
  AgentHarness* raw = h.get();
  agent::Agent::Deps deps{h->clock_,    h->loop_,    h->workers_,    *h->journal_,
                          h->arm_,      *h->runner_, *h->scheduler_, *h->tracker_,
                          h->notifier_, logger(),    h->metrics_};
  deps.events = [raw](const agent::AgentEvent& e) {
    if (api::ApiServer* s = raw->events_to_.load()) s->Publish(e);
  };
  if (options.readiness_source != nullptr) {
    h->readiness_ = std::make_unique<agent::ReadinessScheduler>(
        agent::ReadinessScheduler::Deps{h->clock_,
                                        h->loop_,
                                        h->workers_,
                                        h->notifier_,
                                        h->metrics_,
                                        logger(),
                                        {options.readiness_source}},
        agent::ReadinessScheduler::Options{});
    deps.readiness = h->readiness_.get();
  }
  h->agent_ = std::make_unique<agent::Agent>(std::move(deps), agent::Agent::Options{});
  h->forward_->target = h->agent_.get();
  RETURN_IF_ERROR(h->agent_->SetRunbooks(runbooks));
  h->prober_.SetMetric("lag", 3);
  RETURN_IF_ERROR(h->agent_->Start());
  h->Run(absl::Seconds(20));
  if (options.with_drills) {
    h->readiness_arm_ = std::make_unique<SlowReads>(h->arm_, options.readiness_arm_latency);
    // Drills run on their own executor (the failover's journaled step machinery), whose observers
    // publish their progress, as foghornd wires it.
    h->drill_executor_ = std::make_unique<executor::OperationRunner>(
        *h->journal_, *h->readiness_arm_, *h->steps_, h->notifier_, logger(), h->metrics_);
    daemon::PublishDrillProgress(*h->drill_executor_, h->clock_, [raw](const agent::AgentEvent& e) {
      if (api::ApiServer* s = raw->events_to_.load()) s->Publish(e);
    });
    h->knowledge_ = std::make_unique<daemon::AgentKnowledge>(*h->agent_, *h->scheduler_);
    h->reports_ = std::make_unique<drill::ReportStore>(drill::ReportStore::DirFor(dir));
    drill::DrillRunner::Deps dd{
        h->clock_,
        h->sleeper_,
        *h->readiness_arm_,
        h->dialer_,
        *h->journal_,
        *h->drill_executor_,
        logger(),
        h->knowledge_.get(),
        /*sampler_factory=*/{},
        /*run_command=*/{},
        h->reports_.get(),
        [raw](const std::string& group, const std::string& drill_id) {
          raw->agent_
              ->Pause(group, absl::InfiniteFuture(), "drill " + drill_id, "drill",
                      agent::PauseOwner::kDrill)
              .IgnoreError();
        },
        [raw](const std::string& group, const std::string&) {
          raw->agent_->Resume(group, "drill", agent::PauseOwner::kDrill).IgnoreError();
        }};
    h->drill_runner_ =
        std::make_unique<drill::DrillRunner>(std::move(dd), drill::DrillRunner::Options{});
    h->launcher_ = std::make_unique<drill::DrillLauncher>(drill::DrillLauncher::Deps{
        *h->drill_runner_, *h->journal_, h->reports_.get(), h->clock_, logger()});
  }
  if (options.start_api) {
    v1::ApiSettings settings = options.api;
    if (settings.listen().empty()) settings.set_listen("127.0.0.1:0");
    ASSIGN_OR_RETURN(h->server_, api::ApiServer::Start(settings,
                                                       {*h->agent_, *h->journal_, h->clock_,
                                                        logger(), h->metrics_, h->launcher_.get()},
                                                       options.api_options));
    h->events_to_ = h->server_.get();
  }
  return h;
}

AgentHarness::~AgentHarness() { Shutdown(); }

void AgentHarness::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  if (server_) server_->Shutdown();
  if (launcher_) {
    // Cancelled drills leave their hold; the gate lets a sleeping one notice.
    launcher_->CancelAll();
    sleeper_.Open();
    launcher_->Shutdown();
  }
  events_to_ = nullptr;
  arm_.Release();
  if (agent_) agent_->Stop();
  if (readiness_) readiness_->Stop();
  workers_.Shutdown();
}

void AgentHarness::Run(absl::Duration total) {
  for (absl::Duration t; t < total; t += absl::Seconds(1)) {
    loop_.Advance(absl::Seconds(1));
    workers_.WaitIdle();
    loop_.RunUntilIdle();
  }
}

void AgentHarness::RunDue() {
  workers_.WaitIdle();
  loop_.RunUntilIdle();
}

}  // namespace foghorn::testing
