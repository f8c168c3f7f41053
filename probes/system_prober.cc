#include "probes/system_prober.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "orchestrator/common/child_env.h"
#include "orchestrator/common/host_port.h"
#include "probes/probe_config.h"
#include "probes/result_checks.h"

extern char** environ;

namespace foghorn::probes {
namespace {

std::string Errno(const char* what, int err) { return absl::StrCat(what, ": ", strerror(err)); }

// Errors that mean our side could not probe, not that the target is down.
bool IsLocalSocketError(int err) {
  return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM ||
         err == EADDRNOTAVAIL || err == ENETUNREACH || err == EAFNOSUPPORT || err == EPERM ||
         err == EACCES;
}

bool IsNumericHost(const std::string& host) {
  in6_addr buf;
  return inet_pton(AF_INET, host.c_str(), &buf) == 1 ||
         inet_pton(AF_INET6, host.c_str(), &buf) == 1;
}

}  // namespace

struct SystemProber::Attempt {
  v1::ProbeSpec spec;
  ProbeContext context;
  absl::Duration timeout;
  IoLoop::SteadyTime deadline;
  Callback done;
  bool finished = false;
  std::uint64_t timer = 0;
  // TCP.
  int fd = -1;
  bool connected = false;
  // Exec.
  pid_t pid = -1;
  int pidfd = -1;
  int out_fd = -1;
  std::string out;
  // HTTP.
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  std::string body;
  size_t max_body = 0;

