// Waits of runbook steps that only the agent can end: approval gates, answered by a person through
// the control API (ApproveDecision / RejectDecision reach Agent::Approve, which calls Answer()),
// and conditions re-checked as time passes (probe assertions). A wait blocks the operation's
// worker thread, never the control loop. Time passes through the control loop's timers: the
// deadline and the periodic re-check are timers on that executor, so a FakeClock with a
// ManualExecutor drives every wait in tests and nothing sleeps.
#ifndef FOGHORN_ORCHESTRATOR_AGENT_STEP_GATES_H_
#define FOGHORN_ORCHESTRATOR_AGENT_STEP_GATES_H_

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "orchestrator/common/executor.h"

namespace foghorn::agent {

class StepGates {
 public:
  // An approval step waiting for a person.
  struct PendingApproval {
    std::string group_id{};
    std::string operation_id{};
    std::string step{};
    // The step's message for the approver.
    std::string message{};
    absl::Time since = absl::InfinitePast();
    absl::Time deadline = absl::InfiniteFuture();
  };

  struct Options {
    // How often a wait looks again at its condition and at whether its operation was cancelled.
    absl::Duration poll_interval = absl::Seconds(1);
  };

  // `timers` (the control loop) runs the deadlines and re-checks; its clock is the time base. It
  // must outlive the gates; its timers never touch the gates themselves.
  StepGates(common::Executor& timers, Options options);
  explicit StepGates(common::Executor& timers) : StepGates(timers, Options()) {}
  // Ends every wait (Shutdown).
  ~StepGates();

  StepGates(const StepGates&) = delete;
  StepGates& operator=(const StepGates&) = delete;

  // Blocks until Answer() for the gate's group (OK when approved; FAILED_PRECONDITION naming who
  // rejected it and why), `timeout` passes (DEADLINE_EXCEEDED), `cancelled` returns true
  // (CANCELLED "operation cancelled"; looked at every poll_interval) or Shutdown() (CANCELLED
  // "agent stopping"). ALREADY_EXISTS when an approval step of the group is already waiting;
  // CANCELLED at once after Shutdown(). `cancelled` may be empty; it is called with an internal
  // lock held, so it must be quick and must not call back into the gates or take the agent's lock.
  // Call on a worker thread, never on the control loop (its timers end the wait).
  absl::Status AwaitApproval(PendingApproval gate, absl::Duration timeout,
                             const std::function<bool()>& cancelled);

  // Answers the approval step waiting for `group_id`: wakes its AwaitApproval. NOT_FOUND when no
  // approval step of the group is waiting. Thread-safe; never blocks on the waiter.
  absl::Status Answer(const std::string& group_id, bool approve, const std::string& who,
                      const std::string& why);

  // The approval step waiting for `group_id`, if any.
  std::optional<PendingApproval> Pending(const std::string& group_id) const;

  // Blocks until `ready()` is true (OK), `deadline` passes (DEADLINE_EXCEEDED), `cancelled`
  // returns true or Shutdown() (CANCELLED, as for AwaitApproval). Both predicates are looked at
  // once at once and then every poll_interval, under the rules of AwaitApproval's `cancelled`.
  absl::Status AwaitCondition(const std::function<bool()>& ready, absl::Time deadline,
                              const std::function<bool()>& cancelled);

  // Ends every wait (CANCELLED) and refuses new ones. Idempotent.
  void Shutdown();

  // Blocks the caller (real time, at most `timeout`) until an approval step of `group_id` waits;
  // false on timeout. For tests and tools that must act only once a gate is up.
  bool AwaitPending(const std::string& group_id, absl::Duration timeout) const;
  // The same for any `count` waits (approvals and conditions) in progress at once.
  bool AwaitWaiting(size_t count, absl::Duration timeout) const;

 private:
  struct Waiter;

  // Wakes `w` every `every` until its wait is over, so it looks again at its predicates.
  static void ArmPoll(common::Executor& timers, absl::Duration every,
                      const std::shared_ptr<Waiter>& w);

  // Registers `w` (under `group_id` when not empty), waits per the rules above, unregisters.
  absl::Status Wait(const std::shared_ptr<Waiter>& w, const std::string& group_id,
                    absl::Time deadline, const std::function<bool()>& ready,
                    const std::function<bool()>& cancelled);

  common::Executor& timers_;
  const Options options_;
  mutable absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  // Approval steps waiting, by group (one operation per group, so at most one each).
  std::map<std::string, std::pair<PendingApproval, std::shared_ptr<Waiter>>> approvals_
      ABSL_GUARDED_BY(mu_);
  // Every wait in progress, for Shutdown().
  std::map<Waiter*, std::shared_ptr<Waiter>> waiters_ ABSL_GUARDED_BY(mu_);
};

}  // namespace foghorn::agent

#endif  // FOGHORN_ORCHESTRATOR_AGENT_STEP_GATES_H_
