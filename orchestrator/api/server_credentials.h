// The listening side of the control API's security, decided before the server starts: the listen
// address checked against the TLS and token settings (a non-loopback address needs TLS and at
// least one token), and the TLS files read into gRPC server credentials (server TLS, or mutual
// TLS with a client CA). Also the peer host that names a caller without a token in refusal
// audits. Callers' tokens and roles are auth.h.
#ifndef FOGHORN_ORCHESTRATOR_API_SERVER_CREDENTIALS_H_
#define FOGHORN_ORCHESTRATOR_API_SERVER_CREDENTIALS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "foghorn/v1/agent.pb.h"
#include "grpcpp/security/server_credentials.h"

namespace foghorn::api {

// Where and how the API listens.
struct ListenSecurity {
  std::string listen;                                    // host:port; default 127.0.0.1:7443
  std::shared_ptr<grpc::ServerCredentials> credentials;  // TLS or insecure
  std::string tls_mode;                                  // "off", "tls" or "mtls" (for the log)
};

// Checks `settings` and reads its TLS files. `open_auth` is true when no token is configured
// (every caller is "local"). INVALID_ARGUMENT for a malformed listen address, a TLS block missing
// its certificate or key, a client CA without a certificate, or a non-loopback address without
// TLS and tokens; NOT_FOUND naming the setting for an unreadable file (1 MiB at most).
absl::StatusOr<ListenSecurity> ResolveListenSecurity(const v1::ApiSettings& settings,
                                                     bool open_auth);

// The host of a gRPC peer string without its port ("ipv4:127.0.0.1:5000" -> "127.0.0.1",
// "ipv6:%5B::1%5D:5000" -> "::1"); a peer it cannot parse is returned shortened
// (EchoForMessage).
std::string PeerHost(const std::string& peer);

}  // namespace foghorn::api

#endif  // FOGHORN_ORCHESTRATOR_API_SERVER_CREDENTIALS_H_
