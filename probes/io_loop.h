// A single-threaded epoll event loop for the real prober: file-descriptor watches, one-shot
// timers on the steady clock, and a thread-safe Post(). All probe I/O (TCP connects, curl multi
// sockets, exec pipes and pidfds) runs on this one thread, never a thread per probe.
#ifndef FOGHORN_PROBES_IO_LOOP_H_
#define FOGHORN_PROBES_IO_LOOP_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace foghorn::probes {

// Start() spawns the loop thread; Shutdown() (or the destructor) stops and joins it, dropping
// pending posted work and timers. Watch/Unwatch/AddTimer/CancelTimer are for the loop thread
// only (from posted tasks and callbacks); Post() is thread-safe.
class IoLoop {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;
  using FdCallback = std::function<void(std::uint32_t events)>;
  using Task = absl::AnyInvocable<void() &&>;

  IoLoop() = default;
  ~IoLoop();
  IoLoop(const IoLoop&) = delete;
  IoLoop& operator=(const IoLoop&) = delete;

  // Creates the epoll and wake-up descriptors and starts the thread. kInternal on failure.
  absl::Status Start();
  // Idempotent. Must not be called from the loop thread.
  void Shutdown();

  void Post(Task task);

  // Adds or changes the watch on `fd` (EPOLLIN/EPOLLOUT...). Returns false if epoll refused.
  bool Watch(int fd, std::uint32_t events, FdCallback callback);
  // Removes the watch; the fd stays open (the caller closes it).
  void Unwatch(int fd);

  std::uint64_t AddTimer(SteadyTime when, Task task);
  void CancelTimer(std::uint64_t id);

  static SteadyTime Now() { return std::chrono::steady_clock::now(); }

 private:
  void Run();
  void Wake();

  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::thread thread_;

  absl::Mutex mu_;
  std::vector<Task> posted_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  // Loop-thread state.
  absl::flat_hash_map<int, std::shared_ptr<FdCallback>> watches_;
  std::map<std::pair<SteadyTime, std::uint64_t>, Task> timers_;
  absl::flat_hash_map<std::uint64_t, SteadyTime> timer_due_;
  std::uint64_t next_timer_ = 1;
};

}  // namespace foghorn::probes

#endif  // FOGHORN_PROBES_IO_LOOP_H_
