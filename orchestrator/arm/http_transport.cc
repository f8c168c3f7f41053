#include "orchestrator/arm/http_transport.h"

#include "absl/strings/cord.h"
#include "absl/strings/match.h"

namespace foghorn::arm {
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

std::string UrlForLog(std::string_view url) {
  size_t cut = url.find_first_of("?#");
  return std::string(url.substr(0, cut));
}

}  // namespace foghorn::arm
