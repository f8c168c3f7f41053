#include "orchestrator/agent/config_check.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "orchestrator/common/files.h"
#include "orchestrator/common/host_port.h"
#include "orchestrator/common/state_dir.h"
#include "orchestrator/config/diagnostic.h"

namespace foghorn::agent {
namespace {

namespace fs = std::filesystem;

// Listen addresses (api.listen, metrics.listen): port 0 picks a free port.
constexpr common::ParseHostPortOptions kListen{.allow_port_zero = true, .default_port = {}};

// The control API refuses tokens shorter than this (api/auth.h); checked here with the same rule.
constexpr size_t kMinTokenLength = 16;

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// Problems of one config, each under its field.
class Problems {
 public:
  explicit Problems(std::string file) : file_(std::move(file)) {}
  void Add(const std::string& field, const std::string& message) {
    diags_.push_back({file_, 0, 0, field, message});
  }
  absl::Status ToStatus() const { return config::DiagnosticsToStatus(diags_); }

 private:
  std::string file_;
  std::vector<config::Diagnostic> diags_;
};

// Reads a whole file (common::ReadFile); nullopt (and `error` set: "cannot read <path>: <why>" or
// "<path> is a directory") when it cannot be read.
std::optional<std::string> ReadFile(const std::string& path, std::string* error) {
  absl::StatusOr<std::string> text = common::ReadFile(path);
  if (!text.ok()) {
    *error = std::string(text.status().message());
    return std::nullopt;
  }
  return *std::move(text);
}

// A PEM passphrase callback that refuses: the agent runs unattended, so an encrypted key cannot be
// used (and OpenSSL's default callback would prompt on the terminal).
int NoPassphrase(char*, int, int, void*) { return -1; }

// The certificates of a PEM file, in order. Empty when there are none.
std::vector<X509Ptr> ParseCertificates(const std::string& pem) {
  std::vector<X509Ptr> certs;
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return certs;
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr)) {
    certs.emplace_back(x);
  }
  ERR_clear_error();  // the loop ends on "no start line"
  return certs;
}

// Reads a PEM file holding at least one certificate; adds a problem and returns empty otherwise.
std::vector<X509Ptr> CheckCertificateFile(Problems& problems, const std::string& field,
                                          const std::string& path) {
  std::string error;
  std::optional<std::string> pem = ReadFile(path, &error);
  if (!pem) {
    problems.Add(field, error);
    return {};
  }
  std::vector<X509Ptr> certs = ParseCertificates(*pem);
  if (certs.empty()) problems.Add(field, absl::StrCat(path, " holds no PEM certificate"));
  return certs;
}

PkeyPtr CheckKeyFile(Problems& problems, const std::string& field, const std::string& path) {
  std::string error;
  std::optional<std::string> pem = ReadFile(path, &error);
  if (!pem) {
    problems.Add(field, error);
    return nullptr;
  }
  BioPtr bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
  PkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr) : nullptr);
  ERR_clear_error();
  if (!key) {
    problems.Add(field, absl::StrCat(path, " holds no unencrypted PEM private key"));
  }
  return key;
}

bool IsWildcard(const std::string& host) { return host == "0.0.0.0" || host == "::"; }

// Whether a file can be created or appended to at `path`: the file, or the nearest existing
// ancestor directory (missing directories are created), must be writable. Root passes access().
std::optional<std::string> WhyNotWritableFile(const fs::path& path) {
  std::error_code ec;
  if (fs::exists(path, ec)) {
    if (!fs::is_regular_file(path, ec)) return absl::StrCat(path.string(), " is not a file");
    if (access(path.c_str(), W_OK) != 0) return absl::StrCat(path.string(), " is not writable");
    return std::nullopt;
  }
  fs::path dir = path.parent_path();
  while (!dir.empty() && !fs::exists(dir, ec)) dir = dir.parent_path();
  if (dir.empty()) dir = ".";
  if (!fs::is_directory(dir, ec)) {
    return absl::StrCat(path.string(), " cannot be created: ", dir.string(), " is not a directory");
  }
  if (access(dir.c_str(), W_OK | X_OK) != 0) {
    return absl::StrCat(path.string(), " cannot be created: ", dir.string(), " is not writable");
  }
  return std::nullopt;
}

