// Agent's role refresher: reads each group's roles from ARM on the read workers (RefreshRoles),
// applies them on the loop (ApplyRoles), paced to stay within the ARM read budget
// (ScheduleRoleRefresh), and notices a primary that moved without a foghorn operation
// (NoticeExternalFailover: the cooldown starts; the Activity Log names the caller).
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "orchestrator/agent/agent.h"
#include "orchestrator/agent/control_keys.h"
#include "orchestrator/agent/group_state.h"

namespace foghorn::agent {

void Agent::ScheduleRoleRefresh(GroupState& g, absl::Duration after) {
  if (g.refresh_timer != 0) deps_.loop.Cancel(g.refresh_timer);
  std::weak_ptr<bool> alive = alive_;
  std::string id = g.id;
  g.refresh_timer = deps_.loop.ScheduleAfter(after, [this, alive, id] {
    if (alive.expired()) return;
    RefreshRoles(id);
  });
}

void Agent::RefreshRoles(const std::string& group_id) {
  GroupState* g = Find(group_id);
  if (g == nullptr) return;
  g->refresh_timer = 0;
  if (g->refresh_running || stopped_) return;
  g->refresh_running = true;
  const std::uint64_t generation = g->roles_generation;
  const v1::FailoverGroupRef& ref = g->runbook.group();
  std::vector<arm::FailoverGroupId> ids;
  // Ask the current secondary first: in a regional outage it is the side still answering.
  for (const std::string& server : {g->roles.secondary_server, g->roles.primary_server}) {
    const bool secondary_side = server == ref.secondary_server();
    ids.push_back({ref.subscription_id(),
                   secondary_side && !ref.secondary_resource_group().empty()
                       ? ref.secondary_resource_group()
                       : ref.resource_group(),
                   server, ref.name()});
  }
  const std::string known_primary = g->roles.primary_server;
  const absl::Duration cooldown = g->policy.cooldown;
  std::weak_ptr<bool> alive = alive_;
  common::WorkerPool& pool = deps_.read_workers != nullptr ? *deps_.read_workers : deps_.workers;
  bool submitted = pool.Submit([this, alive, group_id, ids, generation, known_primary, cooldown] {
    if (alive.expired()) return;
    RoleRead read;
    read.generation = generation;
    for (const arm::FailoverGroupId& id : ids) {
      absl::StatusOr<arm::FailoverGroup> fg = deps_.arm.Get(id);
      if (!fg.ok()) {
        read.last_error = fg.status();
        continue;
      }
      std::string partner;
      if (!fg->partner_servers.empty()) {
        const std::string& pid = fg->partner_servers.front().id;
        partner = pid.substr(pid.find_last_of('/') + 1);
      }
      if (fg->replication_role == arm::ReplicationRole::kPrimary) {
        read.roles = decision::Roles{id.server, partner};
      } else if (fg->replication_role == arm::ReplicationRole::kSecondary) {
        read.roles = decision::Roles{partner, id.server};
      }
      if (read.roles) break;
    }
    if (read.roles && read.roles->primary_server != known_primary) {
      // The primary moved. A recent operation of ours may explain it: a drill (running, or
      // finished a moment ago), or a failover whose ARM step ran and whose outcome the loop has
      // not applied (it completed just before a restart, or its verification could not read
      // the group). Read here, off the loop.
      auto recent = deps_.journal.ListOperations(group_id, 5);
      if (recent.ok()) {
        for (const journal::OperationRecord& op : *recent) {
          const absl::Duration age = deps_.clock.WallNow() - op.updated_at;
          if (op.kind == "drill" && (!journal::IsFinished(op.state) || age <= absl::Minutes(10))) {
            read.drill_recent = true;
            break;
          }
          if (!executor::ParseOperationKind(op.kind).ok() ||
              op.target_server != read.roles->primary_server || age > cooldown) {
            continue;
          }
          auto steps = deps_.journal.Steps(op.id);
          bool arm_ran = false;
          if (steps.ok()) {
            for (const auto& st : *steps) arm_ran |= st.name.rfind("arm:", 0) == 0;
          }
          if (!arm_ran) continue;
          read.explained_at = deps_.clock.FromWall(op.updated_at);
          break;
        }
      }
    }
    if (read.roles && !known_primary.empty() && read.roles->primary_server != known_primary &&
        !read.explained_at && !read.drill_recent) {
      // Nothing of ours explains it: who did? The Activity Log of the group on the new primary
      // (failovers are sent to it), read here, off the loop. The agent works without it.
      if (deps_.failover_callers == nullptr) {
        read.caller_note = "no activity log reader configured";
      } else {
        for (const arm::FailoverGroupId& id : ids) {
          if (id.server != read.roles->primary_server) continue;
          absl::StatusOr<std::string> caller = deps_.failover_callers->LastFailoverCaller(
              id, deps_.clock.WallNow() - std::max(cooldown, absl::Hours(1)));
          if (caller.ok()) {
            read.caller = *caller;
          } else {
            read.caller_note = absl::StrCat("activity log: ", caller.status().message());
          }
        }
      }
    }
    deps_.loop.Post([this, alive, group_id, read = std::move(read)]() mutable {
      if (alive.expired()) return;
      ApplyRoles(group_id, std::move(read));
    });
  });
  if (!submitted) g->refresh_running = false;
}

void Agent::ApplyRoles(const std::string& group_id, RoleRead read) {
  GroupState* g = Find(group_id);
  if (g == nullptr) return;
  g->refresh_running = false;
  std::optional<decision::Roles> roles = std::move(read.roles);
  absl::Status last_error = read.last_error;
  if (read.generation != g->roles_generation) {
    roles.reset();  // read before the agent's own failover changed the roles: stale
    last_error = absl::OkStatus();
  }
  if (roles && !roles->primary_server.empty() && !roles->secondary_server.empty()) {
    const bool changed = roles->primary_server != g->roles.primary_server;
    if (changed) {
      deps_.logger.Info("roles changed", {{"group", group_id},
                                          {"primary", roles->primary_server},
                                          {"secondary", roles->secondary_server}});
      // Only an operation of ours whose ARM step began can explain the change.
      const bool ours_in_flight = g->in_flight && g->cancel_gate && g->cancel_gate->arm_begun();
      if (g->roles_known && !ours_in_flight) {
        NoticeExternalFailover(*g, *roles, read.explained_at, read.drill_recent, read.caller,
                               read.caller_note);
      }
    }
    g->roles = *roles;
    g->roles_from_arm = true;
    if (changed || !g->roles_known) MarkDirty(GroupKey(group_id));
    g->roles_known = true;
  } else if (!last_error.ok()) {
    deps_.logger.Warn("cannot read roles from ARM",
                      {{"group", group_id}, {"error", last_error.ToString()}});
  }
  // Up to two reads per group per refresh, spread to stay within the read budget.
  const absl::Duration budgeted = absl::Seconds(2.0 * static_cast<double>(groups_.size()) /
                                                options_.role_refresh_reads_per_second);
  ScheduleRoleRefresh(*g, std::max(options_.role_refresh_interval, budgeted));
  Evaluate(*g);
}

void Agent::NoticeExternalFailover(GroupState& g, const decision::Roles& now_roles,
                                   std::optional<absl::Time> explained_at, bool drill_recent,
                                   const std::string& caller, const std::string& caller_note) {
  const absl::Time now = deps_.clock.Now();
  // A drill moves the primary and back while it holds its pause: those are not external.
  if (g.pauses.count(PauseOwner::kDrill) != 0 || drill_recent) return;
  if (!explained_at && deps_.coordination != nullptr) {
    // Another agent led the group and failed it over: its intent names the new primary.
    const v1::ProbeTarget primary_target =
        g.roles.primary_server == g.runbook.group().secondary_server() ? v1::PROBE_TARGET_SECONDARY
                                                                       : v1::PROBE_TARGET_PRIMARY;
    CoordinationFacts facts = deps_.coordination->Facts(g.id, primary_target);
    if (facts.intent && facts.intent->target == now_roles.primary_server &&
        now - facts.intent->written_at <= absl::Hours(1)) {
      deps_.logger.Info("failover by another agent", {{"group", g.id},
                                                      {"agent", facts.intent->agent},
                                                      {"request_id", facts.intent->request_id},
                                                      {"primary", now_roles.primary_server}});
      explained_at = std::min(now, facts.intent->written_at);
    }
  }
  if (explained_at) {
    // A failover of ours whose ARM step ran: its end starts the cooldown.
    g.last_failover_at = std::max(g.last_failover_at, *explained_at);
    MarkDirty(GroupKey(g.id));
    return;
  }
  const std::string by =
      caller.empty() ? (caller_note.empty() ? std::string("caller unknown")
                                            : absl::StrCat("caller unknown (", caller_note, ")"))
                     : absl::StrCat("by ", caller);
  const std::string summary = absl::StrCat(
      "external failover of ", g.id, ": ", now_roles.primary_server, " is primary (was ",
      g.roles.primary_server, ") without a foghorn operation, ", by, "; noticed at ",
      absl::FormatTime(deps_.clock.WallNow(), absl::UTCTimeZone()), "; cooldown started");
  g.last_failover_at = now;
  g.outage_began = absl::InfinitePast();
  g.outage_id_us = 0;
  g.approval.reset();
  MarkShared(kApprovalKeyPrefix + g.id);
  g.cancel_hold.clear();
  MarkDirty(GroupKey(g.id));
  deps_.metrics.IncrementCounter("foghorn_external_failovers_total", {{"group", g.id}});
  deps_.logger.Warn("external failover", {{"group", g.id},
                                          {"primary", now_roles.primary_server},
                                          {"previous_primary", g.roles.primary_server},
                                          {"caller", caller.empty() ? "unknown" : caller}});
  deps_.journal
      .Audit({0, absl::InfinitePast(), "arm", "ExternalFailover", g.id,
              absl::StrCat(g.roles.primary_server, " -> ", now_roles.primary_server, ", ", by),
              "cooldown started"})
      .IgnoreError();
  executor::Notification n;
  n.event = "external_failover";
  n.group_id = g.id;
  n.summary = summary;
  {
    nlohmann::json j = {{"primary_server", now_roles.primary_server},
                        {"previous_primary", g.roles.primary_server},
                        {"caller", caller}};
    if (!caller_note.empty()) j["caller_note"] = caller_note;
    n.details_json = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  n.dedup_key = absl::StrCat(g.id, "/external/", now_roles.primary_server, "/",
                             absl::ToUnixSeconds(deps_.clock.WallNow()));
  deps_.notifier.Notify(std::move(n));
  Emit({g.id, "", now, summary,
        ExternalFailoverNoticed{now_roles.primary_server, g.roles.primary_server, caller,
                                caller_note}});
}

}  // namespace foghorn::agent
