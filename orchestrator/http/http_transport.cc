#include "orchestrator/http/http_transport.h"

#include "absl/strings/cord.h"
#include "absl/strings/match.h"

namespace foghorn::http {
namespace {
constexpr char kMaybeSentPayload[] = "type.foghorn.dev/arm.RequestMaybeSent";

bool NameEquals(std::string_view a, std::string_view b) {
  return absl::EqualsIgnoreCase(absl::string_view(a.data(), a.size()),
                                absl::string_view(b.data(), b.size()));
}
}  // namespace

void HttpHeaders::Set(std::string name, std::string value) {
  std::erase_if(fields_, [&](const auto& f) { return NameEquals(f.first, name); });
  fields_.emplace_back(std::move(name), std::move(value));
}

std::optional<std::string> HttpHeaders::Find(std::string_view name) const {
  for (const auto& [k, v] : fields_) {
    if (NameEquals(k, name)) return v;
  }
  return std::nullopt;
}

bool IsIdempotent(const HttpRequest& request) {
  if (request.idempotent.has_value()) return *request.idempotent;
  for (std::string_view m : {"GET", "HEAD", "OPTIONS", "PUT", "DELETE"}) {
    if (NameEquals(request.method, m)) return true;
  }
  return false;
}

absl::Status TransportError(absl::StatusCode code, std::string_view message, bool maybe_sent) {
  absl::Status s(code, absl::string_view(message.data(), message.size()));
  SetRequestMaybeSent(s, maybe_sent);
  return s;
}

void SetRequestMaybeSent(absl::Status& status, bool maybe_sent) {
  if (status.ok()) return;
  status.SetPayload(kMaybeSentPayload, absl::Cord(maybe_sent ? "1" : "0"));
}

bool RequestMaybeSent(const absl::Status& status) {
  if (status.ok()) return false;
  auto p = status.GetPayload(kMaybeSentPayload);
  if (!p.has_value()) return true;
  return *p == "1";
}

namespace {

// Splits "scheme://[userinfo@]host[:port]/rest" into ("scheme://", "host[:port]", "/rest").
void SplitUrl(std::string_view url, std::string_view* scheme, std::string_view* authority,
              std::string_view* rest) {
  size_t sep = url.find("://");
  size_t start = sep == std::string_view::npos ? 0 : sep + 3;
  *scheme = url.substr(0, start);
  size_t end = url.find_first_of("/?#", start);
  if (end == std::string_view::npos) end = url.size();
  std::string_view auth = url.substr(start, end - start);
  size_t at = auth.rfind('@');
  *authority = at == std::string_view::npos ? auth : auth.substr(at + 1);
  *rest = url.substr(end);
}

}  // namespace

std::string UrlForLog(std::string_view url) {
  std::string_view scheme, authority, rest;
  SplitUrl(url, &scheme, &authority, &rest);
  rest = rest.substr(0, rest.find_first_of("?#"));
  return std::string(scheme) + std::string(authority) + std::string(rest);
}

std::string UrlOrigin(std::string_view url) {
  std::string_view scheme, authority, rest;
  SplitUrl(url, &scheme, &authority, &rest);
  return std::string(scheme) + std::string(authority);
}

std::string UrlForLog(const HttpRequest& request) {
  return request.secret_url ? UrlOrigin(request.url) : UrlForLog(request.url);
}

}  // namespace foghorn::http
