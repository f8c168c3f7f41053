#include "tests/orchestrator/api/test_pki.h"

#include "tools/armsim/certificate.h"

namespace foghorn::testing {

absl::StatusOr<TestPki> GenerateTestPki(const std::string& dir, const std::string& client_cn) {
  // The emulator's certificate generator already issues a CA, a loopback server certificate and,
  // on request, a client certificate from the same CA.
  absl::StatusOr<armsim::CertificatePaths> paths = armsim::GenerateCertificates(dir, client_cn);
  if (!paths.ok()) return paths.status();
  return TestPki{paths->ca_cert, paths->cert, paths->key, paths->client_cert, paths->client_key};
}

}  // namespace foghorn::testing
