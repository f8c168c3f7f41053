#include "tests/testing/etcd_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace foghorn::testing {
namespace {

// A port the kernel considers free right now: bind port 0, read it back, close. etcd binds it a
// moment later (a small race any test port picker has; SO_REUSEADDR is off, so no TIME_WAIT
// reuse issue on the listening side).
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    socklen_t len = sizeof(addr);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

// GET /health on 127.0.0.1:port with a short timeout; true iff the body says healthy.
bool HealthCheck(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = false;
  int rc = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  pollfd p{fd, POLLOUT, 0};
  if ((rc == 0 || errno == EINPROGRESS) && poll(&p, 1, 500) == 1) {
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    std::string req = absl::StrCat("GET /health HTTP/1.1\r\nHost: 127.0.0.1:", port,
                                   "\r\nConnection: close\r\n\r\n");
    if (err == 0 &&
        send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      std::string resp;
      char buf[1024];
      absl::Time deadline = absl::Now() + absl::Seconds(2);
      while (absl::Now() < deadline) {
        pollfd r{fd, POLLIN, 0};
        if (poll(&r, 1, 200) <= 0) continue;
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0) break;
        resp.append(buf, static_cast<size_t>(n));
      }
      ok = absl::StrContains(resp, "\"health\":\"true\"");
    }
  }
  close(fd);
  return ok;
}

}  // namespace

bool EtcdCluster::Available() { return access(kEtcdBinary, X_OK) == 0; }

EtcdCluster::EtcdCluster(Options options) : options_(options) {
  std::vector<std::string> peers;
  for (int i = 0; i < options_.members; ++i) {
    Member m;
    m.name = absl::StrCat("m", i);
    m.client_port = FreePort();
    m.peer_port = FreePort();
    m.data_dir = dir_.File(absl::StrCat(m.name, ".etcd"));
    m.log_file = dir_.File(absl::StrCat(m.name, ".log"));
    peers.push_back(absl::StrCat(m.name, "=http://127.0.0.1:", m.peer_port));
    members_.push_back(std::move(m));
  }
  initial_cluster_ = absl::StrJoin(peers, ",");
}

EtcdCluster::~EtcdCluster() {
  for (int i = 0; i < size(); ++i) Kill(i);
}

std::string EtcdCluster::Endpoint(int i) const {
  return absl::StrCat("127.0.0.1:", members_[static_cast<size_t>(i)].client_port);
}

std::vector<std::string> EtcdCluster::Endpoints() const {
  std::vector<std::string> out;
  for (int i = 0; i < size(); ++i) out.push_back(Endpoint(i));
  return out;
}

absl::Status EtcdCluster::Spawn(int i, bool initial) {
  Member& m = members_[static_cast<size_t>(i)];
  if (m.client_port <= 0 || m.peer_port <= 0) return absl::InternalError("no free port");
  std::string client_url = absl::StrCat("http://127.0.0.1:", m.client_port);
  std::string peer_url = absl::StrCat("http://127.0.0.1:", m.peer_port);
  std::vector<std::string> args = {
      kEtcdBinary,
      "--name",
      m.name,
      "--data-dir",
      m.data_dir,
      "--listen-client-urls",
      client_url,
      "--advertise-client-urls",
      client_url,
      "--listen-peer-urls",
      peer_url,
      "--initial-advertise-peer-urls",
      peer_url,
      "--initial-cluster",
      initial_cluster_,
      "--initial-cluster-state",
      initial ? "new" : "existing",
      "--initial-cluster-token",
      "foghorn-test",
      "--heartbeat-interval",
      absl::StrCat(options_.heartbeat_ms),
      "--election-timeout",
      absl::StrCat(options_.election_ms),
      "--auth-token",
      absl::StrCat("simple"),
      "--auth-token-ttl",
      absl::StrCat(options_.auth_token_ttl_s),
      "--logger",
      "zap",
      "--log-outputs",
      "stderr",
      "--log-level",
      "warn",
  };
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int log_fd = open(m.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return absl::InternalError(absl::StrCat("cannot open ", m.log_file));
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  }
  if (pid == 0) {
    // Only async-signal-safe calls from here to exec.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, 0);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(log_fd);
  m.pid = pid;
  return absl::OkStatus();
}

absl::Status EtcdCluster::Start(absl::Duration timeout) {
  for (int i = 0; i < size(); ++i) {
    if (absl::Status s = Spawn(i, /*initial=*/true); !s.ok()) return s;
  }
  absl::Time deadline = absl::Now() + timeout;
  for (int i = 0; i < size(); ++i) {
    if (absl::Status s = WaitHealthy(i, deadline - absl::Now()); !s.ok()) return s;
  }
  return absl::OkStatus();
}

bool EtcdCluster::Healthy(int i) const {
  return Running(i) && HealthCheck(members_[static_cast<size_t>(i)].client_port);
}

absl::Status EtcdCluster::WaitHealthy(int i, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  absl::Duration pause = absl::Milliseconds(10);
  while (true) {
    Member& m = members_[static_cast<size_t>(i)];
    if (m.pid > 0) {
      int status = 0;
      if (waitpid(m.pid, &status, WNOHANG) == m.pid) {
        m.pid = -1;
        return absl::InternalError(
            absl::StrCat("etcd member ", m.name, " exited during start-up: ", LogTail(i)));
      }
    }
    if (Healthy(i)) return absl::OkStatus();
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("etcd member ", m.name, " not healthy in time: ", LogTail(i)));
    }
    // Polling a condition (the member's health endpoint) with a deadline.
    absl::SleepFor(pause);
    pause = std::min(pause * 2, absl::Milliseconds(100));
  }
}

void EtcdCluster::Stop(int i) {
  Member& m = members_[static_cast<size_t>(i)];
  if (m.pid <= 0) return;
  kill(m.pid, SIGTERM);
  int status = 0;
  // etcd exits within a second on SIGTERM; escalate if it does not within 5 s.
  absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (waitpid(m.pid, &status, WNOHANG) == 0) {
    if (absl::Now() >= deadline) {
      kill(m.pid, SIGKILL);
      waitpid(m.pid, &status, 0);
      break;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  m.pid = -1;
}

void EtcdCluster::Kill(int i) {
  Member& m = members_[static_cast<size_t>(i)];
  if (m.pid <= 0) return;
  kill(m.pid, SIGKILL);
  int status = 0;
  waitpid(m.pid, &status, 0);
  m.pid = -1;
}

absl::Status EtcdCluster::Restart(int i) {
  if (Running(i)) Stop(i);
  return Spawn(i, /*initial=*/false);
}

void EtcdCluster::StopAll() {
  for (int i = 0; i < size(); ++i) Stop(i);
}

std::string EtcdCluster::LogTail(int i, size_t bytes) const {
  std::ifstream in(members_[static_cast<size_t>(i)].log_file);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > bytes ? s.substr(s.size() - bytes) : s;
}

}  // namespace foghorn::testing
