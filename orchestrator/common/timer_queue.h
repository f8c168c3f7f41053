// The ordered queue of pending tasks shared by ThreadExecutor and ManualExecutor.
#ifndef FOGHORN_ORCHESTRATOR_COMMON_TIMER_QUEUE_H_
#define FOGHORN_ORCHESTRATOR_COMMON_TIMER_QUEUE_H_

#include <map>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "orchestrator/common/executor.h"

namespace foghorn::common {

// Tasks keyed by (due time, submission order). Not thread-safe: the owning executor locks.
class TimerQueue {
 public:
  // Adds a task and returns its id.
  TimerId Add(absl::Time when, Executor::Task task);

  // Removes a task that has not been taken and destroys it here. Returns whether it was there.
  // An executor that holds its lock must use Take instead: the task's destructor may call back
  // into the executor (Post, Cancel), which takes that lock again.
  bool Remove(TimerId id);

  // Takes out a task that has not been taken, so the caller destroys it (after unlocking), or
  // nullopt if `id` is not queued (it ran, was taken, or never existed).
  std::optional<Executor::Task> Take(TimerId id);

  // The earliest due time, if any task is queued.
  std::optional<absl::Time> NextDue() const;

  // Takes the earliest task if it is due at or before `now`.
  std::optional<Executor::Task> TakeDue(absl::Time now);

  size_t size() const { return tasks_.size(); }
  void Clear();

 private:
  using Key = std::pair<absl::Time, TimerId>;
  TimerId next_id_ = 1;
  std::map<Key, Executor::Task> tasks_;
  absl::flat_hash_map<TimerId, absl::Time> due_by_id_;
};

}  // namespace foghorn::common

#endif  // FOGHORN_ORCHESTRATOR_COMMON_TIMER_QUEUE_H_
