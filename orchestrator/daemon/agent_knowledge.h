// The production GroupKnowledge: what the running agent knows about a group (operation in flight,
// pause) and its probes' recent history, read through the agent's thread-safe snapshots.
#ifndef FOGHORN_ORCHESTRATOR_DAEMON_AGENT_KNOWLEDGE_H_
#define FOGHORN_ORCHESTRATOR_DAEMON_AGENT_KNOWLEDGE_H_

#include <optional>
#include <string>

#include "orchestrator/agent/agent.h"
#include "orchestrator/drill/readiness.h"
#include "probes/probe_scheduler.h"

namespace foghorn::daemon {

// Both must outlive the adapter. Thread-safe; never blocks on the network.
class AgentKnowledge final : public drill::GroupKnowledge {
 public:
  AgentKnowledge(agent::Agent& agent, probes::ProbeScheduler& scheduler)
      : agent_(agent), scheduler_(scheduler) {}

  std::optional<drill::AgentGroupInfo> Group(const std::string& group_id) override {
    absl::StatusOr<agent::GroupSnapshot> g = agent_.Group(group_id);
    if (!g.ok()) return std::nullopt;
    return drill::AgentGroupInfo{g->in_flight_operation, g->paused_until, g->pause_reason};
  }
  std::optional<probes::ProbeStatus> Probe(const std::string& probe_id) override {
    return scheduler_.Status(probe_id);
  }

 private:
  agent::Agent& agent_;
  probes::ProbeScheduler& scheduler_;
};

}  // namespace foghorn::daemon

#endif  // FOGHORN_ORCHESTRATOR_DAEMON_AGENT_KNOWLEDGE_H_
