// Self-signed TLS material for foghorn-armsim: a throw-away CA and a server certificate for
// 127.0.0.1 / localhost signed by it, so SDK clients can trust the emulator by pointing at ca.pem.
#ifndef FOGHORN_TOOLS_ARMSIM_CERTIFICATE_H_
#define FOGHORN_TOOLS_ARMSIM_CERTIFICATE_H_

#include <string>

#include "absl/status/statusor.h"

namespace foghorn::armsim {

struct CertificatePaths {
  std::string ca_cert;  // <dir>/ca.pem: the CA clients trust
  std::string cert;     // <dir>/cert.pem: server certificate (SAN IP:127.0.0.1, DNS:localhost)
  std::string key;      // <dir>/key.pem: server private key (P-256), mode 0600
  // With a client CN: <dir>/client.pem and <dir>/client-key.pem, a client-auth certificate signed
  // by the same CA (for mutual-TLS tests); empty otherwise.
  std::string client_cert;
  std::string client_key;
};

// Generates a fresh CA and server certificate (valid for 1 year) into `dir`, which must exist,
// overwriting earlier files, and, when `client_cn` is not empty, a client certificate with that
// common name. Returns kInternal if OpenSSL fails and kPermissionDenied/kNotFound if the files
// cannot be written. Thread-safe.
absl::StatusOr<CertificatePaths> GenerateCertificates(const std::string& dir,
                                                      const std::string& client_cn = "");

}  // namespace foghorn::armsim

#endif  // FOGHORN_TOOLS_ARMSIM_CERTIFICATE_H_
