// Microsoft Entra ID tokens for ARM. Credentials follow the Azure SDKs' default chain
// (environment client secret -> workload identity -> managed identity), plus a static token from a
// variable or file for tests and the emulator. Tokens are cached and refreshed before they expire.
// Secrets and tokens are registered with the Redactor and never appear in a log line or a status
// message.
#ifndef FOGHORN_ORCHESTRATOR_ARM_CREDENTIALS_H_
#define FOGHORN_ORCHESTRATOR_ARM_CREDENTIALS_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "orchestrator/common/clock.h"
#include "orchestrator/common/log.h"
#include "orchestrator/http/http_transport.h"

namespace foghorn::arm {

struct AccessToken {
  std::string token;
  absl::Time expires_on = absl::InfiniteFuture();
  // When a cache should fetch a new token (from refresh_in, or derived from expires_on).
  std::optional<absl::Time> refresh_on;
};

// Produces bearer tokens for ARM. Implementations are thread-safe.
class TokenCredential {
 public:
  virtual ~TokenCredential() = default;
  // Returns a token valid now. UNAUTHENTICATED when the identity provider rejects the request or
  // the credential is misconfigured; UNAVAILABLE when the provider cannot be reached or answers
  // 429/5xx. Messages name the credential and never contain the secret or the token.
  virtual absl::StatusOr<AccessToken> GetToken() = 0;
  // Forgets any cached token, e.g. after ARM answered 401 (expired or revoked token).
  virtual void Invalidate() {}
  // A short name for logs: "static", "client-secret", "workload-identity", "managed-identity".
  virtual std::string_view name() const = 0;
};

struct CredentialOptions {
  // Entra ID authority (AZURE_AUTHORITY_HOST); must be https.
  std::string authority_host = "https://login.microsoftonline.com";
  // OAuth2 v2 scope and managed-identity resource of the ARM endpoint (see ScopeForEndpoint).
  std::string scope = "https://management.azure.com/.default";
  std::string resource = "https://management.azure.com/";
  std::string imds_endpoint = "http://169.254.169.254/metadata/identity/oauth2/token";
  absl::Duration request_timeout = absl::Seconds(10);
  // Refresh a cached token this long before it expires.
  absl::Duration refresh_margin = absl::Minutes(5);
  // Secrets and tokens are registered here; may be null (then nothing is registered).
  std::shared_ptr<common::Redactor> redactor;
};

// The ".default" scope and the managed-identity resource for an ARM endpoint such as
// "https://management.azure.com" or "https://management.usgovcloudapi.net".
std::string ScopeForEndpoint(std::string_view arm_endpoint);
std::string ResourceForEndpoint(std::string_view arm_endpoint);

// A fixed token, given directly or read from a file (re-read after Invalidate(), so a test or a
// sidecar can rotate it). A JWT's "exp" claim sets the expiry; otherwise `assumed_lifetime`.
class StaticTokenCredential final : public TokenCredential {
 public:
  struct Options {
    std::string token;       // used when token_file is empty
    std::string token_file;  // read on first use and after Invalidate()
    absl::Duration assumed_lifetime = absl::Hours(1);
  };
  StaticTokenCredential(const common::Clock& clock, Options options,
                        std::shared_ptr<common::Redactor> redactor);
  absl::StatusOr<AccessToken> GetToken() override;
  void Invalidate() override;
  std::string_view name() const override { return "static"; }

 private:
  const common::Clock& clock_;
  const Options options_;
  std::shared_ptr<common::Redactor> redactor_;
  absl::Mutex mu_;
  std::optional<AccessToken> cached_ ABSL_GUARDED_BY(mu_);
};

// OAuth2 client credentials against {authority}/{tenant}/oauth2/v2.0/token, with either a client
// secret or a federated assertion read from a file (workload identity). Not cached: wrap it in
// CachingTokenCredential.
class EntraTokenCredential final : public TokenCredential {
 public:
  struct Options {
    std::string tenant_id;
    std::string client_id;
    std::string client_secret;   // client-secret flow when non-empty
    std::string assertion_file;  // workload identity when non-empty (AZURE_FEDERATED_TOKEN_FILE)
  };
  EntraTokenCredential(http::HttpTransport& transport, const common::Clock& clock,
                       CredentialOptions common_options, Options options);
  absl::StatusOr<AccessToken> GetToken() override;
  std::string_view name() const override {
    return options_.assertion_file.empty() ? "client-secret" : "workload-identity";
  }

