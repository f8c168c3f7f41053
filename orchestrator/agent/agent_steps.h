// Runbook steps only the agent can carry out, and the load-time check that goes with them.
// Approval gates wait for a person answering through the control API (Agent::Approve) and probe
// assertions read the live health tracker; foghornd hands both to its SystemStepRunner through
// AgentStepHooks(). CheckRunbookSteps() refuses, when runbooks are loaded (Agent::SetRunbooks,
// SIGHUP) and in `foghornd --check`, a step the running agent could not carry out, so it fails
// then and not during an outage. The Agent methods behind the hooks (WaitForStepApproval,
// AssertProbe) are declared in agent.h and defined in agent_steps.cc.
#ifndef FOGHORN_ORCHESTRATOR_AGENT_AGENT_STEPS_H_
#define FOGHORN_ORCHESTRATOR_AGENT_AGENT_STEPS_H_

#include <functional>

#include "absl/status/status.h"
#include "foghorn/v1/runbook.pb.h"
#include "orchestrator/executor/system_step_runner.h"

namespace foghorn::agent {

class Agent;

// Checks every pre and post step of `runbook` against what the agent can run (`can_run`, e.g.
// StepRunner::CanRun) and what it knows: a probe assertion must name a probe of this runbook
// that has a target, and expect healthy or unhealthy; an approval pre step must stop the failover
// when it fails (with on_failure: continue a rejection or a timeout would let it through).
// INVALID_ARGUMENT naming the group, the step and the reason; OK otherwise.
absl::Status CheckRunbookSteps(const v1::Runbook& runbook,
                               const std::function<absl::Status(const v1::Step&)>& can_run);

// The hooks foghornd gives its SystemStepRunner: approval steps and probe assertions carried out
// by the agent `*agent` points to (set once the agent is built; before that they fail with
// UNAVAILABLE). `agent` must outlive the hooks.
executor::SystemStepRunner::Hooks AgentStepHooks(Agent* const* agent);

}  // namespace foghorn::agent

#endif  // FOGHORN_ORCHESTRATOR_AGENT_AGENT_STEPS_H_
