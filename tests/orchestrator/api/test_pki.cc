#include "tests/orchestrator/api/test_pki.h"

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <memory>

#include "absl/strings/str_cat.h"

namespace foghorn::testing {
namespace {

struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertFree {
  void operator()(X509* c) const { X509_free(c); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;
using CertPtr = std::unique_ptr<X509, CertFree>;

enum class Kind { kCa, kServer, kClient };

bool AddExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

CertPtr NewCert(EVP_PKEY* key, const std::string& cn, X509* issuer, EVP_PKEY* issuer_key,
                Kind kind) {
  CertPtr cert(X509_new());
  if (!cert) return nullptr;
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof(serial)) != 1) return nullptr;
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24L * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509* signer = issuer == nullptr ? cert.get() : issuer;
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  bool ok = true;
  if (kind == Kind::kCa) {
    ok = ok && AddExt(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    ok = ok && AddExt(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    ok = ok && AddExt(cert.get(), signer, NID_subject_key_identifier, "hash");
  } else {
    ok = ok && AddExt(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
    ok = ok && AddExt(cert.get(), signer, NID_key_usage, "critical,digitalSignature");
    ok = ok && AddExt(cert.get(), signer, NID_ext_key_usage,
                      kind == Kind::kServer ? "serverAuth" : "clientAuth");
    if (kind == Kind::kServer) {
      ok = ok && AddExt(cert.get(), signer, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
    }
    ok = ok && AddExt(cert.get(), signer, NID_subject_key_identifier, "hash");
    ok = ok && AddExt(cert.get(), signer, NID_authority_key_identifier, "keyid:always");
  }
  if (!ok) return nullptr;
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) == 0) return nullptr;
  return cert;
}

absl::Status WritePem(const std::string& path, X509* cert, EVP_PKEY* key) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return absl::InternalError(absl::StrCat("cannot write ", path));
  int ok = cert != nullptr ? PEM_write_X509(f, cert)
                           : PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  if (ok != 1) return absl::InternalError(absl::StrCat("cannot encode ", path));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TestPki> GenerateTestPki(const std::string& dir, const std::string& client_cn) {
  KeyPtr ca_key(EVP_EC_gen("P-256"));
  KeyPtr server_key(EVP_EC_gen("P-256"));
  KeyPtr client_key(EVP_EC_gen("P-256"));
  if (!ca_key || !server_key || !client_key) return absl::InternalError("cannot generate keys");
  CertPtr ca = NewCert(ca_key.get(), "foghorn test CA", nullptr, ca_key.get(), Kind::kCa);
  if (!ca) return absl::InternalError("cannot build the CA");
  CertPtr server = NewCert(server_key.get(), "localhost", ca.get(), ca_key.get(), Kind::kServer);
  CertPtr client = NewCert(client_key.get(), client_cn, ca.get(), ca_key.get(), Kind::kClient);
  if (!server || !client) return absl::InternalError("cannot build the certificates");
  TestPki pki{dir + "/ca.pem", dir + "/server.pem", dir + "/server.key", dir + "/client.pem",
              dir + "/client.key"};
  for (auto [path, cert, key] :
       {std::tuple{pki.ca_cert, ca.get(), static_cast<EVP_PKEY*>(nullptr)},
        std::tuple{pki.server_cert, server.get(), static_cast<EVP_PKEY*>(nullptr)},
        std::tuple{pki.server_key, static_cast<X509*>(nullptr), server_key.get()},
        std::tuple{pki.client_cert, client.get(), static_cast<EVP_PKEY*>(nullptr)},
        std::tuple{pki.client_key, static_cast<X509*>(nullptr), client_key.get()}}) {
    absl::Status s = WritePem(path, cert, key);
    if (!s.ok()) return s;
  }
  return pki;
}

}  // namespace foghorn::testing
