// Throw-away TLS material for the control API's TLS and mTLS tests: a CA, a server certificate
// for 127.0.0.1/localhost and a client certificate, all signed by that CA (P-256, OpenSSL).
#ifndef FOGHORN_TESTS_ORCHESTRATOR_API_TEST_PKI_H_
#define FOGHORN_TESTS_ORCHESTRATOR_API_TEST_PKI_H_

#include <string>

#include "absl/status/statusor.h"

namespace foghorn::testing {

struct TestPki {
  // Paths of PEM files in the directory given to GenerateTestPki.
  std::string ca_cert;
  std::string server_cert;
  std::string server_key;
  std::string client_cert;  // CN = client_cn
  std::string client_key;
};

// Writes a fresh PKI into `dir` (which must exist). kInternal when OpenSSL fails.
absl::StatusOr<TestPki> GenerateTestPki(const std::string& dir,
                                        const std::string& client_cn = "foghorn-test-client");

}  // namespace foghorn::testing

#endif  // FOGHORN_TESTS_ORCHESTRATOR_API_TEST_PKI_H_
