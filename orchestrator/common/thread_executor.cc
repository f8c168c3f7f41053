#include "orchestrator/common/thread_executor.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <utility>

#include "absl/synchronization/notification.h"

namespace foghorn::common {
namespace {

// The longest the loop sleeps without looking at the clock again. RealClock's Now() never jumps,
// so this only matters for a clock moved by hand (a FakeClock driving a real thread in a test).
constexpr absl::Duration kMaxSleep = absl::Seconds(1);

// Lets std::condition_variable_any release and re-take an absl::Mutex the caller holds.
class HeldMutex {
 public:
  explicit HeldMutex(absl::Mutex& mu) : mu_(mu) {}
  void lock() ABSL_NO_THREAD_SAFETY_ANALYSIS { mu_.Lock(); }
  void unlock() ABSL_NO_THREAD_SAFETY_ANALYSIS { mu_.Unlock(); }

 private:
  absl::Mutex& mu_;
};

}  // namespace

ThreadExecutor::ThreadExecutor(const Clock& clock) : clock_(clock) {
  thread_ = std::thread([this] { Loop(); });
}

ThreadExecutor::~ThreadExecutor() { Shutdown(); }

TimerId ThreadExecutor::ScheduleAt(absl::Time when, Task task) {
  TimerId id = 0;
  bool earliest = false;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return 0;
    id = queue_.Add(when, std::move(task));
    // The loop sleeps until the earliest timer it knew of; a new earliest one must wake it, or it
    // would fire up to that timer's due time (or kMaxSleep) late.
    earliest = queue_.NextDue() == when;
  }
  if (earliest) wake_.notify_one();
  return id;
}

bool ThreadExecutor::Cancel(TimerId id) {
  // No wake-up: a loop sleeping for a cancelled timer wakes, finds nothing due and sleeps again.
  // The task is taken out under mu_ and destroyed after it is released: its destructor may Post
  // or Cancel, which take mu_ (absl::Mutex is not re-entrant), as in Shutdown.
  std::optional<Task> cancelled;
  {
    absl::MutexLock lock(&mu_);
    cancelled = queue_.Take(id);
  }
  return cancelled.has_value();
}

bool ThreadExecutor::RunAndWait(absl::AnyInvocable<void() &&> task) {
  if (std::this_thread::get_id() == loop_id_.load()) {
    std::move(task)();
    return true;
  }
  // Notified when the posted task is destroyed: after it ran, or unrun when the executor drops it
  // (posted after Shutdown began, or still queued when it ended).
  struct Waiter {
    absl::Notification done;
    std::atomic<bool> ran{false};
  };
  struct Signal {
    std::shared_ptr<Waiter> waiter;
    explicit Signal(std::shared_ptr<Waiter> w) : waiter(std::move(w)) {}
    Signal(Signal&& other) noexcept : waiter(std::move(other.waiter)) {}
    Signal& operator=(Signal&&) = delete;
    ~Signal() {
      if (waiter) waiter->done.Notify();
    }
  };
  auto waiter = std::make_shared<Waiter>();
  Post([signal = Signal(waiter), task = std::move(task)]() mutable {
    std::move(task)();
    signal.waiter->ran.store(true);
  });
  waiter->done.WaitForNotification();
  return waiter->ran.load();
}

void ThreadExecutor::Shutdown() {
  // Two threads joining one std::thread is undefined: the first caller stops and joins, the
  // others wait inside call_once until it has.
  std::call_once(stop_once_, [this] {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
  });
  // The pending tasks are moved out under mu_ and destroyed after it is released: a task's
  // destructor may Post or Cancel, which take mu_ (absl::Mutex is not re-entrant). Outside
  // call_once, so a destructor that calls Shutdown() returns too. Later callers find the queue
  // empty: nothing is queued once stopping_ is set.
  TimerQueue dropped;
  {
    absl::MutexLock lock(&mu_);
    std::swap(dropped, queue_);
  }
}

void ThreadExecutor::Loop() {
  loop_id_.store(std::this_thread::get_id());
  for (;;) {
    std::optional<Task> task;
    {
      absl::MutexLock lock(&mu_);
      for (;;) {
        if (stopping_) {
          loop_id_.store(
              std::thread::id());  // RunAndWait from a reused thread id never runs inline
          return;
        }
        const absl::Time now = clock_.Now();
        task = queue_.TakeDue(now);
        if (task) break;
        // Sleep for the time left, measured relative to now on steady_clock: ScheduleAt wakes the
        // loop for an earlier timer and Shutdown for a stop; a spurious wake-up just loops.
        const std::optional<absl::Time> next = queue_.NextDue();
        const absl::Duration left = std::min(next ? *next - now : kMaxSleep, kMaxSleep);
        HeldMutex held(mu_);
        wake_.wait_for(held, absl::ToChronoNanoseconds(left));
      }
    }
    std::move (*task)();
  }
}

}  // namespace foghorn::common