  ~Attempt() {
    if (fd >= 0) close(fd);
    if (out_fd >= 0) close(out_fd);
    if (pidfd >= 0) close(pidfd);
    if (pid > 0) {
      kill(-pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    if (easy != nullptr) curl_easy_cleanup(easy);
    if (headers != nullptr) curl_slist_free_all(headers);
  }

  void Finish(ProbeOutcome outcome, std::string detail) {
    ProbeResult r;
    r.outcome = outcome;
    r.detail = std::move(detail);
    Finish(std::move(r));
  }
  void Finish(ProbeResult r) {
    if (finished) return;
    finished = true;
    std::move(done)(std::move(r));
  }
};

struct SystemProber::Curl {
  CURLM* multi = nullptr;
  std::uint64_t timer = 0;
  absl::flat_hash_map<CURL*, std::shared_ptr<Attempt>> running;
};

SystemProber::SystemProber(Options options) : options_(options), curl_(std::make_unique<Curl>()) {}

absl::StatusOr<std::unique_ptr<SystemProber>> SystemProber::Create(Options options) {
  static const CURLcode global_init = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (global_init != CURLE_OK) return absl::InternalError("curl_global_init failed");
  std::unique_ptr<SystemProber> p(new SystemProber(options));
  p->curl_->multi = curl_multi_init();
  if (p->curl_->multi == nullptr) return absl::InternalError("curl_multi_init failed");
  SystemProber* self = p.get();
  curl_multi_setopt(p->curl_->multi, CURLMOPT_SOCKETDATA, self);
  curl_multi_setopt(p->curl_->multi, CURLMOPT_TIMERDATA, self);
  using SocketFn = int (*)(CURL*, curl_socket_t, int, void*, void*);
  using TimerFn = int (*)(CURLM*, long, void*);
  SocketFn socket_fn = [](CURL*, curl_socket_t s, int what, void* userp, void*) -> int {
    auto* prober = static_cast<SystemProber*>(userp);
    if (what == CURL_POLL_REMOVE) {
      prober->loop_.Unwatch(s);
      return 0;
    }
    std::uint32_t events = 0;
    if (what & CURL_POLL_IN) events |= EPOLLIN;
    if (what & CURL_POLL_OUT) events |= EPOLLOUT;
    prober->loop_.Watch(s, events, [prober, s](std::uint32_t ev) {
      int mask = 0;
      if (ev & EPOLLIN) mask |= CURL_CSELECT_IN;
      if (ev & EPOLLOUT) mask |= CURL_CSELECT_OUT;
      if (ev & (EPOLLERR | EPOLLHUP)) mask |= CURL_CSELECT_ERR;
      int running = 0;
      curl_multi_socket_action(prober->curl_->multi, s, mask, &running);
      prober->DrainCurl();
    });
    return 0;
  };
  TimerFn timer_fn = [](CURLM*, long timeout_ms, void* userp) -> int {
    auto* prober = static_cast<SystemProber*>(userp);
    Curl& c = *prober->curl_;
    if (c.timer != 0) prober->loop_.CancelTimer(c.timer);
    c.timer = 0;
    if (timeout_ms < 0) return 0;
    c.timer =
        prober->loop_.AddTimer(IoLoop::Now() + std::chrono::milliseconds(timeout_ms), [prober]() {
          prober->curl_->timer = 0;
          int running = 0;
          curl_multi_socket_action(prober->curl_->multi, CURL_SOCKET_TIMEOUT, 0, &running);
          prober->DrainCurl();
        });
    return 0;
  };
  curl_multi_setopt(p->curl_->multi, CURLMOPT_SOCKETFUNCTION, socket_fn);
  curl_multi_setopt(p->curl_->multi, CURLMOPT_TIMERFUNCTION, timer_fn);

  absl::Status s = p->loop_.Start();
  if (!s.ok()) return s;
  int workers = options.dns_workers < 1 ? 1 : options.dns_workers;
  for (int i = 0; i < workers; ++i) p->dns_threads_.emplace_back([self] { self->ResolverLoop(); });
  return p;
}

SystemProber::~SystemProber() { Shutdown(); }

void SystemProber::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  {
    absl::MutexLock lock(&dns_mu_);
    dns_stopping_ = true;
  }
  for (std::thread& t : dns_threads_) t.join();
  dns_threads_.clear();
  loop_.Shutdown();
  if (curl_->multi != nullptr) {
    for (auto& [easy, attempt] : curl_->running) curl_multi_remove_handle(curl_->multi, easy);
    curl_->running.clear();
    curl_multi_cleanup(curl_->multi);
    curl_->multi = nullptr;
  }
  absl::MutexLock lock(&dns_mu_);
  dns_queue_.clear();
}

void SystemProber::Start(const v1::ProbeSpec& spec, const ProbeContext& context,
                         absl::Duration timeout, Callback done) {
  auto a = std::make_shared<Attempt>();
  a->spec = spec;
  a->context = context;
  a->timeout = timeout;
  a->deadline = IoLoop::Now() + absl::ToChronoNanoseconds(timeout);
  a->done = std::move(done);
  switch (spec.kind_case()) {
    case v1::ProbeSpec::kTcp:
      loop_.Post([this, a]() mutable { StartTcp(std::move(a)); });
      return;
    case v1::ProbeSpec::kHttp:
      loop_.Post([this, a]() mutable { StartHttp(std::move(a)); });
      return;
    case v1::ProbeSpec::kExec:
      loop_.Post([this, a]() mutable { StartExec(std::move(a)); });
      return;
    case v1::ProbeSpec::kDns:
      StartDns(std::move(a));
      return;
    case v1::ProbeSpec::kArmState: {
      if (options_.arm_reader == nullptr) {
        a->Finish(ProbeOutcome::kUnknown, "no ARM reader configured");
        return;
      }
      options_.arm_reader->Read(a->context.failover_group, absl::Now() + timeout,
                                [a](absl::StatusOr<FailoverGroupState> state) {
                                  a->Finish(JudgeArmState(a->spec.arm_state(), state));
                                });
      return;
    }
    case v1::ProbeSpec::kAzureMetric:
    case v1::ProbeSpec::kResourceHealth:
    case v1::ProbeSpec::kReplicationLink:
      StartAzureSignal(std::move(a));
      return;
    case v1::ProbeSpec::KIND_NOT_SET:
      break;
  }
  a->Finish(ProbeOutcome::kUnknown, "probe has no kind");
}

// --- Azure's own signals, through the AzureSignalReader (the ARM client's read workers). ---

void SystemProber::StartAzureSignal(std::shared_ptr<Attempt> a) {
  if (options_.azure_signals == nullptr) {
    a->Finish(ProbeOutcome::kUnknown, "no Azure signal reader configured");
    return;
  }
  const FailoverGroupRef& g = a->context.failover_group;
  AzureResourceRef resource{g.subscription, g.resource_group, g.server, ""};
  if (resource.server.empty()) {
    a->Finish(ProbeOutcome::kUnknown, "no target server for an Azure signal probe");
    return;
  }
  const absl::Time deadline = absl::Now() + a->timeout;
  switch (a->spec.kind_case()) {
    case v1::ProbeSpec::kAzureMetric: {
      MetricRequest req;
      req.database = resource;
      req.database.database = a->spec.azure_metric().database();
      req.metric = AzureMetricName(a->spec);
      req.aggregation = AzureMetricAggregation(a->spec.azure_metric());
      req.filter = a->spec.azure_metric().filter();
      // Look back a little further than a value may be old, whole minutes.
      req.lookback =
          absl::Minutes(absl::ToInt64Minutes(AzureMetricMaxAge(a->spec.azure_metric())) + 2);
      const common::Clock* clock = options_.clock;
      options_.azure_signals->ReadMetric(
          req, deadline, [a, clock](absl::StatusOr<std::optional<MetricSample>> sample) {
            const absl::Time now = clock != nullptr ? clock->Now() : absl::Now();
            a->Finish(JudgeAzureMetric(a->spec, sample, now));
          });
      return;
    }
    case v1::ProbeSpec::kResourceHealth:
      resource.database = a->spec.resource_health().database();
      options_.azure_signals->ReadHealth(
          resource, deadline, [a](absl::StatusOr<HealthStatus> status) {
            a->Finish(JudgeResourceHealth(a->spec.resource_health(), status));
          });
      return;
    case v1::ProbeSpec::kReplicationLink:
      resource.database = a->spec.replication_link().database();
      options_.azure_signals->ReadLinks(
          resource, deadline, [a](absl::StatusOr<std::vector<LinkStatus>> links) {
            a->Finish(JudgeReplicationLink(a->spec.replication_link(), links));
          });
      return;
    default:
      break;
  }
  a->Finish(ProbeOutcome::kUnknown, "not an Azure signal probe");
}

// --- DNS: a fixed pool of resolver threads (getaddrinfo blocks). ---

void SystemProber::ResolverLoop() {
  for (;;) {
    absl::AnyInvocable<void() &&> task;
    {
      absl::MutexLock lock(&dns_mu_);
      auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(dns_mu_) {
        return dns_stopping_ || !dns_queue_.empty();
      };
      dns_mu_.Await(absl::Condition(&ready));
      if (dns_stopping_) return;
      task = std::move(dns_queue_.front());
      dns_queue_.pop_front();
    }
    std::move(task)();
  }
}

void SystemProber::Resolve(
    std::string name,
    absl::AnyInvocable<void(int, std::vector<std::string>, std::string) &&> done) {
  absl::MutexLock lock(&dns_mu_);
  if (dns_stopping_) return;
  dns_queue_.push_back([name = std::move(name), done = std::move(done)]() mutable {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_CANONNAME;
    addrinfo* res = nullptr;
    int rc = getaddrinfo(name.c_str(), nullptr, &hints, &res);
    std::vector<std::string> addresses;
    std::string canonical;
    if (rc == 0) {
      if (res != nullptr && res->ai_canonname != nullptr) canonical = res->ai_canonname;
      for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
        char buf[INET6_ADDRSTRLEN] = {};
        const void* src =
            ai->ai_family == AF_INET
                ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr)
                : static_cast<const void*>(
                      &reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_addr);
        if (inet_ntop(ai->ai_family, src, buf, sizeof(buf)) == nullptr) continue;
        std::string s(buf);
        bool dup = false;
        for (const std::string& a : addresses) dup = dup || a == s;
        if (!dup) addresses.push_back(std::move(s));
      }
      freeaddrinfo(res);
    }
    std::move(done)(rc, std::move(addresses), std::move(canonical));
  });
}

