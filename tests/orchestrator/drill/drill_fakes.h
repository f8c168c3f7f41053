// Test doubles for the drill: an in-memory failover group behind FailoverActuator (FakeArm), a
// scripted listener dialer and sampler, scripted agent knowledge, and a sleeper that advances a
// FakeClock. Plus a runbook fixture whose every readiness check passes.
#ifndef FOGHORN_TESTS_ORCHESTRATOR_DRILL_DRILL_FAKES_H_
#define FOGHORN_TESTS_ORCHESTRATOR_DRILL_DRILL_FAKES_H_

#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "orchestrator/common/fake_clock.h"
#include "orchestrator/drill/listener.h"
#include "orchestrator/drill/readiness.h"
#include "orchestrator/executor/operation_runner.h"

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

// One failover group on two servers, in memory. Failover swaps the roles (one accepted POST).
class FakeArm final : public executor::FailoverActuator {
 public:
  explicit FakeArm(common::FakeClock& clock) : clock_(clock) {}

  absl::StatusOr<arm::FailoverResult> Failover(const arm::FailoverRequest& request) override {
    absl::MutexLock lock(&mu_);
    failover_targets.push_back(request.target.server);
    clock_.Advance(failover_duration);
    if (!failover_errors.empty()) {
      std::pair<absl::Status, bool> e = failover_errors.front();
      failover_errors.pop_front();
      if (e.second) primary = request.target.server;  // applied, then the answer was lost
      if (!e.first.ok()) return e.first;
    }
    arm::FailoverResult r;
    if (primary == request.target.server) {
      r.outcome = arm::FailoverOutcome::kAlreadyPrimary;
    } else {
      primary = request.target.server;
      r.outcome = arm::FailoverOutcome::kPosted;
      r.posts_sent = 1;
      r.posts_accepted = 1;
    }
    r.group = GroupOnLocked(request.target.server);
    return r;
  }

  absl::StatusOr<arm::FailoverGroup> Get(const arm::FailoverGroupId& id) override {
    absl::MutexLock lock(&mu_);
    ++gets;
    if (auto it = get_errors.find(id.server); it != get_errors.end()) return it->second;
    if (!group_exists) return absl::NotFoundError("group not found");
    return GroupOnLocked(id.server);
  }

  int FailoverCalls() {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(failover_targets.size());
  }
  std::string Primary() {
    absl::MutexLock lock(&mu_);
    return primary;
  }

  // Knobs (set before the run).
  std::string primary = kEast;
  std::map<std::string, absl::Status> get_errors;
  bool group_exists = true;
  std::string replication_state = "CATCH_UP";
  std::string policy = "Manual";
  std::vector<std::string> databases = {
      "/subscriptions/sub-1/resourceGroups/rg-1/servers/sql-east/"
      "databases/orders",
      "/subscriptions/sub-1/resourceGroups/rg-1/servers/sql-east/"
      "databases/customers"};
  std::optional<std::vector<std::string>> partner_override;  // partner names of sql-east
  bool both_primary = false;
  // Each entry: the status Failover returns and whether the switch happened anyway.
  std::deque<std::pair<absl::Status, bool>> failover_errors;
  absl::Duration failover_duration = absl::Seconds(30);

  std::vector<std::string> failover_targets;
  int gets = 0;

 private:
  arm::FailoverGroup GroupOnLocked(const std::string& server) {
    arm::FailoverGroup g;
    g.name = kGroup;
    g.id =
        "/subscriptions/sub-1/resourceGroups/rg-1/servers/" + server + "/failoverGroups/fog-orders";
    g.replication_role = both_primary || primary == server ? arm::ReplicationRole::kPrimary
                                                           : arm::ReplicationRole::kSecondary;
    g.replication_state = replication_state;
    g.read_write_endpoint = arm::ReadWriteEndpoint{policy, std::nullopt};
    g.databases = databases;
    std::vector<std::string> partners = {server == kEast ? kWest : kEast};
    if (partner_override.has_value() && server == kEast) partners = *partner_override;
    for (const std::string& p : partners) {
      g.partner_servers.push_back(
          {"/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.Sql/servers/" + p, "",
           arm::ReplicationRole::kUnknown});
    }
    return g;
  }

  common::FakeClock& clock_;
  absl::Mutex mu_;
};

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

class ClockSleeper final : public arm::Sleeper {
 public:
  explicit ClockSleeper(common::FakeClock& clock) : clock_(clock) {}
  void SleepFor(absl::Duration d) override {
    total += d;
    if (d > absl::ZeroDuration()) clock_.Advance(d);
  }
  absl::Duration total = absl::ZeroDuration();

 private:
  common::FakeClock& clock_;
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

}  // namespace foghorn::drill::testing

#endif  // FOGHORN_TESTS_ORCHESTRATOR_DRILL_DRILL_FAKES_H_
