#include "probes/io_loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace foghorn::probes {

IoLoop::~IoLoop() { Shutdown(); }

absl::Status IoLoop::Start() {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return absl::InternalError(absl::StrCat("epoll_create1: ", strerror(errno)));
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return absl::InternalError(absl::StrCat("eventfd: ", strerror(errno)));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wake_fd_;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) {
    return absl::InternalError(absl::StrCat("epoll_ctl: ", strerror(errno)));
  }
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

void IoLoop::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) {
    Wake();
    thread_.join();
  }
  {
    absl::MutexLock lock(&mu_);
    posted_.clear();
  }
  timers_.clear();
  timer_due_.clear();
  watches_.clear();
  if (wake_fd_ >= 0) close(wake_fd_);
  if (epoll_fd_ >= 0) close(epoll_fd_);
  wake_fd_ = -1;
  epoll_fd_ = -1;
}

void IoLoop::Wake() {
  std::uint64_t one = 1;
  ssize_t n = write(wake_fd_, &one, sizeof(one));
  (void)n;  // EAGAIN means a wake-up is already pending.
}

void IoLoop::Post(Task task) {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    posted_.push_back(std::move(task));
  }
  Wake();
}

bool IoLoop::Watch(int fd, std::uint32_t events, FdCallback callback) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  auto it = watches_.find(fd);
  int op = it == watches_.end() ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
  if (epoll_ctl(epoll_fd_, op, fd, &ev) != 0) {
    // A closed fd leaves epoll on its own; its number may come back before we unwatched it.
    if (op != EPOLL_CTL_MOD || errno != ENOENT ||
        epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      return false;
    }
  }
  watches_[fd] = std::make_shared<FdCallback>(std::move(callback));
  return true;
}

void IoLoop::Unwatch(int fd) {
  if (watches_.erase(fd) > 0) epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
}

std::uint64_t IoLoop::AddTimer(SteadyTime when, Task task) {
  std::uint64_t id = next_timer_++;
  timers_.emplace(std::make_pair(when, id), std::move(task));
  timer_due_[id] = when;
  return id;
}

void IoLoop::CancelTimer(std::uint64_t id) {
  auto it = timer_due_.find(id);
  if (it == timer_due_.end()) return;
  timers_.erase(std::make_pair(it->second, id));
  timer_due_.erase(it);
}

void IoLoop::Run() {
  constexpr int kMaxEvents = 256;
  epoll_event events[kMaxEvents];
  for (;;) {
    std::vector<Task> posted;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      posted.swap(posted_);
    }
    for (Task& t : posted) std::move(t)();

    SteadyTime now = Now();
    while (!timers_.empty() && timers_.begin()->first.first <= now) {
      auto node = timers_.extract(timers_.begin());
      timer_due_.erase(node.key().second);
      std::move(node.mapped())();
    }

    int timeout_ms = -1;
    {
      absl::MutexLock lock(&mu_);
      if (!posted_.empty()) timeout_ms = 0;
    }
    if (timeout_ms != 0 && !timers_.empty()) {
      auto wait =
          std::chrono::ceil<std::chrono::milliseconds>(timers_.begin()->first.first - Now());
      timeout_ms = static_cast<int>(std::max<std::int64_t>(0, wait.count()));
    }
    int n = epoll_wait(epoll_fd_, events, kMaxEvents, timeout_ms);
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == wake_fd_) {
        std::uint64_t value = 0;
        ssize_t r = read(wake_fd_, &value, sizeof(value));
        (void)r;
        continue;
      }
      auto it = watches_.find(fd);
      if (it == watches_.end()) continue;
      std::shared_ptr<FdCallback> cb = it->second;  // Survives an Unwatch() inside the call.
      (*cb)(events[i].events);
    }
  }
}

}  // namespace foghorn::probes