namespace {

// "No such name" is the target's fault; anything else is our resolver's.
ProbeOutcome ResolveFailureOutcome(int rc) {
  return rc == EAI_NONAME
#ifdef EAI_NODATA
                 || rc == EAI_NODATA
#endif
             ? ProbeOutcome::kFailure
             : ProbeOutcome::kUnknown;
}

}  // namespace

void SystemProber::StartDns(std::shared_ptr<Attempt> a) {
  std::string name = a->spec.dns().name();
  Resolve(std::move(name), [a](int rc, std::vector<std::string> addresses, std::string canonical) {
    if (rc != 0) {
      a->Finish(ResolveFailureOutcome(rc),
                absl::StrCat("resolve ", a->spec.dns().name(), ": ", gai_strerror(rc)));
      return;
    }
    a->Finish(JudgeDns(a->spec.dns(), addresses, canonical));
  });
}

// --- TCP connect. ---

void SystemProber::StartTcp(std::shared_ptr<Attempt> a) {
  std::string address =
      a->spec.tcp().address().empty() ? a->context.default_address : a->spec.tcp().address();
  absl::StatusOr<common::HostPort> target = common::ParseHostPort(address);
  if (!target.ok()) {
    a->Finish(ProbeOutcome::kUnknown, std::string(target.status().message()));
    return;
  }
  const std::string host = target->host;
  const int port = target->port;
  a->timer = loop_.AddTimer(a->deadline, [this, a]() {
    a->timer = 0;
    // Still resolving: our resolver is slow, not the target.
    if (a->fd < 0) {
      a->Finish(ProbeOutcome::kUnknown, "resolve timeout");
      return;
    }
    loop_.Unwatch(a->fd);
    close(a->fd);
    a->fd = -1;
    a->Finish(ProbeOutcome::kFailure,
              a->connected ? "no expected reply before the timeout" : "connect timeout");
  });
  if (IsNumericHost(host)) {
    ConnectTcp(std::move(a), {host}, port);
    return;
  }
  Resolve(host, [this, a, port](int rc, std::vector<std::string> addresses, std::string) {
    loop_.Post([this, a, port, rc, addresses = std::move(addresses)]() mutable {
      if (a->finished) return;
      if (rc != 0 || addresses.empty()) {
        loop_.CancelTimer(a->timer);
        a->Finish(ResolveFailureOutcome(rc), absl::StrCat("resolve: ", gai_strerror(rc)));
        return;
      }
      ConnectTcp(std::move(a), std::move(addresses), port);
    });
  });
}

