#include "probes/probe_config.h"

#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "orchestrator/common/status_macros.h"

namespace foghorn::probes {
namespace {

absl::Duration FromProto(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

absl::Status Invalid(const v1::ProbeSpec& spec, absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("probe '", spec.name(), "': field ", field, ": ", why));
}

}  // namespace

absl::StatusOr<ProbeTiming> ResolveTiming(const v1::ProbeSpec& spec) {
  ProbeTiming t;
  if (spec.has_interval()) t.interval = FromProto(spec.interval());
  if (spec.has_timeout()) t.timeout = FromProto(spec.timeout());
  if (spec.has_jitter()) t.jitter = FromProto(spec.jitter());
  if (spec.has_initial_delay()) t.initial_delay = FromProto(spec.initial_delay());
  if (spec.unhealthy_threshold() != 0) t.unhealthy_threshold = spec.unhealthy_threshold();
  if (spec.healthy_threshold() != 0) t.healthy_threshold = spec.healthy_threshold();
  if (t.interval <= absl::ZeroDuration()) return Invalid(spec, "interval", "must be positive");
  if (t.timeout <= absl::ZeroDuration()) return Invalid(spec, "timeout", "must be positive");
  if (t.timeout >= t.interval) return Invalid(spec, "timeout", "must be below the interval");
  if (t.jitter < absl::ZeroDuration()) return Invalid(spec, "jitter", "must not be negative");
  if (t.initial_delay < absl::ZeroDuration()) {
    return Invalid(spec, "initial_delay", "must not be negative");
  }
  if (t.unhealthy_threshold < 1) return Invalid(spec, "unhealthy_threshold", "must be >= 1");
  if (t.healthy_threshold < 1) return Invalid(spec, "healthy_threshold", "must be >= 1");
  return t;
}

absl::Status SplitHostPort(const std::string& address, std::string* host, int* port) {
  std::string h;
  std::string p;
  if (!address.empty() && address[0] == '[') {
    size_t close = address.find(']');
    if (close == std::string::npos || close + 1 >= address.size() || address[close + 1] != ':') {
      return absl::InvalidArgumentError(absl::StrCat("bad address '", address, "'"));
    }
    h = address.substr(1, close - 1);
    p = address.substr(close + 2);
  } else {
    size_t colon = address.rfind(':');
    if (colon == std::string::npos || colon == 0) {
      return absl::InvalidArgumentError(absl::StrCat("address '", address, "' needs host:port"));
    }
    h = address.substr(0, colon);
    p = address.substr(colon + 1);
  }
  int n = 0;
  if (!absl::SimpleAtoi(p, &n) || n < 1 || n > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("bad port in address '", address, "'"));
  }
  *host = h;
  *port = n;
  return absl::OkStatus();
}

absl::Status ValidateProbeSpec(const v1::ProbeSpec& spec) {
  if (spec.name().empty()) {
    return absl::InvalidArgumentError("probe: field name: must not be empty");
  }
  if (spec.name().find('/') != std::string::npos) {
    return Invalid(spec, "name", "must not contain '/'");
  }
  RETURN_IF_ERROR(ResolveTiming(spec).status());
  switch (spec.kind_case()) {
    case v1::ProbeSpec::kTcp:
      if (!spec.tcp().address().empty()) {
        std::string host;
        int port = 0;
        absl::Status s = SplitHostPort(spec.tcp().address(), &host, &port);
        if (!s.ok()) return Invalid(spec, "tcp.address", s.message());
      }
      break;
    case v1::ProbeSpec::kHttp:
      if (spec.http().url().empty()) return Invalid(spec, "http.url", "must not be empty");
      for (const auto& r : spec.http().expected_statuses()) {
        if (r.start() < 100 || r.end() > 599 || r.start() > r.end()) {
          return Invalid(spec, "http.expected_statuses", "need 100 <= start <= end <= 599");
        }
      }
      if (spec.http().json_field().empty() != spec.http().json_field_value().empty()) {
        return Invalid(spec, "http.json_field", "json_field and json_field_value go together");
      }
      break;
    case v1::ProbeSpec::kDns:
      if (spec.dns().name().empty()) return Invalid(spec, "dns.name", "must not be empty");
      break;
    case v1::ProbeSpec::kArmState:
      break;
    case v1::ProbeSpec::kExec:
      if (spec.exec().argv().empty() || spec.exec().argv(0).empty()) {
        return Invalid(spec, "exec.argv", "must name a command");
      }
      break;
    case v1::ProbeSpec::KIND_NOT_SET:
      return Invalid(spec, "kind", "one of tcp, http, dns, arm_state, exec is required");
  }
  return absl::OkStatus();
}

absl::Status ValidateHealthRule(const v1::HealthRule& rule) {
  std::string where = absl::StrCat("health rule for ", v1::ProbeTarget_Name(rule.target()));
  if (rule.target() == v1::PROBE_TARGET_UNSPECIFIED) {
    return absl::InvalidArgumentError("health rule: field target: must be set");
  }
  if (rule.probes().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": field probes: must not be empty"));
  }
  if (rule.quorum() == v1::QUORUM_MODE_K_OF_N && (rule.k() < 1 || rule.k() > rule.probes_size())) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": field k: need 1 <= k <= ", rule.probes_size()));
  }
  return absl::OkStatus();
}

}  // namespace foghorn::probes
