// Agent's durable control state: what the loop observes and must not forget (Observe: outage
// start, lag sample), the pauses in force (EffectivePause, GlobalPause), and writing and
// restoring it through the journal (MarkDirty, FlushControlState, GroupStateJson,
// RestoreControlState). Keys and JSON helpers: control_keys.h.
#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "nlohmann/json.hpp"
#include "orchestrator/agent/agent.h"
#include "orchestrator/agent/agent_internal.h"
#include "orchestrator/agent/control_keys.h"
#include "orchestrator/agent/group_state.h"
#include "orchestrator/common/status_macros.h"

namespace foghorn::agent {

void Agent::Observe(GroupState& g, absl::Time now) {
  const v1::FailoverGroupRef& ref = g.runbook.group();
  const v1::ProbeTarget primary_target = g.roles.primary_server == ref.secondary_server()
                                             ? v1::PROBE_TARGET_SECONDARY
                                             : v1::PROBE_TARGET_PRIMARY;
  std::optional<probes::TargetHealth> th = deps_.tracker.Get(g.id, primary_target);
  const v1::Verdict verdict = th ? th->verdict : v1::VERDICT_UNKNOWN;
  bool outage_began_now = false;
  if (verdict == v1::VERDICT_UNHEALTHY) {
    absl::Time start = th->failure_streak_start;
    if (start == absl::InfinitePast() || start > now) start = now;
    if (g.outage_began == absl::InfinitePast() || start < g.outage_began) {
      outage_began_now = g.outage_began == absl::InfinitePast();
      g.outage_began = start;
      g.outage_id_us = absl::ToUnixMicros(deps_.clock.ToWall(start));
      g.outage_seen_at = now;
      MarkDirty(GroupKey(g.id));
    } else if (now - g.outage_seen_at >= options_.lag_persist_interval) {
      g.outage_seen_at = now;
      MarkDirty(GroupKey(g.id));
    }
  } else if (verdict == v1::VERDICT_HEALTHY &&
             (g.outage_began != absl::InfinitePast() || !g.cancel_hold.empty())) {
    // The primary answered again: this outage is over (and a cancel's hold with it).
    g.outage_began = absl::InfinitePast();
    g.outage_id_us = 0;
    g.cancel_hold.clear();
    MarkDirty(GroupKey(g.id));
  }
  // UNKNOWN (just restarted or reloaded) and IMPAIRED (our own vantage) neither start nor end it.
  if (auto lag = deps_.tracker.ReplicationLag(g.id)) {
    if (!g.last_lag || lag->sampled_at > g.last_lag->sampled_at) {
      g.last_lag = decision::LagSample{absl::Seconds(lag->seconds), lag->sampled_at,
                                       LagSourceName(g.runbook, lag->probe_id)};
      if (outage_began_now || g.lag_persisted_at == absl::InfinitePast() ||
          now - g.lag_persisted_at >= options_.lag_persist_interval) {
        g.lag_persisted_at = now;
        MarkDirty(GroupKey(g.id));
        if (deps_.coordination != nullptr) {
          // Shared at the same pace as it is journaled: the other vantages' leader may lack one.
          std::optional<probes::TargetHealth> p = deps_.tracker.Get(g.id, v1::PROBE_TARGET_PRIMARY);
          deps_.coordination->PublishVerdict(
              g.id, v1::PROBE_TARGET_PRIMARY, p ? p->verdict : v1::VERDICT_UNKNOWN,
              p && (p->verdict == v1::VERDICT_UNHEALTHY || p->verdict == v1::VERDICT_IMPAIRED)
                  ? p->failure_streak_start
                  : absl::InfinitePast(),
              lag->seconds + std::max(0.0, absl::ToDoubleSeconds(now - lag->sampled_at)));
        }
      }
    }
  }
}

std::pair<absl::Time, std::string> Agent::EffectivePause(const GroupState& g) const {
  std::pair<absl::Time, std::string> out{absl::InfinitePast(), ""};
  auto consider = [&](const std::map<PauseOwner, PauseEntry>& pauses) {
    for (const auto& [owner, p] : pauses) {
      if (p.until > out.first) out = {p.until, p.reason};
    }
  };
  consider(g.pauses);
  consider(global_pauses_);
  return out;
}

std::pair<absl::Time, std::string> Agent::GlobalPause() const {
  absl::MutexLock lock(&published_mu_);
  return published_global_pause_;
}

std::pair<absl::Time, std::string> Agent::GlobalPauseOnLoop() const {
  std::pair<absl::Time, std::string> out{absl::InfinitePast(), ""};
  for (const auto& [owner, p] : global_pauses_) {
    if (p.until > out.first) out = {p.until, p.reason};
  }
  return out;
}

void Agent::MarkDirty(const std::string& key) {
  dirty_.insert(key);
  MarkShared(key);
  ScheduleFlush();
}

void Agent::ScheduleFlush() {
  if (flush_queued_ || !started_) return;
  flush_queued_ = true;
  std::weak_ptr<bool> alive = alive_;
  // On the operations pool (elastic in foghornd): in a region outage the read pool is busy with
  // slow ARM reads, and what a flush records should not wait behind them.
  bool submitted = deps_.workers.Submit([this, alive] {
    if (alive.expired()) return;
    absl::Status s = FlushControlState();
    if (!s.ok()) deps_.logger.Error("cannot journal control state", {{"error", s.ToString()}});
  });
  if (!submitted) flush_queued_ = false;
}

std::string Agent::GroupStateJson(const GroupState& g) const {
  const common::Clock& c = deps_.clock;
  nlohmann::json j = nlohmann::json::object();
  if (g.roles_known) {
    j["roles"] = {{"primary", g.roles.primary_server}, {"secondary", g.roles.secondary_server}};
  }
  if (g.outage_began != absl::InfinitePast()) {
    // Every time is converted at flush time, with one wall offset, so a wall-clock step between
    // the outage's start and this write cannot move the restored start (id_us is only a name).
    j["outage"] = {{"id_us", g.outage_id_us},
                   {"began_us", WallMicros(c, g.outage_began)},
                   {"seen_us", WallMicros(c, g.outage_seen_at)}};
  }
  if (g.last_lag) {
    j["lag"] = {{"lag_us", absl::ToInt64Microseconds(g.last_lag->lag)},
                {"sampled_us", WallMicros(c, g.last_lag->sampled_at)}};
  }
  if (g.last_failover_at != absl::InfinitePast()) {
    j["last_failover_us"] = WallMicros(c, g.last_failover_at);
  }
  if (g.last_planned_attempt) {
    j["planned_attempt"] = {
        {"finished_us", WallMicros(c, g.last_planned_attempt->finished_at)},
        {"failed", g.last_planned_attempt->outcome == decision::AttemptOutcome::kFailed},
        {"error_code", g.last_planned_attempt->error_code}};
  }
  if (g.approval) {
    j["approval"] = {{"kind", static_cast<int>(g.approval->kind)},
                     {"granted_us", WallMicros(c, g.approval->granted_at)},
                     {"expires_us", WallMicros(c, g.approval->expires_at)},
                     {"over_budget", g.approval->allow_data_loss_over_budget},
                     {"by", g.approval_by}};
  }
  if (!g.cancel_hold.empty()) j["cancel_hold"] = g.cancel_hold;
  return Dump(j);
}

absl::Status Agent::FlushControlState() {
  flush_mu_.Lock();
  std::map<std::string, std::string> batch;
  SharedBatch shared;
  // What is dirty is collected on the loop; the write happens here, never on the loop.
  absl::Status collected = OnLoop([&] {
    flush_queued_ = false;
    if (deps_.coordination != nullptr) shared = CollectShared();
    for (const std::string& key : dirty_) {
      std::string value;
      if (key.rfind(kCancelKeyPrefix, 0) == 0) continue;  // written directly
      if (key.rfind(kGroupKeyPrefix, 0) == 0) {
        GroupState* g = Find(key.substr(sizeof(kGroupKeyPrefix) - 1));
        if (g == nullptr) continue;  // a group no runbook names keeps its last record
        value = GroupStateJson(*g);
      } else {
        // "pause/<owner>/<group or *>"
        const std::string rest = key.substr(sizeof(kPauseKeyPrefix) - 1);
        const std::string owner_name = rest.substr(0, rest.find('/'));
        const std::string target = rest.substr(rest.find('/') + 1);
        const PauseOwner owner = owner_name == "drill" ? PauseOwner::kDrill : PauseOwner::kOperator;
        const std::map<PauseOwner, PauseEntry>* pauses = &global_pauses_;
        if (target != "*") {
          GroupState* g = Find(target);
          pauses = g != nullptr ? &g->pauses : nullptr;
        }
        if (pauses != nullptr) {
          auto it = pauses->find(owner);
          if (it != pauses->end()) value = PauseJson(it->second);
        }
      }
      batch[key] = std::move(value);
    }
    dirty_.clear();
  });
  if (!collected.ok()) {
    flush_mu_.Unlock();
    return collected;
  }
  if (!batch.empty()) {
    absl::Status s = deps_.journal.PutControlState(batch);
    if (!s.ok()) {
      (void)OnLoop([&] {
        for (const auto& [key, value] : batch) dirty_.insert(key);
      });
      flush_mu_.Unlock();
      // Not shared either: what other agents see never runs ahead of this agent's own journal.
      return s;
    }
  }
  if (shared.values.empty()) {
    flush_mu_.Unlock();
    return absl::OkStatus();
  }
  // Then shared with the other agents (coordinated): a pause or approval given here binds the
  // leader. Hand over hand: publishes keep the order their batches were collected in, and
  // the next journal write need not wait for etcd.
  publish_mu_.Lock();
  flush_mu_.Unlock();
  absl::Status published = PublishShared(shared);
  publish_mu_.Unlock();
  return published;
}

void Agent::RestoreControlState(const std::map<std::string, std::string>& state,
                                const std::set<std::string>& drill_groups) {
  const common::Clock& c = deps_.clock;
  const absl::Time now = c.Now();
  for (const auto& [key, value] : state) {
    // The journal is ours, but a damaged row must not stop the agent: skip it, loudly.
    if (key.rfind(kCancelKeyPrefix, 0) == 0) continue;  // handled by Start()
    nlohmann::json j = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) {
      deps_.logger.Error("unreadable control state", {{"key", key}});
      if (key.rfind(kPauseKeyPrefix, 0) != 0) continue;
      // A pause we cannot read is kept, not dropped: the safe side, until someone resumes.
      j = {{"reason", "a pause whose journal record is unreadable; resume to clear it"},
           {"who", "journal"}};
    }
    auto num = [&](const nlohmann::json& o, const char* name) -> std::optional<std::int64_t> {
      auto it = o.find(name);
      if (it == o.end() || !it->is_number_integer()) return std::nullopt;
      return it->get<std::int64_t>();
    };
    auto str = [&](const nlohmann::json& o, const char* name) -> std::string {
      auto it = o.find(name);
      return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    if (key.rfind(kPauseKeyPrefix, 0) == 0) {
      const std::string rest = key.substr(sizeof(kPauseKeyPrefix) - 1);
      const std::string owner_name = rest.substr(0, rest.find('/'));
      const std::string target = rest.substr(rest.find('/') + 1);
      if (owner_name != "drill" && owner_name != "operator") continue;
      const PauseOwner owner = owner_name == "drill" ? PauseOwner::kDrill : PauseOwner::kOperator;
      if (owner == PauseOwner::kDrill && drill_groups.count(target) == 0) {
        // No unfinished drill of this group: the drill's pause ended with it.
        deps_.logger.Info("a drill's pause ended with the restart", {{"group", target}});
        dirty_.insert(key);
        continue;
      }
      PauseEntry p{absl::InfiniteFuture(), str(j, "reason"), str(j, "who")};
      if (auto until = num(j, "until_us")) p.until = FromWallMicros(c, *until);
      if (p.until <= now) continue;
      if (target == "*") {
        global_pauses_[owner] = p;
      } else if (GroupState* g = Find(target)) {
        g->pauses[owner] = p;
      }
      deps_.logger.Info("pause restored", {{"group", target}, {"reason", p.reason}});
      continue;
    }
    if (key.rfind(kGroupKeyPrefix, 0) != 0) continue;
    GroupState* g = Find(key.substr(sizeof(kGroupKeyPrefix) - 1));
    if (g == nullptr) continue;
    if (auto r = j.find("roles"); r != j.end() && r->is_object()) {
      const std::string primary = str(*r, "primary");
      const std::string secondary = str(*r, "secondary");
      const v1::FailoverGroupRef& ref = g->runbook.group();
      // Only roles that still name this runbook's two servers.
      if ((primary == ref.primary_server() && secondary == ref.secondary_server()) ||
          (primary == ref.secondary_server() && secondary == ref.primary_server())) {
        g->roles = {primary, secondary};
        g->roles_known = true;
      }
    }
    if (auto o = j.find("outage"); o != j.end() && o->is_object()) {
      auto began = num(*o, "began_us");
      auto seen = num(*o, "seen_us");
      auto id = num(*o, "id_us");
      if (began && seen && *began <= *seen &&
          c.WallNow() - absl::FromUnixMicros(*seen) <= options_.outage_restore_window) {
        g->outage_began = FromWallMicros(c, *began);
        g->outage_id_us = id ? *id : *began;
        g->outage_seen_at = FromWallMicros(c, *seen);
        g->cancel_hold = str(j, "cancel_hold");
      }
    }
    if (auto l = j.find("lag"); l != j.end() && l->is_object()) {
      auto lag = num(*l, "lag_us");
      auto at = num(*l, "sampled_us");
      if (lag && at && *lag >= 0) {
        g->last_lag = decision::LagSample{absl::Microseconds(*lag), FromWallMicros(c, *at),
                                          kLastKnownLagSource};
        g->lag_persisted_at = now;
      }
    }
    if (auto at = num(j, "last_failover_us")) {
      g->last_failover_at = std::max(g->last_failover_at, FromWallMicros(c, *at));
    }
    if (auto a = j.find("planned_attempt"); a != j.end() && a->is_object()) {
      if (auto at = num(*a, "finished_us")) {
        auto f = a->find("failed");
        g->last_planned_attempt =
            decision::PlannedAttempt{FromWallMicros(c, *at),
                                     f != a->end() && f->is_boolean() && f->get<bool>()
                                         ? decision::AttemptOutcome::kFailed
                                         : decision::AttemptOutcome::kSucceeded,
                                     str(*a, "error_code")};
      }
    }
    if (auto a = j.find("approval"); a != j.end() && a->is_object()) {
      auto kind = num(*a, "kind");
      auto granted = num(*a, "granted_us");
      auto expires = num(*a, "expires_us");
      auto over = a->find("over_budget");
      // An approval lives at most its policy's TTL from its grant, whatever the row says.
      if (kind && granted && expires && v1::FailoverKind_IsValid(static_cast<int>(*kind)) &&
          FromWallMicros(c, *expires) > now) {
        const absl::Time granted_at = FromWallMicros(c, *granted);
        g->approval = decision::Approval{
            static_cast<v1::FailoverKind>(*kind), granted_at,
            std::min(FromWallMicros(c, *expires), granted_at + g->policy.approval_ttl),
            over != a->end() && over->is_boolean() && over->get<bool>()};
        g->approval_by = str(*a, "by");
      }
    }
  }
}

}  // namespace foghorn::agent
