// Shared control state between coordinated agents (docs/coordination.md, "Shared control
// state"), and a new leader carrying on another agent's operation intent. All [loop] unless said.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "orchestrator/agent/agent.h"
#include "orchestrator/agent/agent_internal.h"
#include "orchestrator/agent/control_keys.h"
#include "orchestrator/agent/group_state.h"
#include "orchestrator/executor/operation_runner.h"

namespace foghorn::agent {

namespace {

std::optional<std::int64_t> Num(const nlohmann::json& o, const char* name) {
  auto it = o.find(name);
  if (it == o.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<std::int64_t>();
}

std::string Str(const nlohmann::json& o, const char* name) {
  auto it = o.find(name);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// How far another agent's clock may run ahead of ours before its times are refused.
constexpr absl::Duration kClockSkew = absl::Seconds(30);

bool IsSharedKey(const std::string& key) {
  return HasPrefix(key, kOperatorPausePrefix) || HasPrefix(key, kApprovalKeyPrefix) ||
         HasPrefix(key, kGroupKeyPrefix);
}

// The primary's probe target (PRIMARY or SECONDARY) for the roles as they are now.
v1::ProbeTarget PrimaryTarget(const v1::Runbook& runbook, const decision::Roles& roles) {
  return roles.primary_server == runbook.group().secondary_server() ? v1::PROBE_TARGET_SECONDARY
                                                                    : v1::PROBE_TARGET_PRIMARY;
}

}  // namespace

std::string Agent::PauseJson(const PauseEntry& p) const {
  nlohmann::json j = {{"reason", p.reason}, {"who", p.who}};
  if (p.until == absl::InfiniteFuture()) {
    j["until_resumed"] = true;
  } else {
    j["until_us"] = WallMicros(deps_.clock, p.until);
  }
  return Dump(j);
}

void Agent::MarkShared(const std::string& key) {
  if (deps_.coordination == nullptr) return;
  if (HasPrefix(key, kOperatorPausePrefix) || HasPrefix(key, kGroupKeyPrefix) ||
      HasPrefix(key, kApprovalKeyPrefix)) {
    shared_dirty_[key] = ++shared_seq_;
  }
}

std::string Agent::ApprovalJson(const GroupState& g) const {
  if (!g.approval) return "";
  const common::Clock& c = deps_.clock;
  nlohmann::json j = {{"kind", static_cast<int>(g.approval->kind)},
                      {"granted_us", WallMicros(c, g.approval->granted_at)},
                      {"expires_us", WallMicros(c, g.approval->expires_at)},
                      {"over_budget", g.approval->allow_data_loss_over_budget},
                      {"by", g.approval_by}};
  return Dump(j);
}

std::string Agent::SharedGroupJson(const GroupState& g) const {
  // The leader's record: what a new leader must not forget. Only fields that change with an
  // event (not the lag or the outage's last sighting), so it is written rarely.
  const common::Clock& c = deps_.clock;
  nlohmann::json j = nlohmann::json::object();
  if (g.outage_began != absl::InfinitePast()) {
    j["outage"] = {{"id_us", g.outage_id_us}, {"began_us", WallMicros(c, g.outage_began)}};
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
  if (!g.cancel_hold.empty()) j["cancel_hold"] = g.cancel_hold;
  return Dump(j);
}

Agent::SharedBatch Agent::CollectShared() {
  SharedBatch b;
  const absl::Time now = deps_.clock.Now();
  for (auto it = shared_dirty_.begin(); it != shared_dirty_.end();) {
    const std::string& key = it->first;
    std::string value;  // "" deletes
    bool drop = false;
    if (HasPrefix(key, kOperatorPausePrefix)) {
      const std::string target = key.substr(sizeof(kOperatorPausePrefix) - 1);
      const std::map<PauseOwner, PauseEntry>* pauses = &global_pauses_;
      if (target != "*") {
        GroupState* g = Find(target);
        pauses = g != nullptr ? &g->pauses : nullptr;
      }
      if (pauses == nullptr) {
        drop = true;  // a group no runbook names: not ours to speak for
      } else if (auto p = pauses->find(PauseOwner::kOperator);
                 p != pauses->end() && p->second.until > now) {
        value = PauseJson(p->second);
      }
    } else if (HasPrefix(key, kApprovalKeyPrefix)) {
      GroupState* g = Find(key.substr(sizeof(kApprovalKeyPrefix) - 1));
      if (g == nullptr) {
        drop = true;
      } else {
        value = ApprovalJson(*g);
      }
    } else {
      GroupState* g = Find(key.substr(sizeof(kGroupKeyPrefix) - 1));
      // Only the leader writes the group's record; an observer's view is its own.
      drop = g == nullptr ||
             !deps_.coordination->Facts(g->id, PrimaryTarget(g->runbook, g->roles)).view.leader;
      if (!drop) value = SharedGroupJson(*g);
    }
    auto seen = shared_seen_.find(key);
    const bool same = value.empty() ? seen == shared_seen_.end()
                                    : seen != shared_seen_.end() && seen->second == value;
    if (drop || same) {
      it = shared_dirty_.erase(it);
      continue;
    }
    b.values[key] = std::move(value);
    b.seq[key] = it->second;
    ++it;
  }
  return b;
}

absl::Status Agent::PublishShared(const SharedBatch& batch) {
  // Key by key: one that etcd refuses does not hold the others back, and what landed is known.
  std::map<std::string, bool> landed;
  absl::Status first_error;
  for (const auto& [key, value] : batch.values) {
    absl::Status s = deps_.coordination->PublishControls({{key, value}});
    landed[key] = s.ok();
    if (!s.ok() && first_error.ok()) first_error = s;
  }
  std::weak_ptr<bool> alive = alive_;
  (void)deps_.loop.RunAndWait([&, alive] {
    if (alive.expired()) return;
    for (const auto& [key, value] : batch.values) {
      if (!landed[key]) continue;
      if (value.empty()) {
        shared_seen_.erase(key);
      } else {
        shared_seen_[key] = value;
      }
      auto d = shared_dirty_.find(key);
      if (d != shared_dirty_.end() && d->second == batch.seq.at(key)) shared_dirty_.erase(d);
    }
    const absl::Time now = deps_.clock.Now();
    if (first_error.ok()) {
      shared_backoff_ = absl::ZeroDuration();
      shared_retry_at_ = absl::InfinitePast();
    } else {
      // Not at once (an etcd that refuses fast must not be hammered): later, backing off, and
      // at the latest when the coordinator reconnects (every group is notified then).
      shared_backoff_ =
          std::min(absl::Seconds(30), std::max(absl::Seconds(1), 2 * shared_backoff_));
      shared_retry_at_ = now + shared_backoff_;
      if (shared_retry_timer_ != 0) deps_.loop.Cancel(shared_retry_timer_);
      std::weak_ptr<bool> alive_again = alive_;
      shared_retry_timer_ = deps_.loop.ScheduleAt(shared_retry_at_, [this, alive_again] {
        if (alive_again.expired()) return;
        shared_retry_timer_ = 0;
        if (!shared_dirty_.empty()) ScheduleFlush();
      });
    }
    // What others changed while these keys were dirty applies now.
    ApplySharedControls();
  });
  if (!first_error.ok()) {
    deps_.logger.Warn(
        "control state not shared with the other agents",
        {{"keys", std::to_string(batch.values.size())}, {"error", first_error.ToString()}});
    return absl::UnavailableError(
        absl::StrCat("recorded by this agent but not yet shared with the other agents (",
                     first_error.message(), "); it is shared once etcd answers again"));
  }
  return absl::OkStatus();
}

void Agent::ApplySharedControls() {
  if (deps_.coordination == nullptr || !started_) return;
  std::optional<std::map<std::string, std::string>> remote = deps_.coordination->SharedControls();
  if (!remote) return;
  if (!shared_synced_) {
    shared_synced_ = true;
    // First read since this agent started. A pause this agent's journal holds and etcd lacks is
    // published (the safe side: it may have been given while etcd was unreachable; a resume
    // given elsewhere meanwhile is undone, and the pause must be resumed again). An approval
    // etcd lacks is dropped: it was used or rejected elsewhere, and is never resurrected.
    auto publish_if_missing = [&](const std::string& group_id,
                                  const std::map<PauseOwner, PauseEntry>& pauses) {
      const std::string key = PauseKey(PauseOwner::kOperator, group_id);
      if (pauses.count(PauseOwner::kOperator) != 0 && remote->count(key) == 0) {
        deps_.logger.Warn("publishing a pause the other agents do not know", {{"key", key}});
        MarkShared(key);
      }
    };
    publish_if_missing("", global_pauses_);
    for (auto& [id, g] : groups_) {
      publish_if_missing(id, g->pauses);
      const std::string key = kApprovalKeyPrefix + id;
      if (g->approval && remote->count(key) == 0 && shared_dirty_.count(key) == 0) {
        deps_.logger.Warn("dropping an approval the other agents do not hold", {{"group", id}});
        g->approval.reset();
        g->approval_by.clear();
        dirty_.insert(GroupKey(id));
        Publish(*g);
      }
    }
  }
  std::set<std::string> keys;
  for (const auto& [key, value] : *remote) keys.insert(key);
  for (const auto& [key, value] : shared_seen_) keys.insert(key);
  for (const std::string& key : keys) {
    if (!IsSharedKey(key)) continue;  // a newer agent's key: not ours to interpret
    auto r = remote->find(key);
    auto seen = shared_seen_.find(key);
    const bool same = r == remote->end() ? seen == shared_seen_.end()
                                         : seen != shared_seen_.end() && seen->second == r->second;
    if (same) continue;
    // A change made here and not yet written wins; it is written next.
    if (shared_dirty_.count(key) != 0) continue;
    std::optional<std::string> value;
    if (r != remote->end()) value = r->second;
    ApplySharedKey(key, value);
    if (value) {
      shared_seen_[key] = *value;
    } else {
      shared_seen_.erase(key);
    }
  }
  if (!dirty_.empty() || (!shared_dirty_.empty() && deps_.clock.Now() >= shared_retry_at_)) {
    ScheduleFlush();
  }
}

void Agent::ApplySharedKey(const std::string& key, const std::optional<std::string>& value) {
  const common::Clock& c = deps_.clock;
  const absl::Time now = c.Now();
  nlohmann::json j;
  if (value) {
    j = nlohmann::json::parse(*value, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) {
      deps_.logger.Error("unreadable shared control state", {{"key", key}});
      if (!HasPrefix(key, kOperatorPausePrefix)) return;
      // A pause nobody can read still holds (the safe side) until someone resumes.
      j = {{"reason", "a shared pause whose record is unreadable; resume to clear it"},
           {"who", "etcd"}};
    }
  }
  if (HasPrefix(key, kOperatorPausePrefix)) {
    const std::string target = key.substr(sizeof(kOperatorPausePrefix) - 1);
    std::vector<GroupState*> affected;
    std::map<PauseOwner, PauseEntry>* pauses = &global_pauses_;
    if (target == "*") {
      for (auto& [id, g] : groups_) affected.push_back(g.get());
    } else {
      GroupState* g = Find(target);
      if (g == nullptr) return;
      pauses = &g->pauses;
      affected.push_back(g);
    }
    if (value) {
      PauseEntry p{absl::InfiniteFuture(), Str(j, "reason"), Str(j, "who")};
      if (auto until = Num(j, "until_us")) p.until = FromWallMicros(c, *until);
      if (p.until > now) {
        (*pauses)[PauseOwner::kOperator] = p;
      } else {
        pauses->erase(PauseOwner::kOperator);
      }
      deps_.logger.Info("pause given through another agent",
                        {{"group", target}, {"reason", p.reason}, {"who", p.who}});
    } else {
      pauses->erase(PauseOwner::kOperator);
      // As a resume given here: an operator's resume also lifts the cancel holds it covers.
      for (GroupState* g : affected) {
        if (!g->cancel_hold.empty()) {
          g->cancel_hold.clear();
          MarkDirty(GroupKey(g->id));
        }
      }
      deps_.logger.Info("resume given through another agent", {{"group", target}});
    }
    dirty_.insert(key);  // this agent's journal keeps its own record
    for (GroupState* g : affected) {
      ScheduleEvaluation(*g, now);
      Publish(*g);
    }
    if (target == "*") PublishGlobal();
    return;
  }
  if (HasPrefix(key, kApprovalKeyPrefix)) {
    GroupState* g = Find(key.substr(sizeof(kApprovalKeyPrefix) - 1));
    if (g == nullptr) return;
    g->approval.reset();
    g->approval_by.clear();
    if (value) {
      auto kind = Num(j, "kind");
      auto granted = Num(j, "granted_us");
      auto expires = Num(j, "expires_us");
      auto over = j.find("over_budget");
      // As restored from the journal: at most the policy's TTL from its grant.
      // A grant from the future (a clock running ahead, or a hostile writer) is not one.
      if (kind && granted && expires && v1::FailoverKind_IsValid(static_cast<int>(*kind)) &&
          FromWallMicros(c, *expires) > now && FromWallMicros(c, *granted) <= now + kClockSkew) {
        const absl::Time granted_at = std::min(now, FromWallMicros(c, *granted));
        g->approval = decision::Approval{
            static_cast<v1::FailoverKind>(*kind), granted_at,
            std::min(FromWallMicros(c, *expires), granted_at + g->policy.approval_ttl),
            over != j.end() && over->is_boolean() && over->get<bool>()};
        g->approval_by = Str(j, "by");
      }
    }
    deps_.logger.Info(g->approval ? "approval given through another agent"
                                  : "approval ended through another agent",
                      {{"group", g->id}, {"by", g->approval_by}});
    dirty_.insert(GroupKey(g->id));
    ScheduleEvaluation(*g, now);
    Publish(*g);
    return;
  }
  // "group/<id>": the leader's record, merged so nothing it knew is forgotten: the earliest
  // outage start, the latest failover (cooldown) and planned attempt, a cancel hold.
  GroupState* g = Find(key.substr(sizeof(kGroupKeyPrefix) - 1));
  if (g == nullptr || !value) return;
  bool changed = false;
  if (auto o = j.find("outage"); o != j.end() && o->is_object()) {
    auto began = Num(*o, "began_us");
    auto id = Num(*o, "id_us");
    if (began) {
      const absl::Time at = FromWallMicros(c, *began);
      if (at <= now && (g->outage_began == absl::InfinitePast() || at < g->outage_began)) {
        g->outage_began = at;
        g->outage_id_us = id ? *id : *began;
        g->outage_seen_at = now;
        changed = true;
      }
    }
  }
  if (auto at = Num(j, "last_failover_us")) {
    // Never later than now: a record from the future would hold a cooldown forever.
    const absl::Time t = std::min(now, FromWallMicros(c, *at));
    if (t > g->last_failover_at) {
      g->last_failover_at = t;
      changed = true;
    }
  }
  if (auto a = j.find("planned_attempt"); a != j.end() && a->is_object()) {
    if (auto at = Num(*a, "finished_us")) {
      const absl::Time t = std::min(now, FromWallMicros(c, *at));
      if (!g->last_planned_attempt || t > g->last_planned_attempt->finished_at) {
        auto f = a->find("failed");
        g->last_planned_attempt =
            decision::PlannedAttempt{t,
                                     f != a->end() && f->is_boolean() && f->get<bool>()
                                         ? decision::AttemptOutcome::kFailed
                                         : decision::AttemptOutcome::kSucceeded,
                                     Str(*a, "error_code")};
        changed = true;
      }
    }
  }
  if (std::string hold = Str(j, "cancel_hold"); !hold.empty() && g->cancel_hold.empty()) {
    g->cancel_hold = hold;
    changed = true;
  }
  if (!changed) return;
  dirty_.insert(GroupKey(g->id));
  ScheduleEvaluation(*g, now);
  Publish(*g);
}

bool Agent::TakeOverIntent(GroupState& g, const SharedIntent& intent) {
  if (intent.finished && !intent.mine && HasPrefix(intent.request_id, "auto/") &&
      intent.state == "failed") {
    // Another agent's automatic failover of this outage ran and failed: not retried
    // automatically here either (the same rule as on the agent that ran it).
    g.finished_auto_requests.insert(BaseRequestId(intent.request_id));
  }
  if (intent.finished || intent.operation_id.empty()) return false;
  const std::string handled_key = absl::StrCat(intent.agent, "/", intent.operation_id);
  const CoordinationFacts facts =
      deps_.coordination->Facts(g.id, PrimaryTarget(g.runbook, g.roles));
  if (!facts.view.leader || facts.view.lost) return false;  // only the leader carries it on
  const absl::Time now = deps_.clock.Now();
  // Each intent is looked at once, and again after a while if it is still unfinished then (a
  // carry-on or a decline whose etcd write failed).
  auto handled = intents_handled_.find(handled_key);
  if (handled != intents_handled_.end() && now < handled->second) return false;
  intents_handled_[handled_key] = now + absl::Seconds(30);
  if (intent.mine && orphan_intents_.count(handled_key) == 0) {
    // Ours and unfinished while nothing runs here: either the operation ended and the intent
    // could not be marked (etcd was unreachable then), or its resumed run was refused by the
    // fence (this agent did not lead the group yet after a restart) and waits in the journal.
    // Off the loop: mark it finished, or carry the journaled operation on. An intent of ours
    // that the journal does not know (a journal lost, a reused agent name) is treated as any
    // other agent's.
    std::weak_ptr<bool> alive = alive_;
    deps_.workers.Submit([this, alive, intent, handled_key, group_id = g.id] {
      if (alive.expired()) return;
      absl::StatusOr<std::optional<journal::OperationRecord>> op =
          deps_.journal.FindByRequestId(intent.request_id);
      if (op.ok() && op->has_value() && !journal::IsFinished((*op)->state)) {
        (void)deps_.loop.RunAndWait([this, alive, group_id, record = **op] {
          if (alive.expired()) return;
          GroupState* g = Find(group_id);
          if (g == nullptr || g->in_flight || stopped_) return;
          deps_.logger.Warn("resuming this agent's operation refused earlier by the fence",
                            {{"operation", record.id}, {"group", group_id}});
          g->cancel_gate = std::make_shared<executor::CancelGate>();
          g->cancel_gate->BeginArmStep();
          LaunchOperation(*g, record, /*journaled=*/true);
        });
        return;
      }
      if (op.ok() && (!op->has_value() || (*op)->id != intent.operation_id)) {
        (void)deps_.loop.RunAndWait([this, alive, handled_key, group_id] {
          if (alive.expired()) return;
          orphan_intents_.insert(handled_key);
          intents_handled_.erase(handled_key);
          if (GroupState* g = Find(group_id)) ScheduleEvaluation(*g, deps_.clock.Now());
        });
        return;
      }
      absl::Status s = op.ok() ? deps_.coordination->FinishIntent(**op) : op.status();
      if (!s.ok()) {
        deps_.logger.Warn("cannot mark an old intent finished",
                          {{"operation", intent.operation_id}, {"error", s.ToString()}});
      }
    });
    return false;
  }
  if (!g.roles_from_arm) {
    // Busy until this run's first read of the roles (a role read's arrival re-evaluates; this
    // retry covers reads that keep failing).
    intents_handled_.erase(handled_key);
    ScheduleEvaluation(g, now + absl::Seconds(5));
    return true;
  }
  const v1::FailoverGroupRef& ref = g.runbook.group();
  const bool known_target =
      intent.target == ref.primary_server() || intent.target == ref.secondary_server();
  auto kind = executor::ParseOperationKind(intent.kind);
  const absl::Duration age = now - intent.written_at;
  std::string why;
  if (!known_target || !kind.ok()) {
    why = absl::StrCat("its target ", intent.target, " or kind ", intent.kind,
                       " does not match this agent's runbook");
  } else if (age > options_.resume_max_age && intent.target != g.roles.primary_server) {
    why = absl::StrCat("written ", absl::FormatDuration(absl::Trunc(age, absl::Seconds(1))),
                       " ago, older than the resume limit of ",
                       absl::FormatDuration(options_.resume_max_age));
  } else if (intent.target != g.roles.primary_server) {
    // A POST may still be needed: only if a fresh decision here holds for nothing (a pause, a
    // cancel hold, the vantages' quorum, a recovered primary...). What may already be in ARM's
    // hands shows in the roles, and explains the failover when it lands.
    decision::GroupView view = BuildView(g);
    view.in_flight.reset();
    const v1::FailoverKind k = FromArmKind(*kind);
    std::vector<std::string> holds;
    for (const decision::Reason& r : decision::Holds(view, g.policy, now, k)) {
      holds.push_back(r.text);
    }
    if (k != v1::FAILOVER_KIND_PLANNED && view.primary.verdict == v1::VERDICT_HEALTHY) {
      holds.push_back(absl::StrCat("primary ", g.roles.primary_server, " is healthy again"));
    }
    if (!holds.empty()) why = absl::StrCat("a fresh decision holds: ", absl::StrJoin(holds, "; "));
  }
  if (!why.empty()) {
    // Not carried on: the intent is marked finished (so nothing is blocked behind it) and a
    // person is told.
    deps_.logger.Error("not carrying on another agent's operation",
                       {{"group", g.id},
                        {"agent", intent.agent},
                        {"operation", intent.operation_id},
                        {"why", why}});
    executor::Notification n;
    n.event = "decision_needs_human";
    n.group_id = g.id;
    n.summary = absl::StrCat("operation ", intent.operation_id, " of agent ", intent.agent,
                             " was left unfinished and is not carried on: ", why);
    n.dedup_key = handled_key + "/not-carried-on";
    deps_.notifier.Notify(std::move(n));
    journal::OperationRecord ended;
    ended.id = intent.operation_id;
    ended.request_id = intent.request_id;
    ended.kind = intent.kind;
    ended.target_server = intent.target;
    ended.group_id = g.id;
    ended.state = journal::OperationState::kAborted;
    ended.outcome = absl::StrCat("not carried on by the new leader: ", why);
    std::weak_ptr<bool> alive = alive_;
    deps_.workers.Submit([this, alive, ended, why, agent = intent.agent] {
      if (alive.expired()) return;
      absl::Status s = deps_.coordination->FinishIntent(ended, agent);
      deps_.journal
          .Audit({0, absl::InfinitePast(), "agent", "NotCarriedOn", ended.group_id,
                  absl::StrCat("operation ", ended.id, " of agent ", agent, " (request ",
                               ended.request_id, "): ", why),
                  s.ok() ? "intent marked finished" : s.ToString()})
          .IgnoreError();
    });
    return false;
  }
  journal::OperationRecord op;
  op.group_id = g.id;
  op.request_id = intent.request_id;
  op.kind = intent.kind;
  op.target_server = intent.target;
  op.requested_by = intent.requested_by.empty() ? "agent" : intent.requested_by;
  op.reason =
      absl::StrCat("carried on from agent ", intent.agent, " (its operation ", intent.operation_id,
                   ", which had reached its ARM step): ", intent.reason);
  deps_.logger.Warn("carrying on another agent's operation", {{"group", g.id},
                                                              {"agent", intent.agent},
                                                              {"operation", intent.operation_id},
                                                              {"request_id", intent.request_id},
                                                              {"target", intent.target}});
  // The ARM step may be in ARM's hands: no cancel can stop it any more (as after a restart).
  g.cancel_gate = std::make_shared<executor::CancelGate>();
  g.cancel_gate->BeginArmStep();
  LaunchOperation(g, std::move(op), /*journaled=*/false, &intent);
  return true;
}

}  // namespace foghorn::agent
