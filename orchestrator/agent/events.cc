// Agent events (agent.h): the kind an event's detail implies, and Emit, which stamps the time
// and hands the event to Deps::events (from the loop and the workers; the sink only queues).
#include <variant>

#include "absl/time/time.h"
#include "orchestrator/agent/agent.h"

namespace foghorn::agent {

AgentEvent::Kind AgentEvent::kind() const {
  struct KindOf {
    Kind operator()(const VerdictChanged&) const { return Kind::kVerdict; }
    Kind operator()(const DecisionMade&) const { return Kind::kDecision; }
    Kind operator()(const OperationStepChanged&) const { return Kind::kOperationStep; }
    Kind operator()(const OperationChanged&) const { return Kind::kOperation; }
    Kind operator()(const ExternalFailoverNoticed&) const { return Kind::kOperation; }
  };
  return std::visit(KindOf{}, detail);
}

void Agent::Emit(AgentEvent e) const {
  if (!deps_.events) return;
  if (e.at == absl::InfinitePast()) e.at = deps_.clock.Now();
  deps_.events(e);
}

}  // namespace foghorn::agent