void SystemProber::ExpectTdsPrelogin(
    const std::shared_ptr<Attempt>& a,
    std::function<void(const std::shared_ptr<Attempt>&, int)> fail) {
  const std::string request = TdsPreloginRequest();
  if (send(a->fd, request.data(), request.size(), MSG_NOSIGNAL) < 0) {
    fail(a, errno);
    return;
  }
  auto end = [this](const std::shared_ptr<Attempt>& a, ProbeOutcome outcome, std::string detail) {
    loop_.CancelTimer(a->timer);
    loop_.Unwatch(a->fd);
    close(a->fd);
    a->fd = -1;
    a->Finish(outcome, std::move(detail));
  };
  std::weak_ptr<Attempt> weak = a;
  loop_.Watch(a->fd, EPOLLIN, [weak, end](std::uint32_t) {
    std::shared_ptr<Attempt> a = weak.lock();
    if (a == nullptr || a->finished || a->fd < 0) return;
    char buf[4096];
    ssize_t n = recv(a->fd, buf, sizeof(buf), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {
      end(a, ProbeOutcome::kFailure,
          n == 0 ? "tds: closed before a prelogin response" : Errno("tds: recv", errno));
      return;
    }
    // A PRELOGIN response is one packet of at most 4096 bytes; more is malformed anyway.
    a->out.append(buf, static_cast<size_t>(std::min<ssize_t>(n, 8192)));
    TdsPreloginReply reply = ParseTdsPreloginReply(a->out);
    if (reply.state == TdsParse::kValid) {
      end(a, ProbeOutcome::kSuccess,
          absl::StrCat("tds prelogin answered, version ", reply.version));
    } else if (reply.state == TdsParse::kMalformed) {
      end(a, ProbeOutcome::kFailure,
          absl::StrCat("tds: malformed prelogin response: ", reply.error));
    } else if (a->out.size() > 8192) {
      end(a, ProbeOutcome::kFailure, "tds: prelogin response too long");
    }
  });
}

void SystemProber::ConnectTcp(std::shared_ptr<Attempt> a, std::vector<std::string> addresses,
                              int port) {
  const std::string& host = addresses.front();
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof(sockaddr_in6);
  } else {
    loop_.CancelTimer(a->timer);
    a->Finish(ProbeOutcome::kUnknown, absl::StrCat("bad address ", host));
    return;
  }
  auto fail = [this](const std::shared_ptr<Attempt>& a, int err) {
    loop_.CancelTimer(a->timer);
    a->Finish(IsLocalSocketError(err) ? ProbeOutcome::kUnknown : ProbeOutcome::kFailure,
              Errno("connect", err));
    if (a->fd >= 0) {
      loop_.Unwatch(a->fd);
      close(a->fd);
      a->fd = -1;
    }
  };
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    fail(a, errno);
    return;
  }
  a->fd = fd;
  // Close with RST: a probe needs no orderly shutdown, and this leaves no TIME_WAIT behind.
  linger lg{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
  auto succeed = [this](const std::shared_ptr<Attempt>& a) {
    loop_.CancelTimer(a->timer);
    loop_.Unwatch(a->fd);
    close(a->fd);
    a->fd = -1;
    a->Finish(ProbeOutcome::kSuccess, a->spec.tcp().expect().empty() ? "connected" : "replied");
  };
  // Once connected: done, or send the payload and wait for the expected reply.
  auto connected = [this, fail, succeed](const std::shared_ptr<Attempt>& a) {
    const v1::TcpProbe& tcp = a->spec.tcp();
    a->connected = true;
    if (tcp.tds_prelogin()) {
      ExpectTdsPrelogin(a, fail);
      return;
    }
    if (!tcp.send().empty() &&
        send(a->fd, tcp.send().data(), tcp.send().size(), MSG_NOSIGNAL) < 0) {
      fail(a, errno);
      return;
    }
    if (tcp.expect().empty()) {
      succeed(a);
      return;
    }
    std::weak_ptr<Attempt> weak = a;
    loop_.Watch(a->fd, EPOLLIN, [this, weak, succeed](std::uint32_t) {
      std::shared_ptr<Attempt> a = weak.lock();
      if (a == nullptr || a->finished || a->fd < 0) return;
      char buf[4096];
      ssize_t n = recv(a->fd, buf, sizeof(buf), 0);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
      if (n > 0) {
        if (a->out.size() < 64 * 1024) a->out.append(buf, static_cast<size_t>(n));
        if (a->out.find(a->spec.tcp().expect()) != std::string::npos) succeed(a);
        return;
      }
      int err = n < 0 ? errno : 0;
      loop_.CancelTimer(a->timer);
      loop_.Unwatch(a->fd);
      close(a->fd);
      a->fd = -1;
      a->Finish(ProbeOutcome::kFailure,
                err == 0 ? "closed before the expected reply" : Errno("recv", err));
    });
  };
  if (connect(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0) {
    connected(a);
    return;
  }
  if (errno != EINPROGRESS) {
    fail(a, errno);
    return;
  }
  std::weak_ptr<Attempt> weak = a;
  bool ok = loop_.Watch(fd, EPOLLOUT, [weak, fail, connected](std::uint32_t) {
    std::shared_ptr<Attempt> a = weak.lock();
    if (a == nullptr || a->finished || a->fd < 0 || a->connected) return;
    int err = 0;
    socklen_t err_len = sizeof(err);
    getsockopt(a->fd, SOL_SOCKET, SO_ERROR, &err, &err_len);
    if (err != 0) {
      fail(a, err);
      return;
    }
    sockaddr_storage peer{};
    socklen_t peer_len = sizeof(peer);
    if (getpeername(a->fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0)
      return;  // Spurious.
    connected(a);
  });
  if (!ok) {
    fail(a, errno);
    return;
  }
  // The watch holds only a weak reference; the timer holds the attempt until it ends. When the
  // attempt finishes first, the timer is cancelled and the watch removed.
}

// --- HTTP(S) through curl multi. ---

void SystemProber::StartHttp(std::shared_ptr<Attempt> a) {
  CURL* easy = curl_easy_init();
  if (easy == nullptr) {
    a->Finish(ProbeOutcome::kUnknown, "curl_easy_init failed");
    return;
  }
  a->easy = easy;
  a->max_body = options_.max_body_bytes;
  const v1::HttpProbe& h = a->spec.http();
  curl_easy_setopt(easy, CURLOPT_URL, h.url().c_str());
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(a->timeout)));
  curl_easy_setopt(easy, CURLOPT_FRESH_CONNECT, 1L);
  curl_easy_setopt(easy, CURLOPT_FORBID_REUSE, 1L);
  curl_easy_setopt(easy, CURLOPT_PRIVATE, a.get());
  if (!h.method().empty() && h.method() != "GET") {
    if (h.method() == "HEAD") {
      curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
    } else {
      curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, h.method().c_str());
    }
  }
  for (const auto& [name, value] : h.headers()) {
    a->headers = curl_slist_append(a->headers, absl::StrCat(name, ": ", value).c_str());
  }
  if (a->headers != nullptr) curl_easy_setopt(easy, CURLOPT_HTTPHEADER, a->headers);
  if (!h.ca_file().empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, h.ca_file().c_str());
  using WriteFn = size_t (*)(char*, size_t, size_t, void*);
  WriteFn write_fn = [](char* data, size_t size, size_t n, void* userp) -> size_t {
    auto* attempt = static_cast<Attempt*>(userp);
    size_t bytes = size * n;
    size_t room =
        attempt->max_body > attempt->body.size() ? attempt->max_body - attempt->body.size() : 0;
    attempt->body.append(data, bytes < room ? bytes : room);
    return bytes;
  };
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, write_fn);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, a.get());
  curl_->running[easy] = a;
  if (curl_multi_add_handle(curl_->multi, easy) != CURLM_OK) {
    curl_->running.erase(easy);
    a->Finish(ProbeOutcome::kUnknown, "curl_multi_add_handle failed");
  }
}

