// Scale benchmark for the probe scheduler + SystemProber (issue 5): N probe targets, half TCP
// connects and half HTTP GETs, at a 5 s interval, against loopback servers that run in a forked
// child (so their CPU is not counted). Each target count runs in its own child process so peak
// RSS is per size. After one interval of warm-up it measures `intervals` intervals and prints:
// CPU share of one core (user+sys / wall), peak RSS, attempts and outcomes, and the lateness of
// actual start vs scheduled time (p50/p99/max).
//
//   build/bench/probes_scale_bench            # 2000 10000 20000, 3 measured intervals
//   build/bench/probes_scale_bench 20000 2    # one size, 2 intervals
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "orchestrator/common/clock.h"
#include "orchestrator/common/thread_executor.h"
#include "probes/probe_scheduler.h"
#include "probes/system_prober.h"

namespace {

using foghorn::probes::ProbeEvent;
using foghorn::probes::ProbeOutcome;

constexpr int kListeners = 4;  // Per protocol, on 127.0.0.1 .. 127.0.0.4.

int Listen(const std::string& ip, int* port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  inet_pton(AF_INET, ip.c_str(), &addr.sin_addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 4096) != 0) {
    perror("bind/listen");
    _exit(2);
  }
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  *port = ntohs(addr.sin_port);
  return fd;
}

// The loopback servers: TCP listeners accept and close; HTTP listeners answer every request
// with a small JSON 200 and close. Runs until `parent_fd` reaches EOF.
[[noreturn]] void ServeForever(int parent_fd, int report_fd) {
  int ep = epoll_create1(0);
  std::vector<int> tcp, http;
  std::string ports;
  for (int i = 0; i < kListeners; ++i) {
    std::string ip = absl::StrCat("127.0.0.", i + 1);
    int p1 = 0, p2 = 0;
    tcp.push_back(Listen(ip, &p1));
    http.push_back(Listen(ip, &p2));
    absl::StrAppend(&ports, ip, " ", p1, " ", p2, "\n");
  }
  if (write(report_fd, ports.data(), ports.size()) < 0) _exit(2);
  close(report_fd);
  auto add = [ep](int fd, uint64_t tag) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = tag;
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  };
  // Tags: 1<<40 | fd = TCP listener, 2<<40 | fd = HTTP listener, 3<<40 | fd = HTTP conn, 4 =
  // parent.
  for (int fd : tcp) add(fd, (1ull << 40) | fd);
  for (int fd : http) add(fd, (2ull << 40) | fd);
  add(parent_fd, 4ull << 40);
  static const char kResponse[] =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 15\r\n"
      "Connection: close\r\n\r\n{\"status\":\"ok\"}";
  epoll_event events[512];
  for (;;) {
    int n = epoll_wait(ep, events, 512, -1);
    for (int i = 0; i < n; ++i) {
      uint64_t kind = events[i].data.u64 >> 40;
      int fd = static_cast<int>(events[i].data.u64 & 0xffffffffu);
      if (kind == 4) _exit(0);
      if (kind == 1 || kind == 2) {
        for (;;) {
          int c = accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (c < 0) break;
          if (kind == 1) {
            close(c);
          } else {
            add(c, (3ull << 40) | c);
          }
        }
      } else {
        char buf[4096];
        ssize_t r = read(fd, buf, sizeof(buf));
        if (r > 0) {
          // Requests are tiny; answer after the first read that ends the header block.
          if (std::string(buf, r).find("\r\n\r\n") != std::string::npos) {
            ssize_t w = write(fd, kResponse, sizeof(kResponse) - 1);
            (void)w;
            close(fd);
          }
        } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
          close(fd);
        }
      }
    }
  }
}

class StatsSink final : public foghorn::probes::ProbeEventSink {
 public:
  void OnProbeEvent(const ProbeEvent& e) override {
    absl::MutexLock lock(&mu_);
    if (!measuring_) return;
    lateness_us_.push_back(absl::ToInt64Microseconds(e.result.started - e.result.scheduled));
    switch (e.result.outcome) {
      case ProbeOutcome::kSuccess:
        ++ok_;
        break;
      case ProbeOutcome::kFailure:
        ++failed_;
        if (failed_ <= 3)
          fprintf(stderr, "  failure: %s %s\n", e.probe_id.c_str(), e.result.detail.c_str());
        break;
      case ProbeOutcome::kUnknown:
        ++unknown_;
        if (unknown_ <= 3)
          fprintf(stderr, "  unknown: %s %s\n", e.probe_id.c_str(), e.result.detail.c_str());
        break;
    }
  }
  void SetMeasuring(bool on) {
    absl::MutexLock lock(&mu_);
    measuring_ = on;
  }
  absl::Mutex mu_;
  bool measuring_ = false;
  std::vector<int64_t> lateness_us_;
  int64_t ok_ = 0, failed_ = 0, unknown_ = 0;
};

