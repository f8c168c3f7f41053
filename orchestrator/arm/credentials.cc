#include "orchestrator/arm/credentials.h"

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "orchestrator/common/files.h"

namespace foghorn::arm {
namespace {

using Json = nlohmann::json;

absl::string_view V(std::string_view s) { return absl::string_view(s.data(), s.size()); }

std::string TrimSlash(std::string_view s) {
  while (!s.empty() && s.back() == '/') s.remove_suffix(1);
  return std::string(s);
}

// Token and assertion files hold one token: a few KB at most.
constexpr std::size_t kMaxTokenFileBytes = 64 * 1024;

absl::StatusOr<std::string> ReadSmallFile(const std::string& path, std::string_view what) {
  absl::StatusOr<std::string> text = common::ReadFile(path, kMaxTokenFileBytes);
  if (!text.ok()) {
    return absl::UnauthenticatedError(
        absl::StrCat("credential ", V(what), ": token file: ", text.status().message()));
  }
  std::string s(absl::StripAsciiWhitespace(*text));
  if (s.empty()) {
    return absl::UnauthenticatedError(
        absl::StrCat("credential ", V(what), ": token file '", path, "' is empty"));
  }
  return s;
}

void Register(const std::shared_ptr<common::Redactor>& r, const std::string& secret) {
  if (r) r->AddSecret(secret);
}

// An access token (or assertion) that the next refresh replaces: the redactor keeps the newest few.
void RegisterToken(const std::shared_ptr<common::Redactor>& r, const std::string& token) {
  if (r) r->AddSecret(token, /*rotating=*/true);
}

// Reads "exp" from a JWT's payload without verifying it (we only need a refresh time).
std::optional<absl::Time> JwtExpiry(const std::string& token) {
  std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3) return std::nullopt;
  std::string payload;
  if (!absl::WebSafeBase64Unescape(parts[1], &payload)) return std::nullopt;
  Json j = Json::parse(payload, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  auto it = j.find("exp");
  if (it == j.end() || !it->is_number()) return std::nullopt;
  return absl::FromUnixSeconds(it->get<std::int64_t>());
}

std::optional<std::int64_t> JsonInt(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return std::nullopt;
  if (it->is_number_integer()) return it->get<std::int64_t>();
  if (it->is_number_float()) {
    const double d = it->get<double>();
    // Out-of-range doubles (a hostile "expires_in": 3E59) must not reach the cast.
    if (!(d > -9.0e18 && d < 9.0e18)) return std::nullopt;
    return static_cast<std::int64_t>(d);
  }
  if (it->is_string()) {
    std::int64_t v = 0;
    if (absl::SimpleAtoi(it->get<std::string>(), &v)) return v;
  }
  return std::nullopt;
}

// Turns a token-endpoint failure into a status without the secret: the identity provider's error
// code and trace id only.
absl::Status TokenEndpointError(std::string_view cred, std::string_view where,
                                const absl::StatusOr<http::HttpResponse>& r) {
  if (!r.ok()) {
    return absl::UnavailableError(absl::StrCat("credential ", V(cred), ": token request to ",
                                               V(where), " failed: ", r.status().message()));
  }
  std::string code;
  std::string trace;
  Json j = Json::parse(r->body, nullptr, false);
  if (!j.is_discarded() && j.is_object()) {
    if (auto it = j.find("error"); it != j.end()) {
      if (it->is_string()) code = it->get<std::string>();
      if (it->is_object() && it->contains("code") && (*it)["code"].is_string()) {
        code = (*it)["code"].get<std::string>();
      }
    }
    if (auto it = j.find("trace_id"); it != j.end() && it->is_string()) {
      trace = it->get<std::string>();
    }
  }
  std::string msg = absl::StrCat("credential ", V(cred), ": token request to ", V(where),
                                 " failed: http ", r->status);
  if (!code.empty()) absl::StrAppend(&msg, " ", code.substr(0, 100));
  if (!trace.empty()) absl::StrAppend(&msg, " (trace-id=", trace.substr(0, 80), ")");
  const int s = r->status;
  if (s == 429 || s == 408 || s >= 500) return absl::UnavailableError(msg);
  return absl::UnauthenticatedError(msg);
}

}  // namespace

std::string FormEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (unsigned char c : s) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string ScopeForEndpoint(std::string_view arm_endpoint) {
  return TrimSlash(arm_endpoint) + "/.default";
}

std::string ResourceForEndpoint(std::string_view arm_endpoint) {
  return TrimSlash(arm_endpoint) + "/";
}

absl::StatusOr<AccessToken> ParseTokenResponse(std::string_view body, absl::Time now) {
  Json j = Json::parse(body.begin(), body.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError("token response is not a json object");
  }
  auto it = j.find("access_token");
  if (it == j.end() || !it->is_string() || it->get<std::string>().empty()) {
    return absl::InvalidArgumentError("token response has no access_token");
  }
  AccessToken t;
  t.token = it->get<std::string>();
  if (auto in = JsonInt(j, "expires_in"); in && *in > 0) {
    t.expires_on = now + absl::Seconds(*in);
  } else if (auto on = JsonInt(j, "expires_on"); on && *on > 0) {
    t.expires_on = absl::FromUnixSeconds(*on);
  } else {
    t.expires_on = now + absl::Hours(1);
  }
  if (auto r = JsonInt(j, "refresh_in"); r && *r > 0) t.refresh_on = now + absl::Seconds(*r);
  return t;
}

// ---- StaticTokenCredential ----

StaticTokenCredential::StaticTokenCredential(const common::Clock& clock, Options options,
                                             std::shared_ptr<common::Redactor> redactor)
    : clock_(clock), options_(std::move(options)), redactor_(std::move(redactor)) {
  if (options_.token_file.empty()) Register(redactor_, options_.token);
}

absl::StatusOr<AccessToken> StaticTokenCredential::GetToken() {
  absl::MutexLock lock(&mu_);
  if (!cached_) {
    AccessToken t;
    if (!options_.token_file.empty()) {
      auto s = ReadSmallFile(options_.token_file, "static");
      if (!s.ok()) return s.status();
      t.token = *std::move(s);
      RegisterToken(redactor_, t.token);
    } else {
      t.token = options_.token;
    }
    if (t.token.empty()) return absl::UnauthenticatedError("credential static: empty token");
    t.expires_on = JwtExpiry(t.token).value_or(clock_.Now() + options_.assumed_lifetime);
    cached_ = std::move(t);
  }
  return *cached_;
}

void StaticTokenCredential::Invalidate() {
  absl::MutexLock lock(&mu_);
  if (!options_.token_file.empty()) cached_.reset();
}

// ---- EntraTokenCredential ----

EntraTokenCredential::EntraTokenCredential(http::HttpTransport& transport,
                                           const common::Clock& clock,
                                           CredentialOptions common_options, Options options)
    : transport_(transport),
      clock_(clock),
      common_(std::move(common_options)),
      options_(std::move(options)) {
  Register(common_.redactor, options_.client_secret);
}

absl::StatusOr<AccessToken> EntraTokenCredential::GetToken() {
  const std::string where = absl::StrCat(TrimSlash(common_.authority_host), "/", options_.tenant_id,
                                         "/oauth2/v2.0/token");
  std::string body =
      absl::StrCat("grant_type=client_credentials&client_id=", FormEncode(options_.client_id),
                   "&scope=", FormEncode(common_.scope));
  if (!options_.assertion_file.empty()) {
    auto assertion = ReadSmallFile(options_.assertion_file, name());
    if (!assertion.ok()) return assertion.status();
    RegisterToken(common_.redactor, *assertion);
    absl::StrAppend(&body,
                    "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%"
                    "3Ajwt-bearer&client_assertion=",
                    FormEncode(*assertion));
  } else {
    absl::StrAppend(&body, "&client_secret=", FormEncode(options_.client_secret));
  }
  http::HttpRequest req;
  req.method = "POST";
  req.url = where;
  req.body = std::move(body);
  req.timeout = common_.request_timeout;
  req.headers.Add("Content-Type", "application/x-www-form-urlencoded");
  req.headers.Add("Accept", "application/json");
  const absl::Time now = clock_.Now();
  auto r = transport_.Send(req);
  if (!r.ok() || r->status != 200) return TokenEndpointError(name(), where, r);
  auto t = ParseTokenResponse(r->body, now);
  if (!t.ok()) {
    return absl::UnauthenticatedError(
        absl::StrCat("credential ", V(name()), ": ", t.status().message()));
  }
  RegisterToken(common_.redactor, t->token);
  return t;
}

// ---- ManagedIdentityCredential ----

ManagedIdentityCredential::ManagedIdentityCredential(http::HttpTransport& transport,
                                                     const common::Clock& clock,
                                                     CredentialOptions common_options,
                                                     Options options)
    : transport_(transport),
      clock_(clock),
      common_(std::move(common_options)),
      options_(std::move(options)) {
  Register(common_.redactor, options_.identity_header);
}

absl::StatusOr<AccessToken> ManagedIdentityCredential::GetToken() {
  http::HttpRequest req;
  req.timeout = common_.request_timeout;
  req.headers.Add("Accept", "application/json");
  std::string where;
  if (!options_.identity_endpoint.empty()) {
    where = options_.identity_endpoint;
    req.url = absl::StrCat(where, absl::StrContains(where, "?") ? "&" : "?",
                           "api-version=2019-08-01&resource=", FormEncode(common_.resource));
    req.headers.Add("X-IDENTITY-HEADER", options_.identity_header);
  } else {
    where = common_.imds_endpoint;
    req.url =
        absl::StrCat(where, "?api-version=2018-02-01&resource=", FormEncode(common_.resource));
    req.headers.Add("Metadata", "true");
    req.bypass_proxy = true;
  }
  if (!options_.client_id.empty()) {
    absl::StrAppend(&req.url, "&client_id=", FormEncode(options_.client_id));
  }
  const absl::Time now = clock_.Now();
  auto r = transport_.Send(req);
  if (!r.ok() || r->status != 200) return TokenEndpointError(name(), http::UrlForLog(where), r);
  auto t = ParseTokenResponse(r->body, now);
  if (!t.ok()) {
    return absl::UnauthenticatedError(
        absl::StrCat("credential managed-identity: ", t.status().message()));
  }
  RegisterToken(common_.redactor, t->token);
  return t;
}

// ---- CachingTokenCredential ----

CachingTokenCredential::CachingTokenCredential(std::unique_ptr<TokenCredential> inner,
                                               const common::Clock& clock,
                                               absl::Duration refresh_margin)
    : inner_(std::move(inner)), clock_(clock), margin_(refresh_margin) {}

absl::StatusOr<AccessToken> CachingTokenCredential::GetToken() {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_.Now();
  if (cached_ && now < refresh_at_) return *cached_;
  auto fresh = inner_->GetToken();
  if (!fresh.ok()) {
    // Keep serving a token that is still valid: a blip at the identity provider must not stop
    // an in-flight failover.
    if (cached_ && now < cached_->expires_on) return *cached_;
    return fresh.status();
  }
  const absl::Duration lifetime = fresh->expires_on - now;
  absl::Time at = fresh->expires_on - margin_;
  if (lifetime > absl::Hours(2)) at = std::min(at, now + lifetime / 2);
  if (fresh->refresh_on) at = std::min(at, *fresh->refresh_on);
  // A token shorter-lived than the margin is used until shortly before it expires.
  if (at <= now) at = now + lifetime / 2;
  refresh_at_ = at;
  cached_ = *std::move(fresh);
  return *cached_;
}

void CachingTokenCredential::Invalidate() {
  {
    absl::MutexLock lock(&mu_);
    cached_.reset();
  }
  inner_->Invalidate();
}

// ---- default chain ----

EnvLookup ProcessEnvironment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr || *v == '\0') return std::nullopt;
    return std::string(v);
  };
}

