// The one parser of "host:port" text in foghorn: the control API's and /metrics' listen
// addresses, TCP probe targets, drill listener addresses, the CLI's --addr and the authority of
// the ARM endpoint URL. One grammar everywhere, so an address that `foghornd --check` accepts is
// the address the agent binds or dials, and "is this loopback?" has one answer.
#ifndef FOGHORN_ORCHESTRATOR_COMMON_HOST_PORT_H_
#define FOGHORN_ORCHESTRATOR_COMMON_HOST_PORT_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace foghorn::common {

// A parsed address.
struct HostPort {
  std::string host;              // without the brackets of an IPv6 literal
  int port = 0;                  // 0 only when ParseHostPortOptions::allow_port_zero
  bool is_ipv6_literal = false;  // written as "[v6]" (the only way to write an IPv6 literal)
};

struct ParseHostPortOptions {
  // Listen addresses take port 0 ("pick a free port"); addresses to dial do not.
  bool allow_port_zero = false;
  // When set, "host" and "[v6]" without ":port" take this port; otherwise the port is required.
  std::optional<int> default_port;
};

// Parses "host:port" or "[ipv6]:port". The grammar:
//  - an IPv6 literal is written in brackets and must parse as one (inet_pton; no zone id);
//    "::1:80" is refused, since the port could not be told from the address;
//  - otherwise the host is an IPv4 dotted quad (when it holds only digits and dots) or a DNS
//    name: dot-separated labels of 1-63 letters, digits and '-', not starting or ending with
//    '-', at most 253 characters in all;
//  - the port is 1-5 decimal digits (no sign, no spaces), 1-65535, or 0 with allow_port_zero;
//    without ":port" the default_port when given.
// INVALID_ARGUMENT with a message that quotes `text` and says what is wrong. Pure; thread-safe.
absl::StatusOr<HostPort> ParseHostPort(absl::string_view text, ParseHostPortOptions options = {});

// True when `host` (as HostPort::host holds it: no brackets) is an IP literal of this machine's
// loopback interface: an IPv4 dotted quad in 127.0.0.0/8, or the IPv6 address ::1 in any
// spelling ("0::1"). Names never count, not even "localhost", and neither do lookalikes such as
// "127.0.0.1.example" or the IPv4-mapped "::ffff:127.0.0.1". Use it where a name would be a
// hole: plain http to the ARM endpoint is allowed only here.
bool IsLoopbackIpLiteral(absl::string_view host);

// IsLoopbackIpLiteral(host), or `host` is exactly "localhost" (lowercase, no trailing dot), which
// the resolver maps to loopback without asking DNS. The rule for listen addresses and CLI targets
// that may go without TLS: anything else (0.0.0.0, ::, a LAN address, any other name) is not
// loopback. Pure; thread-safe.
bool IsLoopbackHost(absl::string_view host);

}  // namespace foghorn::common

#endif  // FOGHORN_ORCHESTRATOR_COMMON_HOST_PORT_H_