double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec / 1e6;
}

int RunOne(int targets, int intervals) {
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);

  int to_child[2], from_child[2];
  if (pipe(to_child) != 0 || pipe(from_child) != 0) return 2;
  pid_t server = fork();
  if (server == 0) {
    close(to_child[1]);
    close(from_child[0]);
    ServeForever(to_child[0], from_child[1]);
  }
  close(to_child[0]);
  close(from_child[1]);
  std::string report;
  char buf[512];
  for (ssize_t r; (r = read(from_child[0], buf, sizeof(buf))) > 0;) report.append(buf, r);
  close(from_child[0]);
  std::vector<std::string> tcp_addrs, http_urls;
  for (size_t pos = 0; pos < report.size();) {
    size_t nl = report.find('\n', pos);
    char ip[32];
    int p1 = 0, p2 = 0;
    if (sscanf(report.substr(pos, nl - pos).c_str(), "%31s %d %d", ip, &p1, &p2) == 3) {
      tcp_addrs.push_back(absl::StrCat(ip, ":", p1));
      http_urls.push_back(absl::StrCat("http://", ip, ":", p2, "/health"));
    }
    pos = nl + 1;
  }

  const absl::Duration interval = absl::Seconds(5);
  foghorn::common::RealClock clock;
  auto prober = foghorn::probes::SystemProber::Create({});
  if (!prober.ok()) return 2;
  foghorn::common::ThreadExecutor executor(clock);
  StatsSink sink;
  auto scheduler = std::make_unique<foghorn::probes::ProbeScheduler>(executor, **prober, &sink);
  for (int i = 0; i < targets; ++i) {
    foghorn::v1::ProbeSpec spec;
    spec.set_name(absl::StrCat("t", i));
    spec.mutable_interval()->set_seconds(5);
    spec.mutable_timeout()->set_seconds(2);
    spec.mutable_jitter()->set_nanos(100'000'000);
    // Spread first attempts over one interval, as an agent starting many groups would.
    absl::Duration delay = interval * i / targets;
    spec.mutable_initial_delay()->set_seconds(absl::ToInt64Seconds(delay));
    spec.mutable_initial_delay()->set_nanos(static_cast<int32_t>(
        absl::ToInt64Nanoseconds(delay - absl::Seconds(absl::ToInt64Seconds(delay)))));
    if (i % 2 == 0) {
      spec.mutable_tcp()->set_address(tcp_addrs[(i / 2) % tcp_addrs.size()]);
    } else {
      spec.mutable_http()->set_url(http_urls[(i / 2) % http_urls.size()]);
      spec.mutable_http()->set_body_contains("ok");
    }
    if (!scheduler->AddProbe("bench", spec, {}).ok()) return 2;
  }
  absl::SleepFor(interval);  // Warm-up: every target has started once.
  sink.SetMeasuring(true);
  double cpu0 = CpuSeconds();
  absl::Time wall0 = absl::Now();
  absl::SleepFor(interval * intervals);
  double cpu = CpuSeconds() - cpu0;
  double wall = absl::ToDoubleSeconds(absl::Now() - wall0);
  sink.SetMeasuring(false);
  (*prober)->Shutdown();
  executor.Shutdown();
  scheduler.reset();

  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  absl::MutexLock lock(&sink.mu_);
  std::vector<int64_t>& l = sink.lateness_us_;
  std::sort(l.begin(), l.end());
  auto pct = [&](double p) -> double {
    if (l.empty()) return 0;
    return l[std::min(l.size() - 1, static_cast<size_t>(p * l.size()))] / 1000.0;
  };
  printf(
      "targets=%6d  cpu=%5.1f%% of one core  peak_rss=%6.1f MB  attempts=%lld (ok %lld, "
      "failed %lld, unknown %lld; expected ~%d)  lateness ms p50=%.2f p99=%.2f max=%.2f\n",
      targets, 100.0 * cpu / wall, ru.ru_maxrss / 1024.0, static_cast<long long>(l.size()),
      static_cast<long long>(sink.ok_), static_cast<long long>(sink.failed_),
      static_cast<long long>(sink.unknown_), targets * intervals, pct(0.5), pct(0.99),
      l.empty() ? 0.0 : l.back() / 1000.0);
  fflush(stdout);
  close(to_child[1]);
  waitpid(server, nullptr, 0);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> sizes = {2000, 10000, 20000};
  int intervals = 3;
  if (argc > 1) sizes = {atoi(argv[1])};
  if (argc > 2) intervals = atoi(argv[2]);
  signal(SIGPIPE, SIG_IGN);
  for (int n : sizes) {
    pid_t pid = fork();  // One process per size, so peak RSS is per size.
    if (pid == 0) _exit(RunOne(n, intervals));
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fprintf(stderr, "run with %d targets failed\n", n);
      return 1;
    }
  }
  return 0;
}
