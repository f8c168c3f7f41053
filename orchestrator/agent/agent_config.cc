#include "orchestrator/agent/agent_config.h"

#include <algorithm>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "orchestrator/common/durations.h"
#include "orchestrator/common/files.h"
#include "orchestrator/common/host_port.h"
#include "orchestrator/common/status_macros.h"
#include "orchestrator/config/diagnostic.h"
#include "orchestrator/config/yaml_to_proto.h"

namespace foghorn::agent {
namespace {

// The ARM endpoint is parsed, not prefix-matched ("http://127.0.0.1.evil.example" is not
// loopback): https to any host, plain http only to a loopback IP literal (the emulator), never
// userinfo, a query or a fragment.
absl::Status CheckArmEndpoint(const std::string& url) {
  std::string rest;
  bool https = false;
  if (absl::StartsWithIgnoreCase(url, "https://")) {
    https = true;
    rest = url.substr(8);
  } else if (absl::StartsWithIgnoreCase(url, "http://")) {
    rest = url.substr(7);
  } else {
    return absl::InvalidArgumentError("must be an https URL");
  }
  const std::string authority = rest.substr(0, rest.find_first_of("/?#"));
  const std::string tail = rest.substr(authority.size());
  if (authority.find('@') != std::string::npos) {
    return absl::InvalidArgumentError("must not carry credentials (user@host)");
  }
  if (tail.find_first_of("?#") != std::string::npos) {
    return absl::InvalidArgumentError("must not carry a query or a fragment");
  }
  ASSIGN_OR_RETURN(common::HostPort host,
                   common::ParseHostPort(authority, {.default_port = https ? 443 : 80}));
  if (!https && !common::IsLoopbackIpLiteral(host.host)) {
    return absl::InvalidArgumentError(
        "must be https (plain http only to a loopback IP literal such as 127.0.0.1)");
  }
  return absl::OkStatus();
}

namespace fs = std::filesystem;

std::string Resolve(const std::string& base_dir, const std::string& path) {
  if (path.empty() || fs::path(path).is_absolute()) return path;
  return (fs::path(base_dir) / path).lexically_normal().string();
}

}  // namespace

journal::RetentionPolicy JournalRetention(const v1::AgentConfig& config) {
  const v1::JournalSettings::Retention& r = config.journal().retention();
  journal::RetentionPolicy out;
  if (r.has_audit_max_age()) out.audit_max_age = common::FromProtoDuration(r.audit_max_age());
  if (r.has_audit_max_rows()) out.audit_max_rows = r.audit_max_rows();
  if (r.has_refusals_max_rows()) out.refusals_max_rows = r.refusals_max_rows();
  if (r.has_decisions_max_age()) {
    out.decisions_max_age = common::FromProtoDuration(r.decisions_max_age());
  }
  if (r.has_decisions_max_rows_per_group()) {
    out.decisions_max_rows_per_group = r.decisions_max_rows_per_group();
  }
  return out;
}

absl::StatusOr<v1::AgentConfig> ParseAgentConfig(const std::string& file, const std::string& text,
                                                 const std::string& base_dir) {
  v1::AgentConfig config;
  config::SourceMap where;
  std::vector<config::Diagnostic> diags;
  if (!config::YamlToMessage(file, text, &config, &where, &diags) && diags.empty()) {
    diags.push_back({file, 0, 0, "", "not a YAML mapping"});
  }
  auto problem = [&](const std::string& field, const std::string& message) {
    config::Location loc;
    if (auto it = where.find(field); it != where.end()) loc = it->second;
    diags.push_back({file, loc.line, loc.column, field, message});
  };
  if (config.state_dir().empty()) problem("state_dir", "required");
  if (config.runbooks().empty()) problem("runbooks", "name at least one runbook file or directory");

  // Defaults.
  if (config.api().listen().empty()) config.mutable_api()->set_listen(kDefaultApiListen);
  if (config.metrics().listen().empty())
    config.mutable_metrics()->set_listen(kDefaultMetricsListen);
  if (config.log().level().empty()) config.mutable_log()->set_level("info");
  if (config.log().format().empty()) config.mutable_log()->set_format("json");
  if (config.arm().endpoint().empty()) {
    config.mutable_arm()->set_endpoint("https://management.azure.com");
  }
  if (!config.arm().has_poll_interval())
    config.mutable_arm()->mutable_poll_interval()->set_seconds(1);
  if (config.impairment_fraction() == 0) config.set_impairment_fraction(0.8);
  if (!config.readiness().has_interval()) {
    config.mutable_readiness()->mutable_interval()->set_seconds(300);
  }
  {
    // Unset limits take the journal's defaults (0 written means unlimited).
    const journal::RetentionPolicy retention = JournalRetention(config);
    v1::JournalSettings::Retention* r = config.mutable_journal()->mutable_retention();
    common::ToProtoDuration(retention.audit_max_age, r->mutable_audit_max_age());
    r->set_audit_max_rows(retention.audit_max_rows);
    r->set_refusals_max_rows(retention.refusals_max_rows);
    common::ToProtoDuration(retention.decisions_max_age, r->mutable_decisions_max_age());
    r->set_decisions_max_rows_per_group(retention.decisions_max_rows_per_group);
  }

  // Checks.
  const std::string& level = config.log().level();
  if (level != "debug" && level != "info" && level != "warn" && level != "error") {
    problem("log.level", absl::StrCat("\"", level, "\" is not one of debug, info, warn, error"));
  }
  if (config.log().format() != "json" && config.log().format() != "text") {
    problem("log.format", absl::StrCat("\"", config.log().format(), "\" is not json or text"));
  }
  if (config.impairment_fraction() <= 0 || config.impairment_fraction() > 1) {
    problem("impairment_fraction", "must be in (0, 1]");
  }
  if (common::FromProtoDuration(config.readiness().interval()) < absl::Minutes(1)) {
    problem("readiness.interval", "must be at least 1m");
  }
  {
    const v1::JournalSettings::Retention& r = config.journal().retention();
    constexpr char kNotNegative[] = "must not be negative (0 means unlimited)";
    if (common::FromProtoDuration(r.audit_max_age()) < absl::ZeroDuration()) {
      problem("journal.retention.audit_max_age", kNotNegative);
    }
    if (r.audit_max_rows() < 0) problem("journal.retention.audit_max_rows", kNotNegative);
    if (r.refusals_max_rows() < 0) problem("journal.retention.refusals_max_rows", kNotNegative);
    if (common::FromProtoDuration(r.decisions_max_age()) < absl::ZeroDuration()) {
      problem("journal.retention.decisions_max_age", kNotNegative);
    }
    if (r.decisions_max_rows_per_group() < 0) {
      problem("journal.retention.decisions_max_rows_per_group", kNotNegative);
    }
  }
  constexpr common::ParseHostPortOptions kListen{.allow_port_zero = true, .default_port = {}};
  if (auto listen = common::ParseHostPort(config.api().listen(), kListen); !listen.ok()) {
    problem("api.listen", std::string(listen.status().message()));
  }
  if (config.metrics().listen() != "off") {
    if (auto listen = common::ParseHostPort(config.metrics().listen(), kListen); !listen.ok()) {
      problem("metrics.listen", std::string(listen.status().message()));
    }
  }
  if (absl::Status s = CheckArmEndpoint(config.arm().endpoint()); !s.ok()) {
    problem("arm.endpoint", std::string(s.message()));
  }
  for (int i = 0; i < config.api().tokens_size(); ++i) {
    const v1::ApiToken& t = config.api().tokens(i);
    std::string field = absl::StrCat("api.tokens[", i, "]");
    if (t.name().empty()) problem(field + ".name", "required");
    if (t.role() == v1::API_ROLE_UNSPECIFIED) problem(field + ".role", "required");
    if (t.token_file().empty() == t.token_env().empty()) {
      problem(field, "set exactly one of token_file and token_env");
    }
  }
  for (int i = 0; i < config.webhooks_size(); ++i) {
    if (config.webhooks(i).url().empty())
      problem(absl::StrCat("webhooks[", i, "].url"), "required");
  }
  if (!diags.empty()) return config::DiagnosticsToStatus(diags);

  // Paths relative to the config file.
  config.set_state_dir(Resolve(base_dir, config.state_dir()));
  for (std::string& r : *config.mutable_runbooks()) r = Resolve(base_dir, r);
  v1::ArmSettings* arm = config.mutable_arm();
  arm->set_ca_file(Resolve(base_dir, arm->ca_file()));
  arm->mutable_credentials()->set_token_file(Resolve(base_dir, arm->credentials().token_file()));
  v1::ApiTls* tls = config.mutable_api()->mutable_tls();
  tls->set_cert_file(Resolve(base_dir, tls->cert_file()));
  tls->set_key_file(Resolve(base_dir, tls->key_file()));
  tls->set_client_ca_file(Resolve(base_dir, tls->client_ca_file()));
  for (v1::ApiToken& t : *config.mutable_api()->mutable_tokens()) {
    t.set_token_file(Resolve(base_dir, t.token_file()));
  }
  if (!config.log().file().empty()) {
    config.mutable_log()->set_file(Resolve(base_dir, config.log().file()));
  }
  return config;
}

absl::StatusOr<v1::AgentConfig> LoadAgentConfig(const std::string& path) {
  absl::StatusOr<std::string> text = common::ReadFile(path);
  if (!text.ok()) {
    return absl::NotFoundError(absl::StrCat("agent config: ", text.status().message()));
  }
  std::string base = fs::path(path).parent_path().string();
  return ParseAgentConfig(path, *text, base.empty() ? "." : base);
}

absl::StatusOr<std::vector<std::string>> RunbookFiles(const v1::AgentConfig& config) {
  std::vector<std::string> files;
  for (const std::string& p : config.runbooks()) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<std::string> found;
      for (const auto& e : fs::directory_iterator(p, ec)) {
        std::string ext = e.path().extension().string();
        if (e.is_regular_file() && (ext == ".yaml" || ext == ".yml")) {
          found.push_back(e.path().string());
        }
      }
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::exists(p, ec)) {
      files.push_back(p);
    } else {
      return absl::NotFoundError(absl::StrCat("runbook path ", p, " does not exist"));
    }
  }
  return files;
}

}  // namespace foghorn::agent