void SystemProber::DrainCurl() {
  int pending = 0;
  while (CURLMsg* msg = curl_multi_info_read(curl_->multi, &pending)) {
    if (msg->msg == CURLMSG_DONE) OnCurlDone(msg->easy_handle, msg->data.result);
  }
}

void SystemProber::OnCurlDone(void* easy_ptr, int code_int) {
  CURL* easy = static_cast<CURL*>(easy_ptr);
  auto it = curl_->running.find(easy);
  if (it == curl_->running.end()) return;
  std::shared_ptr<Attempt> a = std::move(it->second);
  curl_->running.erase(it);
  curl_multi_remove_handle(curl_->multi, easy);
  auto code = static_cast<CURLcode>(code_int);
  if (code == CURLE_OK) {
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    a->Finish(JudgeHttpResponse(a->spec.http(), status, a->body));
    return;
  }
  ProbeOutcome outcome = ProbeOutcome::kFailure;
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_OUT_OF_MEMORY:
    case CURLE_FAILED_INIT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ENGINE_NOTFOUND:
      outcome = ProbeOutcome::kUnknown;
      break;
    default:
      break;
  }
  a->Finish(outcome, absl::StrCat("http: ", curl_easy_strerror(code)));
}

// --- Exec: posix_spawn, stdout on a pipe, exit through a pidfd, both watched by epoll. ---

