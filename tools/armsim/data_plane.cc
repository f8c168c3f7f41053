#include "tools/armsim/data_plane.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <optional>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "nlohmann/json.hpp"

namespace foghorn::armsim {
namespace {

constexpr size_t kMaxLine = 4096;

// Binds 127.0.0.1:port (0 = any) and listens. Returns the fd or -1.
int OpenListener(int port, int* bound_port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 64) != 0) {
    close(fd);
    return -1;
  }
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  *bound_port = ntohs(addr.sin_port);
  return fd;
}

// Closes with RST so the peer sees a reset, not an orderly end.
void Reset(int fd) {
  linger l{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  close(fd);
}

void SendLine(int fd, const std::string& line) {
  std::string out = line + "\n";
  // Best effort: replies are tiny and the socket buffer is empty; a full buffer drops the reply.
  (void)!send(fd, out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

}  // namespace

DataPlane::DataPlane(Emulator* emulator, const VantageMap* vantages)
    : emulator_(emulator), vantages_(vantages) {}

absl::StatusOr<std::unique_ptr<DataPlane>> DataPlane::Start(Emulator* emulator,
                                                            const VantageMap* vantages) {
  std::unique_ptr<DataPlane> dp(new DataPlane(emulator, vantages));
  if (pipe2(dp->wake_, O_CLOEXEC | O_NONBLOCK) != 0) {
    return absl::InternalError("data plane: cannot create wake pipe");
  }
  {
    absl::MutexLock lock(&dp->mu_);
    dp->ReconcileLocked();
    for (const auto& [key, l] : dp->listeners_) {
      if (l.port == 0) {
        return absl::InternalError(
            absl::StrCat("data plane: cannot bind ", key.second,
                         key.first.empty() ? "" : absl::StrCat(" for vantage ", key.first)));
      }
    }
  }
  dp->thread_ = std::thread([p = dp.get()] { p->Loop(); });
  return dp;
}

DataPlane::~DataPlane() {
  Shutdown();
  if (wake_[0] >= 0) close(wake_[0]);
  if (wake_[1] >= 0) close(wake_[1]);
}

void DataPlane::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    if (stop_) return;
    stop_ = true;
  }
  Reconcile();
  if (thread_.joinable()) thread_.join();
  absl::MutexLock lock(&mu_);
  for (auto& c : conns_) close(c.fd);
  conns_.clear();
  for (auto& [key, l] : listeners_) {
    if (l.fd >= 0) close(l.fd);
    l.fd = -1;
  }
}

void DataPlane::Reconcile() {
  char b = 1;
  (void)!write(wake_[1], &b, 1);
}

void DataPlane::ReconcileNow() {
  absl::MutexLock lock(&mu_);
  if (!stop_) ReconcileLocked();
}

int DataPlane::Port(const std::string& endpoint, const std::string& vantage) {
  absl::MutexLock lock(&mu_);
  auto it = listeners_.find({vantage, endpoint});
  return it == listeners_.end() ? -1 : it->second.port;
}

std::map<std::string, int> DataPlane::Ports(const std::string& vantage) {
  absl::MutexLock lock(&mu_);
  std::map<std::string, int> out;
  for (const auto& [key, l] : listeners_) {
    if (key.first == vantage) out[key.second] = l.port;
  }
  return out;
}

DataPlane::Reach DataPlane::ReachOf(const std::string& vantage, const EndpointTarget& t) const {
  if (t.server.empty()) return Reach::kRefuse;
  // A region outage reaches every vantage; a partition only its own.
  std::optional<OutageMode> dark;
  if (t.down) {
    dark = t.mode;
  } else if (vantages_ != nullptr) {
    dark = vantages_->CutMode(vantage, t.region);
  }
  if (!dark) return Reach::kOpen;
  return *dark == OutageMode::kRefuse ? Reach::kRefuse : Reach::kBlackhole;
}

void DataPlane::ReconcileLocked() {
  std::map<std::string, EndpointTarget> targets = emulator_->EndpointTargets();
  // Endpoints that vanished (group deleted): close listener and connections.
  for (auto it = listeners_.begin(); it != listeners_.end();) {
    if (targets.count(it->first.second) == 0) {
      if (it->second.fd >= 0) {
        shutdown(it->second.fd, SHUT_RDWR);
        close(it->second.fd);
      }
      it = listeners_.erase(it);
    } else {
      ++it;
    }
  }
  std::vector<std::string> vantages = {""};
  if (vantages_ != nullptr) {
    vantages.insert(vantages.end(), vantages_->names().begin(), vantages_->names().end());
  }
  for (const auto& [name, t] : targets) {
    for (const std::string& vantage : vantages) {
      Listener& l = listeners_[{vantage, name}];
      bool refuse = ReachOf(vantage, t) == Reach::kRefuse;
      if (refuse && l.fd >= 0) {
        // shutdown() first: a close() alone leaves the socket listening while the I/O thread's
        // poll() still holds it.
        shutdown(l.fd, SHUT_RDWR);
        close(l.fd);
        l.fd = -1;
      } else if (!refuse && l.fd < 0) {
        int port = 0;
        l.fd = OpenListener(l.port, &port);
        if (l.fd >= 0) l.port = port;
      }
    }
  }
  // Existing connections follow their server as their vantage sees it: reset on refuse, go
  // silent on black hole, and black-holed ones are dropped when the region returns or the
  // partition heals.
  for (auto it = conns_.begin(); it != conns_.end();) {
    Reach reach = ReachOf(it->listener.first, emulator_->ResolveEndpoint("server:" + it->server));
    bool drop = false;
    if (reach == Reach::kRefuse) {
      Reset(it->fd);
      drop = true;
    } else if (reach == Reach::kBlackhole) {
      it->blackholed = true;
    } else if (it->blackholed) {
      close(it->fd);
      drop = true;
    }
    if (listeners_.count(it->listener) == 0 && !drop) {
      close(it->fd);
      drop = true;
    }
    it = drop ? conns_.erase(it) : it + 1;
  }
}