void CheckStateDir(Problems& problems, const std::string& state_dir) {
  std::error_code ec;
  const fs::path dir(state_dir);
  if (!fs::exists(dir, ec)) {
    // Created at start-up with its missing parents.
    fs::path parent = dir.parent_path();
    while (!parent.empty() && !fs::exists(parent, ec)) parent = parent.parent_path();
    if (parent.empty()) parent = ".";
    if (!fs::is_directory(parent, ec)) {
      problems.Add("state_dir", absl::StrCat(state_dir, " cannot be created: ", parent.string(),
                                             " is not a directory"));
    } else if (access(parent.c_str(), W_OK | X_OK) != 0) {
      problems.Add("state_dir", absl::StrCat(state_dir, " cannot be created: ", parent.string(),
                                             " is not writable"));
    }
    return;
  }
  if (!fs::is_directory(dir, ec)) {
    problems.Add("state_dir", absl::StrCat(state_dir, " is not a directory"));
    return;
  }
  if (access(dir.c_str(), W_OK | X_OK) != 0) {
    problems.Add("state_dir", absl::StrCat(state_dir, " is not writable"));
    return;
  }
  // An existing directory must be ours and writable by nobody else (common/state_dir.h).
  if (absl::Status s = common::PrepareStateDir(state_dir); !s.ok()) {
    problems.Add("state_dir", std::string(s.message()));
    return;
  }
  const fs::path journal = dir / "journal.db";
  if (fs::exists(journal, ec) &&
      (!fs::is_regular_file(journal, ec) || access(journal.c_str(), R_OK | W_OK) != 0)) {
    problems.Add("state_dir", absl::StrCat(journal.string(), " is not a read-writable file"));
  }
}

void CheckApi(Problems& problems, const v1::ApiSettings& api, const arm::EnvLookup& env) {
  absl::StatusOr<common::HostPort> listen = common::ParseHostPort(api.listen(), kListen);
  if (!listen.ok()) problems.Add("api.listen", std::string(listen.status().message()));

  const v1::ApiTls& tls = api.tls();
  const bool has_tls = !tls.cert_file().empty() || !tls.key_file().empty();
  if (has_tls && tls.cert_file().empty()) problems.Add("api.tls.cert_file", "needed with key_file");
  if (has_tls && tls.key_file().empty()) problems.Add("api.tls.key_file", "needed with cert_file");
  if (!has_tls && !tls.client_ca_file().empty()) {
    problems.Add("api.tls.client_ca_file", "needs cert_file and key_file");
  }
  if (listen.ok() && !common::IsLoopbackHost(listen->host) && (!has_tls || api.tokens().empty())) {
    problems.Add("api.listen",
                 absl::StrCat(api.listen(),
                              " is not a loopback address: the control API then needs tls "
                              "(api.tls.cert_file and key_file) and at least one token "
                              "(api.tokens); missing: ",
                              !has_tls && api.tokens().empty() ? "tls and tokens"
                              : !has_tls                       ? "tls"
                                                               : "tokens"));
  }
  std::vector<X509Ptr> certs;
  PkeyPtr key;
  if (!tls.cert_file().empty()) {
    certs = CheckCertificateFile(problems, "api.tls.cert_file", tls.cert_file());
  }
  if (!tls.key_file().empty()) key = CheckKeyFile(problems, "api.tls.key_file", tls.key_file());
  if (!certs.empty() && key && X509_check_private_key(certs.front().get(), key.get()) != 1) {
    ERR_clear_error();
    problems.Add(
        "api.tls.key_file",
        absl::StrCat(tls.key_file(), " does not match the certificate in ", tls.cert_file()));
  }
  if (!tls.client_ca_file().empty()) {
    CheckCertificateFile(problems, "api.tls.client_ca_file", tls.client_ca_file());
  }

  std::set<std::string> names;
  std::vector<std::pair<std::string, std::string>> values;  // (value, name)
  for (int i = 0; i < api.tokens_size(); ++i) {
    const v1::ApiToken& t = api.tokens(i);
    const std::string field = absl::StrCat("api.tokens[", i, "]");
    if (!t.name().empty() && !names.insert(t.name()).second) {
      problems.Add(field + ".name", absl::StrCat("\"", t.name(), "\" is used by another token"));
    }
    std::optional<std::string> value;
    if (!t.token_file().empty() && t.token_env().empty()) {
      std::string error;
      value = ReadFile(t.token_file(), &error);
      if (!value) problems.Add(field + ".token_file", error);
    } else if (!t.token_env().empty() && t.token_file().empty()) {
      value = env(t.token_env());
      if (!value) {
        problems.Add(field + ".token_env",
                     absl::StrCat("environment variable ", t.token_env(), " is not set or empty"));
      }
    }
    if (!value) continue;
    const std::string trimmed(absl::StripAsciiWhitespace(*value));
    if (trimmed.size() < kMinTokenLength) {
      problems.Add(field, absl::StrCat("the token's value must be at least ", kMinTokenLength,
                                       " characters"));
      continue;
    }
    for (const auto& [other_value, other_name] : values) {
      if (other_value == trimmed) {
        problems.Add(field, absl::StrCat("has the same value as token \"", other_name, "\""));
      }
    }
    values.emplace_back(trimmed, t.name());
  }
}

