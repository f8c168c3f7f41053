#include "orchestrator/common/host_port.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace foghorn::common {
namespace {

bool IsDnsName(absl::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  for (absl::string_view label : absl::StrSplit(host, '.')) {
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    }
  }
  return true;
}

// inet_pton wants a NUL-terminated string.
bool ParseIpv4(absl::string_view host, in_addr* out) {
  return inet_pton(AF_INET, std::string(host).c_str(), out) == 1;
}

bool ParseIpv6(absl::string_view host, in6_addr* out) {
  return inet_pton(AF_INET6, std::string(host).c_str(), out) == 1;
}

absl::Status Invalid(absl::string_view text, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("\"", text, "\"", why));
}

}  // namespace

absl::StatusOr<HostPort> ParseHostPort(absl::string_view text, ParseHostPortOptions options) {
  HostPort out;
  absl::string_view host;
  absl::string_view port;
  bool has_port = false;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == absl::string_view::npos) return Invalid(text, " has an unclosed [ipv6]");
    host = text.substr(1, close - 1);
    absl::string_view rest = text.substr(close + 1);
    if (!rest.empty() && rest.front() == ':') {
      port = rest.substr(1);
      has_port = true;
    } else if (!rest.empty() || !options.default_port.has_value()) {
      return Invalid(text, " is not [ipv6]:port");
    }
    in6_addr v6{};
    if (!ParseIpv6(host, &v6)) {
      return Invalid(text, absl::StrCat(": ", host, " is not an IPv6 address"));
    }
    out.is_ipv6_literal = true;
  } else {
    const size_t colon = text.rfind(':');
    host = colon == absl::string_view::npos ? text : text.substr(0, colon);
    if (colon != absl::string_view::npos) {
      port = text.substr(colon + 1);
      has_port = true;
    }
    if (host.empty() || (!has_port && !options.default_port.has_value())) {
      return Invalid(text, " is not host:port");
    }
    if (host.find(':') != absl::string_view::npos) {
      return Invalid(text, ": write an IPv6 address in brackets, e.g. [::1]:7443");
    }
    in_addr v4{};
    const bool numeric = host.find_first_not_of("0123456789.") == absl::string_view::npos;
    if (numeric ? !ParseIpv4(host, &v4) : !IsDnsName(host)) {
      return Invalid(text, absl::StrCat(": ", host, " is not an IP address or host name"));
    }
  }
  out.host = std::string(host);
  const int min_port = options.allow_port_zero ? 0 : 1;
  if (!has_port) {
    out.port = *options.default_port;
    return out;
  }
  // SimpleAtoi alone would take "+5" and " 5".
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != port.npos ||
      !absl::SimpleAtoi(port, &out.port) || out.port < min_port || out.port > 65535) {
    return Invalid(text, absl::StrCat(" has no valid port (", min_port, "-65535)"));
  }
  return out;
}

bool IsLoopbackIpLiteral(absl::string_view host) {
  in_addr v4{};
  if (host.find_first_not_of("0123456789.") == absl::string_view::npos && ParseIpv4(host, &v4)) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  return ParseIpv6(host, &v6) && IN6_IS_ADDR_LOOPBACK(&v6);
}

bool IsLoopbackHost(absl::string_view host) {
  return host == "localhost" || IsLoopbackIpLiteral(host);
}

}  // namespace foghorn::common