absl::StatusOr<std::unique_ptr<TokenCredential>> MakeDefaultCredential(
    const EnvLookup& env, http::HttpTransport& transport, const common::Clock& clock,
    CredentialOptions options) {
  if (auto host = env("AZURE_AUTHORITY_HOST")) options.authority_host = *host;
  if (!absl::StartsWithIgnoreCase(options.authority_host, "https://")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "authority host '", http::UrlForLog(options.authority_host), "' must be an https url"));
  }
  const absl::Duration margin = options.refresh_margin;
  auto cache = [&](std::unique_ptr<TokenCredential> c) -> std::unique_ptr<TokenCredential> {
    return std::make_unique<CachingTokenCredential>(std::move(c), clock, margin);
  };

  auto token = env("FOGHORN_ARM_TOKEN");
  auto token_file = env("FOGHORN_ARM_TOKEN_FILE");
  if (token || token_file) {
    StaticTokenCredential::Options o;
    if (token_file) {
      o.token_file = *token_file;
    } else {
      o.token = *token;
    }
    return cache(std::make_unique<StaticTokenCredential>(clock, o, options.redactor));
  }
  auto tenant = env("AZURE_TENANT_ID");
  auto client = env("AZURE_CLIENT_ID");
  if (auto secret = env("AZURE_CLIENT_SECRET"); secret && tenant && client) {
    return cache(std::make_unique<EntraTokenCredential>(
        transport, clock, options, EntraTokenCredential::Options{*tenant, *client, *secret, ""}));
  }
  if (auto file = env("AZURE_FEDERATED_TOKEN_FILE"); file && tenant && client) {
    return cache(std::make_unique<EntraTokenCredential>(
        transport, clock, options, EntraTokenCredential::Options{*tenant, *client, "", *file}));
  }
  ManagedIdentityCredential::Options mi;
  if (client) mi.client_id = *client;
  auto endpoint = env("IDENTITY_ENDPOINT");
  auto header = env("IDENTITY_HEADER");
  if (endpoint && header) {
    mi.identity_endpoint = *endpoint;
    mi.identity_header = *header;
  } else {
    std::optional<std::string> host = env("IMDS_ENDPOINT");
    if (!host) host = env("AZURE_POD_IDENTITY_AUTHORITY_HOST");
    if (host) options.imds_endpoint = TrimSlash(*host) + "/metadata/identity/oauth2/token";
  }
  return cache(std::make_unique<ManagedIdentityCredential>(transport, clock, options, mi));
}

}  // namespace foghorn::arm