void SystemProber::StartExec(std::shared_ptr<Attempt> a) {
  const v1::ExecProbe& e = a->spec.exec();
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) {
    a->Finish(ProbeOutcome::kUnknown, Errno("pipe", errno));
    return;
  }
  fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
  a->out_fd = pipefd[0];

  // The agent's environment holds its credentials: an exec probe gets an allow-list only.
  std::vector<std::string> env_strings = common::ChildEnvironment(
      environ, std::vector<std::string>(e.inherit_env().begin(), e.inherit_env().end()),
      std::map<std::string, std::string>(e.env().begin(), e.env().end()));
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args(e.argv().begin(), e.argv().end());
  std::vector<char*> argv;
  for (std::string& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipefd[1], 1);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigset_t empty;
  sigemptyset(&empty);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  pid_t pid = -1;
  int rc = args[0].find('/') == std::string::npos
               ? posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), envp.data())
               : posix_spawn(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(pipefd[1]);
  if (rc != 0) {
    a->Finish(ProbeOutcome::kUnknown, absl::StrCat("spawn ", args[0], ": ", strerror(rc)));
    return;
  }
  a->pid = pid;
  a->pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (a->pidfd < 0) {
    a->Finish(ProbeOutcome::kUnknown, Errno("pidfd_open", errno));
    return;  // The destructor kills and reaps the child.
  }
  size_t max_out = options_.max_stdout_bytes;
  auto read_out = [max_out](Attempt& at) {
    char buf[4096];
    for (;;) {
      ssize_t n = read(at.out_fd, buf, sizeof(buf));
      if (n > 0) {
        size_t room = max_out > at.out.size() ? max_out - at.out.size() : 0;
        at.out.append(buf, static_cast<size_t>(n) < room ? static_cast<size_t>(n) : room);
        continue;
      }
      return n == 0 || (errno != EAGAIN && errno != EINTR);  // true at EOF or error.
    }
  };
  std::weak_ptr<Attempt> weak = a;
  loop_.Watch(a->out_fd, EPOLLIN, [this, weak, read_out](std::uint32_t) {
    std::shared_ptr<Attempt> at = weak.lock();
    if (at == nullptr || at->out_fd < 0) return;
    if (read_out(*at)) {
      loop_.Unwatch(at->out_fd);
      close(at->out_fd);
      at->out_fd = -1;
    }
  });
  auto cleanup = [this](Attempt& at) {
    loop_.CancelTimer(at.timer);
    at.timer = 0;
    if (at.out_fd >= 0) {
      loop_.Unwatch(at.out_fd);
      close(at.out_fd);
      at.out_fd = -1;
    }
    loop_.Unwatch(at.pidfd);
    close(at.pidfd);
    at.pidfd = -1;
  };
  // The pidfd watch owns the attempt while the child runs.
  loop_.Watch(a->pidfd, EPOLLIN, [a, read_out, cleanup](std::uint32_t) mutable {
    std::shared_ptr<Attempt> at = a;  // Keep alive past Unwatch (which destroys this lambda).
    int status = 0;
    if (waitpid(at->pid, &status, WNOHANG) != at->pid) return;
    at->pid = -1;
    if (at->out_fd >= 0) read_out(*at);
    cleanup(*at);
    at->Finish(JudgeExit(at->spec.exec(), status, at->out));
  });
  a->timer = loop_.AddTimer(a->deadline, [weak, cleanup]() {
    std::shared_ptr<Attempt> at = weak.lock();
    if (at == nullptr || at->pid <= 0) return;
    at->timer = 0;
    kill(-at->pid, SIGKILL);
    waitpid(at->pid, nullptr, 0);
    at->pid = -1;
    cleanup(*at);
    at->Finish(ProbeOutcome::kFailure, "timeout: command killed");
  });
}

}  // namespace foghorn::probes
