// Test doubles for the drill: the drill's group in the shared fake ARM (ArmOptions), a scripted
// listener dialer and sampler, and scripted agent knowledge. Plus a runbook fixture whose every
// readiness check passes, and DrillExecutor: the journaled executor a drill runs on, over a fake
// ARM. The sleeper is the shared FakeSleeper (tests/testing/fake_sleeper.h).
#ifndef FOGHORN_TESTS_ORCHESTRATOR_DRILL_DRILL_FAKES_H_
#define FOGHORN_TESTS_ORCHESTRATOR_DRILL_DRILL_FAKES_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "orchestrator/common/fake_clock.h"
#include "orchestrator/common/log.h"
#include "orchestrator/common/metrics.h"
#include "orchestrator/drill/listener.h"
#include "orchestrator/drill/readiness.h"
#include "orchestrator/executor/notifier.h"
#include "orchestrator/executor/operation_runner.h"
#include "orchestrator/journal/journal.h"
#include "tests/testing/fake_arm.h"

namespace foghorn::drill::testing {

inline constexpr char kSub[] = "sub-1";
inline constexpr char kRg[] = "rg-1";
inline constexpr char kGroup[] = "fog-orders";
inline constexpr char kEast[] = "sql-east";
inline constexpr char kWest[] = "sql-west";
inline constexpr char kRwListener[] = "fog-orders.example:1433";
inline constexpr char kRoListener[] = "fog-orders.secondary.example:1433";

inline v1::Runbook HealthyRunbook() {
  v1::Runbook rb;
  rb.set_description("orders drill");
  auto* g = rb.mutable_group();
  g->set_subscription_id(kSub);
  g->set_resource_group(kRg);
  g->set_name(kGroup);
  g->set_primary_server(kEast);
  g->set_secondary_server(kWest);
  g->add_databases("orders");
  g->add_databases("customers");
  auto* rw = rb.add_probes();
  rw->set_name("rw-listener");
  rw->set_target(v1::PROBE_TARGET_LISTENER_READ_WRITE);
  rw->mutable_tcp()->set_address(kRwListener);
  auto* ro = rb.add_probes();
  ro->set_name("ro-listener");
  ro->set_target(v1::PROBE_TARGET_LISTENER_READ_ONLY);
  ro->mutable_tcp()->set_address(kRoListener);
  rb.mutable_drill()->mutable_hold()->set_seconds(600);
  rb.mutable_drill()->mutable_verify_timeout()->set_seconds(60);
  rb.mutable_drill()->add_verify_probes("rw-listener");
  return rb;
}

inline std::string GroupIdOf() { return std::string(kSub) + "/" + kRg + "/" + kGroup; }

// The drill's failover group in the fake ARM (tests/testing/fake_arm.h): sql-east primary, sql-west
// secondary, both runbook databases, and each failover taking 30 s of `clock`.
inline ::foghorn::testing::FakeArm::Options ArmOptions(common::FakeClock& clock) {
  ::foghorn::testing::FakeArm::Options o;
  o.subscription_id = kSub;
  o.resource_group = kRg;
  o.group = kGroup;
  o.primary = kEast;
  o.secondary = kWest;
  o.databases = {"/subscriptions/sub-1/resourceGroups/rg-1/servers/sql-east/databases/orders",
                 "/subscriptions/sub-1/resourceGroups/rg-1/servers/sql-east/databases/customers"};
  o.clock = &clock;
  o.failover_duration = absl::Seconds(30);
  return o;
}

class FakeDialer final : public ListenerDialer {
 public:
  absl::Status Dial(const std::string& address, absl::Duration) override {
    absl::MutexLock lock(&mu_);
    dials.push_back(address);
    if (down.count(address)) return absl::UnavailableError("listener " + address + ": refused");
    if (unresolvable.count(address))
      return absl::NotFoundError("listener " + address + ": nxdomain");
    return absl::OkStatus();
  }
  std::set<std::string> down;
  std::set<std::string> unresolvable;
  std::vector<std::string> dials;

 private:
  absl::Mutex mu_;
};

class FakeKnowledge final : public GroupKnowledge {
 public:
  std::optional<AgentGroupInfo> Group(const std::string& group_id) override {
    auto it = groups.find(group_id);
    if (it == groups.end()) return std::nullopt;
    return it->second;
  }
  std::optional<probes::ProbeStatus> Probe(const std::string& probe_id) override {
    auto it = probes.find(probe_id);
    if (it == probes.end()) return std::nullopt;
    return it->second;
  }
  std::map<std::string, AgentGroupInfo> groups;
  std::map<std::string, probes::ProbeStatus> probes;
};

// Returns scripted samples on Stop().
class ScriptedSampler final : public ListenerSampler {
 public:
  explicit ScriptedSampler(std::vector<ListenerSample> samples) : samples_(std::move(samples)) {}
  void Start(const std::string& address) override { started_with = address; }
  std::vector<ListenerSample> Stop() override { return samples_; }
  std::string started_with;

 private:
  std::vector<ListenerSample> samples_;
};

// The executor a drill runs on (executor::OperationRunner) with what a drill does not use (runbook
// steps, notifications) stubbed out; records what its observers were told. Not thread-safe.
class DrillExecutor {
 public:
  DrillExecutor(journal::Journal& journal, executor::FailoverActuator& arm, common::Logger logger)
      : runner_(journal, arm, steps_, notifier_, std::move(logger), metrics_) {
    runner_.SetStepObserver(
        [this](const journal::OperationRecord&, const journal::StepRecord& step) {
          step_events.push_back(step.name + ":" + journal::StepStateName(step.state));
        });
    runner_.SetOperationObserver([this](const journal::OperationRecord& op) {
      operation_events.push_back(op.kind + ":" + journal::OperationStateName(op.state));
    });
  }
  executor::OperationRunner& runner() { return runner_; }

  std::vector<std::string> step_events;
  std::vector<std::string> operation_events;

 private:
  class NoSteps final : public executor::StepRunner {
   public:
    absl::Status Run(const v1::Step&, const journal::OperationRecord&) override {
      return absl::UnimplementedError("a drill runs no runbook steps");
    }
  };
  NoSteps steps_;
  executor::NullNotifier notifier_;
  common::MetricsRegistry metrics_;
  executor::OperationRunner runner_;
};

}  // namespace foghorn::drill::testing

#endif  // FOGHORN_TESTS_ORCHESTRATOR_DRILL_DRILL_FAKES_H_