void CheckMetrics(Problems& problems, const v1::AgentConfig& config) {
  const std::string& listen = config.metrics().listen();
  if (listen == "off") return;
  absl::StatusOr<common::HostPort> metrics = common::ParseHostPort(listen, kListen);
  if (!metrics.ok()) {
    problems.Add("metrics.listen", std::string(metrics.status().message()));
    return;
  }
  if (!common::IsLoopbackHost(metrics->host) && !config.metrics().allow_non_loopback()) {
    problems.Add("metrics.listen",
                 absl::StrCat(listen,
                              " is not a loopback address: /metrics is plain HTTP without "
                              "authentication; set metrics.allow_non_loopback: true to serve it "
                              "there anyway"));
  }
  absl::StatusOr<common::HostPort> api = common::ParseHostPort(config.api().listen(), kListen);
  if (api.ok() && api->port != 0 && api->port == metrics->port &&
      (api->host == metrics->host || IsWildcard(api->host) || IsWildcard(metrics->host))) {
    problems.Add("metrics.listen",
                 absl::StrCat(listen, " takes the control API's port (api.listen ",
                              config.api().listen(), ")"));
  }
}

void CheckArm(Problems& problems, const v1::ArmSettings& arm, const arm::EnvLookup& env) {
  if (!arm.ca_file().empty()) CheckCertificateFile(problems, "arm.ca_file", arm.ca_file());
  const v1::ArmCredentials& creds = arm.credentials();
  if (!creds.token_file().empty()) {
    std::string error;
    std::optional<std::string> token = ReadFile(creds.token_file(), &error);
    if (!token) {
      problems.Add("arm.credentials.token_file", error);
    } else if (absl::StripAsciiWhitespace(*token).empty()) {
      problems.Add("arm.credentials.token_file", absl::StrCat(creds.token_file(), " is empty"));
    }
  }
  if (!creds.token_env().empty() && !env(creds.token_env())) {
    problems.Add("arm.credentials.token_env",
                 absl::StrCat("environment variable ", creds.token_env(), " is not set or empty"));
  }
  if (creds.token_file().empty() && creds.token_env().empty()) {
    // The Azure default chain (arm/credentials.h): the variable overrides the config.
    std::optional<std::string> host = env("AZURE_AUTHORITY_HOST");
    const std::string field = host ? "arm.credentials.authority_host (AZURE_AUTHORITY_HOST)"
                                   : "arm.credentials.authority_host";
    if (!host && !creds.authority_host().empty()) host = creds.authority_host();
    if (host && !absl::StartsWithIgnoreCase(*host, "https://")) {
      problems.Add(field, "must be an https URL");
    }
    if (std::optional<std::string> file = env("FOGHORN_ARM_TOKEN_FILE");
        file && !env("FOGHORN_ARM_TOKEN")) {
      std::string error;
      if (!ReadFile(*file, &error)) problems.Add("FOGHORN_ARM_TOKEN_FILE", error);
    }
  }
}

bool IsHttpUrlWithHost(const std::string& url) {
  for (absl::string_view scheme : {"https://", "http://"}) {
    if (absl::StartsWithIgnoreCase(url, scheme)) {
      absl::string_view rest = absl::string_view(url).substr(scheme.size());
      return !rest.empty() && rest.front() != '/' && rest.front() != ':';
    }
  }
  return false;
}

}  // namespace

absl::Status CheckAgentConfig(const std::string& file, const v1::AgentConfig& config,
                              const arm::EnvLookup& env) {
  Problems problems(file);
  CheckApi(problems, config.api(), env);
  CheckMetrics(problems, config);
  CheckArm(problems, config.arm(), env);
  CheckStateDir(problems, config.state_dir());
  if (!config.log().file().empty()) {
    if (auto why = WhyNotWritableFile(config.log().file())) problems.Add("log.file", *why);
  }
  for (int i = 0; i < config.webhooks_size(); ++i) {
    const std::string& url = config.webhooks(i).url();
    if (!url.empty() && !IsHttpUrlWithHost(url)) {
      problems.Add(absl::StrCat("webhooks[", i, "].url"),
                   "is not an http(s) URL with a host");  // not echoed: it may hold a secret
    }
  }
  return problems.ToStatus();
}

}  // namespace foghorn::agent
