#include "tools/armsim/certificate.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "orchestrator/common/files.h"

namespace foghorn::armsim {
namespace {

struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertFree {
  void operator()(X509* c) const { X509_free(c); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;
using CertPtr = std::unique_ptr<X509, CertFree>;

KeyPtr NewKey() { return KeyPtr(EVP_EC_gen("P-256")); }

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

enum class Kind { kCa, kServer, kClient };

CertPtr NewCert(EVP_PKEY* key, const char* cn, X509* issuer, EVP_PKEY* issuer_key, Kind kind) {
  CertPtr cert(X509_new());
  if (!cert) return nullptr;
  X509_set_version(cert.get(), 2);
  unsigned char serial_bytes[16];
  if (RAND_bytes(serial_bytes, sizeof(serial_bytes)) != 1) return nullptr;
  serial_bytes[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial_bytes, sizeof(serial_bytes), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 365L * 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("foghorn-armsim"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
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

// Encoded in memory, then written whole: a key file is 0600 from the start, never readable by
// others in between.
absl::Status WritePem(const std::string& path, X509* cert, EVP_PKEY* key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  int ok = bio == nullptr ? 0
           : cert != nullptr
               ? PEM_write_bio_X509(bio.get(), cert)
               : PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  if (ok != 1) return absl::InternalError(absl::StrCat("cannot encode '", path, "'"));
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return common::WriteFileAtomically(path, absl::string_view(data, size),
                                     key != nullptr ? 0600 : 0644);
}

}  // namespace

absl::StatusOr<CertificatePaths> GenerateCertificates(const std::string& dir,
                                                      const std::string& client_cn) {
  KeyPtr ca_key = NewKey();
  KeyPtr key = NewKey();
  if (!ca_key || !key) return absl::InternalError("cannot generate P-256 keys");
  CertPtr ca = NewCert(ca_key.get(), "foghorn-armsim CA", nullptr, ca_key.get(), Kind::kCa);
  if (!ca) return absl::InternalError("cannot build the CA certificate");
  CertPtr cert = NewCert(key.get(), "localhost", ca.get(), ca_key.get(), Kind::kServer);
  if (!cert) return absl::InternalError("cannot build the server certificate");
  CertificatePaths paths{dir + "/ca.pem", dir + "/cert.pem", dir + "/key.pem", "", ""};
  if (auto s = WritePem(paths.ca_cert, ca.get(), nullptr); !s.ok()) return s;
  if (auto s = WritePem(paths.cert, cert.get(), nullptr); !s.ok()) return s;
  if (auto s = WritePem(paths.key, nullptr, key.get()); !s.ok()) return s;
  if (!client_cn.empty()) {
    KeyPtr client_key = NewKey();
    if (!client_key) return absl::InternalError("cannot generate P-256 keys");
    CertPtr client =
        NewCert(client_key.get(), client_cn.c_str(), ca.get(), ca_key.get(), Kind::kClient);
    if (!client) return absl::InternalError("cannot build the client certificate");
    paths.client_cert = dir + "/client.pem";
    paths.client_key = dir + "/client-key.pem";
    if (auto s = WritePem(paths.client_cert, client.get(), nullptr); !s.ok()) return s;
    if (auto s = WritePem(paths.client_key, nullptr, client_key.get()); !s.ok()) return s;
  }
  return paths;
}

}  // namespace foghorn::armsim
