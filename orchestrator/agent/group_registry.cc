// Agent's group registry: SetRunbooks (validating a runbook set, then adding, removing and
// reloading groups with their probes and rules on the loop), GroupId, and the snapshots viewers
// read (SnapshotOf on the loop; Groups and Group from the published copies).
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "orchestrator/agent/agent.h"
#include "orchestrator/agent/agent_steps.h"
#include "orchestrator/agent/group_state.h"
#include "orchestrator/common/status_macros.h"
#include "probes/probe_config.h"

namespace foghorn::agent {

std::string GroupId(const v1::FailoverGroupRef& ref) {
  return absl::StrCat(ref.subscription_id(), "/", ref.resource_group(), "/", ref.name());
}

absl::Status Agent::SetRunbooks(const std::vector<v1::Runbook>& runbooks) {
  std::map<std::string, const v1::Runbook*> wanted;
  std::map<std::string, decision::Policy> policies;
  // Validate everything before changing anything, so a bad set leaves the running one intact.
  for (const v1::Runbook& rb : runbooks) {
    std::string id = GroupId(rb.group());
    if (wanted.count(id)) {
      return absl::InvalidArgumentError(absl::StrCat("group ", id, " is defined twice"));
    }
    auto policy = decision::PolicyFromProto(rb.policy());
    if (!policy.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(id, ": ", policy.status().message()));
    }
    std::set<std::string> names;
    for (const auto& spec : rb.probes()) {
      absl::Status s = probes::ValidateProbeSpec(spec);
      if (!s.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(id, ": probe ", spec.name(), ": ", s.message()));
      }
      names.insert(spec.name());
    }
    for (const auto& rule : rb.health_rules()) {
      absl::Status s = probes::ValidateHealthRule(rule);
      for (const auto& p : rule.probes()) {
        if (s.ok() && names.count(p) == 0) {
          s = absl::InvalidArgumentError(absl::StrCat("health rule names unknown probe ", p));
        }
      }
      if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat(id, ": ", s.message()));
    }
    // A step this agent cannot carry out is refused now, not when a failover needs it.
    RETURN_IF_ERROR(
        CheckRunbookSteps(rb, [this](const v1::Step& step) { return deps_.runner.CanRun(step); }));
    wanted[id] = &rb;
    policies[id] = *policy;
  }
  absl::Status result;
  // The probes and rules are registered on the loop too: the scheduler and tracker feed it.
  RETURN_IF_ERROR(OnLoop([&] {
    for (const auto& [id, g] : groups_) {
      if (wanted.count(id) == 0 && !g->in_flight_op.empty()) {
        result = absl::FailedPreconditionError(absl::StrCat(
            "cannot stop watching ", id, " while operation ", g->in_flight_op, " runs"));
        return;
      }
    }
    // Remove groups that are gone, and re-register the probes of groups whose probes or rules
    // changed, so the change takes effect. A group whose probes and rules are unchanged keeps
    // its probes and their verdict history: a reload must not restart a failure streak.
    auto probes_key = [](const v1::Runbook& rb) {
      std::string key = rb.group().SerializeAsString();
      for (const auto& p : rb.probes()) key += p.SerializeAsString();
      for (const auto& r : rb.health_rules()) key += r.SerializeAsString();
      return key;
    };
    std::set<std::string> unchanged;
    for (auto it = groups_.begin(); it != groups_.end();) {
      const std::string& id = it->first;
      auto w = wanted.find(id);
      if (w != wanted.end() && probes_key(*w->second) == probes_key(it->second->runbook)) {
        unchanged.insert(id);
        ++it;
        continue;
      }
      for (const auto& p : it->second->runbook.probes()) {
        (void)deps_.scheduler.RemoveProbe(probes::ProbeScheduler::ProbeId(id, p.name()));
      }
      deps_.tracker.RemoveGroup(id);
      if (wanted.count(id) == 0) {
        if (it->second->eval_timer) deps_.loop.Cancel(it->second->eval_timer);
        if (it->second->refresh_timer) deps_.loop.Cancel(it->second->refresh_timer);
        deps_.logger.Info("stopped watching group", {{"group", id}});
        Unpublish(id);
        it = groups_.erase(it);
      } else {
        ++it;
      }
    }
    for (const auto& [id, rb] : wanted) {
      GroupState* g = Find(id);
      if (g == nullptr) {
        auto fresh = std::make_unique<GroupState>();
        fresh->id = id;
        fresh->roles = {rb->group().primary_server(), rb->group().secondary_server()};
        g = fresh.get();
        groups_[id] = std::move(fresh);
        deps_.logger.Info("watching group", {{"group", id},
                                             {"primary", rb->group().primary_server()},
                                             {"secondary", rb->group().secondary_server()}});
      }
      g->runbook = *rb;
      g->policy = policies[id];
      if (unchanged.count(id) != 0) {
        ScheduleEvaluation(*g, deps_.clock.Now());
        continue;
      }
      for (const auto& rule : rb->health_rules()) {
        absl::Status s = deps_.tracker.AddRule(id, rule);
        if (!s.ok()) {
          result = absl::InvalidArgumentError(absl::StrCat(id, ": ", s.message()));
          return;
        }
      }
      for (const auto& spec : rb->probes()) {
        probes::ProbeContext ctx;
        const bool on_secondary = spec.target() == v1::PROBE_TARGET_SECONDARY;
        const std::string& server =
            on_secondary ? rb->group().secondary_server() : rb->group().primary_server();
        const std::string& rg = on_secondary && !rb->group().secondary_resource_group().empty()
                                    ? rb->group().secondary_resource_group()
                                    : rb->group().resource_group();
        ctx.failover_group = {rb->group().subscription_id(), rg, server, rb->group().name()};
        // A TCP probe without an address checks the server's SQL endpoint.
        ctx.default_address = server + ".database.windows.net:1433";
        absl::Status s = deps_.scheduler.AddProbe(id, spec, ctx);
        if (!s.ok()) {
          result = absl::InvalidArgumentError(absl::StrCat(id, ": ", s.message()));
          return;
        }
      }
      // A reloaded runbook (new policy, probes) is looked at again at once; before Start() the
      // evaluation is a no-op.
      ScheduleEvaluation(*g, deps_.clock.Now());
    }
    deps_.metrics.SetGauge("foghorn_groups", {}, static_cast<double>(groups_.size()));
    for (const auto& [id, g] : groups_) Publish(*g);
    if (deps_.coordination != nullptr) {
      std::vector<std::string> ids;
      for (const auto& [id, g] : groups_) ids.push_back(id);
      deps_.coordination->SetGroups(ids);
    }
  }));
  if (result.ok() && deps_.readiness != nullptr) deps_.readiness->SetRunbooks(runbooks);
  return result;
}

