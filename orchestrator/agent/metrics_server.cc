#include "orchestrator/agent/metrics_server.h"

#include <httplib.h>

#include <cctype>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "orchestrator/common/host_port.h"

namespace foghorn::agent {

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(
    const std::string& listen, common::MetricsRegistry& metrics, Options options) {
  absl::StatusOr<common::HostPort> address =
      common::ParseHostPort(listen, {.allow_port_zero = true, .default_port = {}});
  if (!address.ok()) return address.status();
  const std::string& host = address->host;
  const int port = address->port;
  std::unique_ptr<MetricsServer> m(new MetricsServer());
  m->server_ = std::make_unique<httplib::Server>();
  m->server_->Get("/metrics", [&metrics](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics.Render(), "text/plain; version=0.0.4");
  });
  m->server_->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  for (auto& [path, route] : options.routes) {
    // httplib matches a pattern; quote the path so it is matched exactly.
    std::string pattern;
    for (char c : path) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '/' && c != '_' && c != '-') {
        pattern += '\\';
      }
      pattern += c;
    }
    m->server_->Get(
        pattern, [route = std::move(route)](const httplib::Request& req, httplib::Response& res) {
          HttpGet get;
          get.path = req.path;
          get.authorization = req.get_header_value("Authorization");
          for (const auto& [k, v] : req.params) get.query.emplace_back(k, v);
          HttpReply reply = route(get);
          res.status = reply.status;
          for (const auto& [k, v] : reply.headers) res.set_header(k, v);
          res.set_content(std::move(reply.body), reply.content_type.c_str());
        });
  }
  if (port == 0) {
    m->port_ = m->server_->bind_to_any_port(host);
  } else {
    m->port_ = m->server_->bind_to_port(host, port) ? port : -1;
  }
  if (m->port_ <= 0) {
    return absl::UnavailableError(absl::StrCat("metrics: cannot listen on ", listen));
  }
  httplib::Server* server = m->server_.get();
  std::atomic<bool>* exited = &m->exited_;
  m->thread_ = std::thread([server, exited] {
    server->listen_after_bind();
    *exited = true;
  });
  // httplib's stop() does nothing until listen_after_bind() has marked the server running: a
  // Shutdown() in that window (a start-up that fails right after this one) would leave the thread
  // serving and the join waiting forever. So Start returns only once the server runs (or its
  // thread has already ended); the wait is the thread's first few instructions.
  while (!server->is_running() && !m->exited_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return m;
}

MetricsServer::~MetricsServer() { Shutdown(); }

void MetricsServer::Shutdown() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace foghorn::agent
