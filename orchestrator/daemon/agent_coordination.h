// The production agent::Coordination: the agent's view of coordination, over orchestrator/coord's
// Coordinator (etcd). Converts between the agent's clock and the wall-clock times published in
// etcd, and names the operation in the fencing intent. Only main.cc uses it.
#ifndef FOGHORN_ORCHESTRATOR_DAEMON_AGENT_COORDINATION_H_
#define FOGHORN_ORCHESTRATOR_DAEMON_AGENT_COORDINATION_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "orchestrator/agent/agent.h"
#include "orchestrator/common/clock.h"
#include "orchestrator/coord/coordinator.h"

namespace foghorn::daemon {

// Both must outlive the adapter. Thread-safe; only FenceBeforeArm blocks (on etcd).
class AgentCoordination final : public agent::Coordination {
 public:
  AgentCoordination(coord::Coordinator& coordinator, const common::Clock& clock)
      : coordinator_(coordinator), clock_(clock) {}

  agent::CoordinationFacts Facts(const std::string& group_id,
                                 v1::ProbeTarget primary_target) override {
    coord::GroupCoordination c = coordinator_.Get(group_id, clock_.Now());
    agent::CoordinationFacts f;
    f.view.lost = c.lost;
    f.view.lost_reason = c.lost_reason;
    f.view.leader = c.leader;
    f.view.leader_name = c.leader_name;
    const coord::QuorumResult& q =
        primary_target == v1::PROBE_TARGET_SECONDARY ? c.secondary : c.primary;
    switch (q.outcome) {
      case coord::QuorumOutcome::kDownConfirmed:
        f.view.primary_quorum = decision::CoordinationView::Quorum::kConfirmedDown;
        f.quorum_down_since = q.outage_start;  // already on clock_ (Coordinator::Get)
        break;
      case coord::QuorumOutcome::kNotConfirmed:
        f.view.primary_quorum = decision::CoordinationView::Quorum::kNotConfirmed;
        break;
      case coord::QuorumOutcome::kNoQuorum:
        f.view.primary_quorum = decision::CoordinationView::Quorum::kNoQuorum;
        break;
    }
    f.view.votes = q.Summary();
    if (!c.intent_json.empty()) f.intent = ParseIntent(c.intent_json);
    if (c.lag_seconds) {
      f.lag = decision::LagSample{absl::Seconds(*c.lag_seconds), c.lag_published_at};
    }
    return f;
  }

  void PublishVerdict(const std::string& group_id, v1::ProbeTarget target, v1::Verdict verdict,
                      absl::Time failure_streak_start, std::optional<double> lag_seconds) override {
    coordinator_.PublishVerdict(group_id, target, verdict,
                                failure_streak_start == absl::InfinitePast()
                                    ? absl::InfinitePast()
                                    : clock_.ToWall(failure_streak_start),
                                lag_seconds);
  }

  void SetGroups(const std::vector<std::string>& group_ids) override {
    coordinator_.SetGroups(group_ids);
  }
  void SetBusy(const std::string& group_id, bool busy) override {
    coordinator_.SetBusy(group_id, busy);
  }

  absl::Status FenceBeforeArm(const journal::OperationRecord& op, bool resumed) override {
    return coordinator_.FenceBeforeArm(
        op.group_id, IntentJson(op, /*finished=*/false),
        [&](const std::optional<std::string>& current) -> absl::Status {
          if (!current) return absl::OkStatus();  // nobody can be carrying anything on
          const agent::SharedIntent i = ParseIntent(*current);
          // An intent nobody can read names no operation: nothing to carry on or protect.
          if (i.operation_id.empty()) return absl::OkStatus();
          if (resumed) {
            // Resumed after a restart: only while the intent is still this operation's.
            if (i.mine && i.operation_id == op.id && !i.finished) return absl::OkStatus();
            return absl::AbortedError(absl::StrCat(
                "the group's intent now names agent ", i.agent, "'s operation ", i.operation_id,
                i.finished ? absl::StrCat(" (finished: ", i.state, " ", i.outcome, ")")
                           : std::string(" (unfinished)"),
                "; it was carried on there"));
          }
          const bool carries_it_on = i.request_id == op.request_id && i.target == op.target_server;
          if (i.finished || carries_it_on || (i.mine && i.operation_id == op.id)) {
            return absl::OkStatus();
          }
          return absl::FailedPreconditionError(absl::StrCat(
              "agent ", i.agent, "'s operation ", i.operation_id, " (request ", i.request_id,
              ") reached its ARM step and is unfinished: the group's "
              "leader carries it on before anything else is started"));
        });
  }

  absl::Status FinishIntent(const journal::OperationRecord& op,
                            const std::string& intent_agent) override {
    return coordinator_.FenceBeforeArm(
        op.group_id, IntentJson(op, /*finished=*/true),
        [&](const std::optional<std::string>& current) -> absl::Status {
          // Only the named operation's own intent is marked finished, never a newer one.
          if (current) {
            const agent::SharedIntent i = ParseIntent(*current);
            const bool same_agent = intent_agent.empty() ? i.mine : i.agent == intent_agent;
            if (same_agent && i.operation_id == op.id) return absl::OkStatus();
          }
          return absl::FailedPreconditionError(absl::StrCat("the intent of group ", op.group_id,
                                                            " no longer names operation ", op.id,
                                                            ": not marked finished"));
        });
  }

  std::optional<std::map<std::string, std::string>> SharedControls() override {
    if (!coordinator_.Synced()) return std::nullopt;
    return coordinator_.Controls();
  }

  absl::Status PublishControls(const std::map<std::string, std::string>& batch) override {
    for (const auto& [key, value] : batch) {
      absl::Status s =
          value.empty() ? coordinator_.DeleteControl(key) : coordinator_.PutControl(key, value);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

 private:
  // intents/<group>: what a new leader needs to carry the operation on (docs/coordination.md).
  std::string IntentJson(const journal::OperationRecord& op, bool finished) const {
    nlohmann::json intent = {{"operation_id", op.id},
                             {"request_id", op.request_id},
                             {"kind", op.kind},
                             {"target", op.target_server},
                             {"requested_by", op.requested_by},
                             {"reason", op.reason},
                             {"agent", coordinator_.agent_name()},
                             {"written_ms", absl::ToUnixMillis(clock_.WallNow())},
                             {"finished", finished}};
    if (finished) {
      intent["state"] = journal::OperationStateName(op.state);
      intent["outcome"] = op.outcome;
    }
    return intent.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }

  // Malformed fields read as empty; an intent without an operation id is never carried on.
  agent::SharedIntent ParseIntent(const std::string& json) const {
    agent::SharedIntent i;
    nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) return i;
    auto str = [&](const char* name) {
      auto it = j.find(name);
      return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    i.operation_id = str("operation_id");
    i.request_id = str("request_id");
    i.kind = str("kind");
    i.target = str("target");
    i.requested_by = str("requested_by");
    i.reason = str("reason");
    i.agent = str("agent");
    i.outcome = str("outcome");
    i.state = str("state");
    i.mine = i.agent == coordinator_.agent_name();
    if (auto it = j.find("finished"); it != j.end() && it->is_boolean()) i.finished = *it;
    if (auto it = j.find("written_ms"); it != j.end() && it->is_number_integer()) {
      i.written_at = clock_.FromWall(absl::FromUnixMillis(it->get<int64_t>()));
    }
    return i;
  }

  coord::Coordinator& coordinator_;
  const common::Clock& clock_;
};

}  // namespace foghorn::daemon

#endif  // FOGHORN_ORCHESTRATOR_DAEMON_AGENT_COORDINATION_H_