void DataPlane::Accept(const ListenerKey& key, int listen_fd) {
  const std::string& endpoint = key.second;
  while (true) {
    int fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;
    EndpointTarget t = emulator_->ResolveEndpoint(endpoint);
    Reach reach = ReachOf(key.first, t);
    if (reach == Reach::kRefuse) {
      Reset(fd);
      continue;
    }
    Conn c;
    c.fd = fd;
    c.listener = key;
    c.server = t.server;
    c.blackholed = reach == Reach::kBlackhole;
    if (!c.blackholed) {
      nlohmann::json greeting = {{"endpoint", endpoint}, {"server", t.server}, {"role", t.role}};
      if (!key.first.empty()) greeting["vantage"] = key.first;
      SendLine(fd, greeting.dump());
    }
    conns_.push_back(std::move(c));
  }
}

bool DataPlane::Serve(Conn& c) {
  char buf[1024];
  while (true) {
    ssize_t n = recv(c.fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n == 0) return false;
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    if (c.blackholed) continue;  // swallow everything
    c.inbuf.append(buf, static_cast<size_t>(n));
    size_t pos;
    while ((pos = c.inbuf.find('\n')) != std::string::npos) {
      std::string line(absl::StripAsciiWhitespace(c.inbuf.substr(0, pos)));
      c.inbuf.erase(0, pos + 1);
      std::string upper = absl::AsciiStrToUpper(line);
      if (upper == "PING") {
        SendLine(c.fd, "PONG");
      } else if (upper == "ROLE") {
        EndpointTarget t = emulator_->ResolveEndpoint("server:" + c.server);
        SendLine(c.fd, t.role);
      } else if (absl::StartsWith(upper, "WRITE")) {
        int64_t count = 1;
        std::string arg(absl::StripAsciiWhitespace(line.substr(5)));
        if (!arg.empty() && (!absl::SimpleAtoi(arg, &count) || count < 0 || count > 1000000)) {
          SendLine(c.fd, "ERROR bad count");
          continue;
        }
        absl::Status s = emulator_->RecordServerWrites(c.server, count);
        SendLine(c.fd, s.ok() ? "OK" : absl::StrCat("ERROR ", s.message()));
      } else if (upper == "QUIT") {
        return false;
      } else if (!line.empty()) {
        SendLine(c.fd, "ERROR unknown command");
      }
    }
    if (c.inbuf.size() > kMaxLine) return false;
  }
}

void DataPlane::Loop() {
  while (true) {
    std::vector<pollfd> fds;
    std::vector<ListenerKey> listener_names;
    {
      absl::MutexLock lock(&mu_);
      if (stop_) return;
      fds.push_back({wake_[0], POLLIN, 0});
      for (const auto& [key, l] : listeners_) {
        if (l.fd < 0) continue;
        fds.push_back({l.fd, POLLIN, 0});
        listener_names.push_back(key);
      }
      for (const auto& c : conns_) fds.push_back({c.fd, POLLIN, 0});
    }
    int n = poll(fds.data(), fds.size(), 200);
    absl::MutexLock lock(&mu_);
    if (stop_) return;
    if (n < 0) continue;
    if (fds[0].revents & POLLIN) {
      char drain[64];
      while (read(wake_[0], drain, sizeof(drain)) > 0) {
      }
    }
    std::set<int> readable;
    for (size_t i = 1 + listener_names.size(); i < fds.size(); ++i) {
      if (fds[i].revents != 0) readable.insert(fds[i].fd);
    }
    for (auto it = conns_.begin(); it != conns_.end();) {
      if (readable.count(it->fd) && !Serve(*it)) {
        close(it->fd);
        it = conns_.erase(it);
      } else {
        ++it;
      }
    }
    for (size_t i = 0; i < listener_names.size(); ++i) {
      if (fds[1 + i].revents & POLLIN) {
        auto it = listeners_.find(listener_names[i]);
        if (it != listeners_.end() && it->second.fd == fds[1 + i].fd) {
          Accept(listener_names[i], it->second.fd);
        }
      }
    }
    // Re-read targets every pass: cheap, and it completes due operations so listeners follow
    // roles even when nobody polls ARM.
    ReconcileLocked();
  }
}

}  // namespace foghorn::armsim
