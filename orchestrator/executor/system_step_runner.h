// The production StepRunner: exec hooks as child processes with a timeout (non-zero exit vetoes),
// webhook notifications, waits, and approval gates and probe assertions through hooks the agent
// provides (they need the control API and the health tracker).
#ifndef FOGHORN_ORCHESTRATOR_EXECUTOR_SYSTEM_STEP_RUNNER_H_
#define FOGHORN_ORCHESTRATOR_EXECUTOR_SYSTEM_STEP_RUNNER_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "orchestrator/common/log.h"
#include "orchestrator/common/sleeper.h"
#include "orchestrator/executor/operation_runner.h"
#include "orchestrator/http/http_transport.h"

namespace foghorn::executor {

// Result of running a command.
struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal or the timeout
  bool timed_out = false;
  std::string stdout_text;  // the first 64 KiB
  std::string stderr_text;  // the first 64 KiB (callers log it through the redactor)
};

// Runs argv[0] (searched in PATH) in an allow-listed environment (common::ChildEnvironment: the
// default list, the agent's variables named in `inherit_env` except its credentials, then `env`),
// waits at most `timeout` (then kills it; any duration, also beyond poll's int range), capturing
// stdout and stderr. NOT_FOUND when the command does not exist, INTERNAL when it could not be
// started. Blocks the calling thread; uses no sleep loop (pidfd + poll); the deadline is on the
// monotonic clock.
absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                         const std::map<std::string, std::string>& env,
                                         absl::Duration timeout,
                                         const std::vector<std::string>& inherit_env = {});

class SystemStepRunner final : public StepRunner {
 public:
  struct Hooks {
    // Waits until a human approves (OK) or rejects (FAILED_PRECONDITION) the operation, or the
    // timeout passes (DEADLINE_EXCEEDED). Unset: approval steps fail with UNIMPLEMENTED.
    std::function<absl::Status(const v1::Step&, const journal::OperationRecord&)> approval;
    // Checks a probe assertion within the step's timeout. Unset: probe assertions fail with
    // UNIMPLEMENTED.
    std::function<absl::Status(const v1::Step&, const journal::OperationRecord&)> probe_assert;
  };

  // `transport` and `sleeper` must outlive the runner.
  SystemStepRunner(http::HttpTransport& transport, common::Sleeper& sleeper, common::Logger logger,
                   Hooks hooks);

  absl::Status Run(const v1::Step& step, const journal::OperationRecord& op) override;
  // Approval steps need the approval hook, probe assertions the probe_assert hook.
  absl::Status CanRun(const v1::Step& step) const override { return Supports(hooks_, step); }

  // What a runner with `hooks` can carry out (CanRun), for checking runbooks before any runner
  // exists (foghornd --check).
  static absl::Status Supports(const Hooks& hooks, const v1::Step& step);

 private:
  absl::Status RunExec(const v1::Step& step, const journal::OperationRecord& op);
  absl::Status RunNotify(const v1::Step& step, const journal::OperationRecord& op);

  http::HttpTransport& transport_;
  common::Sleeper& sleeper_;
  common::Logger logger_;
  Hooks hooks_;
};

}  // namespace foghorn::executor

#endif  // FOGHORN_ORCHESTRATOR_EXECUTOR_SYSTEM_STEP_RUNNER_H_
