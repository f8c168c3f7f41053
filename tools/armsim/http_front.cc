#include "tools/armsim/http_front.h"

#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "tools/armsim/certificate.h"

namespace foghorn::armsim {
namespace {

// Finds the socket of a plain-HTTP connection by its ports (httplib does not expose it).
int FindSocket(int local_port, int remote_port) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int found = -1;
  while (dirent* e = readdir(dir)) {
    int fd = std::atoi(e->d_name);
    if (fd <= 2) continue;
    sockaddr_storage local{}, peer{};
    socklen_t ll = sizeof(local), pl = sizeof(peer);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &ll) != 0) continue;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &pl) != 0) continue;
    if (local.ss_family != AF_INET || peer.ss_family != AF_INET) continue;
    if (ntohs(reinterpret_cast<sockaddr_in*>(&local)->sin_port) == local_port &&
        ntohs(reinterpret_cast<sockaddr_in*>(&peer)->sin_port) == remote_port) {
      found = fd;
      break;
    }
  }
  closedir(dir);
  return found;
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpFront>> HttpFront::Create(const ArmSimOptions& options,
                                                             httplib::Server::Handler handler) {
  std::unique_ptr<httplib::Server> server;
  std::string ca_path;
  if (options.tls) {
    std::string cert = options.cert_file, key = options.key_file;
    if (cert.empty()) {
      if (options.cert_dir.empty()) {
        return absl::InvalidArgumentError("tls needs cert_dir or cert_file/key_file");
      }
      auto paths = GenerateCertificates(options.cert_dir);
      if (!paths.ok()) return paths.status();
      cert = paths->cert;
      key = paths->key;
      ca_path = paths->ca_cert;
    } else {
      ca_path = options.ca_file.empty() ? cert : options.ca_file;
    }
    auto ssl = std::make_unique<httplib::SSLServer>(cert.c_str(), key.c_str());
    if (!ssl->is_valid()) return absl::InvalidArgumentError("cannot load TLS certificate/key");
    server = std::move(ssl);
  } else {
    server = std::make_unique<httplib::Server>();
  }
  std::unique_ptr<HttpFront> front(new HttpFront(std::move(server), std::move(ca_path)));
  httplib::Server& http = *front->server_;
  int threads = options.threads;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // Debian's cpp-httplib leaves TCP_NODELAY off; accepted sockets inherit the listener's option,
  // and without it delayed ACKs cap a keep-alive client at ~25 requests/s.
  // The listening socket (the only one this callback sees) is kept to raise its backlog in Bind.
  http.set_socket_options([listen_fd = front->listen_fd_](int sock) {
    int one = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    *listen_fd = sock;
  });
  http.set_payload_max_length(options.max_body_bytes);
  http.set_keep_alive_max_count(100000);
  http.set_keep_alive_timeout(5);
  http.set_read_timeout(30);
  http.Get(".*", handler);
  http.Post(".*", handler);
  http.Put(".*", handler);
  http.Patch(".*", handler);
  http.Delete(".*", handler);
  http.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        SendArm(res, ArmError(500, "InternalServerError", "The emulator hit an internal error."));
      });
  http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 400 && !req.has_header("Content-Length") &&
        !req.has_header("Transfer-Encoding")) {
      SendArm(res, ArmError(411, "LengthRequired",
                            "The request needs a Content-Length header (use 0 for no body)."));
    } else if (res.status == 413) {
      SendArm(res, ArmError(400, "InvalidRequestContent",
                            "The request content was invalid: the body is too large."));
    } else if (res.status == 404 || res.status == 405) {
      SendArm(res, ArmError(res.status, "NotFound", "No route matches the request."));
    } else {
      SendArm(res, ArmError(res.status, "BadRequest", "The request could not be read."));
    }
  });
  return front;
}

HttpFront::HttpFront(std::unique_ptr<httplib::Server> server, std::string ca_cert_path)
    : server_(std::move(server)),
      ca_cert_path_(std::move(ca_cert_path)),
      listen_fd_(std::make_shared<int>(-1)) {}

HttpFront::~HttpFront() { Stop(); }

absl::StatusOr<int> HttpFront::Bind(const std::string& host, int port) {
  int bound =
      port == 0 ? server_->bind_to_any_port(host) : (server_->bind_to_port(host, port) ? port : -1);
  if (bound <= 0) return absl::UnavailableError(absl::StrCat("cannot bind ", host, ":", port));
  // cpp-httplib listens with a backlog of 5: a burst of new connections (hundreds of groups
  // failing over at once, each POST on a fresh connection) overflows it and the kernel drops
  // SYNs, which clients retry after a second. ARM's front end has no such limit; listen() again
  // raises the backlog of the listening socket.
  if (*listen_fd_ >= 0) ::listen(*listen_fd_, 4096);
  return bound;
}

void HttpFront::Start() {
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // stop() is a no-op until the loop runs, so wait for it (bounded) to make Stop reliable.
  for (int i = 0; i < 5000 && !server_->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void HttpFront::Stop() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

void SendJson(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json; charset=utf-8");
}

void SendArm(httplib::Response& res, const ArmResponse& arm) {
  res.status = arm.status;
  for (const auto& [k, v] : arm.headers) res.set_header(k, v);
  if (arm.body) {
    res.set_content(arm.body->dump(), "application/json; charset=utf-8");
  } else {
    res.body.clear();
  }
}

void DropConnection(const httplib::Request& req) {
  int fd = req.ssl != nullptr ? SSL_get_fd(req.ssl) : FindSocket(req.local_port, req.remote_port);
  if (fd < 0) return;
  linger l{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  shutdown(fd, SHUT_RDWR);
}

}  // namespace foghorn::armsim
