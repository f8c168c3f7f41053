#include "probes/result_checks.h"

#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <iterator>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "nlohmann/json.hpp"

namespace foghorn::probes {
namespace {

ProbeResult Make(ProbeOutcome outcome, std::string detail) {
  ProbeResult r;
  r.outcome = outcome;
  r.detail = std::move(detail);
  return r;
}

// Follows a dotted path ("a.b.0.c"; numbers index arrays). nullptr when absent.
const nlohmann::json* Lookup(const nlohmann::json& root, const std::string& path) {
  const nlohmann::json* cur = &root;
  for (absl::string_view part : absl::StrSplit(path, '.')) {
    std::string key(part);
    if (cur->is_object()) {
      auto it = cur->find(key);
      if (it == cur->end()) return nullptr;
      cur = &*it;
    } else if (cur->is_array()) {
      size_t index = 0;
      if (!absl::SimpleAtoi(part, &index) || index >= cur->size()) return nullptr;
      cur = &(*cur)[index];
    } else {
      return nullptr;
    }
  }
  return cur;
}

std::string NormalizeName(std::string name) {
  absl::AsciiStrToLower(&name);
  while (!name.empty() && name.back() == '.') name.pop_back();
  return name;
}

}  // namespace

std::optional<double> ParseMetric(const std::string& text) {
  absl::string_view line = text;
  size_t nl = line.find('\n');
  if (nl != absl::string_view::npos) line = line.substr(0, nl);
  line = absl::StripAsciiWhitespace(line);
  double value = 0;
  if (line.empty() || !absl::SimpleAtod(line, &value) || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

ProbeResult JudgeHttpResponse(const v1::HttpProbe& spec, long status, const std::string& body) {
  bool status_ok = false;
  if (spec.expected_statuses().empty()) {
    status_ok = status >= 200 && status <= 299;
  } else {
    for (const auto& range : spec.expected_statuses()) {
      if (status >= range.start() && status <= range.end()) status_ok = true;
    }
  }
  if (!status_ok) {
    return Make(ProbeOutcome::kFailure, absl::StrCat("http status ", status, " not expected"));
  }
  if (!spec.body_contains().empty() && !absl::StrContains(body, spec.body_contains())) {
    return Make(ProbeOutcome::kFailure, "body lacks the expected text");
  }
  nlohmann::json doc;
  bool need_json = !spec.json_field().empty() || !spec.metric_json_field().empty();
  bool parsed = false;
  if (need_json) {
    doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
    parsed = !doc.is_discarded();
  }
  if (!spec.json_field().empty()) {
    if (!parsed) return Make(ProbeOutcome::kFailure, "body is not JSON");
    const nlohmann::json* field = Lookup(doc, spec.json_field());
    if (field == nullptr) {
      return Make(ProbeOutcome::kFailure,
                  absl::StrCat("json field ", spec.json_field(), " absent"));
    }
    std::string text = field->is_string() ? field->get<std::string>() : field->dump();
    if (text != spec.json_field_value()) {
      return Make(ProbeOutcome::kFailure,
                  absl::StrCat("json field ", spec.json_field(), " is ", text));
    }
  }
  ProbeResult r = Make(ProbeOutcome::kSuccess, absl::StrCat("http status ", status));
  if (!spec.metric_json_field().empty() && parsed) {
    const nlohmann::json* field = Lookup(doc, spec.metric_json_field());
    if (field != nullptr && field->is_number()) {
      r.metric = field->get<double>();
    } else if (field != nullptr && field->is_string()) {
      r.metric = ParseMetric(field->get<std::string>());
    }
  }
  return r;
}

ProbeResult JudgeExit(const v1::ExecProbe& spec, int wait_status, const std::string& stdout_text) {
  ProbeResult r;
  if (WIFSIGNALED(wait_status)) {
    return Make(ProbeOutcome::kFailure, absl::StrCat("killed by signal ", WTERMSIG(wait_status)));
  }
  int code = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
  if (code == 0) {
    r = Make(ProbeOutcome::kSuccess, "exit 0");
  } else if (code == 127) {
    r = Make(ProbeOutcome::kUnknown, "exit 127: command not found");
  } else {
    r = Make(ProbeOutcome::kFailure, absl::StrCat("exit ", code));
  }
  if (spec.metric_from_stdout()) r.metric = ParseMetric(stdout_text);
  return r;
}

ProbeResult JudgeArmState(const v1::ArmStateProbe& spec,
                          const absl::StatusOr<FailoverGroupState>& state) {
  if (!state.ok()) {
    switch (state.status().code()) {
      case absl::StatusCode::kUnavailable:
      case absl::StatusCode::kDeadlineExceeded:
      case absl::StatusCode::kUnauthenticated:
      case absl::StatusCode::kPermissionDenied:
      case absl::StatusCode::kResourceExhausted:
      case absl::StatusCode::kCancelled:
        return Make(ProbeOutcome::kUnknown,
                    absl::StrCat("arm read failed: ", state.status().ToString()));
      default:
        return Make(ProbeOutcome::kFailure,
                    absl::StrCat("arm read failed: ", state.status().ToString()));
    }
  }
  if (spec.expect_role() != v1::ROLE_UNSPECIFIED && state->role != spec.expect_role()) {
    return Make(ProbeOutcome::kFailure, absl::StrCat("role is ", v1::Role_Name(state->role),
                                                     ", want ", v1::Role_Name(spec.expect_role())));
  }
  if (!spec.expect_replication_states().empty()) {
    bool found = false;
    for (const std::string& want : spec.expect_replication_states()) {
      if (absl::EqualsIgnoreCase(want, state->replication_state)) found = true;
    }
    if (!found) {
      return Make(ProbeOutcome::kFailure,
                  absl::StrCat("replication state is '", state->replication_state, "'"));
    }
  }
  return Make(ProbeOutcome::kSuccess,
              absl::StrCat(v1::Role_Name(state->role), " ", state->replication_state));
}

ProbeResult JudgeDns(const v1::DnsProbe& spec, const std::vector<std::string>& addresses,
                     const std::string& canonical_name) {
  if (addresses.empty()) return Make(ProbeOutcome::kFailure, "no addresses");
  std::string summary = absl::StrCat("resolved to ", addresses.front());
  if (spec.expect_any().empty()) return Make(ProbeOutcome::kSuccess, summary);
  std::string canon = NormalizeName(canonical_name);
  for (const std::string& want_raw : spec.expect_any()) {
    std::string want = NormalizeName(want_raw);
    if (!canon.empty() && want == canon) return Make(ProbeOutcome::kSuccess, summary);
    for (const std::string& a : addresses) {
      if (NormalizeName(a) == want) return Make(ProbeOutcome::kSuccess, summary);
    }
  }
  return Make(ProbeOutcome::kFailure,
              absl::StrCat(summary, (canon.empty() ? "" : absl::StrCat(" (", canon, ")")),
                           ", none expected"));
}

namespace {

// Errors of a global read-only service: only "no such resource" is the target's fault.
ProbeResult SignalReadFailed(const absl::Status& status, const std::string& what) {
  return Make(status.code() == absl::StatusCode::kNotFound ? ProbeOutcome::kFailure
                                                           : ProbeOutcome::kUnknown,
              absl::StrCat(what, " read failed: ", status.ToString()));
}

bool InList(const google::protobuf::RepeatedPtrField<std::string>& list, const std::string& v,
            std::initializer_list<const char*> defaults) {
  if (list.empty()) {
    for (const char* d : defaults) {
      if (absl::EqualsIgnoreCase(d, v)) return true;
    }
    return false;
  }
  for (const std::string& want : list) {
    if (absl::EqualsIgnoreCase(want, v)) return true;
  }
  return false;
}

}  // namespace

std::string AzureMetricName(const v1::ProbeSpec& spec) {
  if (!spec.azure_metric().metric().empty()) return spec.azure_metric().metric();
  return spec.metric_kind() == v1::METRIC_KIND_REPLICATION_LAG_SECONDS ? "replication_lag_seconds"
                                                                       : "";
}

std::string AzureMetricAggregation(const v1::AzureMetricProbe& spec) {
  return spec.aggregation().empty() ? "Maximum" : spec.aggregation();
}

absl::Duration AzureMetricMaxAge(const v1::AzureMetricProbe& spec) {
  if (!spec.has_max_sample_age()) return absl::Minutes(5);
  return absl::Seconds(spec.max_sample_age().seconds()) +
         absl::Nanoseconds(spec.max_sample_age().nanos());
}

ProbeResult JudgeAzureMetric(const v1::ProbeSpec& spec,
                             const absl::StatusOr<std::optional<MetricSample>>& sample,
                             absl::Time now) {
  const v1::AzureMetricProbe& m = spec.azure_metric();
  const std::string name = AzureMetricName(spec);
  if (!sample.ok()) return SignalReadFailed(sample.status(), "metric " + name);
  if (!sample->has_value()) {
    return Make(ProbeOutcome::kUnknown, absl::StrCat("no value of ", name, " yet"));
  }
  const MetricSample& v = **sample;
  const absl::Duration age = std::max(absl::ZeroDuration(), now - v.time);
  const absl::Duration max_age = AzureMetricMaxAge(m);
  if (age > max_age) {
    return Make(ProbeOutcome::kUnknown,
                absl::StrCat(name, " is stale: newest value ", absl::FormatDuration(age),
                             " old (max ", absl::FormatDuration(max_age), ")"));
  }
  ProbeResult r;
  r.metric = v.value;
  if (spec.metric_kind() == v1::METRIC_KIND_REPLICATION_LAG_SECONDS) {
    r.metric = v.value + absl::ToDoubleSeconds(age);
  }
  const std::string summary =
      absl::StrCat(name, " ", v.value, " (", absl::FormatDuration(age), " old)");
  if (m.has_max_value() && v.value > m.max_value()) {
    r.outcome = ProbeOutcome::kFailure;
    r.detail = absl::StrCat(summary, " above ", m.max_value());
  } else if (m.has_min_value() && v.value < m.min_value()) {
    r.outcome = ProbeOutcome::kFailure;
    r.detail = absl::StrCat(summary, " below ", m.min_value());
  } else {
    r.outcome = ProbeOutcome::kSuccess;
    r.detail = summary;
  }
  return r;
}

ProbeResult JudgeResourceHealth(const v1::ResourceHealthProbe& spec,
                                const absl::StatusOr<HealthStatus>& status) {
  if (!status.ok()) return SignalReadFailed(status.status(), "resource health");
  std::string detail = status->state.empty() ? "no availabilityState" : status->state;
  if (!status->reason_type.empty()) absl::StrAppend(&detail, " (", status->reason_type, ")");
  if (!status->summary.empty()) absl::StrAppend(&detail, ": ", status->summary.substr(0, 200));
  if (InList(spec.down_states(), status->state, {"Unavailable"})) {
    return Make(ProbeOutcome::kFailure, detail);
  }
  if (status->state.empty() || InList(spec.unknown_states(), status->state, {"Unknown"})) {
    return Make(ProbeOutcome::kUnknown, detail);
  }
  return Make(ProbeOutcome::kSuccess, detail);
}

ProbeResult JudgeReplicationLink(const v1::ReplicationLinkProbe& spec,
                                 const absl::StatusOr<std::vector<LinkStatus>>& links) {
  if (!links.ok()) {
    switch (links.status().code()) {
      case absl::StatusCode::kNotFound:
        return Make(ProbeOutcome::kFailure,
                    absl::StrCat("replication links read failed: ", links.status().ToString()));
      default:
        return Make(ProbeOutcome::kUnknown,
                    absl::StrCat("replication links read failed: ", links.status().ToString()));
    }
  }
  int matched = 0;
  std::string summary;
  for (const LinkStatus& l : *links) {
    if (!spec.partner_server().empty() &&
        !absl::EqualsIgnoreCase(spec.partner_server(), l.partner_server)) {
      continue;
    }
    ++matched;
    const std::string to = absl::StrCat(" (link to ", l.partner_server, "/", l.partner_database,
                                        l.link_type.empty() ? "" : ", ", l.link_type, ")");
    if (spec.expect_role() != v1::ROLE_UNSPECIFIED && l.role != spec.expect_role()) {
      return Make(ProbeOutcome::kFailure, absl::StrCat("role is ", v1::Role_Name(l.role), ", want ",
                                                       v1::Role_Name(spec.expect_role()), to));
    }
    if (absl::EqualsIgnoreCase(l.replication_state, "SEEDING") ||
        absl::EqualsIgnoreCase(l.replication_state, "SUSPENDED")) {
      std::string progress =
          l.percent_complete ? absl::StrCat(" ", *l.percent_complete, "%") : std::string();
      return Make(ProbeOutcome::kFailure,
                  absl::StrCat("not ready: ", l.replication_state, progress, to));
    }
    if (!InList(spec.expect_states(), l.replication_state, {"CATCH_UP"})) {
      return Make(ProbeOutcome::kFailure,
                  absl::StrCat("replication state is '", l.replication_state, "'", to));
    }
    if (summary.empty()) summary = absl::StrCat(l.replication_state, to);
  }
  if (matched == 0) {
    return Make(ProbeOutcome::kFailure,
                spec.partner_server().empty()
                    ? std::string("no replication link")
                    : absl::StrCat("no replication link to ", spec.partner_server()));
  }
  if (matched > 1) absl::StrAppend(&summary, " and ", matched - 1, " more");
  return Make(ProbeOutcome::kSuccess, summary);
}

// ---- TDS PRELOGIN (MS-TDS 2.2.6.5) ----

namespace {

constexpr unsigned char kTdsPrelogin = 0x12;
constexpr unsigned char kTdsTabularResult = 0x04;
constexpr size_t kTdsHeader = 8;
constexpr size_t kTdsMaxPacket = 4096;

unsigned U8(absl::string_view d, size_t i) { return static_cast<unsigned char>(d[i]); }
unsigned U16Be(absl::string_view d, size_t i) { return (U8(d, i) << 8) | U8(d, i + 1); }

}  // namespace

std::string TdsPreloginRequest() {
  // Options: VERSION(6) ENCRYPTION(1) INSTOPT(1, "\0") THREADID(4) MARS(1); 5 tokens of 5 bytes.
  struct Opt {
    unsigned char token;
    std::string data;
  };
  const Opt opts[] = {
      {0x00, std::string("\x0b\x00\x00\x00\x00\x00", 6)},  // client version 11.0, sub-build 0
      {0x01, std::string("\x02", 1)},                      // ENCRYPT_NOT_SUP
      {0x02, std::string("\x00", 1)},                      // default instance
      {0x03, std::string("\x00\x00\x00\x00", 4)},          // thread id
      {0x04, std::string("\x00", 1)},                      // MARS off
  };
  const size_t table = 5 * std::size(opts) + 1;
  std::string payload;
  std::string data;
  for (const Opt& o : opts) {
    const size_t offset = table + data.size();
    payload.push_back(static_cast<char>(o.token));
    payload.push_back(static_cast<char>((offset >> 8) & 0xff));
    payload.push_back(static_cast<char>(offset & 0xff));
    payload.push_back(static_cast<char>((o.data.size() >> 8) & 0xff));
    payload.push_back(static_cast<char>(o.data.size() & 0xff));
    data += o.data;
  }
  payload.push_back(static_cast<char>(0xff));
  payload += data;
  const size_t length = kTdsHeader + payload.size();
  std::string packet;
  packet.push_back(static_cast<char>(kTdsPrelogin));
  packet.push_back(0x01);  // status: end of message
  packet.push_back(static_cast<char>((length >> 8) & 0xff));
  packet.push_back(static_cast<char>(length & 0xff));
  packet.append("\x00\x00", 2);  // SPID
  packet.push_back(0x01);        // packet id
  packet.push_back(0x00);        // window
  return packet + payload;
}

TdsPreloginReply ParseTdsPreloginReply(std::string_view in) {
  const absl::string_view d(in.data(), in.size());
  TdsPreloginReply r;
  auto malformed = [&](std::string why) {
    r.state = TdsParse::kMalformed;
    r.error = std::move(why);
    return r;
  };
  if (d.empty()) return r;
  if (U8(d, 0) != kTdsTabularResult) {
    return malformed(absl::StrCat("packet type 0x", absl::Hex(U8(d, 0)), ", want 0x04"));
  }
  if (d.size() < 4) return r;
  const size_t length = U16Be(d, 2);
  if (length < kTdsHeader + 1 || length > kTdsMaxPacket) {
    return malformed(absl::StrCat("packet length ", length));
  }
  if ((U8(d, 1) & 0x01) == 0) return malformed("prelogin response split over packets");
  if (d.size() < length) return r;
  if (d.size() > length) return malformed("bytes after the prelogin packet");
  const absl::string_view p = d.substr(kTdsHeader, length - kTdsHeader);
  bool terminated = false;
  bool have_version = false;
  size_t i = 0;
  while (i < p.size()) {
    const unsigned token = U8(p, i);
    if (token == 0xff) {
      terminated = true;
      break;
    }
    if (i + 5 > p.size()) return malformed("option table runs past the packet");
    const size_t offset = U16Be(p, i + 1);
    const size_t len = U16Be(p, i + 3);
    if (offset + len > p.size()) {
      return malformed(absl::StrCat("option 0x", absl::Hex(token), " data outside the packet"));
    }
    if (token == 0x00) {
      if (len < 6) return malformed("VERSION option shorter than 6 bytes");
      have_version = true;
      r.version = absl::StrCat(U8(p, offset), ".", U8(p, offset + 1), ".", U16Be(p, offset + 2));
    }
    i += 5;
  }
  if (!terminated) return malformed("option table without the 0xFF terminator");
  if (!have_version) return malformed("no VERSION option");
  r.state = TdsParse::kValid;
  return r;
}

}  // namespace foghorn::probes