 private:
  http::HttpTransport& transport_;
  const common::Clock& clock_;
  const CredentialOptions common_;
  const Options options_;
};

// Managed identity: Azure IMDS (GET with "Metadata: true", never through a proxy) or the App
// Service / Functions form (IDENTITY_ENDPOINT with the X-IDENTITY-HEADER secret). Not cached.
class ManagedIdentityCredential final : public TokenCredential {
 public:
  struct Options {
    std::string identity_endpoint;  // App Service form when non-empty
    std::string identity_header;    // its secret header value
    std::string client_id;          // user-assigned identity (optional)
  };
  ManagedIdentityCredential(http::HttpTransport& transport, const common::Clock& clock,
                            CredentialOptions common_options, Options options);
  absl::StatusOr<AccessToken> GetToken() override;
  std::string_view name() const override { return "managed-identity"; }

 private:
  http::HttpTransport& transport_;
  const common::Clock& clock_;
  const CredentialOptions common_;
  const Options options_;
};

// Caches another credential's token and fetches a new one `refresh_margin` before expiry (or at
// refresh_in / half-life for long tokens). If a refresh fails while the cached token is still
// valid, the cached token is returned. Concurrent callers share one fetch.
class CachingTokenCredential final : public TokenCredential {
 public:
  CachingTokenCredential(std::unique_ptr<TokenCredential> inner, const common::Clock& clock,
                         absl::Duration refresh_margin);
  absl::StatusOr<AccessToken> GetToken() override;
  void Invalidate() override;
  std::string_view name() const override { return inner_->name(); }

 private:
  std::unique_ptr<TokenCredential> inner_;
  const common::Clock& clock_;
  const absl::Duration margin_;
  absl::Mutex mu_;
  std::optional<AccessToken> cached_ ABSL_GUARDED_BY(mu_);
  absl::Time refresh_at_ ABSL_GUARDED_BY(mu_);
};

// Reads one environment variable; nullopt when unset or empty.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
EnvLookup ProcessEnvironment();

// The default chain. The first source whose variables are set is used (no silent fall-through to
// another identity when it fails at run time):
//   1. FOGHORN_ARM_TOKEN or FOGHORN_ARM_TOKEN_FILE   static token (tests, emulator)
//   2. AZURE_TENANT_ID + AZURE_CLIENT_ID + AZURE_CLIENT_SECRET   client secret
//   3. AZURE_FEDERATED_TOKEN_FILE + AZURE_TENANT_ID + AZURE_CLIENT_ID   workload identity
//   4. IDENTITY_ENDPOINT + IDENTITY_HEADER   App Service managed identity
//   5. otherwise IMDS managed identity (IMDS_ENDPOINT or AZURE_POD_IDENTITY_AUTHORITY_HOST
//      override the host; AZURE_CLIENT_ID selects a user-assigned identity)
// AZURE_AUTHORITY_HOST overrides `options.authority_host` (INVALID_ARGUMENT unless https).
// The result is wrapped in CachingTokenCredential. `transport` and `clock` must outlive it.
absl::StatusOr<std::unique_ptr<TokenCredential>> MakeDefaultCredential(
    const EnvLookup& env, http::HttpTransport& transport, const common::Clock& clock,
    CredentialOptions options);

// Parses an identity provider's token response (access_token, expires_in / expires_on as number or
// string, refresh_in). INVALID_ARGUMENT when there is no access token.
absl::StatusOr<AccessToken> ParseTokenResponse(std::string_view body, absl::Time now);

// application/x-www-form-urlencoded / query component encoding.
std::string FormEncode(std::string_view s);

}  // namespace foghorn::arm

#endif  // FOGHORN_ORCHESTRATOR_ARM_CREDENTIALS_H_
