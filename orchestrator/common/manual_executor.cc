#include "orchestrator/common/manual_executor.h"

#include <optional>

namespace foghorn::common {

ManualExecutor::ManualExecutor(FakeClock& clock) : clock_(clock) {
  clock_.SetAdvanceHook([this](absl::Time target) { RunTo(target); });
}

ManualExecutor::~ManualExecutor() { clock_.SetAdvanceHook(nullptr); }

TimerId ManualExecutor::ScheduleAt(absl::Time when, Task task) {
  absl::MutexLock lock(&mu_);
  return queue_.Add(when, std::move(task));
}

bool ManualExecutor::Cancel(TimerId id) {
  absl::MutexLock lock(&mu_);
  return queue_.Remove(id);
}

bool ManualExecutor::RunAndWait(absl::AnyInvocable<void() &&> task) {
  RunOne(std::move(task));
  return true;
}

void ManualExecutor::RunOne(absl::AnyInvocable<void() &&> task) {
  if (runner_.load() == std::this_thread::get_id()) {
    std::move(task)();
    return;
  }
  absl::MutexLock run(&run_mu_);
  runner_.store(std::this_thread::get_id());
  std::move(task)();
  runner_.store(std::thread::id());
}

size_t ManualExecutor::pending() const {
  absl::MutexLock lock(&mu_);
  return queue_.size();
}

int ManualExecutor::RunUntilIdle() {
  int ran = 0;
  for (;;) {
    std::optional<Task> task;
    {
      absl::MutexLock lock(&mu_);
      task = queue_.TakeDue(clock_.Now());
    }
    if (!task) return ran;
    RunOne(std::move(*task));
    ++ran;
  }
}

void ManualExecutor::RunTo(absl::Time target) {
  for (;;) {
    std::optional<Task> task;
    {
      absl::MutexLock lock(&mu_);
      std::optional<absl::Time> next = queue_.NextDue();
      if (!next || *next > target) break;
      clock_.SetTime(*next);
      task = queue_.TakeDue(clock_.Now());
    }
    if (task) RunOne(std::move(*task));
  }
  clock_.SetTime(target);
}

}  // namespace foghorn::common
