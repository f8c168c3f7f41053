#include "orchestrator/agent/step_gates.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace foghorn::agent {

// One wait in progress. Timers hold it by shared_ptr, so they stay harmless after the wait (or
// the gates) are gone.
struct StepGates::Waiter {
  absl::Mutex mu;
  absl::CondVar cv;
  // The wait is over: timers do nothing more.
  bool done ABSL_GUARDED_BY(mu) = false;
  bool expired ABSL_GUARDED_BY(mu) = false;
  bool stopping ABSL_GUARDED_BY(mu) = false;
  struct Answer {
    bool approve = false;
    std::string who;
    std::string why;
  };
  std::optional<Answer> answer ABSL_GUARDED_BY(mu);
  common::TimerId deadline_timer ABSL_GUARDED_BY(mu) = 0;
  common::TimerId poll_timer ABSL_GUARDED_BY(mu) = 0;
};

// Wakes `w` every `every` until its wait is over, so it looks again at its predicates.
void StepGates::ArmPoll(common::Executor& timers, absl::Duration every,
                        const std::shared_ptr<Waiter>& w) {
  w->poll_timer = timers.ScheduleAfter(every, [&timers, every, w] {
    absl::MutexLock lock(&w->mu);
    if (w->done) return;
    w->cv.Signal();
    ArmPoll(timers, every, w);
  });
}

StepGates::StepGates(common::Executor& timers, Options options)
    : timers_(timers), options_(options) {}

StepGates::~StepGates() { Shutdown(); }

absl::Status StepGates::AwaitApproval(PendingApproval gate, absl::Duration timeout,
                                      const std::function<bool()>& cancelled) {
  auto w = std::make_shared<Waiter>();
  const absl::Time now = timers_.clock().Now();
  gate.since = now;
  gate.deadline = now + timeout;
  const std::string group_id = gate.group_id;
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return absl::CancelledError("agent stopping");
    if (approvals_.count(group_id) != 0) {
      return absl::AlreadyExistsError(
          absl::StrCat("an approval step of ", group_id, " is already waiting"));
    }
    approvals_[group_id] = {std::move(gate), w};
  }
  return Wait(w, group_id, now + timeout, nullptr, cancelled);
}

absl::Status StepGates::AwaitCondition(const std::function<bool()>& ready, absl::Time deadline,
                                       const std::function<bool()>& cancelled) {
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return absl::CancelledError("agent stopping");
  }
  return Wait(std::make_shared<Waiter>(), "", deadline, ready, cancelled);
}

absl::Status StepGates::Wait(const std::shared_ptr<Waiter>& w, const std::string& group_id,
                             absl::Time deadline, const std::function<bool()>& ready,
                             const std::function<bool()>& cancelled) {
  {
    absl::MutexLock lock(&mu_);
    waiters_[w.get()] = w;
    // A Shutdown() between the caller's check and here must still end this wait.
    if (shut_down_) {
      absl::MutexLock wl(&w->mu);
      w->stopping = true;
    }
  }
  absl::Status result;
  {
    absl::MutexLock lock(&w->mu);
    w->deadline_timer = timers_.ScheduleAt(deadline, [w] {
      absl::MutexLock l(&w->mu);
      if (w->done) return;
      w->expired = true;
      w->cv.Signal();
    });
    ArmPoll(timers_, options_.poll_interval, w);
    for (;;) {
      if (w->answer) {
        result = w->answer->approve ? absl::OkStatus()
                                    : absl::FailedPreconditionError(absl::StrCat(
                                          "rejected by ", w->answer->who,
                                          w->answer->why.empty() ? "" : ": ", w->answer->why));
        break;
      }
      if (w->stopping) {
        result = absl::CancelledError("agent stopping");
        break;
      }
      if (cancelled && cancelled()) {
        result = absl::CancelledError("operation cancelled");
        break;
      }
      if (ready && ready()) break;
      if (w->expired || timers_.clock().Now() >= deadline) {
        result = absl::DeadlineExceededError("timed out");
        break;
      }
      w->cv.Wait(&w->mu);
    }
    w->done = true;
    timers_.Cancel(w->deadline_timer);
    timers_.Cancel(w->poll_timer);
  }
  absl::MutexLock lock(&mu_);
  waiters_.erase(w.get());
  if (!group_id.empty()) {
    auto it = approvals_.find(group_id);
    if (it != approvals_.end() && it->second.second == w) approvals_.erase(it);
  }
  return result;
}

absl::Status StepGates::Answer(const std::string& group_id, bool approve, const std::string& who,
                               const std::string& why) {
  absl::MutexLock lock(&mu_);
  auto it = approvals_.find(group_id);
  if (it == approvals_.end()) {
    return absl::NotFoundError(absl::StrCat("no approval step of ", group_id, " is waiting"));
  }
  Waiter& w = *it->second.second;
  absl::MutexLock wl(&w.mu);
  if (w.done || w.answer) {
    return absl::NotFoundError(absl::StrCat("no approval step of ", group_id, " is waiting"));
  }
  w.answer = Waiter::Answer{approve, who, why};
  w.cv.Signal();
  return absl::OkStatus();
}

std::optional<StepGates::PendingApproval> StepGates::Pending(const std::string& group_id) const {
  absl::MutexLock lock(&mu_);
  auto it = approvals_.find(group_id);
  if (it == approvals_.end()) return std::nullopt;
  return it->second.first;
}

void StepGates::Shutdown() {
  absl::MutexLock lock(&mu_);
  shut_down_ = true;
  for (auto& [ptr, w] : waiters_) {
    absl::MutexLock wl(&w->mu);
    w->stopping = true;
    w->cv.Signal();
  }
}

bool StepGates::AwaitPending(const std::string& group_id, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto waiting = [this, &group_id] { return approvals_.count(group_id) != 0; };
  return mu_.AwaitWithTimeout(absl::Condition(&waiting), timeout);
}

bool StepGates::AwaitWaiting(size_t count, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto waiting = [this, count] { return waiters_.size() >= count; };
  return mu_.AwaitWithTimeout(absl::Condition(&waiting), timeout);
}

}  // namespace foghorn::agent
