// The HTTP(S) front door of foghorn-armsim, in cpp-httplib terms and free of routes: the TLS
// material (a generated CA and server certificate, or the caller's), the server settings real
// clients need (worker threads, TCP_NODELAY, a deep listen backlog, the body limit, keep-alive,
// ARM-shaped error pages), binding, the serving thread, and the helpers that answer a request or
// drop its connection without an answer (reset faults, black holes).
#ifndef FOGHORN_TOOLS_ARMSIM_HTTP_FRONT_H_
#define FOGHORN_TOOLS_ARMSIM_HTTP_FRONT_H_

#include <httplib.h>

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "tools/armsim/armsim_server.h"
#include "tools/armsim/emulator.h"

namespace foghorn::armsim {

class HttpFront {
 public:
  // Creates the server: HTTPS unless !options.tls, with options.cert_file/key_file, or else a
  // CA and server certificate generated into options.cert_dir. Every GET, POST, PUT, PATCH and
  // DELETE goes to `handler`, which must outlive the front. kInvalidArgument for missing or
  // unloadable TLS material; the errors of GenerateCertificates().
  static absl::StatusOr<std::unique_ptr<HttpFront>> Create(const ArmSimOptions& options,
                                                           httplib::Server::Handler handler);
  ~HttpFront();  // Stop()
  HttpFront(const HttpFront&) = delete;
  HttpFront& operator=(const HttpFront&) = delete;

  // Binds host:port (0 = any free port); returns the bound port, kUnavailable if it cannot bind.
  absl::StatusOr<int> Bind(const std::string& host, int port);
  // Serves on a background thread; returns once the accept loop runs. Call after Bind().
  void Start();
  // Stops accepting, waits for the workers and the serving thread. Requests still running must
  // be able to finish. Idempotent.
  void Stop();

  // The CA clients should trust: the generated ca.pem, options.ca_file or options.cert_file;
  // empty without TLS.
  const std::string& ca_cert_path() const { return ca_cert_path_; }

 private:
  HttpFront(std::unique_ptr<httplib::Server> server, std::string ca_cert_path);

  std::unique_ptr<httplib::Server> server_;
  std::string ca_cert_path_;
  std::shared_ptr<int> listen_fd_;  // set by the socket-options callback when the server binds
  std::thread thread_;
};

// Answers with a JSON body.
void SendJson(httplib::Response& res, int status, const nlohmann::json& body);
// Answers with an ARM response: its status, headers and body (none for a body-less response).
void SendArm(httplib::Response& res, const ArmResponse& arm);
// Resets the request's connection (RST) so the client gets no answer at all. The handler still
// returns normally; whatever it answered is never delivered.
void DropConnection(const httplib::Request& req);

}  // namespace foghorn::armsim

#endif  // FOGHORN_TOOLS_ARMSIM_HTTP_FRONT_H_
