#include "orchestrator/drill/listener.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "orchestrator/common/host_port.h"

namespace foghorn::drill {

namespace {

// Connects to one resolved address; returns "" on success or why it failed.
std::string ConnectOne(const addrinfo* ai, absl::Time deadline) {
  int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
  if (fd < 0) return absl::StrCat("socket: ", std::strerror(errno));
  std::string error;
  if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
    if (errno != EINPROGRESS) {
      error = absl::StrCat("connect: ", std::strerror(errno));
    } else {
      pollfd p{fd, POLLOUT, 0};
      // Bounded before the cast: poll() takes an int of milliseconds.
      const int64_t left = absl::ToInt64Milliseconds(deadline - absl::Now());
      int left_ms = static_cast<int>(std::min<int64_t>(left, 3600 * 1000));
      int r = left_ms > 0 ? poll(&p, 1, left_ms) : 0;
      if (r == 0) {
        error = "connect: timed out";
      } else if (r < 0) {
        error = absl::StrCat("poll: ", std::strerror(errno));
      } else {
        int so_error = 0;
        socklen_t len = sizeof(so_error);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
        if (so_error != 0) error = absl::StrCat("connect: ", std::strerror(so_error));
      }
    }
  }
  // Close with RST so repeated samples leave no TIME_WAIT behind.
  linger l{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  close(fd);
  return error;
}

bool IsTrue(bool* flag) { return *flag; }

}  // namespace

absl::Status TcpListenerDialer::Dial(const std::string& address, absl::Duration timeout) {
  absl::StatusOr<common::HostPort> target = common::ParseHostPort(address);
  if (!target.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("listener ", target.status().message()));
  }
  const std::string& host = target->host;
  const int port = target->port;
  const absl::Time deadline = absl::Now() + timeout;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string port_text = std::to_string(port);
  int rc = getaddrinfo(host.c_str(), port_text.c_str(), &hints, &res);
  if (rc != 0) {
    if (rc == EAI_NONAME || rc == EAI_NODATA) {
      return absl::NotFoundError(absl::StrCat("listener ", address, ": name does not resolve"));
    }
    return absl::UnavailableError(
        absl::StrCat("listener ", address, ": resolve: ", gai_strerror(rc)));
  }
  std::string last_error = "no address";
  for (const addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    last_error = ConnectOne(ai, deadline);
    if (last_error.empty()) break;
  }
  freeaddrinfo(res);
  if (last_error.empty()) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat("listener ", address, ": ", last_error));
}

ThreadListenerSampler::ThreadListenerSampler(ListenerDialer& dialer, const common::Clock& clock,
                                             absl::Duration interval, absl::Duration timeout)
    : dialer_(dialer), clock_(clock), interval_(interval), timeout_(timeout) {}

ThreadListenerSampler::~ThreadListenerSampler() { Stop(); }

void ThreadListenerSampler::Start(const std::string& address) {
  thread_ = std::thread([this, address] { Loop(address); });
}

std::vector<ListenerSample> ThreadListenerSampler::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
  absl::MutexLock lock(&mu_);
  return samples_;
}

void ThreadListenerSampler::Loop(std::string address) {
  while (true) {
    ListenerSample s;
    s.at = clock_.Now();
    absl::Status st = dialer_.Dial(address, timeout_);
    s.ok = st.ok();
    if (!st.ok()) s.detail = std::string(st.message());
    absl::MutexLock lock(&mu_);
    samples_.push_back(std::move(s));
    // Wait for the next slot, or for Stop().
    if (mu_.AwaitWithTimeout(absl::Condition(&IsTrue, &stop_), interval_)) return;
  }
}

}  // namespace foghorn::drill
