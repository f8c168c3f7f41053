// Drill progress on the Watch stream: a drill runs on its own executor::OperationRunner (the same
// journaled step machinery as a failover), and this wires that runner's observers to agent events:
// every step begun or ended becomes a kOperationStep event ("drill <step> <state>: <detail>") and
// the drill's end a kOperation event, so the control API's Watch shows a drill live, exactly like
// a failover. Lives beside the composition root because it joins the executor and the agent's
// event type.
#ifndef FOGHORN_ORCHESTRATOR_DAEMON_DRILL_PROGRESS_H_
#define FOGHORN_ORCHESTRATOR_DAEMON_DRILL_PROGRESS_H_

#include <utility>

#include "absl/strings/str_cat.h"
#include "orchestrator/agent/agent.h"
#include "orchestrator/common/clock.h"
#include "orchestrator/executor/operation_runner.h"
#include "orchestrator/journal/journal.h"

namespace foghorn::daemon {

// Sets `drill_executor`'s step and operation observers (before its first operation). `clock` must
// outlive the runner. `sink` is called on the drill's thread after each journal write succeeded;
// it must not block (ApiServer::Publish does not).
inline void PublishDrillProgress(executor::OperationRunner& drill_executor,
                                 const common::Clock& clock, agent::AgentEventSink sink) {
  drill_executor.SetStepObserver(
      [&clock, sink](const journal::OperationRecord& op, const journal::StepRecord& step) {
        if (!sink) return;
        sink({op.group_id, step.operation_id, clock.Now(),
              absl::StrCat("drill ", step.name, " ", journal::StepStateName(step.state),
                           step.detail.empty() ? "" : ": ", step.detail),
              agent::OperationStepChanged{step, op.kind, op.request_id}});
      });
  drill_executor.SetOperationObserver([&clock, sink](const journal::OperationRecord& op) {
    if (!sink) return;
    sink({op.group_id, op.id, clock.Now(),
          absl::StrCat("drill ", journal::OperationStateName(op.state), ": ", op.outcome),
          agent::OperationChanged{op}});
  });
}

}  // namespace foghorn::daemon

#endif  // FOGHORN_ORCHESTRATOR_DAEMON_DRILL_PROGRESS_H_