GroupSnapshot Agent::SnapshotOf(const GroupState& g) const {
  GroupSnapshot s;
  s.id = g.id;
  s.runbook = g.runbook;
  s.roles = g.roles;
  s.roles_from_arm = g.roles_from_arm;
  s.view = BuildView(g);
  s.last_decision = g.last_decision;
  s.in_flight_operation = g.in_flight_op;
  std::tie(s.paused_until, s.pause_reason) = EffectivePause(g);
  return s;
}

namespace {

// A published snapshot with the probes' states as the scheduler holds them now (and the last
// readiness results, when readiness runs).
GroupSnapshot WithProbes(const GroupSnapshot& published, probes::ProbeScheduler& scheduler,
                         const ReadinessScheduler* readiness) {
  GroupSnapshot s = published;
  if (readiness != nullptr) s.readiness = readiness->Get(s.id);
  for (const auto& p : s.runbook.probes()) {
    if (auto st = scheduler.Status(probes::ProbeScheduler::ProbeId(s.id, p.name()))) {
      s.probes.push_back(std::move(*st));
    }
  }
  return s;
}

}  // namespace

std::vector<GroupSnapshot> Agent::Groups() {
  std::vector<std::shared_ptr<const GroupSnapshot>> published;
  {
    absl::MutexLock lock(&published_mu_);
    for (const auto& [id, snapshot] : published_) published.push_back(snapshot);
  }
  std::vector<GroupSnapshot> out;
  out.reserve(published.size());
  for (const auto& snapshot : published)
    out.push_back(WithProbes(*snapshot, deps_.scheduler, deps_.readiness));
  return out;
}

absl::StatusOr<GroupSnapshot> Agent::Group(const std::string& group_id) {
  std::shared_ptr<const GroupSnapshot> snapshot;
  {
    absl::MutexLock lock(&published_mu_);
    auto it = published_.find(group_id);
    if (it != published_.end()) snapshot = it->second;
  }
  if (!snapshot) return absl::NotFoundError(absl::StrCat("no failover group ", group_id));
  return WithProbes(*snapshot, deps_.scheduler, deps_.readiness);
}

}  // namespace foghorn::agent
