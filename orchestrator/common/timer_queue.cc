#include "orchestrator/common/timer_queue.h"

namespace foghorn::common {

TimerId TimerQueue::Add(absl::Time when, Executor::Task task) {
  TimerId id = next_id_++;
  tasks_.emplace(Key{when, id}, std::move(task));
  due_by_id_[id] = when;
  return id;
}

bool TimerQueue::Remove(TimerId id) { return Take(id).has_value(); }

std::optional<Executor::Task> TimerQueue::Take(TimerId id) {
  auto it = due_by_id_.find(id);
  if (it == due_by_id_.end()) return std::nullopt;
  auto node = tasks_.extract(Key{it->second, id});
  due_by_id_.erase(it);
  return std::move(node.mapped());
}

std::optional<absl::Time> TimerQueue::NextDue() const {
  if (tasks_.empty()) return std::nullopt;
  return tasks_.begin()->first.first;
}

std::optional<Executor::Task> TimerQueue::TakeDue(absl::Time now) {
  if (tasks_.empty() || tasks_.begin()->first.first > now) return std::nullopt;
  auto node = tasks_.extract(tasks_.begin());
  due_by_id_.erase(node.key().second);
  return std::move(node.mapped());
}

void TimerQueue::Clear() {
  tasks_.clear();
  due_by_id_.clear();
}

}  // namespace foghorn::common
