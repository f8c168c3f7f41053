#include "orchestrator/api/server_credentials.h"

#include <cstring>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "grpcpp/security/server_credentials.h"
#include "orchestrator/api/request_limits.h"
#include "orchestrator/common/files.h"
#include "orchestrator/common/host_port.h"
#include "orchestrator/common/status_macros.h"

namespace foghorn::api {
namespace {

constexpr char kDefaultListen[] = "127.0.0.1:7443";

// A TLS file named in the API settings (common::ReadFile, 1 MiB at most), NOT_FOUND naming
// `what` when it cannot be read.
absl::StatusOr<std::string> ReadFile(const std::string& path, const std::string& what) {
  absl::StatusOr<std::string> text = common::ReadFile(path, std::size_t{1} << 20);
  if (!text.ok()) {
    return absl::NotFoundError(
        absl::StrCat("cannot read ", what, " ", path, ": ", text.status().message()));
  }
  return text;
}

// True for 127.0.0.0/8, ::1 and localhost (common::IsLoopbackHost).
absl::StatusOr<bool> IsLoopbackListen(const std::string& listen) {
  absl::StatusOr<common::HostPort> address =
      common::ParseHostPort(listen, {.allow_port_zero = true, .default_port = std::nullopt});
  if (!address.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("api.listen: ", address.status().message()));
  }
  return common::IsLoopbackHost(address->host);
}

}  // namespace

absl::StatusOr<ListenSecurity> ResolveListenSecurity(const v1::ApiSettings& settings,
                                                     bool open_auth) {
  ListenSecurity out;
  out.listen = settings.listen().empty() ? kDefaultListen : settings.listen();
  ASSIGN_OR_RETURN(bool loopback, IsLoopbackListen(out.listen));
  const v1::ApiTls& tls = settings.tls();
  const bool has_tls = !tls.cert_file().empty() || !tls.key_file().empty();
  if (has_tls && (tls.cert_file().empty() || tls.key_file().empty())) {
    return absl::InvalidArgumentError("api.tls needs both cert_file and key_file");
  }
  if (!tls.client_ca_file().empty() && !has_tls) {
    return absl::InvalidArgumentError("api.tls.client_ca_file needs cert_file and key_file");
  }
  if (!loopback && (!has_tls || open_auth)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "api.listen ", out.listen,
        " is not a loopback address: the control API then requires tls and at least one token"));
  }
  if (!has_tls) {
    out.credentials = grpc::InsecureServerCredentials();
    out.tls_mode = "off";
    return out;
  }
  grpc::SslServerCredentialsOptions ssl;
  ASSIGN_OR_RETURN(std::string cert, ReadFile(tls.cert_file(), "api.tls.cert_file"));
  ASSIGN_OR_RETURN(std::string key, ReadFile(tls.key_file(), "api.tls.key_file"));
  ssl.pem_key_cert_pairs.push_back({key, cert});
  if (!tls.client_ca_file().empty()) {
    ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadFile(tls.client_ca_file(), "api.tls.client_ca_file"));
    ssl.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  } else {
    ssl.client_certificate_request = GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
  }
  out.credentials = grpc::SslServerCredentials(ssl);
  out.tls_mode = tls.client_ca_file().empty() ? "tls" : "mtls";
  return out;
}

std::string PeerHost(const std::string& peer) {
  // gRPC percent-encodes the brackets of IPv6 peers ("ipv6:%5B::1%5D:5000").
  std::string p = absl::StrReplaceAll(
      peer, {{"%5B", "["}, {"%5D", "]"}, {"%5b", "["}, {"%5d", "]"}, {"%25", "%"}});
  for (const char* prefix : {"ipv4:", "ipv6:", "unix:"}) {
    if (absl::StartsWith(p, prefix)) p = p.substr(std::strlen(prefix));
  }
  absl::StatusOr<common::HostPort> address =
      common::ParseHostPort(p, {.allow_port_zero = true, .default_port = 0});
  if (address.ok()) return address->host;
  return EchoForMessage(p);
}

}  // namespace foghorn::api
